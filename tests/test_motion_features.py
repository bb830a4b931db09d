"""Motion features and events on hand-made joint sequences with known answers, and their agreement
with the synthetic generator's ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from hand_clips import PALM_DOWN, T, pose, still_pair
from scipy.spatial.transform import Rotation

from data_prep.events import clip_events, events_json
from data_prep.events import segmentation as seg
from data_prep.events.summary import summarise
from handgen.analysis import extract_clip_features
from handgen.analysis import contacts
from handgen.analysis.fingers import FLEXION_STATES, flexion, flexion_state_index
from data_prep.synthetic.finger_poses import finger_pose
from handgen.hand.topology import FINGERS, pose_slice


# ------------------------------------------------------------------ fingers


def test_flexion_of_a_flat_hand_is_zero_and_a_bent_joint_reads_its_angle(hand_pair):
    flat = pose(hand_pair, "right", PALM_DOWN["right"], np.zeros(45), (0, 0, 0))
    assert np.abs(flexion(flat, 1)[:, 1:, :]).max() < 0.08  # long fingers straight (flat hand)
    bent = np.zeros(45)
    bent[pose_slice(2)] = (0.0, 0.0, 1.0)  # index PIP 1 rad about +z: MANO flexion of the right hand
    joints = pose(hand_pair, "right", PALM_DOWN["right"], bent, (0, 0, 0))
    flex = flexion(joints, 1)
    assert flex[0, 1, 1] == pytest.approx(1.0, abs=0.05)  # index PIP
    assert abs(flex[0, 1, 0]) < 0.08 and abs(flex[0, 2, 1]) < 0.08  # index MCP, middle PIP untouched
    # the left hand is the mirror image: the same bend reads the same (positive) flexion
    left = pose(hand_pair, "left", PALM_DOWN["left"], finger_pose("fist", "left"), (0, 0, 0))
    right = pose(hand_pair, "right", PALM_DOWN["right"], finger_pose("fist", "right"), (0, 0, 0))
    np.testing.assert_allclose(flexion(left, 0), flexion(right, 1), atol=1e-4)
    assert (flexion(right, 1)[:, 1:, :2] > np.pi / 3).all()  # MCP and PIP fully bent
    hyper = np.zeros(45)
    hyper[pose_slice(1)] = (0.0, 0.0, -0.5)  # index MCP bent backwards
    assert flexion(pose(hand_pair, "right", PALM_DOWN["right"], hyper, (0, 0, 0)), 1)[0, 1, 0] < -0.4


def test_flexion_states_follow_the_reference_thresholds():
    values = np.array([-0.3, 0.0, np.pi / 6, np.pi / 6 + 0.01, np.pi / 3, np.pi / 3 + 0.01])
    names = [FLEXION_STATES[i] for i in flexion_state_index(values)]
    assert names == ["hyper-extended", "extended", "extended", "partially bent", "partially bent", "fully bent"]


@pytest.mark.parametrize("shape", ["fist", "open", "pinch", "point", "relaxed"])
def test_hand_shapes_and_thumb_contact(hand_pair, shape):
    joints = still_pair(hand_pair, right_fingers=finger_pose(shape, "right"))
    features = extract_clip_features(joints)
    touching = features.hands[1].thumb_contact  # (T, 4)
    assert touching[:, 0].all() == (shape == "pinch") and not touching[:, 1:].any()
    assert not features.hands[0].thumb_contact.any()  # relaxed left hand: thumb 2.4-3.4 cm from the index tip
    summary = summarise(clip_events(features))
    assert summary.right.shape == shape and summary.left.shape == "relaxed"
    intra = contacts.intra_hand_contacts(joints)  # (T, 2, 4), the evaluator's view
    assert intra.shape == (T, 2, 4) and intra[:, 1, 0].all() == (shape == "pinch") and not intra[:, 0].any()


# ------------------------------------------------------------------ wrist


def test_wrist_moving_left_is_plus_x_and_only_that_hand_moves(hand_pair):
    relaxed = finger_pose("relaxed", "left")
    path = np.zeros((T, 3))
    path[:, 0] = 0.15 + np.linspace(0.0, 0.12, T)  # +x is the person's left
    left = pose(hand_pair, "left", PALM_DOWN["left"], relaxed, path)
    right = pose(hand_pair, "right", PALM_DOWN["right"], finger_pose("relaxed", "right"), (-0.15, 0, 0))
    features = extract_clip_features(np.stack([left, right], axis=1))
    velocity = features.hands[0].wrist_velocity
    np.testing.assert_allclose(velocity[:, 0], 0.12 * 30 / (T - 1), rtol=0.02)
    assert np.abs(velocity[:, 1:]).max() < 1e-3 and np.abs(features.hands[1].wrist_velocity).max() < 1e-3
    events = clip_events(features)
    moves = events["left"]["translation"]["left_right"]
    assert len(moves) == 1 and moves[0]["direction"] == "left" and moves[0]["distance"] == pytest.approx(12, abs=0.5)
    assert "translation" not in events["right"]
    summary = summarise(events)
    assert dict(summary.left.travel) == {"left": pytest.approx(12, abs=0.5)} and summary.right.still
    assert summary.pair.change == "separating" and summary.pair.change_by == "left"
    assert summary.left.palm == "down" and summary.right.palm == "down" and summary.left.pointing == "forward"


def test_rotation_about_the_forearm_is_supination_for_both_hands(hand_pair):
    # rolls the palm from down towards the thumb side (+x for the right hand) by 90 deg in 1.5 s, then holds
    angle = np.minimum(np.arange(T) / 45.0, 1.0) * np.pi / 2
    right_rot = Rotation.from_euler("z", angle[:, None]) * Rotation.from_rotvec(PALM_DOWN["right"])
    left_rot = Rotation.from_euler("z", -angle[:, None]) * Rotation.from_rotvec(PALM_DOWN["left"])  # its mirror image
    left = pose(hand_pair, "left", left_rot.as_rotvec(), finger_pose("open", "left"), (0.15, 0, 0))
    right = pose(hand_pair, "right", right_rot.as_rotvec(), finger_pose("open", "right"), (-0.15, 0, 0))
    features = extract_clip_features(np.stack([left, right], axis=1))
    for h in (0, 1):
        rates = features.hands[h].rotation_rates
        np.testing.assert_allclose(rates[3:42, 0], np.pi / 2 / 45 * 30, rtol=0.05)  # supination, rad/s
        # the hand's own forearm axis (wrist -> middle knuckle) is a few degrees off world z
        assert np.abs(rates[:, 1:]).max() < 0.1 and np.abs(rates[48:, 0]).max() < 0.05
    events = clip_events(features)
    for side in ("left", "right"):
        (turn,) = events[side]["rotation"]["supination"]
        assert turn["direction"] == "palm turning up" and turn["angle"] == pytest.approx(90, abs=6)
    assert events["right"]["palm_facing"][-1]["state"] == "inward"  # ends turned towards the other hand
    assert summarise(events).pair.mirror


# ------------------------------------------------------------------ two hands


def facing_pair(hand_pair, half_gap: np.ndarray, tip_forward: float = 0.0) -> np.ndarray:
    """Right hand palm facing +x (the other hand), the left hand its mirror image; palm centres 2 x half_gap apart."""
    orient = (Rotation.from_euler("z", np.pi / 2) * Rotation.from_rotvec(PALM_DOWN["right"])).as_rotvec()
    right = pose(hand_pair, "right", orient, finger_pose("open", "right"), (0, 0, 0))
    centre = right[:, [0, 5, 9, 13, 17]].mean(axis=1)
    right = right - centre[:, None] + np.stack([-half_gap, np.zeros(T), np.zeros(T)], axis=1)[:, None]
    left = right * np.array([-1.0, 1.0, 1.0])  # the left hand is the x-mirror of the right
    return np.stack([left, right], axis=1)


def test_palms_touching_are_one_palm_contact_and_claps_are_counted(hand_pair):
    gap = np.concatenate([np.linspace(0.15, 0.025, 20), np.full(20, 0.025), np.linspace(0.025, 0.15, 20)])
    events = clip_events(extract_clip_features(facing_pair(hand_pair, gap)))
    (contact,) = events["both"]["palm_contact"]
    assert contact["facing"] and contact["min_cm"] == pytest.approx(5.0, abs=0.1)
    assert 15 <= contact["start"] <= 22 and 38 <= contact["end"] <= 45
    summary = summarise(events)
    assert summary.pair.relation == "palm_contact" and summary.pair.palm_contacts == 1
    # three quick claps (contacts of a few frames, shorter than the 6-frame minimum of states)
    t = np.arange(T)
    clapping = 0.025 + 0.06 * (0.5 - 0.5 * np.cos(2 * np.pi * (t - 10) / 20))  # palms meet at frames 10, 30, 50
    events = clip_events(extract_clip_features(facing_pair(hand_pair, clapping)))
    assert len(events["both"]["palm_contact"]) == 3
    assert summarise(events).pair.relation == "clap"


def test_fingertip_on_the_other_palm(hand_pair):
    # right hand palm up and still; the left index tip comes down onto its palm
    right_up = (Rotation.from_euler("z", np.pi) * Rotation.from_rotvec(PALM_DOWN["right"])).as_rotvec()
    right = pose(hand_pair, "right", right_up, finger_pose("open", "right"), (0, 0, 0))
    target = right[0, [0, 5, 9, 13, 17]].mean(axis=0) + np.array([0, 0.0135 + 0.003, 0])  # just above the skin
    point = pose(hand_pair, "left", (Rotation.from_euler("x", 0.8) * Rotation.from_rotvec(PALM_DOWN["left"]))
                 .as_rotvec(), finger_pose("point", "left"), (0, 0, 0))
    lift = np.concatenate([np.linspace(0.10, 0.0, 30), np.zeros(30)])
    left = point - point[:, 8:9] + target + np.stack([np.zeros(T), lift, np.zeros(T)], axis=1)[:, None]
    joints = np.stack([left, right], axis=1)
    inter = contacts.inter_hand_contacts(joints)  # (T, 2, 5)
    assert inter[40:, 0, 1].all() and not inter[:10].any() and not inter[:, 1].any()
    bands = contacts.inter_hand_bands(joints)[:, 0, 1]  # far while high, then near, then contact
    assert bands[0] == 2 and bands[-1] == 0 and 1 in bands and (np.diff(bands) <= 0).all()
    events = clip_events(extract_clip_features(joints))
    (touch,) = events["both"]["fingertip_to_palm"]
    assert (touch["hand"], touch["finger"], touch["palm"]) == ("left", "index", "right") and touch["end"] == T
    summary = summarise(events)
    assert summary.pair.relation == "touch_palm" and summary.right.palm == "up" and summary.left.shape == "point"
    assert dict(summary.left.travel).keys() == {"down"}


def test_contact_statistics_known_answer():
    flags = np.zeros(30, dtype=bool)
    flags[3:9] = True  # 6 frames
    flags[20:23] = True  # 3 frames
    stats = contacts.contact_statistics(flags, fps=30)
    assert stats.events == 2 and stats.ratio == pytest.approx(9 / 30)
    assert stats.mean_duration == pytest.approx(4.5 / 30) and stats.frequency == pytest.approx(2.0)
    assert contacts.contact_runs(flags) == [(3, 9), (20, 23)]
    with pytest.raises(ValueError):
        contacts.intra_hand_contacts(np.zeros((5, 21, 3)))


def test_object_contact_is_optional_and_reported(hand_pair):
    joints = still_pair(hand_pair)
    assert "object_contact" not in clip_events(extract_clip_features(joints))["right"]
    fraction = np.zeros((T, 2))
    fraction[10:40, 1] = 0.2
    tips = np.zeros((T, 2, 5), dtype=bool)
    tips[10:40, 1, :2] = True
    events = clip_events(extract_clip_features(joints, object_contact=fraction, object_tips=tips), "mug")
    assert events["object"] == {"name": "mug", "noun": "mug", "held_by": ["right"]}  # 30 of 60 frames: held
    assert "object_contact" not in events["left"]
    (touch,) = events["right"]["object_contact"]
    assert (touch["start"], touch["end"], touch["tips"], touch["fraction"]) == (10, 40, ["thumb", "index"], 0.2)
    with pytest.raises(ValueError, match="object_contact"):
        extract_clip_features(joints, object_contact=np.zeros((T, 3)))


def test_bad_joints_are_refused():
    with pytest.raises(ValueError, match="T, 2, 21, 3"):
        extract_clip_features(np.zeros((T, 21, 3)))
    bad = np.zeros((T, 2, 21, 3))
    bad[3, 0, 4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        extract_clip_features(bad)


# ------------------------------------------------------------------ events


def test_hysteresis_keeps_noise_from_flickering():
    rng = np.random.default_rng(0)
    speed = np.concatenate([np.zeros(20), np.full(25, 0.06), np.zeros(15)]) + rng.normal(0, 0.008, 60)
    speed[30] = 0.025  # a dip under the entry threshold but over the exit one: stays moving
    signs = seg.hysteresis_sign(speed, enter=0.04, leave=0.02)
    assert [(r.start, r.end, r.state) for r in seg.runs(signs)] == [(0, 20, 0), (20, 45, 1), (45, 60, 0)]
    plain = (speed > 0.04).astype(int)
    assert len(seg.runs(plain)) > 3  # without hysteresis the dip splits the run
    assert seg.hysteresis_below(np.array([3.0, 1.9, 2.3, 2.6, 1.0]), 2.0, 2.5).tolist() == [0, 1, 1, 0, 1]
    bands = seg.hysteresis_bands(np.array([0.0, 0.52, 0.56, 0.54, 0.50, 0.46]), [0.5236], 0.03)
    assert bands.tolist() == [0, 0, 1, 1, 1, 0]


def test_runs_shorter_than_six_frames_are_absorbed():
    states = np.array([0] * 10 + [1] * 4 + [0] * 10 + [2] * 3 + [1] * 13)
    merged = seg.merge_short_runs(states)
    # the 4-frame 1 sits between two 0s; the 3-frame 2 joins its longer neighbour (the 13-frame 1)
    assert [(r.start, r.end, r.state) for r in seg.runs(merged)] == [(0, 24, 0), (24, 40, 1)]
    assert all(r.length >= seg.MIN_FRAMES for r in seg.runs(merged))
    kept = seg.merge_short_runs(np.array([0] * 10 + [1] * 3 + [0] * 10), min_frames_by_state={1: 2})
    assert kept.tolist().count(1) == 3  # a brief contact stays
    assert seg.merge_short_runs(np.array([1, 1, 2])).tolist() == [1, 1, 1]


def test_events_json_is_compact_and_deterministic(hand_pair):
    features = extract_clip_features(still_pair(hand_pair, right_fingers=finger_pose("fist", "right")))
    text = events_json(clip_events(features))
    assert text == events_json(clip_events(features))
    assert ", " not in text and '": ' not in text  # compact separators
    assert len(text) < 3000 and '"fps":30.0' in text and '"frames":60' in text
    ev = clip_events(features)
    assert set(ev) == {"fps", "frames", "left", "right", "both"}
    assert set(ev["right"]["fingers"]) == set(FINGERS)
    for stream in ("shape", "palm_facing", "fingers_pointing"):
        runs = ev["right"][stream]
        assert runs[0]["start"] == 0 and runs[-1]["end"] == T
        assert all(a["end"] == b["start"] for a, b in zip(runs, runs[1:]))


# ------------------------------------------------------------------ ground truth of the synthetic data


def test_features_agree_with_the_synthetic_ground_truth(synthetic_data_dir):
    from data_prep.synthetic.feature_agreement import measure_data_dir

    agreement = measure_data_dir(str(synthetic_data_dir))
    print("\n" + agreement.table())
    assert agreement.overall() >= 0.95
    for (field, label), (good, total) in agreement.counts.items():
        if total >= 6:
            assert good / total >= 0.95, (field, label, agreement.failures[(field, label)])
    labels = {label for (field, label) in agreement.counts if field == "fingers"}
    assert labels == {"fist", "open", "pinch", "point", "relaxed"}
    wrist_labels = {label for (field, label) in agreement.counts if field == "wrist"}
    assert {"left", "right", "up", "down", "still"} <= wrist_labels
