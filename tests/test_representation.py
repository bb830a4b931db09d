"""Motion representation: lossless params -> features -> params, canonicalisation, statistics."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch

from handgen.repr.features import FEATURE_DIM, SLICES, features_to_motion, motion_to_features
from handgen.repr.motion import BimanualMotion, canonicalize
from handgen.repr.normalization import FeatureStats


def _random_motion(rng, frames=40) -> BimanualMotion:
    def rotvec(*shape):
        axis = rng.normal(size=shape + (3,))
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
        return axis * rng.uniform(0.0, 2.9, size=shape + (1,))

    return BimanualMotion(
        global_orient=rotvec(frames, 2),
        hand_pose=rotvec(frames, 2, 15).reshape(frames, 2, 45),
        transl=rng.normal(scale=0.3, size=(frames, 2, 3)),
        betas=rng.normal(size=(2, 10)),
    )


def test_round_trip_is_lossless(hand_pair):
    rng = np.random.default_rng(1)
    motion = _random_motion(rng)
    feats = motion_to_features(motion, hand_pair)
    assert feats.shape == (40, FEATURE_DIM)
    back = features_to_motion(feats, hand_pair, betas=motion.betas)
    np.testing.assert_allclose(back.hand_pose, motion.hand_pose, atol=1e-5)
    np.testing.assert_allclose(back.global_orient, motion.global_orient, atol=1e-5)
    np.testing.assert_allclose(back.transl, motion.transl, atol=1e-5)


def test_joint_block_matches_the_hand_model(hand_pair):
    motion = _random_motion(np.random.default_rng(2), frames=5)
    feats = motion_to_features(motion, hand_pair)
    joints = motion.joints(hand_pair)  # (T,2,21,3)
    np.testing.assert_allclose(feats[:, SLICES["left.joints"]].reshape(5, 21, 3), joints[:, 0], atol=1e-6)
    np.testing.assert_allclose(feats[:, SLICES["right.wrist"]], joints[:, 1, 0], atol=1e-6)


def test_canonicalize_puts_right_wrist_at_origin(hand_pair):
    motion = _random_motion(np.random.default_rng(3))
    canon, offset = canonicalize(motion, hand_pair)
    joints = canon.joints(hand_pair)
    np.testing.assert_allclose(joints[0, 1, 0], 0.0, atol=1e-6)
    # a pure translation: the rotations and the relative hand placement are unchanged
    np.testing.assert_allclose(canon.transl - motion.transl, np.broadcast_to(offset, motion.transl.shape), atol=1e-12)
    np.testing.assert_array_equal(canon.hand_pose, motion.hand_pose)


def test_rotation_6d_is_a_rotation_of_the_input():
    rv = torch.as_tensor(np.random.default_rng(4).normal(size=(100, 3)))
    from handgen.repr.rotations import rotvec_to_6d, sixd_to_rotmat

    mat = sixd_to_rotmat(rotvec_to_6d(rv) + 0.0)
    assert torch.allclose(mat, roma.rotvec_to_rotmat(rv), atol=1e-10)


def test_feature_stats_round_trip(tmp_path):
    x = np.random.default_rng(5).normal(loc=3.0, scale=2.0, size=(500, 7))
    x[:, 3] = 1.0  # a constant dimension gets the std floor, not a division by zero
    stats = FeatureStats.from_features(x)
    z = stats.normalize(x)
    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(z[:, [0, 1, 2]].mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(stats.denormalize(z), x, atol=1e-9)
    stats.save(tmp_path / "stats.npz")
    loaded = FeatureStats.load(tmp_path / "stats.npz")
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    zt = loaded.normalize(torch.as_tensor(x, dtype=torch.float32))
    assert torch.allclose(zt, torch.as_tensor(z, dtype=torch.float32), atol=1e-5)


def test_motion_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="hand_pose"):
        BimanualMotion(np.zeros((3, 2, 3)), np.zeros((3, 2, 44)), np.zeros((3, 2, 3)), np.zeros((2, 10)))
