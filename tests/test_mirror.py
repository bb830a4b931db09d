"""Left-right mirroring of features and captions (the text-to-motion training augmentation)."""

from __future__ import annotations

import numpy as np
import torch

from handgen.repr.features import SLICES, features_to_motion, motion_to_features, translate_features
from handgen.repr.mirror import mirror_features, mirror_text
from handgen.repr.motion import BimanualMotion


def _features(hand_pair, frames: int = 12) -> torch.Tensor:
    rng = np.random.default_rng(4)
    axis = rng.normal(size=(frames, 2, 16, 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    rot = axis * rng.uniform(0.0, 1.5, size=(frames, 2, 16, 1))
    motion = BimanualMotion(global_orient=rot[:, :, 0], hand_pose=rot[:, :, 1:].reshape(frames, 2, 45),
                            transl=rng.normal(scale=0.2, size=(frames, 2, 3)), betas=np.zeros((2, 10)))
    return torch.as_tensor(motion_to_features(motion, hand_pair))  # (T, D), not canonicalised


def test_mirrored_features_are_the_mirror_image_through_the_hand_model(hand_pair):
    """Known answer: the mirrored rotations, run through the hand model, give the mirrored keypoints
    (x negated, hands swapped, shifted to the canonical origin)."""
    feats = _features(hand_pair)  # (T, D)
    mirrored = mirror_features(feats)
    joints = {s: feats[:, SLICES[f"{s}.joints"]].reshape(-1, 21, 3) for s in ("left", "right")}
    expected = {"left": joints["right"] * torch.tensor([-1.0, 1, 1]), "right": joints["left"] * torch.tensor([-1.0, 1, 1])}
    origin = expected["right"][0, 0].clone()
    for side in ("left", "right"):
        got = mirrored[:, SLICES[f"{side}.joints"]].reshape(-1, 21, 3)
        torch.testing.assert_close(got, expected[side] - origin, atol=1e-6, rtol=0)
    # the rotations agree with the keypoints: features -> MANO parameters -> features again
    refit = torch.as_tensor(motion_to_features(features_to_motion(mirrored.numpy(), hand_pair), hand_pair))
    torch.testing.assert_close(refit, mirrored, atol=2e-5, rtol=0)
    assert float(mirrored[0, SLICES["right.wrist"]].abs().max()) == 0.0


def test_mirroring_a_canonical_clip_twice_gives_it_back(hand_pair):
    feats = _features(hand_pair)
    canonical = translate_features(feats, -feats[0, SLICES["right.wrist"]])
    torch.testing.assert_close(mirror_features(mirror_features(canonical)), canonical, atol=1e-6, rtol=0)
    batch = torch.stack([canonical, canonical.flip(0)])  # (B, T, D): each clip mirrored on its own
    assert torch.equal(mirror_features(batch)[0], mirror_features(canonical))


def test_mirror_text_swaps_the_words_a_reflection_flips():
    assert mirror_text("The left hand waves leftward.") == "The right hand waves rightward."
    assert mirror_text("Left palm turns clockwise; the right one anti-clockwise.") == \
        "Right palm turns counterclockwise; the left one clockwise."
    assert mirror_text("Both hands stay still, bright and upright.") == "Both hands stay still, bright and upright."
    assert mirror_text(mirror_text("The left hand moves rightwards.")) == "The left hand moves rightwards."
