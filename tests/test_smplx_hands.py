"""SMPL-X -> MANO hands: wrist chain, finger-pose conventions, SMPL-X wrist joints, keypoint layouts."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch
from smplx.lbs import batch_rigid_transform, batch_rodrigues, lbs

from data_prep.hand_keypoints import (
    assemblyhands_to_handgen,
    detect_length_unit,
    handgen_to_assemblyhands,
    keypoints_in_metres,
)
from data_prep.smplx_hands import (
    SMPLX_PARENTS,
    absolute_finger_pose,
    mano_global_orient,
    parse_wrist_offset,
    pca_coefficients,
    relative_finger_pose,
    wrist_global_rotations,
)
from data_prep.smplx_joints import SmplxWristModel
from handgen.errors import HandgenError, InputFileError

# parents of all 55 SMPL-X joints: body/face from docs/reference.md, then 15 left and 15 right finger joints
_HAND_PARENTS = [0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14]  # MANO tree without the wrist


def full_smplx_parents() -> list[int]:
    parents = list(SMPLX_PARENTS)
    for wrist, start in ((20, 25), (21, 40)):
        parents += [wrist if p == 0 else start + p - 1 for p in _HAND_PARENTS]
    return parents


def write_fake_smplx_model(folder, rng, num_verts: int = 80, num_shape: int = 20) -> dict[str, np.ndarray]:
    """A tiny SMPL-X-format model (random, not a body) with the keys lbs needs."""
    reg = rng.random((55, num_verts)) ** 4
    reg /= reg.sum(1, keepdims=True)
    weights = rng.random((num_verts, 55))
    kintree = np.stack([np.array(full_smplx_parents(), dtype=np.int64), np.arange(55)])
    kintree[0, 0] = np.iinfo(np.uint32).max
    model = {
        "v_template": rng.normal(size=(num_verts, 3)) * 0.5,
        "shapedirs": rng.normal(size=(num_verts, 3, num_shape)) * 0.02,
        "posedirs": rng.normal(size=(54 * 9, num_verts * 3)) * 0.01,
        "J_regressor": reg,
        "weights": weights / weights.sum(1, keepdims=True),
        "kintree_table": kintree,
    }
    np.savez(folder / "SMPLX_NEUTRAL.npz", **model)
    return model


def test_wrist_chain_matches_smplx_rigid_transform():
    rng = np.random.default_rng(1)
    frames = 16
    go, body = rng.normal(size=(frames, 3)), rng.normal(size=(frames, 63)) * 0.6
    left, right = wrist_global_rotations(go, body)
    assert left.shape == right.shape == (frames, 3, 3)
    # independent route: smplx's own Rodrigues and rigid-transform chain with random rest joints
    rot = batch_rodrigues(torch.from_numpy(np.concatenate([go, body], 1).reshape(-1, 3))).reshape(frames, 22, 3, 3)
    rest = torch.from_numpy(rng.normal(size=(frames, 22, 3)))
    _, transforms = batch_rigid_transform(rot, rest, torch.tensor(SMPLX_PARENTS[:22]), dtype=torch.float64)
    np.testing.assert_allclose(left, transforms[:, 20, :3, :3].numpy(), atol=1e-5)
    np.testing.assert_allclose(right, transforms[:, 21, :3, :3].numpy(), atol=1e-5)
    # the two wrists differ (different chains), so the test could tell them apart
    assert np.abs(left - right).max() > 0.1


def test_wrist_chain_rejects_bad_shapes():
    with pytest.raises(ValueError, match="body_pose"):
        wrist_global_rotations(np.zeros((3, 3)), np.zeros((3, 60)))
    with pytest.raises(ValueError, match="frames"):
        wrist_global_rotations(np.zeros((3, 3)), np.zeros((4, 63)))


def test_rest_pose_wrists_are_identity_and_offset_is_applied_on_the_hand_side():
    left, right = wrist_global_rotations(np.zeros((2, 3)), np.zeros((2, 63)))
    np.testing.assert_allclose(mano_global_orient(right), 0.0, atol=1e-12)
    np.testing.assert_allclose(mano_global_orient(left), 0.0, atol=1e-12)
    offsets = parse_wrist_offset({"right": [0.0, 0.0, 0.3]})
    np.testing.assert_allclose(offsets["left"], np.eye(3))
    wrist = roma.rotvec_to_rotmat(torch.tensor([[0.0, np.pi / 2, 0.0]], dtype=torch.float64)).numpy()
    got = roma.rotvec_to_rotmat(torch.from_numpy(mano_global_orient(wrist, offsets["right"]))).numpy()
    np.testing.assert_allclose(got, wrist @ offsets["right"], atol=1e-12)
    arr = parse_wrist_offset(np.array([[0.1, 0, 0], [0, 0.2, 0]]))
    assert np.isclose(np.arccos((np.trace(arr["right"]) - 1) / 2), 0.2)
    from_text = parse_wrist_offset("0.1,0,0,0,0.2,0")
    np.testing.assert_allclose(from_text["right"], arr["right"])
    with pytest.raises(ValueError, match="six comma-separated"):
        parse_wrist_offset("0.1,0.2")
    with pytest.raises(ValueError):
        parse_wrist_offset(np.zeros(3))
    with pytest.raises(ValueError):
        parse_wrist_offset({"middle": [0, 0, 0]})


def test_pca_round_trip_and_flat_hand_mean_conversions():
    rng = np.random.default_rng(2)
    absolute = rng.normal(size=(9, 45)) * 0.4
    comps = np.linalg.qr(rng.normal(size=(45, 45)))[0].T * rng.uniform(0.5, 2.0, size=(45, 1))  # not orthonormal
    mean = rng.normal(size=45) * 0.3
    for flat in (True, False):
        coeffs = pca_coefficients(absolute, comps, flat_hand_mean=flat, hands_mean=mean)
        assert coeffs.shape == (9, 45)
        back = absolute_finger_pose(coeffs, comps, flat_hand_mean=flat, hands_mean=mean)
        np.testing.assert_allclose(back, absolute, atol=1e-10)
    # fewer coefficients than components: only the first k rows are used
    short = absolute_finger_pose(coeffs[:, :6], comps, flat_hand_mean=True)
    np.testing.assert_allclose(short, coeffs[:, :6] @ comps[:6], atol=1e-12)
    # flat <-> non-flat
    relative = relative_finger_pose(absolute, mean)
    np.testing.assert_allclose(absolute_finger_pose(relative, flat_hand_mean=False, hands_mean=mean), absolute)
    np.testing.assert_allclose(absolute_finger_pose(absolute, flat_hand_mean=True), absolute)
    with pytest.raises(ValueError, match="hands_mean"):
        absolute_finger_pose(relative, flat_hand_mean=False)
    with pytest.raises(ValueError, match="45"):
        absolute_finger_pose(coeffs[:, :6])
    with pytest.raises(ValueError, match="components"):
        absolute_finger_pose(coeffs, comps[:6])


def test_smplx_wrist_model_equals_smplx_lbs(tmp_path):
    rng = np.random.default_rng(3)
    model = write_fake_smplx_model(tmp_path, rng)
    frames = 5
    go, body = rng.normal(size=(frames, 3)) * 0.5, rng.normal(size=(frames, 63)) * 0.4
    rest_pose = rng.normal(size=(frames, 3 * 33)) * 0.3  # jaw, eyes, both hands: must not move the wrists
    transl = rng.normal(size=(frames, 3))
    betas = rng.normal(size=(1, 10))
    wrists = SmplxWristModel(tmp_path).wrist_positions(go, body, transl, betas)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    _, joints = lbs(
        t(np.repeat(betas, frames, 0)), t(np.concatenate([go, body, rest_pose], 1)), t(model["v_template"]),
        t(model["shapedirs"][:, :, :10]), t(model["posedirs"]), t(model["J_regressor"]),
        torch.tensor(full_smplx_parents()), t(model["weights"]),
    )
    expected = joints.numpy()[:, [20, 21]] + transl[:, None]
    np.testing.assert_allclose(wrists, expected, atol=1e-9)


def test_smplx_wrist_model_refuses_pickle_and_missing_files(tmp_path):
    with pytest.raises(HandgenError, match="no SMPLX_NEUTRAL.npz"):
        SmplxWristModel(tmp_path)
    (tmp_path / "SMPLX_NEUTRAL.pkl").write_bytes(b"not read")
    with pytest.raises(HandgenError, match="pickle"):
        SmplxWristModel(tmp_path)
    np.savez(tmp_path / "SMPLX_FEMALE.npz", v_template=np.zeros((4, 3)))
    with pytest.raises(InputFileError, match="missing shapedirs"):
        SmplxWristModel(tmp_path, gender="female")


def test_assemblyhands_layout_mapping():
    ah = np.arange(42 * 3, dtype=float).reshape(1, 42, 3)
    hg = assemblyhands_to_handgen(ah)
    assert hg.shape == (1, 2, 21, 3)
    # right hand = points 0-20; wrist is AH 20; thumb base->tip = AH 3,2,1,0; pinky tip = AH 16
    np.testing.assert_array_equal(hg[0, 1, 0], ah[0, 20])
    np.testing.assert_array_equal(hg[0, 1, 1:5], ah[0, [3, 2, 1, 0]])
    np.testing.assert_array_equal(hg[0, 1, 20], ah[0, 16])
    # left hand = points 21-41
    np.testing.assert_array_equal(hg[0, 0, 0], ah[0, 41])
    np.testing.assert_array_equal(hg[0, 0, 8], ah[0, 21 + 4])  # index tip
    np.testing.assert_array_equal(handgen_to_assemblyhands(hg), ah)
    with pytest.raises(ValueError):
        assemblyhands_to_handgen(np.zeros((1, 21, 3)))


def test_length_unit_detection(hand_pair):
    joints = np.stack([hand_pair[s](torch.zeros(1, 3), torch.zeros(1, 45)).joints.numpy() for s in ("left", "right")], 1)
    joints = joints + np.array([5.0, 0.0, 40.0])  # far from the origin: the hand size still decides
    assert detect_length_unit(joints) == "m"
    assert detect_length_unit(joints * 1000) == "mm"
    assert detect_length_unit(joints * 100) == "cm"
    metres, unit = keypoints_in_metres(joints * 1000, "auto", "kp.npy")
    assert unit == "mm"
    np.testing.assert_allclose(metres, joints)
    with pytest.raises(InputFileError, match="kp.npy"):
        keypoints_in_metres(joints * 1e5, "auto", "kp.npy")
