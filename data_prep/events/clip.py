"""A clip's motion features as events, serialised to compact JSON (the captioners' input).

:func:`clip_events` segments every feature stream of :class:`ClipFeatures` into events of at
least 6 frames (contacts: 2), with hysteresis on every threshold, and returns a JSON-ready
dict. Frames are clip frames [start, end); distances in cm, speeds in cm/s, angles in
degrees and rotation speeds in degrees/s. Layout (streams that hold nothing are left out)::

    {"fps": 30, "frames": 60, ["object": {name, noun, held_by, translation, rotation, ...},]  # .objects
     "left"/"right": {
        "shape": [{start, end, state}],            # relaxed fist open flat point pinch other
        "fingers": {thumb..pinky: [{start, end, state}]},   # hyper-extended extended partially bent fully bent
        "spacing": [{start, end, state}],          # spread | together (long fingers)
        "thumb_contact": [{start, end, finger, min_cm}],     # thumb tip on another fingertip
        "translation": {left_right|down_up|back_front: [{start, end, direction, speed, distance}]},
        "rotation": {supination|flexion|deviation: [{start, end, direction, speed, angle}]},
        "palm_facing": [{start, end, state[, also]}],        # up down forward back inward outward
        "fingers_pointing": [{start, end, state[, also]}],
        "object_contact": [{start, end, tips, fraction}],   # with an object (.objects)
        "turning": {about_left_right|about_vertical|about_forward: [...]}},  # slow turns, hands touching it
     "both": {
        "palm_distance": [{start, end, state, min_cm, max_cm}],   # touching close apart far
        "palm_contact": [{start, end, min_cm, facing}],
        "distance_change": [{start, end, state, speed, change, moving}],  # wrists approaching | separating
        "fingertip_to_palm": [{start, end, hand, finger, palm, min_cm}],
        "fingertip_to_fingertip": [{start, end, left, right, min_cm}],
        "relative_position": {left_right|down_up|back_front: [{start, end, state}]},  # left palm vs right
        "mirror": [{start, end}]}}

Translation and rotation list only the moving runs; a hand without any is still.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from handgen.hand.topology import FINGERS, HANDS

from data_prep.events import segmentation as seg
from data_prep.events.objects import object_events, turning_events
from data_prep.events.streams import cm as _cm
from data_prep.events.streams import contact_runs as _contact_runs
from data_prep.events.streams import direction_events as _direction_events
from data_prep.events.streams import event as _event
from data_prep.events.streams import state_events as _state_events
from handgen.analysis import fingers as fing
from handgen.analysis import two_hands
from handgen.analysis.extract import ClipFeatures, HandFeatures, PairFeatures
from handgen.analysis.wrist import AXES, AXIS_DIRECTIONS, FACING, ROTATIONS, facing_scores

FLEXION_MARGIN = 0.05  # rad past a flexion band edge
THUMB_LEAVE = 0.025  # thumb contact ends past 2.5 cm (starts below 2 cm)
MOVE_ENTER, MOVE_LEAVE, MOVE_MIN_DISTANCE = 0.04, 0.02, 0.01  # m/s, m/s, m
TURN_ENTER, TURN_LEAVE, TURN_MIN_ANGLE = 0.8, 0.4, np.radians(20.0)  # rad/s, rad/s, rad
FACING_MARGIN, ALSO_MIN = 0.1, 0.45  # cosine
PALM_BAND_MARGIN = 0.01  # m
PALM_CONTACT_LEAVE = 0.075  # m
TIP_LEAVE = 0.03  # m
APPROACH_ENTER, APPROACH_LEAVE, APPROACH_MIN_CHANGE = 0.05, 0.025, 0.02  # m/s, m/s, m
MOVER_SHARE = 0.25  # a hand "moves" in an approach when it does this share of it
RELATIVE_MARGIN = 0.005  # m
MIRROR_ENTER, MIRROR_LEAVE, MIRROR_WINDOW = 0.5, 0.3, 9
ROTATION_DIRECTIONS: dict[str, tuple[str, str]] = {
    "supination": ("palm turning down", "palm turning up"),
    "flexion": ("bending back", "bending toward the palm"),
    "deviation": ("toward the little finger", "toward the thumb"),
}
RELATIVE_STATES: dict[str, tuple[str, str, str]] = {  # the left palm relative to the right palm
    "left_right": ("right of", "aligned", "left of"),
    "down_up": ("below", "level", "above"),
    "back_front": ("behind", "level", "in front of"),
}


def _facing_events(vectors: np.ndarray, hand: int) -> list[dict]:
    scores = facing_scores(vectors, hand)  # (T, 6) in FACING order
    index = seg.merge_short_runs(seg.hysteresis_argmax(scores, FACING_MARGIN))
    out = []
    for r in seg.runs(index):
        event = _event(r, state=FACING[int(r.state)])
        mean = scores[r.start : r.end].mean(axis=0)
        mean[int(r.state)] = -np.inf
        if mean.max() > ALSO_MIN:
            event["also"] = FACING[int(mean.argmax())]
        out.append(event)
    return out


def hand_events(hand: HandFeatures, index: int, fps: float) -> dict[str, Any]:
    """Events of one hand (see the module docstring)."""
    state_index = seg.hysteresis_bands(hand.curl, fing.FLEXION_EDGES, FLEXION_MARGIN)  # (T, 5)
    finger_state = np.stack([seg.merge_short_runs(state_index[:, f]) for f in range(5)], axis=1)
    touching = seg.hysteresis_below(hand.thumb_tip_distance, fing.THUMB_CONTACT, THUMB_LEAVE)  # (T, 4)
    spread = seg.merge_short_runs(
        seg.hysteresis_above(hand.spacing.mean(axis=1), fing.SPREAD_ENTER, fing.SPREAD_LEAVE)
    )
    shape = fing.hand_shape(finger_state, touching, spread)
    out: dict[str, Any] = {
        "shape": _state_events(shape, fing.SHAPES),
        "fingers": {name: _state_events(finger_state[:, f], fing.FLEXION_STATES) for f, name in enumerate(FINGERS)},
        "spacing": _state_events(spread.astype(np.int64), ("together", "spread")),
    }
    contacts = []
    for k, finger in enumerate(FINGERS[1:]):
        for r in _contact_runs(touching[:, k]):
            contacts.append(_event(r, finger=finger, min_cm=_cm(hand.thumb_tip_distance[r.start : r.end, k].min())))
    if contacts:
        out["thumb_contact"] = sorted(contacts, key=lambda e: (e["start"], e["finger"]))
    translation = {}
    for a, axis in enumerate(AXES):
        signs = seg.hysteresis_sign(hand.wrist_velocity[:, a], MOVE_ENTER, MOVE_LEAVE)
        events = _direction_events(signs, hand.wrist_velocity[:, a], fps, AXIS_DIRECTIONS[axis],
                                   MOVE_MIN_DISTANCE, "cm")
        if events:
            translation[axis] = events
    if translation:
        out["translation"] = translation
    rotation = {}
    for k, name in enumerate(ROTATIONS):
        signs = seg.hysteresis_sign(hand.rotation_rates[:, k], TURN_ENTER, TURN_LEAVE)
        events = _direction_events(signs, hand.rotation_rates[:, k], fps, ROTATION_DIRECTIONS[name],
                                   TURN_MIN_ANGLE, "deg")
        if events:
            rotation[name] = events
    if rotation:
        out["rotation"] = rotation
    out["palm_facing"] = _facing_events(hand.palm_normal, index)
    out["fingers_pointing"] = _facing_events(hand.finger_direction, index)
    return out


def _distance_change_events(pair: PairFeatures, fps: float) -> list[dict]:
    signs = seg.merge_short_runs(seg.hysteresis_sign(pair.wrist_distance_rate, APPROACH_ENTER, APPROACH_LEAVE))
    out = []
    for r in seg.runs(signs):
        if r.state == 0:
            continue
        change = float(pair.wrist_distance[r.end - 1] - pair.wrist_distance[r.start])
        if abs(change) < APPROACH_MIN_CHANGE or np.sign(change) != r.state:
            continue
        closing = pair.closing_speed[r.start : r.end].sum(axis=0) / fps * -r.state  # per hand, along the change
        share = closing / max(abs(change), 1e-9)
        movers = [HANDS[h] for h in (0, 1) if share[h] >= MOVER_SHARE]
        out.append(_event(
            r, state="separating" if r.state > 0 else "approaching",
            speed=_cm(np.abs(pair.wrist_distance_rate[r.start : r.end]).mean()), change=_cm(abs(change)),
            moving="both" if len(movers) == 2 else (movers[0] if movers else "both"),
        ))
    return out


def pair_events(pair: PairFeatures, fps: float) -> dict[str, Any]:
    """Events of the two hands together (see the module docstring)."""
    band = seg.merge_short_runs(seg.hysteresis_bands(pair.palm_distance, two_hands.PALM_BANDS, PALM_BAND_MARGIN))
    out: dict[str, Any] = {"palm_distance": [
        _event(r, state=two_hands.PALM_BAND_NAMES[int(r.state)], min_cm=_cm(pair.palm_distance[r.start:r.end].min()),
               max_cm=_cm(pair.palm_distance[r.start : r.end].max()))
        for r in seg.runs(band)
    ]}
    touching = seg.hysteresis_below(pair.palm_distance, two_hands.PALM_CONTACT, PALM_CONTACT_LEAVE)
    palm = [_event(r, min_cm=_cm(pair.palm_distance[r.start : r.end].min()),
                   facing=bool(pair.palms_facing[r.start : r.end].mean() > 0.5)) for r in _contact_runs(touching)]
    if palm:
        out["palm_contact"] = palm
    change = _distance_change_events(pair, fps)
    if change:
        out["distance_change"] = change
    tip_palm = seg.hysteresis_below(pair.tip_to_palm, two_hands.TIP_CONTACT, TIP_LEAVE)  # (T, 2, 5)
    events = []
    for h in (0, 1):
        for f, finger in enumerate(FINGERS):
            for r in _contact_runs(tip_palm[:, h, f]):
                events.append(_event(r, hand=HANDS[h], finger=finger, palm=HANDS[1 - h],
                                     min_cm=_cm(pair.tip_to_palm[r.start : r.end, h, f].min())))
    if events:
        out["fingertip_to_palm"] = sorted(events, key=lambda e: (e["start"], e["hand"], FINGERS.index(e["finger"])))
    tip_tip = seg.hysteresis_below(pair.tip_to_tip, two_hands.TIP_CONTACT, TIP_LEAVE)  # (T, 5, 5)
    events = []
    for i, left in enumerate(FINGERS):
        for j, right in enumerate(FINGERS):
            for r in _contact_runs(tip_tip[:, i, j]):
                events.append(_event(r, left=left, right=right, min_cm=_cm(pair.tip_to_tip[r.start:r.end, i, j].min())))
    if events:
        out["fingertip_to_fingertip"] = sorted(events, key=lambda e: e["start"])
    edges = (-two_hands.ALIGNED, two_hands.ALIGNED)
    out["relative_position"] = {
        axis: _state_events(seg.hysteresis_bands(pair.relative_position[:, a], edges, RELATIVE_MARGIN),
                            RELATIVE_STATES[axis])
        for a, axis in enumerate(AXES)
    }
    mirror = seg.hysteresis_above(seg.moving_average(pair.mirror, MIRROR_WINDOW), MIRROR_ENTER, MIRROR_LEAVE)
    mirror_runs = [_event(r) for r in seg.runs(seg.merge_short_runs(mirror)) if r.state]
    if mirror_runs:
        out["mirror"] = mirror_runs
    return out


def clip_events(features: ClipFeatures, object_name: str | None = None) -> dict[str, Any]:
    """The whole clip as a JSON-ready dict of events (layout in the module docstring)."""
    out: dict[str, Any] = {"fps": round(features.fps, 3), "frames": features.num_frames}
    objects = object_events(features, object_name)
    if objects.get("object"):
        out["object"] = objects["object"]
    for h, side in enumerate(HANDS):
        out[side] = hand_events(features.hands[h], h, features.fps)
        if side in objects:
            out[side]["object_contact"] = objects[side]
            turning = turning_events(features.hands[h], features.fps)
            if turning:
                out[side]["turning"] = turning
    out["both"] = pair_events(features.pair, features.fps)
    return out
