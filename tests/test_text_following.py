"""The fist-contrast measure: known answers on hand-made joints."""

from __future__ import annotations

import numpy as np
import torch

from eval.text_following import fist_contrast, joints_from_features, mean_curl
from handgen.repr.features import params_to_features


def _features(hand_pair, left_flex: float, right_flex: float, frames: int = 20) -> np.ndarray:
    params = {}
    for side, flex in (("left", left_flex), ("right", right_flex)):
        pose = torch.zeros(frames, 15, 3)
        axis = 2
        pose[:, :12, axis] = flex if side == "right" else -flex  # four long fingers, flexion about +z / -z
        params[f"{side}_global_orient"] = torch.zeros(frames, 3)
        params[f"{side}_hand_pose"] = pose.reshape(frames, 45)
        params[f"{side}_transl"] = torch.zeros(frames, 3) + (0.2 if side == "left" else -0.2)
        params[f"{side}_betas"] = torch.zeros(10)
    return params_to_features(params, hand_pair).numpy()


def test_curl_reads_the_flexion_of_each_hand(hand_pair):
    feats = _features(hand_pair, 1.2, 0.1)
    curl = mean_curl(joints_from_features(feats[None]))
    assert curl.shape == (1, 2)
    assert abs(curl[0, 0] - 1.2) < 0.1 and abs(curl[0, 1] - 0.1) < 0.1


def test_contrast_is_positive_for_a_text_following_generator_and_zero_otherwise(hand_pair):
    fist_left, fist_right, relaxed = _features(hand_pair, 1.2, 0.1), _features(hand_pair, 0.1, 1.2), _features(hand_pair, 0.3, 0.3)

    def follows(triplets, frames):
        return np.stack([fist_left if "fist" in t["left"] else fist_right for t in triplets])

    def ignores(triplets, frames):
        return np.stack([relaxed for _ in triplets])

    assert fist_contrast(follows, num=2, frames=20).contrast > 2.0
    assert abs(fist_contrast(ignores, num=2, frames=20).contrast) < 1e-6
