"""Known answers for every step of HandX's evaluation protocol (eval.handx_protocol, eval.handx_contacts)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from eval import hand_metrics as hm
from eval import handx_contacts as hc
from eval import handx_protocol as hx
from handgen.analysis import embedding_metrics as mm
from handgen.hand.topology import FINGER_KEYPOINTS, FINGERS

FPS = 30.0


def flat_hand(origin=(0.0, 0.0, 0.0)) -> np.ndarray:
    """A flat hand (21, 3) in the z = 0 plane (palm normal +-z): wrist at ``origin``, fingers along +y."""
    bases = {"thumb": (0.03, 0.02), "index": (0.02, 0.08), "middle": (0.0, 0.085), "ring": (-0.02, 0.08),
             "pinky": (-0.04, 0.07)}
    joints = np.zeros((21, 3))
    for finger in FINGERS:
        x, y = bases[finger]
        step = np.array([0.3 * x, 0.025, 0.0]) if finger == "thumb" else np.array([0.0, 0.025, 0.0])
        for i, k in enumerate(FINGER_KEYPOINTS[finger]):
            joints[k] = [x, y, 0.0] + i * step
    return joints + np.asarray(origin)


def two_hands(frames: int = 60) -> np.ndarray:
    """(1, T, 2, 21, 3): two flat hands 40 cm apart, nothing in contact."""
    pair = np.stack([flat_hand((0.2, 0.0, 0.0)), flat_hand((-0.2, 0.0, 0.0))])
    return np.broadcast_to(pair, (1, frames, 2, 21, 3)).copy()


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# -- R-Precision ------------------------------------------------------------------------------------
def test_r_precision_perfect_matches_and_random_chance():
    rng = np.random.default_rng(0)
    text = unit(rng.normal(size=(320, 16)))
    mean, std = hx.r_precision(text, text)
    assert mean.tolist() == [1.0, 1.0, 1.0] and std.tolist() == [0.0, 0.0, 0.0]
    other = unit(rng.normal(size=(32 * 200, 16)))
    mean, _ = hx.r_precision(unit(rng.normal(size=other.shape)), other)
    assert mean == pytest.approx([1 / 32, 2 / 32, 3 / 32], abs=0.01)


def collapsed_pairs() -> tuple[np.ndarray, np.ndarray]:
    """Texts at 0, 10, 20, ...; each pair's motions collapse to 6 and 7 (between the two texts)."""
    text = np.zeros((32, 2))
    motion = np.zeros((32, 2))
    for p in range(16):
        text[2 * p, 0], text[2 * p + 1, 0] = 20 * p, 20 * p + 10
        motion[2 * p, 0], motion[2 * p + 1, 0] = 20 * p + 6, 20 * p + 7
    return text, motion


def test_text_rows_rank_motions_where_the_two_directions_differ():
    text, motion = collapsed_pairs()
    # each text's nearest motion is its own: text rows give 1.0
    assert hx.r_precision(text, motion)[0][0] == 1.0
    # the other direction (each motion ranks the texts): motion 6 is nearer text 10 than text 0 -> 0.5
    d = mm.pairwise_distances(motion, text)
    motion_rows = float((np.argmin(d, axis=1) == np.arange(32)).mean())
    assert motion_rows == 0.5 and 1.0 - motion_rows > 0.1
    # handgen's own protocol now ranks the same way round (one batch of 32: the shuffle does not matter)
    assert mm.r_precision(motion, text, seed=0)[0] == 1.0


def test_contiguous_batches_drop_the_remainder():
    assert hx.batches(70) == [slice(0, 32), slice(32, 64)]
    assert hx.batches(20) == [slice(0, 20)]
    rng = np.random.default_rng(1)
    text = unit(rng.normal(size=(40, 8)))
    motion = text.copy()
    motion[32:] = motion[32:][::-1]  # the last 8 (the dropped remainder) are all wrong
    assert hx.r_precision(text, motion)[0].tolist() == [1.0, 1.0, 1.0]
    motion[:32] = motion[:32][::-1]  # wrong inside the first batch: counted
    assert hx.r_precision(text, motion)[0][0] == 0.0
    # fewer than 32 items: one batch of all of them
    assert hx.r_precision(text[:8], text[:8])[0].tolist() == [1.0, 1.0, 1.0]


def test_matching_fid_diversity_multimodality_known_values():
    text = np.eye(4)
    assert hx.matching_score(text, text + [0.0, 0.0, 0.0, 0.5]) == pytest.approx(0.5)
    rng = np.random.default_rng(2)
    a = rng.normal(size=(200, 3))
    assert hx.fid(a, a) == pytest.approx(0.0, abs=1e-6)
    assert hx.fid(a, a + [1.0, 0.0, 0.0]) == pytest.approx(1.0, abs=1e-6)
    first, second = hx.diversity_pairs(10)  # RandomState(42), 9 draws twice without replacement
    rs = np.random.RandomState(42)
    assert first.tolist() == rs.choice(10, 9, replace=False).tolist()
    assert second.tolist() == rs.choice(10, 9, replace=False).tolist()
    line = np.arange(10.0)[:, None]
    assert hx.diversity(line) == pytest.approx(np.abs(first - second).mean())
    groups = np.zeros((5, 4, 2))
    groups[:, 1:, 0] = 1.0  # one sample per item at 0, three at 1
    expect_first = np.random.RandomState(42).choice(4, 3, replace=False)
    rs = np.random.RandomState(42)
    f, s = rs.choice(4, 3, replace=False), rs.choice(4, 3, replace=False)
    assert (f == expect_first).all()
    assert hx.multimodality(groups) == pytest.approx(np.mean((f == 0) ^ (s == 0)))
    assert hx.multimodality(groups[:, :1]) == 0.0


# -- MPJPE ---------------------------------------------------------------------------------------------
def test_mpjpe_is_shift_invariant_and_measures_relative_error():
    gt = two_hands(10)
    shifted = gt + [0.05, 0.0, 0.0]
    assert hx.mpjpe_mm(shifted, gt) == pytest.approx(0.0, abs=1e-9)
    assert mm.mpjpe_mm(shifted, gt) == pytest.approx(50.0)  # handgen's absolute figure (MPJPE_abs_mm)
    moved = gt.copy()
    moved[:, :, 1] += [0.0, 0.03, 0.0]  # the right hand 3 cm away from the left: every right joint off by 3 cm
    assert hx.mpjpe_mm(moved, gt) == pytest.approx(15.0)  # 21 of 42 joints


def test_evaluator_input_is_right_wrist_relative_in_handx_order():
    j = two_hands(3) + np.arange(3.0)[None, :, None, None, None]  # moves every frame
    x = hx.evaluator_input(j)
    assert x.shape == (1, 3, 126)
    assert np.allclose(x[..., 63:66], 0.0)  # flattened joint 21: the right wrist
    assert np.allclose(x[0, 0], x[0, 2])  # per-frame subtraction removes the drift
    # HandX joint 16 (flattened 16) is the left thumb tip, handgen keypoint 4
    assert np.allclose(x[0, 0, 48:51], j[0, 0, 0, 4] - j[0, 0, 1, 0])


# -- contacts -------------------------------------------------------------------------------------------
def test_fingertip_on_the_back_of_the_palm_counts_and_3cm_above_does_not():
    joints = two_hands(3)
    right = joints[0, 0, 1]
    centre = right[[0, 5, 9]].mean(axis=0)  # inside the (wrist, index MCP, middle MCP) triangle
    joints[0, 1, 0, 8] = centre + [0.0, 0.0, -0.012]  # left index tip on the BACK of the right palm (1.2 cm)
    joints[0, 2, 0, 8] = centre + [0.0, 0.0, 0.030]  # 3 cm above the palm
    flags = hc.inter_hand_flags(joints)
    assert not flags[0, 0].any()
    assert flags[0, 1].tolist() == [[False, True, False, False, False], [False] * 5]
    assert not flags[0, 2].any()
    _, inter = hm.contact_flags(joints)  # handgen's figure uses the same definition
    assert inter[0, :, 1].tolist() == [False, True, False]


def test_intra_hand_and_presence_counts():
    joints = two_hands(4)
    joints[0, 2, 1, 4] = joints[0, 2, 1, 12] + [0.0, 0.01, 0.0]  # right thumb tip 1 cm beyond the middle tip
    flags = hc.intra_hand_flags(joints)
    assert np.argwhere(flags).tolist() == [[0, 2, 1, 1]]
    gt = np.zeros((3, 4, 2), dtype=bool)
    pred = np.zeros_like(gt)
    assert hc.presence_counts(pred, gt)["precision"] == 0.0  # empty vs empty: 0, as HandX
    gt[0, 1, 0] = gt[1, 0, 1] = True
    pred[0, 3, 0] = pred[2, 2, 1] = True
    scores = hc.presence_counts(pred, gt)
    assert (scores["tp"], scores["fp"], scores["fn"]) == (1, 1, 1)
    assert scores["f1"] == pytest.approx(0.5)


def test_palm_points_lie_in_the_four_triangles_and_are_seeded():
    w = hc.palm_weights()
    assert w.shape == (100, 3) and np.allclose(w.sum(1), 1.0) and (w >= 0).all()
    assert np.array_equal(w, hc.palm_weights())
    points = hc.palm_points(flat_hand())
    assert points.shape == (100, 3) and np.allclose(points[:, 2], 0.0)


def test_pooled_contact_statistics_count_a_touch_and_not_a_pinch():
    joints = two_hands(60)
    # frames 10..29: the left index tip 1 cm from the right middle MCP (a hand-hand touch)
    joints[0, 10:30, 0, 8] = joints[0, 10:30, 1, 9] + [0.0, 0.0, 0.01]
    # frames 40..49: the left thumb tip on the left index tip (an intra-hand pinch)
    joints[0, 40:50, 0, 4] = joints[0, 40:50, 0, 8] + [0.005, 0.0, 0.0]
    mask = hc.interaction_mask(joints)
    assert np.flatnonzero(mask[0]).tolist() == list(range(10, 30))
    stats = hc.contact_stats(mask, FPS)
    assert stats == pytest.approx({"contact_ratio": 20 / 60, "contact_duration_s": 20 / FPS,
                                   "contact_frequency_hz": 1 / 2.0})
    intra, inter = hm.contact_flags(joints)
    handgen = hm.contact_dataset_stats(joints, intra, inter, FPS)
    assert handgen["contact_ratio"] == pytest.approx(20 / 60)  # the pinch is not hand-hand contact
    assert handgen["contact_ratio_intra"] == pytest.approx(10 / 60)


# -- HandX's intensity ----------------------------------------------------------------------------------
def test_joint_angular_velocity_of_a_bending_joint_and_a_rigid_rotation():
    frames, rate = 30, 90.0  # deg/s
    joints = two_hands(frames)
    pip, dip, tip = FINGER_KEYPOINTS["index"][1:]
    for t in range(frames):
        angle = np.radians(10.0 + rate * t / FPS)  # the right index PIP bends about x
        rot = Rotation.from_rotvec([angle, 0.0, 0.0])
        base = joints[0, t, 1, pip].copy()
        for k in (dip, tip):
            joints[0, t, 1, k] = rot.apply(joints[0, t, 1, k] - base) + base
    # only a middle joint (weight 3 of 9 + 3 + 1) of one of 10 fingers moves: 3 * rate / (13 * 10)
    assert hc.joint_angular_velocity(joints, FPS) == pytest.approx(3 * rate / 130, rel=1e-6)
    spin = two_hands(frames)
    for t in range(frames):
        spin[0, t] = Rotation.from_rotvec([0.0, 0.0, np.radians(180.0 * t / FPS)]).apply(
            spin[0, t].reshape(-1, 3)).reshape(2, 21, 3) + [0.01 * t, 0.0, 0.0]
    assert hc.joint_angular_velocity(spin, FPS) == pytest.approx(0.0, abs=1e-3)  # arccos rounding at straight joints


# -- the whole report ---------------------------------------------------------------------------------
def test_protocol_report_on_ground_truth_groups():
    rng = np.random.default_rng(3)
    gt = two_hands(8).repeat(40, axis=0) + rng.normal(0, 0.01, (40, 1, 2, 21, 3))
    groups = np.stack([gt, gt + [0.1, 0.0, 0.0]])  # the second group is the first shifted: same metrics
    embed = lambda j: hx.evaluator_input(j).reshape(len(j), -1)[:, :16] * 10  # noqa: E731
    texts = [{"left": str(i), "right": "", "both": ""} for i in range(40)]
    text_emb = lambda trip: embed(gt)  # noqa: E731
    report = hx.protocol_report(gt, groups, texts, embed, text_emb, fps=FPS)
    assert report["R_precision_top1"] == {"mean": 1.0, "std": 0.0}
    assert report["FID"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert report["MPJPE"] == {"mean": pytest.approx(0.0, abs=1e-9), "std": pytest.approx(0.0, abs=1e-9)}
    assert report["MultiModality"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert report["Matching_score"]["mean"] == pytest.approx(0.0, abs=1e-9)
