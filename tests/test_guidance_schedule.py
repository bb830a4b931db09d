"""Stronger classifier-free guidance on the noisy steps: the schedule, how the run's defaults and the
caller's options combine, and that sampling uses each step's scale."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handgen.diffusion.guidance import GuidanceSchedule, training_keep
from handgen.errors import HandgenError
from tests.helpers import cli_in_process


def test_schedule_gives_the_noisy_scale_from_its_timestep_on():
    schedule = GuidanceSchedule(3.0, 5.0, 400)
    assert [schedule.at(t) for t in (999, 400, 399, 0)] == [5.0, 5.0, 3.0, 3.0]
    assert [GuidanceSchedule(2.5).at(t) for t in (999, 0)] == [2.5, 2.5]
    assert GuidanceSchedule.of(2.0) == GuidanceSchedule(2.0) and GuidanceSchedule.of(schedule) is schedule
    assert str(schedule) == "3 (5 at t >= 400)" and str(GuidanceSchedule(2.5)) == "2.5"


def test_training_keep_drops_branches_alone_and_all_texts_together():
    torch.manual_seed(0)
    alone = training_keep(20000, "cpu", 0.1)
    none_kept = ~(alone["left"] | alone["right"] | alone["both"])
    assert 0.09 < (~alone["left"]).float().mean() < 0.11 and none_kept.float().mean() < 0.003  # 0.1 ** 3
    torch.manual_seed(0)
    together = training_keep(20000, "cpu", 0.1, 0.1)
    assert all(torch.equal(together[k], alone[k] & together[k]) for k in alone)  # same per-branch draws
    none_kept = ~(together["left"] | together["right"] | together["both"])
    assert 0.09 < none_kept.float().mean() < 0.115
    assert all(bool(v.all()) for v in training_keep(64, "cpu", 0.0, 0.0).values())


def _spy_scales(monkeypatch) -> list[tuple[int, float]]:
    from handgen.sample import diffusion_generator

    seen: list[tuple[int, float]] = []
    real = diffusion_generator.guided_x0

    def spy(model, x_t, timesteps, texts, guidance, keep=None):
        assert bool((timesteps == timesteps[0]).all())
        seen.append((int(timesteps[0]), guidance))
        return real(model, x_t, timesteps, texts, guidance, keep)

    monkeypatch.setattr(diffusion_generator, "guided_x0", spy)
    return seen


def test_sampling_uses_each_steps_scale_and_options_combine_with_the_runs(tiny_diffusion_run, monkeypatch, tmp_path):
    import handgen

    generator = handgen.load(tiny_diffusion_run, device="cpu")
    cfg = generator.cfg.sample
    noisy_from = int(cfg.noisy_from)
    seen = _spy_scales(monkeypatch)
    generator.generate(left="the left hand makes a fist", frames=24, steps=8, guidance=2.0, noisy_guidance=6.0)
    assert [g for _, g in seen] == [6.0 if t >= noisy_from else 2.0 for t, _ in seen]
    assert {6.0, 2.0} <= {g for _, g in seen}  # both parts of the schedule ran
    assert "guidance 2 (6 at t >= " in generator.last_label

    seen.clear()  # a given guidance alone is used at every step
    generator.generate(left="the left hand makes a fist", frames=24, steps=8, guidance=2.0)
    assert {g for _, g in seen} == {2.0} and generator.last_label.endswith("guidance 2")

    seen.clear()  # nothing given: the run's sample section, with its noisy-step scale when it has one
    generator.generate(left="the left hand makes a fist", frames=24, steps=8)
    expected = GuidanceSchedule(float(cfg.guidance), cfg.noisy_guidance, noisy_from)
    assert [g for _, g in seen] == [expected.at(t) for t, _ in seen]

    same = generator.generate(left="the left hand makes a fist", frames=24, steps=8, seed=1,
                              guidance=3.0, noisy_guidance=3.0)
    constant = generator.generate(left="the left hand makes a fist", frames=24, steps=8, seed=1, guidance=3.0)
    np.testing.assert_array_equal(same.joints, constant.joints)

    out = tmp_path / "s"
    assert cli_in_process("-q", "sample", "--ckpt", tiny_diffusion_run, "--left", "a fist", "--steps", "4",
                          "--guidance", "2", "--noisy-guidance", "4.5", "--out", out) == 0
    with np.load(out / "sample_000.npz") as z:
        assert float(z["guidance"]) == 2.0 and float(z["noisy_guidance"]) == 4.5
        assert int(z["noisy_from"]) == noisy_from


def test_noisy_guidance_is_refused_by_ar_runs(trained_ar, tiny_diffusion_run, tmp_path):
    import handgen

    with pytest.raises(HandgenError, match="noisy_guidance do\\(es\\) not apply to AR runs"):
        handgen.load(trained_ar, device="cpu").generate(left="a fist", noisy_guidance=5.0)
    with pytest.raises(SystemExit):  # range-checked by argparse
        cli_in_process("-q", "sample", "--ckpt", tiny_diffusion_run, "--left", "a fist", "--steps", "2",
                       "--noisy-guidance", "-1", "--out", tmp_path / "bad")
