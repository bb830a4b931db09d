"""AssemblyHands-X reader: synthetic SMPL-X sequences with consistent keypoints -> MANO parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest
import roma
import torch

from data_prep.ahx_reader import discover_sequences, read_smplx_sequence, sequence_name
from data_prep.hand_keypoints import handgen_to_assemblyhands
from data_prep.smplx_hands import pca_coefficients, relative_finger_pose, wrist_global_rotations
from handgen.errors import HandgenError, InputFileError
from handgen.hand.topology import HANDS

FRAMES = 10


def make_sequence(hand_pair, seed: int = 0, frames: int = FRAMES) -> dict[str, np.ndarray]:
    """Plausible random SMPL-X parameters and the MANO parameters/keypoints they should give."""
    rng = np.random.default_rng(seed)
    go = rng.normal(size=(frames, 3)) * 0.3
    body = rng.normal(size=(frames, 63)) * 0.25
    hand_abs = np.abs(rng.normal(size=(frames, 2, 45))) * 0.3  # absolute finger poses
    wrists = np.array([[0.2, 1.0, 0.35], [-0.2, 1.0, 0.35]]) + rng.normal(size=(frames, 2, 3)) * 0.05
    rotations = wrist_global_rotations(go, body)
    mano_go = np.stack([roma.rotmat_to_rotvec(torch.from_numpy(r)).numpy() for r in rotations], 1)
    joints = []
    for i, side in enumerate(HANDS):
        hand = hand_pair[side]
        offset = hand.wrist_offset().double().numpy()
        out = hand(
            torch.from_numpy(mano_go[:, i]).float(), torch.from_numpy(hand_abs[:, i]).float(), None,
            torch.from_numpy(wrists[:, i] - offset).float(),
        )
        joints.append(out.joints.double().numpy())
    keypoints = np.stack(joints, 1)  # (F,2,21,3) metres
    return {"global_orient": go, "body_pose": body, "hand_abs": hand_abs, "wrists": wrists,
            "mano_rot": np.stack(rotations, 1), "keypoints": keypoints}


def smplx_dict(seq: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    frames = seq["global_orient"].shape[0]
    return {
        "transl": np.zeros((frames, 3)), "global_orient": seq["global_orient"], "body_pose": seq["body_pose"],
        "jaw_pose": np.zeros((frames, 3)), "leye_pose": np.zeros((frames, 3)), "reye_pose": np.zeros((frames, 3)),
        "left_hand_pose": seq["hand_abs"][:, 0], "right_hand_pose": seq["hand_abs"][:, 1],
    }


def write_npy(path, params: dict) -> None:
    np.save(path, np.array(params, dtype=object), allow_pickle=True)


def assert_recovered(motion, valid, seq, hand_pair, frames=slice(None)):
    rot = roma.rotvec_to_rotmat(torch.from_numpy(motion.global_orient.astype(np.float64))).numpy()
    np.testing.assert_allclose(rot[frames], seq["mano_rot"][frames], atol=1e-5)
    np.testing.assert_allclose(motion.hand_pose[frames], seq["hand_abs"][frames], atol=1e-5)
    joints = motion.joints(hand_pair)
    np.testing.assert_allclose(joints[frames][:, :, 0], seq["wrists"][frames], atol=1e-5)
    np.testing.assert_allclose(joints[frames], seq["keypoints"][frames], atol=1e-5)
    np.testing.assert_array_equal(motion.betas, 0.0)


def test_smplx_npy_with_assemblyhands_sidecar_keypoints_in_mm(tmp_path, hand_pair):
    seq = make_sequence(hand_pair)
    folder = tmp_path / "AHX" / "user01"
    folder.mkdir(parents=True)
    write_npy(folder / "take1.smplx.npy", smplx_dict(seq))
    np.save(folder / "take1.keypoints3d.npy", handgen_to_assemblyhands(seq["keypoints"]) * 1000.0)
    assert discover_sequences(tmp_path / "AHX") == [folder / "take1.smplx.npy"]
    assert sequence_name(folder / "take1.smplx.npy") == "take1"

    motion, valid, info = read_smplx_sequence(folder / "take1.smplx.npy", hand_pair)
    assert valid.shape == (FRAMES,) and valid.all()
    assert motion.global_orient.shape == (FRAMES, 2, 3) and motion.hand_pose.shape == (FRAMES, 2, 45)
    assert_recovered(motion, valid, seq, hand_pair)
    assert info["wrist_source"] == "keypoints" and info["keypoint_unit"] == "mm"
    assert info["keypoint_error_mm"] < 0.05
    assert info["hand_pose_format"] == "axis_angle" and info["num_valid"] == FRAMES


def test_npz_with_pca_non_flat_poses_and_infile_keypoints(tmp_path, hand_pair):
    seq = make_sequence(hand_pair, seed=1)
    rng = np.random.default_rng(5)
    params = smplx_dict(seq)
    for i, side in enumerate(HANDS):
        comps = np.linalg.qr(rng.normal(size=(45, 45)))[0].T
        mean = rng.normal(size=45) * 0.2
        params[f"{side}_hand_components"] = comps
        params[f"hands_mean{side[0]}"] = mean
        params[f"{side}_hand_pose"] = pca_coefficients(relative_finger_pose(seq["hand_abs"][:, i], mean), comps)
    params["flat_hand_mean"] = np.bool_(False)
    params["use_pca"] = np.bool_(True)
    params["keypoints3d"] = seq["keypoints"]  # handgen layout, metres
    np.savez(tmp_path / "take2.npz", **params)
    motion, valid, info = read_smplx_sequence(tmp_path / "take2.npz", hand_pair)
    assert valid.all() and info["hand_pose_format"] == "pca45" and info["keypoint_unit"] == "m"
    assert_recovered(motion, valid, seq, hand_pair)


def test_nan_frames_are_masked_not_errors(tmp_path, hand_pair):
    seq = make_sequence(hand_pair, seed=2)
    params = smplx_dict(seq)
    params["body_pose"] = params["body_pose"].copy()
    params["body_pose"][3, 5] = np.nan
    keypoints = seq["keypoints"].copy()
    keypoints[7, 1, 0] = np.nan  # right wrist missing
    write_npy(tmp_path / "s.smplx.npy", params)
    motion, valid, info = read_smplx_sequence(tmp_path / "s.smplx.npy", hand_pair, keypoints=keypoints)
    assert valid.tolist() == [i not in (3, 7) for i in range(FRAMES)]
    assert np.isfinite(motion.transl).all() and np.isfinite(motion.global_orient).all()
    assert info["num_valid"] == FRAMES - 2
    assert_recovered(motion, valid, seq, hand_pair, frames=valid)


def test_assemblyhands_json_keypoints(tmp_path, hand_pair):
    seq = make_sequence(hand_pair, seed=3)
    write_npy(tmp_path / "nusar_take.smplx.npy", smplx_dict(seq))
    ah = handgen_to_assemblyhands(seq["keypoints"]) * 1000.0
    offset = 120
    frames = {"%06d" % (f + offset): {"world_coord": ah[f].tolist(), "joint_valid": [1] * 42}
              for f in range(FRAMES) if f != 4}
    frames["%06d" % (6 + offset)]["joint_valid"][41] = 0  # left wrist flagged invalid
    (tmp_path / "ann.json").write_text(json.dumps({"annotations": {"nusar_take": frames}}))
    motion, valid, info = read_smplx_sequence(
        tmp_path / "nusar_take.smplx.npy", hand_pair, keypoints=tmp_path / "ann.json", frame_offset=offset
    )
    assert valid.tolist() == [f not in (4, 6) for f in range(FRAMES)]
    assert info["keypoint_unit"] == "mm"
    assert_recovered(motion, valid, seq, hand_pair, frames=valid)
    with pytest.raises(InputFileError, match="no annotations for sequence 'other'"):
        read_smplx_sequence(tmp_path / "nusar_take.smplx.npy", hand_pair, keypoints=tmp_path / "ann.json",
                            keypoints_sequence="other")


def test_smplx_model_wrists(tmp_path, hand_pair):
    from tests.test_smplx_hands import write_fake_smplx_model
    from data_prep.smplx_joints import SmplxWristModel

    seq = make_sequence(hand_pair, seed=4)
    write_fake_smplx_model(tmp_path, np.random.default_rng(0))
    params = smplx_dict(seq)
    params["transl"] = np.full((FRAMES, 3), 0.1)
    write_npy(tmp_path / "m.smplx.npy", params)
    motion, valid, info = read_smplx_sequence(tmp_path / "m.smplx.npy", hand_pair, smplx_dir=tmp_path)
    expected = SmplxWristModel(tmp_path).wrist_positions(params["global_orient"], params["body_pose"], params["transl"])
    np.testing.assert_allclose(motion.joints(hand_pair)[:, :, 0], expected, atol=1e-5)
    assert info["wrist_source"] == "smplx_model" and valid.all()
    np.testing.assert_allclose(motion.hand_pose, seq["hand_abs"], atol=1e-5)


def test_bad_inputs_name_the_file(tmp_path, hand_pair):
    seq = make_sequence(hand_pair, seed=5)
    good = smplx_dict(seq)

    def read(params, name="bad.smplx.npy", **kw):
        write_npy(tmp_path / name, params)
        return read_smplx_sequence(tmp_path / name, hand_pair, **kw)

    kp = seq["keypoints"]
    with pytest.raises(InputFileError, match=r"bad.smplx.npy: missing SMPL-X keys: body_pose"):
        read({k: v for k, v in good.items() if k != "body_pose"}, keypoints=kp)
    with pytest.raises(InputFileError, match="disagree in length"):
        read({**good, "right_hand_pose": good["right_hand_pose"][:-1]}, keypoints=kp)
    with pytest.raises(InputFileError, match="body_pose must have 63"):
        read({**good, "body_pose": good["body_pose"][:, :60]}, keypoints=kp)
    with pytest.raises(InputFileError, match="PCA coefficients but the file has no"):
        read({**good, "left_hand_pose": good["left_hand_pose"][:, :12]}, keypoints=kp)
    with pytest.raises(InputFileError, match=r"\(F,42,3\)"):
        read(good, keypoints=np.zeros((FRAMES, 40, 3)))
    with pytest.raises(InputFileError, match="frames"):
        read(good, keypoints=kp[:-2])
    with pytest.raises(InputFileError, match="no wrist positions: pass --smplx-dir"):
        read(good)
    with pytest.raises(HandgenError, match="six comma-separated"):
        read(good, keypoints=kp, wrist_offset="1,2")
    with pytest.raises(HandgenError, match="keypoint unit"):
        read(good, keypoints=kp, keypoint_unit="inch")
    with pytest.raises(InputFileError, match="missing SMPL-X key transl"):
        read({k: v for k, v in good.items() if k != "transl"}, smplx_dir=tmp_path, keypoints=kp)
    np.save(tmp_path / "side.smplx.npy", np.zeros((FRAMES, 3)))
    with pytest.raises(InputFileError, match="side.smplx.npy: expected a pickled dict"):
        read_smplx_sequence(tmp_path / "side.smplx.npy", hand_pair)
    (tmp_path / "trunc.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(InputFileError, match="trunc.npz: cannot read"):
        read_smplx_sequence(tmp_path / "trunc.npz", hand_pair)
    write_npy(tmp_path / "k.smplx.npy", good)
    np.save(tmp_path / "k.keypoints3d.npy", np.zeros((FRAMES, 2, 20, 3)))
    with pytest.raises(InputFileError, match="k.keypoints3d.npy"):
        read_smplx_sequence(tmp_path / "k.smplx.npy", hand_pair)


def test_wrist_offset_option_and_fit_diagnostic(tmp_path, hand_pair):
    seq = make_sequence(hand_pair, seed=6)
    write_npy(tmp_path / "o.smplx.npy", smplx_dict(seq))
    offset = {"right": [0.0, 0.0, 0.5]}
    motion, valid, info = read_smplx_sequence(tmp_path / "o.smplx.npy", hand_pair, keypoints=seq["keypoints"],
                                              wrist_offset=offset)
    rot = roma.rotvec_to_rotmat(torch.from_numpy(motion.global_orient.astype(np.float64))).numpy()
    r_off = roma.rotvec_to_rotmat(torch.tensor(offset["right"], dtype=torch.float64)).numpy()
    np.testing.assert_allclose(rot[:, 1], seq["mano_rot"][:, 1] @ r_off, atol=1e-5)
    np.testing.assert_allclose(rot[:, 0], seq["mano_rot"][:, 0], atol=1e-5)  # left untouched
    assert info["wrist_offset"] == repr({"left": [0.0, 0.0, 0.0], "right": [0.0, 0.0, 0.5]})
    # the wrists still sit on the keypoints, but a wrong rotation shows in the fit error
    np.testing.assert_allclose(motion.joints(hand_pair)[:, :, 0], seq["wrists"], atol=1e-5)
    assert info["keypoint_error_mm"] > 10.0


def test_fit_betas_recovers_hand_size(tmp_path, hand_pair):
    from data_prep.hand_scale import bone_lengths, fit_scale_betas

    rng = np.random.default_rng(7)
    betas = torch.zeros(10)
    betas[0] = 1.5
    hand = hand_pair["right"]
    pose = torch.from_numpy(np.abs(rng.normal(size=(6, 45))) * 0.3).float()
    joints = hand(torch.from_numpy(rng.normal(size=(6, 3))).float(), pose, betas[None]).joints.double().numpy()
    joints[2, 5] = np.nan
    fitted = fit_scale_betas(joints, hand)
    assert abs(fitted[0] - 1.5) < 1e-3 and np.all(fitted[1:] == 0)
    assert bone_lengths(joints).shape == (6, 20)
    assert np.all(fit_scale_betas(np.full((3, 21, 3), np.nan), hand) == 0)

    # through the reader: keypoints of a larger hand are matched joint for joint
    seq = make_sequence(hand_pair, seed=8)
    scaled = seq["keypoints"].copy()
    for i, side in enumerate(HANDS):
        mano_go = roma.rotmat_to_rotvec(torch.from_numpy(seq["mano_rot"][:, i])).float()
        offset = hand_pair[side].wrist_offset(betas).double().numpy()
        scaled[:, i] = hand_pair[side](mano_go, torch.from_numpy(seq["hand_abs"][:, i]).float(), betas[None],
                                       torch.from_numpy(seq["wrists"][:, i] - offset).float()).joints.double().numpy()
    write_npy(tmp_path / "b.smplx.npy", smplx_dict(seq))
    plain, _, info_plain = read_smplx_sequence(tmp_path / "b.smplx.npy", hand_pair, keypoints=scaled)
    motion, valid, info = read_smplx_sequence(tmp_path / "b.smplx.npy", hand_pair, keypoints=scaled, fit_betas=True)
    np.testing.assert_allclose(motion.betas[:, 0], 1.5, atol=1e-3)
    assert info["keypoint_error_mm"] < 0.05 < info_plain["keypoint_error_mm"]
    np.testing.assert_allclose(motion.joints(hand_pair), scaled, atol=1e-4)
