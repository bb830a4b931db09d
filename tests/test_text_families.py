"""The three text-following families (finger shape, wrist direction, two-hand relation): known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eval.text_families import FAMILY_PROMPTS, approach_score, text_families, wrist_rise_score
from handgen.repr.features import params_to_features

FRAMES = 20


def _features(hand_pair, left_flex=0.2, right_flex=0.2, left_rise=0.0, right_rise=0.0, gap_change=0.0,
              noise=0.0, seed=0) -> np.ndarray:
    """Raw features (T, 324): finger flexion per hand, each wrist rising by ``*_rise`` m, the gap changing."""
    rng = np.random.default_rng(seed)
    ramp = torch.linspace(0.0, 1.0, FRAMES)[:, None]
    params = {}
    for side, flex, rise, x in (("left", left_flex, left_rise, 0.2), ("right", right_flex, right_rise, -0.2)):
        pose = torch.zeros(FRAMES, 15, 3)
        pose[:, :12, 2] = flex if side == "right" else -flex
        transl = torch.zeros(FRAMES, 3)
        transl[:, 0] = x + (gap_change / 2 if side == "left" else -gap_change / 2) * ramp[:, 0]
        transl[:, 1] = rise * ramp[:, 0]
        transl += torch.as_tensor(rng.normal(0, noise, (FRAMES, 3)), dtype=torch.float32)
        params.update({f"{side}_global_orient": torch.zeros(FRAMES, 3), f"{side}_hand_pose": pose.reshape(FRAMES, 45),
                       f"{side}_transl": transl, f"{side}_betas": torch.zeros(10)})
    return params_to_features(params, hand_pair).numpy()


def _follower(hand_pair):
    """A generator that does what each text says (with a little noise per sample)."""

    def generate(triplets, frames):
        out = []
        for i, t in enumerate(triplets):
            out.append(_features(
                hand_pair,
                left_flex=1.2 if "fist" in t["left"] else 0.2, right_flex=1.2 if "fist" in t["right"] else 0.2,
                left_rise=0.1 if "upward" in t["left"] else 0.0, right_rise=0.1 if "upward" in t["right"] else 0.0,
                gap_change=-0.15 if "toward" in t["both"] else (0.15 if "apart" in t["both"] else 0.0),
                noise=0.002, seed=i))
        return np.stack(out)

    return generate


def test_scores_read_rise_and_approach(hand_pair):
    joints = lambda f: np.stack([f[..., 99:162], f[..., 261:324]], -2).reshape(1, FRAMES, 2, 21, 3)  # noqa: E731
    rising = _features(hand_pair, left_rise=0.1)
    assert wrist_rise_score(joints(rising))[0] == pytest.approx(0.1 * 0.75, abs=0.01)  # quarter means: 0.75 of it
    closing = _features(hand_pair, gap_change=-0.2)
    assert approach_score(joints(closing))[0] == pytest.approx(0.2 * 0.75, abs=0.01)


def test_a_text_following_generator_passes_every_family(hand_pair):
    results = text_families(_follower(hand_pair), num=4, frames=FRAMES)
    assert [r.family for r in results] == list(FAMILY_PROMPTS)
    for r in results:
        assert r.right_way == 1.0 and r.contrast > 5 * r.noise, r.line()
    assert "100% of 8 samples the right way" in results[0].line()


def test_a_generator_that_ignores_the_text_has_no_contrast(hand_pair):
    same = [_features(hand_pair, noise=0.002, seed=i) for i in range(4)]
    results = text_families(lambda triplets, frames: np.stack(same[: len(triplets)]), num=4, frames=FRAMES)
    for r in results:
        assert abs(r.contrast) < 1e-9, r.line()


def test_one_sample_per_prompt_has_no_noise_figure_and_no_warning():
    import warnings

    from eval.text_families import FamilyResult

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = FamilyResult("finger", np.array([0.9]), np.array([-0.8]))
        assert np.isnan(one.noise) and one.contrast == pytest.approx(1.7)
        assert "noise nan, +nanx" in one.line() and "100% of 2 samples" in one.line()
        two = FamilyResult("finger", np.array([0.9, 1.1]), np.array([-0.8, -1.0]))
        assert two.noise == pytest.approx(np.sqrt(0.02 / 2 + 0.02 / 2))
