"""Known answers of the hand-specific metrics (eval.hand_metrics, eval.mesh_penetration)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eval import hand_metrics as hm

FPS = 30.0


def rest_joints(hand_pair, frames: int = 60) -> np.ndarray:
    """Both flat hands at rest, 40 cm apart, for ``frames`` frames: (1, T, 2, 21, 3)."""
    out = []
    for side, x in (("left", 0.2), ("right", -0.2)):
        j = hand_pair[side].joints(torch.zeros(1, 3), torch.zeros(1, 45), None, torch.tensor([[x, 0.0, 0.0]]))[0]
        out.append(j.numpy())
    return np.broadcast_to(np.stack(out), (1, frames, 2, 21, 3)).copy()


def test_contacts_of_a_hand_made_sequence(hand_pair):
    from handgen.analysis.hand_frame import palm_points

    joints = rest_joints(hand_pair)
    intra, inter = hm.contact_flags(joints)
    assert not intra.any() and not inter.any()
    # right thumb tip on the right index tip for frames 10..19 (0.5 cm apart)
    joints[0, 10:20, 1, 4] = joints[0, 10:20, 1, 8] + [0.005, 0.0, 0.0]
    # left index tip on the right palm's skin for frames 30..39
    joints[0, 30:40, 0, 8] = palm_points(joints[0, 30:40, 1], 1)[:, 0]
    intra, inter = hm.contact_flags(joints)
    assert np.flatnonzero(intra[0].any(0)).tolist() == [4]  # right hand (4..7), thumb-index (first)
    assert np.flatnonzero(intra[0, :, 4]).tolist() == list(range(10, 20))
    assert np.flatnonzero(inter[0].any(0)).tolist() == [1]  # left hand's (0..4) index tip (1)
    assert np.flatnonzero(inter[0, :, 1]).tolist() == list(range(30, 40))
    stats = hm.contact_dataset_stats(joints, intra, inter, FPS)
    assert stats["contact_ratio_intra"] == pytest.approx(10 / 60)
    assert stats["contact_ratio_inter"] == pytest.approx(10 / 60)
    # HandX's pooled statistics count hand-hand contact only: not the pinch, and not a tip on the palm
    # skin either, which is farther than 2.5 cm from every joint of that palm (tip-to-joint distances)
    assert stats["contact_ratio"] == 0.0 and stats["contact_frequency_hz"] == 0.0
    joints[0, 30:40, 0, 8] = joints[0, 30:40, 1, 5] + [0.0, 0.01, 0.0]  # 1 cm from the right index MCP
    stats = hm.contact_dataset_stats(joints, *hm.contact_flags(joints), FPS)
    assert stats["contact_ratio"] == pytest.approx(10 / 60)
    assert stats["contact_duration_s"] == pytest.approx(10 / FPS)
    assert stats["contact_frequency_hz"] == pytest.approx(1 / 2.0)  # one event in 2 s


def test_presence_precision_recall_f1():
    gt = np.zeros((2, 5, 3), dtype=bool)
    pred = np.zeros_like(gt)
    assert hm.presence_scores(pred, gt) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    gt[0, 2, 0] = gt[1, 4, 1] = True  # present: clip 0 channel 0, clip 1 channel 1
    pred[0, 0, 0] = pred[1, 0, 2] = True  # found clip 0 channel 0 (another frame), invented clip 1 channel 2
    assert hm.presence_scores(pred, gt) == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})
    assert hm.presence_scores(np.zeros_like(gt), gt) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_motion_intensity_and_jitter(hand_pair):
    joints = rest_joints(hand_pair)
    assert hm.motion_intensity(joints, FPS) == pytest.approx(0.0, abs=1e-3)
    assert hm.jitter(joints, FPS) == pytest.approx(0.0, abs=1e-6)
    # both flat hands (palms facing -y) turn about y at 90 deg/s: every bone is ~perpendicular to y
    t = np.arange(60) / FPS
    angle = np.radians(90.0) * t
    c, s = np.cos(angle), np.sin(angle)
    rot = np.zeros((60, 3, 3))
    rot[:, 0, 0], rot[:, 0, 2], rot[:, 1, 1], rot[:, 2, 0], rot[:, 2, 2] = c, s, 1.0, -s, c
    turning = np.einsum("tij,ntkpj->ntkpi", rot, joints)
    assert hm.motion_intensity(turning, FPS) == pytest.approx(90.0, rel=0.02)
    # x = a t^3 for every joint: jerk 6a
    cubic = joints.copy()
    cubic[..., 0] += 0.5 * (t**3)[None, :, None, None]
    assert hm.jitter(cubic, FPS) == pytest.approx(3.0, rel=1e-4)


def test_joint_limits_read_from_mano_parameters():
    pose = np.zeros((1, 2, 45))
    assert hm.joint_limit_violations(pose) == {"joint_limit_violation_rate": 0.0, "joint_limit_excess_deg": 0.0}
    bend, spread = hm.bend_spread(pose)
    assert np.allclose(bend, 0) and np.allclose(spread, 0)
    flexed = pose.copy()
    flexed[0, 1, 2] = np.radians(100.0)  # right index MCP (MANO joint 1): flexion about +z
    flexed[0, 0, 2] = -np.radians(60.0)  # left index MCP: flexion is about -z for the left hand
    bend, _ = hm.bend_spread(flexed)
    assert bend[0, 1, 0] == pytest.approx(100.0) and bend[0, 0, 0] == pytest.approx(60.0)
    out = hm.joint_limit_violations(flexed)  # only the right one is beyond 90 + 5 deg
    assert out["joint_limit_violation_rate"] == pytest.approx(1 / 24)
    assert out["joint_limit_excess_deg"] == pytest.approx(5.0)
    spread_pip = pose.copy()
    spread_pip[0, 1, 3 * 1 + 1] = np.radians(12.0)  # right index PIP (joint 2) swung about y
    _, spread = hm.bend_spread(spread_pip)
    assert spread[0, 1, 1] == pytest.approx(12.0)
    assert hm.joint_limit_violations(spread_pip)["joint_limit_excess_deg"] == pytest.approx(7.0)  # limit 0 + 5
    hyper = pose.copy()
    hyper[0, 0, 2] = np.radians(20.0)  # +z on the LEFT hand extends the finger backwards: -20 deg bend
    assert hm.joint_limit_violations(hyper)["joint_limit_excess_deg"] == pytest.approx(15.0)


def test_mesh_penetration_of_a_sphere_in_a_box():
    import trimesh

    from eval.mesh_penetration import mutual_penetration, penetration_depths
    from handgen.geometry.winding import dense_winding_numbers as winding_numbers

    box = trimesh.creation.box((0.1, 0.1, 0.1))
    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.02)
    inside_pts = np.array([[0.0, 0.0, 0.0], [0.049, 0.0, 0.0], [0.051, 0.0, 0.0]])
    assert (winding_numbers(box.vertices, box.faces, inside_pts) > 0.5).tolist() == [True, True, False]
    ball_v = ball.vertices + [0.0505, 0.0, 0.0]  # centred 0.5 mm outside the +x face: reaches 19.5 mm into the box
    depths = penetration_depths(ball_v, ball.faces, box.vertices, box.faces)
    assert depths.max() == pytest.approx(0.0195, abs=1e-6)
    assert np.flatnonzero(depths > 0).tolist() == np.flatnonzero(ball_v[:, 0] < 0.05).tolist()
    assert depths[ball_v[:, 0] < 0.05] == pytest.approx(0.05 - ball_v[ball_v[:, 0] < 0.05, 0])
    assert mutual_penetration(ball_v, ball.faces, box.vertices, box.faces) == pytest.approx(0.0195, abs=1e-6)
    apart = ball.vertices + [0.1, 0.0, 0.0]
    assert mutual_penetration(apart, ball.faces, box.vertices, box.faces) == 0.0


def test_hand_hand_interpenetration(hand_pair):
    faces = (hand_pair.left.faces.numpy(), hand_pair.right.faces.numpy())

    def pose(left_x: float, right_x: float) -> np.ndarray:
        verts = [hand_pair[side](torch.zeros(1, 3), torch.zeros(1, 45), None, torch.tensor([[x, 0.0, 0.0]])).vertices[0]
                 for side, x in (("left", left_x), ("right", right_x))]
        return torch.stack(verts).numpy()

    apart = pose(0.2, -0.2)
    # mirror twins at the same place: the left hand's palm overlaps the right one's across x = 0
    wrist_x = float(hand_pair.right.rest_joints()[0, 0])
    overlap = pose(wrist_x - 0.05, 0.05 - wrist_x)  # wrists 10 cm apart, palms on top of each other
    deep = hm.interpenetration(overlap[None, None], faces)["interpenetration_mm"]
    assert deep > 5.0
    out = hm.interpenetration(np.stack([apart[None], overlap[None]]), faces)  # two one-frame clips
    assert out["interpenetration_frames"] == pytest.approx(0.5)
    assert out["interpenetration_mm"] == pytest.approx(deep / 2)
    assert hm.interpenetration(apart[None, None], faces)["interpenetration_mm"] == 0.0
