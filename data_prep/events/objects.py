"""Object events: which hands touch the object, how the object itself moves, how holding hands turn.

Layout (inside :func:`data_prep.events.clip.clip_events`' JSON; units as there)::

    "object": {"name": template name, "noun": "ball",         # data_prep.object_nouns
               "held_by": ["left", "right"],                    # hands in contact >= 1/3 of the clip
               ["part": "lid",]                                 # when the articulation moves
               "translation": {left_right|down_up|back_front: [{start, end, direction, speed, distance}]},
               "rotation": {about_left_right|about_vertical|about_forward:
                            [{start, end, direction, speed, angle}]},
               "articulation": [{start, end, state, speed, angle}],     # opening | closing
               ["still": true]}                                  # its pose is known and it does not move
    "left"/"right": {"object_contact": [{start, end, tips, fraction}],
                     "turning": {about_...: [{start, end, direction, speed, angle}]}}

The object's translation is that of its template's bounding-box centre; its rotation is about
the world axes (left-right, vertical, forward): tipping forward/back (the top moving away
from / toward the body), clockwise/counterclockwise seen from above, the left/right side rising. Rotation and articulation are slow in hand-object clips (tens of degrees
per second), so their thresholds are lower than those of the wrist's own rotations; a hand
touching the object gets the same slow ``turning`` stream (its palm frame about the world
axes), which catches a hand turning with the object it holds. Streams that hold nothing are
left out; an object with no translation, rotation or articulation stays still.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from data_prep.events import segmentation as seg
from data_prep.events.streams import contact_runs, direction_events, event
from handgen.analysis.extract import ClipFeatures, HandFeatures
from handgen.analysis.wrist import AXES, AXIS_DIRECTIONS
from data_prep.object_nouns import moving_part, object_noun
from handgen.hand.topology import FINGERS, HANDS

HOLD_SHARE = 1.0 / 3.0  # a hand holds the object when it touches it this share of the clip
MOVE_ENTER, MOVE_LEAVE, MOVE_MIN_DISTANCE = 0.04, 0.02, 0.01  # m/s, m/s, m (as the wrists)
TURN_ENTER, TURN_LEAVE, TURN_MIN_ANGLE = 0.2, 0.1, np.radians(10.0)  # rad/s, rad/s, rad
ARTICULATION_ENTER, ARTICULATION_LEAVE, ARTICULATION_MIN_ANGLE = 0.2, 0.1, np.radians(10.0)
WORLD_ROTATIONS: tuple[str, ...] = ("about_left_right", "about_vertical", "about_forward")  # world x, y, z
# -/+ rotation about each world axis (right-handed; +x left, +y up, +z forward): + about x moves
# the top away from the body, + about y turns counterclockwise seen from above, + about z raises the left side
TURN_DIRECTIONS: dict[str, tuple[str, str]] = {
    "about_left_right": ("tipping back", "tipping forward"),
    "about_vertical": ("clockwise from above", "counterclockwise from above"),
    "about_forward": ("right side rising", "left side rising"),
}


def _turns(omega: np.ndarray, fps: float) -> dict[str, list[dict]]:
    """Slow rotation runs about the world axes of an angular velocity (T, 3) rad/s."""
    out = {}
    for a, axis in enumerate(WORLD_ROTATIONS):
        signs = seg.hysteresis_sign(omega[:, a], TURN_ENTER, TURN_LEAVE)
        events = direction_events(signs, omega[:, a], fps, TURN_DIRECTIONS[axis], TURN_MIN_ANGLE, "deg")
        if events:
            out[axis] = events
    return out


def turning_events(hand: HandFeatures, fps: float) -> dict[str, list[dict]]:
    """The hand's slow rotations about the world axes (for hands touching an object)."""
    return _turns(hand.angular_velocity, fps)


def contact_events(features: ClipFeatures) -> dict[str, list[dict]]:
    """Per hand, the runs in contact with the object (empty when the clip has no contact input)."""
    contact = features.object_contact
    if contact is None:
        return {}
    flags = contact.in_contact()
    out = {}
    for h, side in enumerate(HANDS):
        events = []
        for r in contact_runs(flags[:, h]):
            item = event(r)
            if contact.tips is not None:
                tips = contact.tips[r.start : r.end, h].mean(axis=0) >= 0.5
                item["tips"] = [FINGERS[f] for f in range(5) if tips[f]]
            if contact.fraction is not None:
                item["fraction"] = round(float(contact.fraction[r.start : r.end, h].mean()), 3)
            events.append(item)
        if events:
            out[side] = events
    return out


def held_by(contacts: dict[str, list[dict]], frames: int) -> list[str]:
    """Hands whose contact runs cover at least :data:`HOLD_SHARE` of the clip, in HANDS order."""
    return [side for side in HANDS
            if sum(e["end"] - e["start"] for e in contacts.get(side, [])) >= HOLD_SHARE * frames]


def track_events(features: ClipFeatures) -> dict[str, Any]:
    """Translation, rotation and articulation events of the object; ``{"still": True}`` when it does not
    move, ``{}`` without a track."""
    track = features.object_track
    if track is None:
        return {}
    fps = features.fps
    out: dict[str, Any] = {}
    translation = {}
    for a, axis in enumerate(AXES):
        signs = seg.hysteresis_sign(track.velocity[:, a], MOVE_ENTER, MOVE_LEAVE)
        events = direction_events(signs, track.velocity[:, a], fps, AXIS_DIRECTIONS[axis], MOVE_MIN_DISTANCE, "cm")
        if events:
            translation[axis] = events
    if translation:
        out["translation"] = translation
    rotation = _turns(track.angular_velocity, fps)
    if rotation:
        out["rotation"] = rotation
    signs = seg.hysteresis_sign(track.articulation_rate, ARTICULATION_ENTER, ARTICULATION_LEAVE)
    opening = direction_events(signs, track.articulation_rate, fps, ("closing", "opening"),
                               ARTICULATION_MIN_ANGLE, "deg")
    if opening:
        for e in opening:
            e["state"] = e.pop("direction")
        out["articulation"] = opening
    return out or {"still": True}


def object_events(features: ClipFeatures, name: str | None = None) -> dict[str, Any]:
    """``{"object": {...}, "left": [contact runs], "right": [...]}``; empty when the clip has no object.

    The clip has an object when it is named or has contact or pose input.
    """
    contacts = contact_events(features)
    track = track_events(features)
    if not name and features.object_contact is None and features.object_track is None:
        return {}
    info: dict[str, Any] = {"name": str(name) if name else None, "noun": object_noun(name),
                            "held_by": held_by(contacts, features.num_frames)}
    if "articulation" in track and moving_part(name):
        info["part"] = moving_part(name)
    info.update(track)
    return {"object": info, **contacts}
