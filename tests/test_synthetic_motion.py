"""The synthetic dataset's labels are visible in its motion (``handgen prep synthetic``): finger
primitives, wrist paths and two-hand relations, measured on the procedural hand's joints and
vertices after the converter's own path (compose, write as ARCTIC arrays, pose back)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from data_prep.synthetic.compose import HandLabel, SegmentPlan, compose_segment, sample_plan
from data_prep.synthetic.finger_poses import FINGER_PRIMITIVES, THUMB_PINCH, finger_pose
from data_prep.synthetic.hand_geometry import pose_hand
from data_prep.synthetic.readback import pose_sequence
from data_prep.synthetic.sequences import subject_betas, to_arctic
from data_prep.synthetic.thumb_solver import thumb_penetration, tip_distances
from data_prep.synthetic.wrist_paths import TRANSLATIONS
from handgen.hand.topology import FINGER_KEYPOINTS, PALM_KEYPOINTS

FRAMES = 90
PI_6, PI_3 = np.pi / 6, np.pi / 3
LONG = ("index", "middle", "ring", "pinky")
THUMB_TIP, INDEX_TIP, MIDDLE_TIP = 4, 8, 12


# ------------------------------------------------------------------ helpers


def bend_angles(joints: np.ndarray) -> np.ndarray:
    """Bend (F, 4 fingers, 3 joints) between consecutive bones of the long fingers, radians."""
    out = []
    for finger in LONG:
        chain = [0, *FINGER_KEYPOINTS[finger]]
        bones = [joints[:, chain[k + 1]] - joints[:, chain[k]] for k in range(4)]
        angles = []
        for a, b in zip(bones[:-1], bones[1:]):
            cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
            angles.append(np.arccos(np.clip(cos, -1.0, 1.0)))
        out.append(np.stack(angles, axis=-1))
    return np.stack(out, axis=1)


def posed(plan: SegmentPlan, seed: int = 0, subject: str = "s01", frames: int = FRAMES):
    """Compose ``plan``, write it as ARCTIC arrays and pose those back (the converter's path)."""
    betas = subject_betas(subject)
    motion = compose_segment(plan, frames, betas, np.random.default_rng(seed))
    return pose_sequence(to_arctic(motion, betas))


def palm_centres(joints: np.ndarray) -> np.ndarray:
    return joints[..., list(PALM_KEYPOINTS), :].mean(axis=-2)


def palm_normals(global_orient: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(global_orient.reshape(-1, 3)).apply([0.0, -1.0, 0.0]).reshape(global_orient.shape)


def windows(frames: int, length: int = 60, stride: int = 30) -> list[slice]:
    return [slice(s, s + length) for s in range(0, frames - length + 1, stride)]


def min_hand_distance(vertices: np.ndarray) -> np.ndarray:
    """Smallest vertex-to-vertex distance (F,) between the two hands."""
    return np.array([cKDTree(v[1]).query(v[0])[0].min() for v in vertices])


def hands(fingers_left: str, fingers_right: str, wl: str = "still", wr: str = "up") -> SegmentPlan:
    return SegmentPlan(HandLabel(fingers_left, wl), HandLabel(fingers_right, wr), "none")


# ------------------------------------------------------------------ fingers


@pytest.mark.parametrize("subject", ["s02", "s07"])
@pytest.mark.parametrize("primitive", FINGER_PRIMITIVES)
def test_finger_primitive_is_visible_in_the_joints(primitive, subject):
    other = "relaxed" if primitive != "relaxed" else "fist"
    seq = posed(hands(primitive, other, "still", "down"), seed=3, subject=subject)
    for h, name in ((0, primitive), (1, other)):
        joints = seq.joints[:, h]
        held = slice(25, None)  # after the 14-22 frame transition
        bend = bend_angles(joints[held])  # (F, 4, 3)
        tips = joints[held][:, [INDEX_TIP, MIDDLE_TIP, 16, 20]]
        thumb_tips = np.linalg.norm(tips - joints[held][:, None, THUMB_TIP], axis=-1)  # (F, 4)
        if name == "fist":
            assert bend[-1].mean() > PI_3
            assert (bend[:, :, :2] > PI_3).all()  # MCP and PIP fully bent, every frame
            assert thumb_tips.min() > 0.03  # thumb folded over, touching no fingertip
        elif name == "pinch":
            assert np.linalg.norm(joints[held, THUMB_TIP] - joints[held, INDEX_TIP], axis=-1).max() < 0.015
            assert thumb_tips[:, 1:].min() > 0.03
        elif name == "point":
            assert (bend[:, 0] < PI_6).all()  # index extended
            assert (bend[:, 1:, :2] > PI_3).all()  # the other three fully bent
            assert thumb_tips.min() > 0.03
        elif name == "open":
            assert (bend < PI_6).all()
            index_dir = joints[held, INDEX_TIP] - joints[held, 5]
            pinky_dir = joints[held, 20] - joints[held, 17]
            norms = np.linalg.norm(index_dir, axis=-1) * np.linalg.norm(pinky_dir, axis=-1)
            cos = (index_dir * pinky_dir).sum(-1) / norms
            assert (np.arccos(cos) > 0.45).all()  # spread apart
        elif name == "relaxed":
            assert (bend < PI_3).all() and not (bend < PI_6).all()  # partly bent, nowhere fully
            assert thumb_tips.min() > 0.022
            motion = np.linalg.norm(np.diff(joints[held], axis=0), axis=-1).max()
            assert motion < 0.005  # little motion


@pytest.mark.parametrize("subject", [f"s{i:02d}" for i in range(1, 11)])
def test_cached_thumb_solutions_hold_for_every_subject(subject):
    betas = subject_betas(subject)
    assert tip_distances(finger_pose("pinch", "right"), betas)[0] < 0.012
    for name in ("fist", "point", "pinch"):
        assert thumb_penetration(finger_pose(name, "right"), betas) < 0.006
    for name in ("fist", "point"):
        assert tip_distances(finger_pose(name, "right"), betas).min() > 0.035


def test_left_finger_poses_mirror_the_right():
    for name in FINGER_PRIMITIVES:
        left = pose_hand("left", np.array([[0.0, -np.pi / 2, 0.0]]), finger_pose(name, "left")[None], np.zeros(10))
        right = pose_hand("right", np.array([[0.0, np.pi / 2, 0.0]]), finger_pose(name, "right")[None], np.zeros(10))
        np.testing.assert_allclose(left.joints * [-1, 1, 1], right.joints, atol=1e-9)


@pytest.mark.slow
def test_thumb_constants_are_what_the_solver_finds():
    from data_prep.synthetic.finger_poses import solve_thumb_constants

    solved = solve_thumb_constants()
    np.testing.assert_allclose(solved["pinch"][36:45], np.ravel(THUMB_PINCH), atol=5e-3)
    for name in ("fist", "point"):
        np.testing.assert_allclose(solved[name], finger_pose(name, "right"), atol=5e-3)


# ------------------------------------------------------------------ wrists


@pytest.mark.parametrize("direction", list(TRANSLATIONS))
def test_translation_moves_the_wrist_in_the_persons_frame(direction):
    seq = posed(hands("open", "fist", direction, "still"), seed=5)
    wrist = seq.joints[:, 0, 0]
    axis = np.asarray(TRANSLATIONS[direction])
    travel = (wrist[-1] - wrist[0]) @ axis
    assert 0.10 < travel < 0.25
    sideways = np.linalg.norm((wrist[-1] - wrist[0]) - travel * axis)
    assert sideways < 0.03
    for w in windows(FRAMES):
        assert (wrist[w][-1] - wrist[w][0]) @ axis > 0.05  # visible in every 60-frame clip
    still = seq.joints[:, 1, 0]
    assert np.ptp(still, axis=0).max() < 0.02


def test_wave_tilts_a_raised_palm_side_to_side():
    seq = posed(hands("open", "fist", "wave", "still"), seed=2)
    normal = palm_normals(seq.global_orient[:, 0])
    assert (normal[:, 2] > 0.6).all()  # palm faces forward, fingers up
    tip_x = seq.joints[:, 0, MIDDLE_TIP, 0] - seq.joints[:, 0, 0, 0]
    for w in windows(FRAMES):
        assert np.ptp(tip_x[w]) > 0.10  # the fingers sweep side to side in every clip
        assert np.sign(np.diff(tip_x[w])).tolist().count(0) < 5
        changes = np.count_nonzero(np.diff(np.sign(np.diff(tip_x[w]))))
        assert changes >= 2  # back and forth, not a drift


def test_rotate_rolls_the_palm_about_the_forearm():
    seq = posed(hands("fist", "open", "still", "rotate"), seed=4)
    normal_x = palm_normals(seq.global_orient[:, 1])[:, 0]
    for w in windows(FRAMES):
        assert np.ptp(normal_x[w]) > 1.0  # palm turns at least ~30 deg each way
    wrist = seq.joints[:, 1, 0]
    assert np.ptp(wrist, axis=0).max() < 0.02  # rotation in place


# ------------------------------------------------------------------ relations


def test_approach_and_separate_change_the_wrist_distance():
    for relation, sign in (("approach", -1), ("separate", 1)):
        wl, wr = ("right", "left") if relation == "approach" else ("left", "right")
        seq = posed(SegmentPlan(HandLabel("fist", wl), HandLabel("pinch", wr), relation), seed=6)
        dist = np.linalg.norm(seq.joints[:, 0, 0] - seq.joints[:, 1, 0], axis=-1)
        assert sign * (dist[-1] - dist[0]) > 0.15
        for w in windows(FRAMES):
            assert sign * (dist[w][-1] - dist[w][0]) > 0.06
        close = min_hand_distance(seq.vertices[[-1 if relation == "approach" else 0]])[0]
        assert 0.02 < close < 0.06  # a few cm apart, not touching
        assert min_hand_distance(seq.vertices[::5]).min() > 0.02


def test_clap_palms_meet_repeatedly_without_passing_through():
    hand = HandLabel("open", "in_out", "inward")
    seq = posed(SegmentPlan(hand, hand, "clap"), seed=8, subject="s04")
    normals = palm_normals(seq.global_orient)
    assert ((normals[:, 0] * normals[:, 1]).sum(-1) < -0.8).all()  # palms face each other
    gap = min_hand_distance(seq.vertices)
    # the left hand (at +x) never crosses the right hand's farthest point along x
    assert (seq.vertices[:, 0, :, 0].min(axis=1) - seq.vertices[:, 1, :, 0].max(axis=1) > 0).all()
    centres = np.linalg.norm(np.diff(palm_centres(seq.joints), axis=1)[:, 0], axis=-1)
    for w in windows(FRAMES):
        g = gap[w]
        meets = [t for t in range(1, len(g) - 1) if g[t] <= g[t - 1] and g[t] <= g[t + 1] and g[t] < 0.012]
        assert len(meets) >= 2
        assert centres[w][meets].max() < 0.075  # the palms, not the fingertips, meet
        assert g.max() > 0.08  # and open wide in between


def test_touch_palm_index_tip_reaches_the_other_palm_centre():
    for toucher in ("left", "right"):
        point, receive = HandLabel("point", "down"), HandLabel("open", "still", "up")
        plan = SegmentPlan(point, receive, "touch_palm", "left") if toucher == "left" else SegmentPlan(
            receive, point, "touch_palm", "right"
        )
        seq = posed(plan, seed=9)
        t, r = (0, 1) if toucher == "left" else (1, 0)
        tip_to_palm = np.linalg.norm(seq.joints[:, t, INDEX_TIP] - palm_centres(seq.joints[:, r]), axis=-1)
        assert tip_to_palm[0] > 0.08
        assert (tip_to_palm[int(0.6 * FRAMES):] < 0.025).all()
        for w in windows(FRAMES):
            assert (tip_to_palm[w] < 0.025).sum() >= 10
        assert palm_normals(seq.global_orient[:, r])[:, 1].min() > 0.8  # receiving palm faces up
        # only the index finger comes close: the rest of the pointing hand keeps clear
        others = np.ones(seq.vertices.shape[2], dtype=bool)
        index_tip_region = cKDTree(seq.vertices[-1, t]).query_ball_point(seq.joints[-1, t, INDEX_TIP], 0.05)
        others[index_tip_region] = False
        clearance = cKDTree(seq.vertices[-1, r]).query(seq.vertices[-1, t][others])[0].min()
        assert clearance > 0.01


def test_mirror_moves_both_hands_as_mirror_images():
    hand = HandLabel("pinch", "up")
    seq = posed(SegmentPlan(hand, hand, "mirror"), seed=10)
    left, right = seq.joints[:, 0], seq.joints[:, 1] * [-1.0, 1.0, 1.0]
    assert np.abs(left - right).max() < 0.03
    assert (seq.joints[-1, :, 0, 1] - seq.joints[0, :, 0, 1] > 0.10).all()


def test_independent_hands_keep_apart():
    rng = np.random.default_rng(100)
    plans = [p for p in (sample_plan(rng) for _ in range(60)) if p.relation == "none"][:8]
    assert len(plans) == 8
    for seed, plan in enumerate(plans):
        assert plan.left.wrist != plan.right.wrist
        seq = posed(plan, seed=seed)
        assert min_hand_distance(seq.vertices[::3]).min() > 0.05
