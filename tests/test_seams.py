"""Seamless conditioning: given frames stay exact and the generated frames next to them blend in.

Unit tests of the seam correction (known answers), then the one-frame jump at every boundary of
the keyframe, in-between, reaction and long-horizon modes of a trained tiny model against the
data's 95th-percentile frame step.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eval.seam_jumps import boundary_jumps, data_frame_step_p95
from handgen.diffusion.inpainting import InpaintingCondition, seam_correction


def test_seam_correction_fades_a_residual_linearly():
    given = torch.zeros(1, 12, 1, dtype=torch.bool)
    given[0, 0] = True
    residual = torch.zeros(1, 12, 1)
    residual[0, 0] = 4.0
    out = seam_correction(residual, given, blend_frames=3)[0, :, 0]
    # weights 1 - d/4 at distance d: 1, 0.75, 0.5, 0.25, then 0
    torch.testing.assert_close(out[:6], torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0, 0.0]))
    assert torch.all(out[4:] == 0)


def test_seam_correction_interpolates_between_close_given_frames():
    given = torch.zeros(1, 5, 2, dtype=torch.bool)
    given[0, 0] = given[0, 4] = True
    residual = torch.zeros(1, 5, 2)
    residual[0, 0], residual[0, 4] = 1.0, 3.0
    out = seam_correction(residual, given, blend_frames=8)[0, :, 0]
    # both neighbours within reach: weights renormalised, a linear ramp from 1 to 3
    torch.testing.assert_close(out, torch.tensor([1.0, 1.5, 2.0, 2.5, 3.0]))


def test_seam_correction_interpolates_across_a_wide_gap_too():
    given = torch.zeros(1, 30, 1, dtype=torch.bool)
    given[0, :5] = given[0, 25:] = True  # in-between: 20 free frames, wider than two fades of 3
    residual = torch.zeros(1, 30, 1)
    residual[0, :5], residual[0, 25:] = 2.0, -2.0
    out = seam_correction(residual, given, blend_frames=3)[0, :, 0]
    torch.testing.assert_close(out[4:26], torch.linspace(2.0, -2.0, 22))  # given frame 4 to given frame 25
    assert (out[1:] - out[:-1]).abs().max() <= 4.0 / 21 + 1e-6  # the residuals' difference over the gap per frame


def test_each_steps_x0_is_warped_to_the_given_frames_keeping_its_own_motion():
    frames = 30
    mask = torch.zeros(1, frames, 2)
    mask[0, :5] = mask[0, 25:] = 1.0  # in-between: frames 0-4 and 25-29 given (at 0)
    known = torch.zeros(1, frames, 2)
    motion = torch.sin(torch.arange(frames, dtype=torch.float32) / 4.0).view(1, frames, 1).expand(1, frames, 2)
    x0 = 3.0 + motion  # the model's estimate: its own motion, 3 away from the condition everywhere
    warped = InpaintingCondition(known, mask, blend_frames=4).warp_x0(x0)
    assert torch.equal(warped[0, :5], known[0, :5]) and torch.equal(warped[0, 25:], known[0, 25:])
    # the offset is removed, the motion kept: each free frame moves by the given frames' interpolated mismatch
    shift = -3.0 - (motion[0, 4] + (motion[0, 25] - motion[0, 4]) * torch.arange(1, 21).view(20, 1) / 21)
    torch.testing.assert_close(warped[0, 5:25], x0[0, 5:25] + shift)
    pasted = InpaintingCondition(known, mask, blend_frames=0).warp_x0(x0)
    assert (pasted[0, 5] - pasted[0, 4]).abs().max() > 3.0  # blend_frames 0: the old paste, a jump at the seam


def test_finish_keeps_given_values_and_removes_the_step_at_the_seam():
    frames, dims = 20, 3
    known = torch.zeros(1, frames, dims)
    known[0, :5] = 1.0  # the first 5 frames are given at 1.0
    mask = torch.zeros(1, frames, dims)
    mask[0, :5] = 1.0
    sample = torch.zeros(1, frames, dims)  # the model made 0 everywhere: a step of 1.0 at frame 5
    cond = InpaintingCondition(known, mask, blend_frames=4)
    out = cond.finish(sample.clone())
    assert torch.equal(out[0, :5], known[0, :5])
    steps = out[0, 1:, 0] - out[0, :-1, 0]
    assert steps.abs().max() <= 1.0 / 5 + 1e-6  # a fifth of the mismatch per frame, never a jump
    pasted = InpaintingCondition(known, mask, blend_frames=0).finish(sample.clone())
    assert (pasted[0, 5, 0] - pasted[0, 4, 0]).abs() == 1.0  # the old behaviour: the whole step at once


@pytest.mark.parametrize("mode", ["keyframe", "inbetween", "long"])
def test_boundaries_blend_better_than_pasting(tiny_diffusion_run, condition_clip, tmp_path, monkeypatch, mode):
    """On the session's tiny model: the blended seams jump less than the pasted ones did."""
    import handgen.diffusion.inpainting as inpainting

    blended = boundary_jumps(tiny_diffusion_run, condition_clip, tmp_path / "blend", mode)
    for step in ("finish", "warp_x0"):  # the given values pasted, at every step and at the end, as before
        monkeypatch.setattr(inpainting.InpaintingCondition, step, lambda self, sample: self.apply_x0(sample))
    pasted = boundary_jumps(tiny_diffusion_run, condition_clip, tmp_path / "paste", mode)
    assert blended.max() < pasted.max(), (blended, pasted)


@pytest.mark.parametrize("mode", ["keyframe", "inbetween", "long"])
def test_boundary_jumps_within_the_data_frame_step(tiny_diffusion_run, synthetic_data_dir, condition_clip, tmp_path,
                                                   mode):
    """Every boundary's one-frame jump is within the data's 95th-percentile frame step (2 seeds)."""
    p95 = data_frame_step_p95(synthetic_data_dir)
    for seed in (0, 1):
        jumps = boundary_jumps(tiny_diffusion_run, condition_clip, tmp_path / f"s{seed}", mode, seed=seed)
        assert jumps.max() <= p95, f"{mode}: jumps {np.round(1000 * jumps, 1)} mm, data p95 {1000 * p95:.1f} mm"
