"""A clip-level reading of the object events: who holds the object and what the object does.

Read from :func:`data_prep.events.clip.clip_events`' JSON (``"object"`` and the hands'
``object_contact``; layout in :mod:`data_prep.events.objects`). The object's motions are named
as actions: ``lift``/``lower`` (up/down), ``move_left``/``move_right``, ``push``/``pull``
(forward/back), ``turn`` (about the vertical), ``tilt`` (about a horizontal axis), ``open``/``close``
(its moving part). The main action is the largest motion, each kind measured against a typical
amount (:data:`TYPICAL`); smaller motions under a quarter of it are left out. When the clip has
no object pose, the motion is read from the holding hands' wrists (all holders travelling the
same way). Events JSON written before objects had their own events held ``"object": name``;
it is read too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handgen.hand.topology import HANDS

from data_prep.object_nouns import object_noun

TRAVEL_ACTIONS = {"up": "lift", "down": "lower", "left": "move_left", "right": "move_right", "forward": "push",
                  "back": "pull"}
ROTATION_ACTIONS = {"about_vertical": "turn", "about_forward": "tilt", "about_left_right": "tilt"}
ARTICULATION_ACTIONS = {"opening": "open", "closing": "close"}
TYPICAL = {"cm": 8.0, "deg": 25.0}  # amounts of equal weight when choosing the main motion
MIN_SHARE = 0.25  # of the main motion's weight
HOLD_SHARE = 1.0 / 3.0  # for old events JSON without "held_by"


@dataclass
class ObjectMotion:
    """One thing the object does over the clip (events of one kind and direction, summed)."""

    action: str  # lift lower move_left move_right push pull turn tilt open close
    direction: str  # the events' direction word ("up", "clockwise from above", "opening"...)
    amount: float  # cm (translation) or degrees (rotation, articulation)
    unit: str  # "cm" | "deg"
    start: int  # first frame of its first event
    end: int  # end frame of its last event
    speed: float  # mean over its events, cm/s or deg/s
    axis: str | None = None  # rotation axis (about_vertical...) for turn/tilt

    @property
    def weight(self) -> float:
        return self.amount / TYPICAL[self.unit]


@dataclass
class ObjectSummary:
    name: str | None  # template name
    noun: str  # "ball"
    held_by: list[str]  # hands holding it, HANDS order
    touched_by: list[str]  # hands touching it at all
    motions: list[ObjectMotion] = field(default_factory=list)  # main first
    part: str | None = None  # the moving part ("lid") when the articulation moves
    from_hands: bool = False  # motions read from the holding hands' wrists (no object pose)

    @property
    def action(self) -> str:
        """The main action, ``hold`` (held, not moving) or ``none`` (neither)."""
        if self.motions:
            return self.motions[0].action
        return "hold" if self.held_by else "none"

    def moved(self, action: str) -> ObjectMotion | None:
        return next((m for m in self.motions if m.action == action), None)


def _collect(groups: dict[tuple[str, str, str | None], list[dict]], unit: str) -> list[ObjectMotion]:
    out = []
    for (action, direction, axis), events in groups.items():
        key = "distance" if unit == "cm" else "angle"
        out.append(ObjectMotion(
            action=action, direction=direction, amount=float(sum(e[key] for e in events)), unit=unit,
            start=min(e["start"] for e in events), end=max(e["end"] for e in events),
            speed=float(sum(e["speed"] for e in events) / len(events)), axis=axis,
        ))
    return out


def _motions(info: dict[str, Any]) -> list[ObjectMotion]:
    translation: dict = {}
    for events in info.get("translation", {}).values():
        for e in events:
            translation.setdefault((TRAVEL_ACTIONS[e["direction"]], e["direction"], None), []).append(e)
    rotation: dict = {}
    for axis, events in info.get("rotation", {}).items():
        for e in events:
            rotation.setdefault((ROTATION_ACTIONS[axis], e["direction"], axis), []).append(e)
    for e in info.get("articulation", []):
        rotation.setdefault((ARTICULATION_ACTIONS[e["state"]], e["state"], None), []).append(e)
    return _collect(translation, "cm") + _collect(rotation, "deg")


def _overlaps(event: dict, others: list[dict]) -> bool:
    return any(event["start"] < o["end"] and o["start"] < event["end"] for o in others)


def _from_hands(events: dict[str, Any], holders: list[str]) -> list[ObjectMotion]:
    """The holding hands' common wrist travel while touching the object, as the object's motion."""
    per_hand = []
    for side in holders:
        groups: dict = {}
        contact = events[side].get("object_contact", [])
        for axis_events in events[side].get("translation", {}).values():
            for e in axis_events:
                if _overlaps(e, contact):
                    groups.setdefault((TRAVEL_ACTIONS[e["direction"]], e["direction"], None), []).append(e)
        per_hand.append({m.action: m for m in _collect(groups, "cm")})
    if not per_hand:
        return []
    common = set.intersection(*(set(h) for h in per_hand))
    return [min((h[a] for h in per_hand), key=lambda m: m.amount) for a in sorted(common)]


def _rank(motions: list[ObjectMotion]) -> list[ObjectMotion]:
    motions = sorted(motions, key=lambda m: (-m.weight, m.start))
    if not motions:
        return []
    return [m for m in motions if m.weight >= MIN_SHARE * motions[0].weight]


def summarise_object(events: dict[str, Any]) -> ObjectSummary | None:
    """The object of a clip's events JSON (None when the clip has none)."""
    info = events.get("object")
    if info is None and not any("object_contact" in events[side] for side in HANDS):
        return None
    if not isinstance(info, dict):  # older events JSON: the name only
        info = {"name": info, "noun": object_noun(info)}
    frames = int(events["frames"])
    touched = [side for side in HANDS if events[side].get("object_contact")]
    held = info.get("held_by")
    if held is None:
        held = [side for side in HANDS if sum(e["end"] - e["start"] for e in events[side].get("object_contact", []))
                >= HOLD_SHARE * frames]
    has_pose = any(key in info for key in ("translation", "rotation", "articulation", "still"))
    motions = _motions(info) if has_pose else _from_hands(events, list(held))
    return ObjectSummary(
        name=info.get("name"), noun=info.get("noun") or object_noun(info.get("name")), held_by=list(held),
        touched_by=touched, motions=_rank(motions), part=info.get("part"), from_hands=not has_pose and bool(motions),
    )
