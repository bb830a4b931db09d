"""A clip-level reading of the events JSON: what each hand does and how the hands relate.

Shared by the rule-based captioner and the tests that compare features with ground truth.
Everything is read from :func:`data_prep.events.clip.clip_events`' JSON, so stored feature
files can be summarised again without the motion.

Per hand (:class:`HandSummary`): the main hand shape and whether it was formed during the
clip, the directions the wrist travels (with distances), repeated back-and-forth travel
along an axis, rotations (one way or back and forth), where the palm faces, contacts.
A hand holding an object (in contact with it for at least a third of the clip,
:mod:`data_prep.events.objects`) has the shape ``grasp``; its slow turns with the object are in
``turning``; when its contact starts late (it grasps the object during the clip), the moves
made mostly before the grasp are its ``reach``, not its ``travel``. For the pair
(:class:`PairSummary`): palm contacts, fingertip-on-palm touches, fingertip contacts,
approaching / separating (who moves), mirror-image motion, and one ``relation`` label:
``hold_object`` (a hand holds the object; ``holders`` says which), ``clap`` (palms meet at
least twice), ``palm_contact``, ``touch_palm``, ``fingertip_contact``, ``approach``,
``separate``, ``mirror`` or ``none``. The object itself:
:mod:`data_prep.events.object_summary`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handgen.hand.topology import HANDS

from data_prep.events.object_summary import ObjectSummary, summarise_object
from handgen.analysis.wrist import AXES, ROTATIONS

MIN_TRAVEL_CM = 1.0  # a translation counts from this distance
MIN_TRAVEL_SHARE = 0.25  # ... and from this share of the hand's longest travel (smaller: posture adjustments)
MIN_NET_CHANGE_CM = 8.0  # net approach/separation over the clip
OSCILLATION_EVENTS = 3  # alternating moves along one axis that make a back-and-forth
MIN_SHARE = 1.0 / 3.0  # of the clip, for approach/separate and mirror
QUIET_SHAPES = ("other",)
MIN_GRASP_START = 6  # frames: a hold whose contact starts this late is formed during the clip


@dataclass
class HandSummary:
    side: str
    shape: str  # main shape
    shape_from: str | None  # the shape it started in, when the main shape was formed in the clip
    shapes: list[str]  # shapes in order
    travel: list[tuple[str, float]]  # (direction, cm) of the one-way moves, in order, merged per direction
    oscillations: list[str]  # axes with back-and-forth travel (AXES names)
    rotations: dict[str, list[str]]  # rotation name -> directions in order
    palm: str  # main palm facing
    palm_also: str | None
    pointing: str
    thumb_contacts: list[str]  # fingers the thumb tip touches
    object_contact: list[dict] = field(default_factory=list)
    holds: bool = False  # holds the object (shape "grasp")
    reach: list[tuple[str, float]] = field(default_factory=list)  # travel before a late grasp, as ``travel``
    turning: dict[str, list[str]] = field(default_factory=dict)  # slow turns about world axes -> directions

    @property
    def still(self) -> bool:
        """No travel, back-and-forth, rotation, nor a slow turn with the object it holds."""
        return not self.travel and not self.oscillations and not self.rotations and not self.turning

    def rotating_back_and_forth(self, name: str) -> bool:
        directions = self.rotations.get(name, [])
        return len(directions) >= 2 and len(set(directions)) == 2


@dataclass
class PairSummary:
    relation: str
    palm_contacts: int
    palms_facing: bool
    touches: list[dict]  # fingertip_to_palm events outside palm contacts
    tip_contacts: list[dict]
    change: str | None  # approaching | separating | back_and_forth (net over the clip) | None
    change_by: str | None  # who closes/opens the gap: left | right | both
    mirror: bool
    distance: str  # main palm distance band
    holders: list[str] = field(default_factory=list)  # hands holding the object, HANDS order


def _longest(events: list[dict]) -> dict | None:
    return max(events, key=lambda e: (e["end"] - e["start"], -e["start"]), default=None)


def _before(event: dict, frame: int) -> bool:
    """The event lies mostly before ``frame`` (a hand reaching for the object before it grasps it)."""
    return event["start"] < frame and 2 * (frame - event["start"]) >= event["end"] - event["start"]


def _merged_travel(moves: list[dict]) -> list[tuple[str, float]]:
    """(direction, cm) of the moves of at least :data:`MIN_TRAVEL_SHARE` of the longest, in order of
    first appearance, summed per direction."""
    longest = max((e["distance"] for e in moves), default=0.0)
    travel: list[tuple[str, float]] = []
    for e in sorted(moves, key=lambda e: e["start"]):
        if e["distance"] < MIN_TRAVEL_SHARE * longest:
            continue
        directions = [d for d, _ in travel]
        if e["direction"] in directions:
            index = directions.index(e["direction"])
            travel[index] = (e["direction"], travel[index][1] + e["distance"])
        else:
            travel.append((e["direction"], e["distance"]))
    return travel


def _hand(side: str, ev: dict[str, Any], frames: int, holds: bool = False) -> HandSummary:
    shapes = [e["state"] for e in ev.get("shape", [])]
    main = ev["shape"][-1] if ev.get("shape") else None
    if main is not None and (main["end"] - main["start"] < frames / 3 or main["state"] in QUIET_SHAPES):
        main = _longest(ev["shape"])
    shape = main["state"] if main else "other"
    shape_from = shapes[0] if shapes and shapes[0] != shape and main is ev["shape"][-1] else None
    contact = ev.get("object_contact", [])
    late = bool(contact) and contact[0]["start"] >= MIN_GRASP_START
    if holds:  # the grasp is formed during the clip when the contact starts late
        shape, shape_from = "grasp", (shapes[0] if shapes and late else None)
    grasp_start = contact[0]["start"] if holds and late else None
    oscillations = []
    moves = []
    for axis in AXES:
        events = ev.get("translation", {}).get(axis, [])
        directions = [e["direction"] for e in events]
        reversals = sum(a != b for a, b in zip(directions, directions[1:]))
        if len(events) >= OSCILLATION_EVENTS and reversals >= OSCILLATION_EVENTS - 1:
            oscillations.append(axis)
            continue
        moves += [e for e in events if e["distance"] >= MIN_TRAVEL_CM]
    reach = [e for e in moves if grasp_start is not None and _before(e, grasp_start)]
    travel = _merged_travel([e for e in moves if not any(e is r for r in reach)])
    turns = ev.get("rotation", {})
    rotations = {name: [e["direction"] for e in turns[name]] for name in ROTATIONS if turns.get(name)}
    palm = _longest(ev.get("palm_facing", [])) or {"state": "down"}
    pointing = _longest(ev.get("fingers_pointing", [])) or {"state": "forward"}
    thumb = []
    for e in ev.get("thumb_contact", []):
        if e["finger"] not in thumb:
            thumb.append(e["finger"])
    return HandSummary(
        side=side, shape=shape, shape_from=shape_from, shapes=shapes, travel=travel, oscillations=oscillations,
        rotations=rotations, palm=palm["state"], palm_also=palm.get("also"), pointing=pointing["state"],
        thumb_contacts=thumb, object_contact=list(ev.get("object_contact", [])), holds=holds,
        reach=_merged_travel(reach),
        turning={name: [e["direction"] for e in runs] for name, runs in ev.get("turning", {}).items()},
    )


def _overlaps(event: dict, others: list[dict]) -> bool:
    return any(event["start"] < o["end"] and o["start"] < event["end"] for o in others)


def _distance_change(events: list[dict], frames: int) -> tuple[str | None, str | None]:
    """(approaching | separating | back_and_forth | None, who moves: left | right | both | None)."""
    if not events:
        return None, None
    net = sum(e["change"] * (1 if e["state"] == "separating" else -1) for e in events)
    kinds = {e["state"] for e in events}
    if abs(net) < MIN_NET_CHANGE_CM:
        if len(kinds) == 2 and len(events) >= OSCILLATION_EVENTS:
            return "back_and_forth", "both"
        return None, None
    state = "separating" if net > 0 else "approaching"
    main = [e for e in events if e["state"] == state]
    if sum(e["end"] - e["start"] for e in main) < MIN_SHARE * frames:
        return None, None
    movers = {e["moving"] for e in main}
    return state, movers.pop() if len(movers) == 1 else "both"


def _pair(ev: dict[str, Any], frames: int, holders: list[str]) -> PairSummary:
    palm = ev.get("palm_contact", [])
    touches = [e for e in ev.get("fingertip_to_palm", []) if not _overlaps(e, palm)]
    tips = [e for e in ev.get("fingertip_to_fingertip", []) if not _overlaps(e, palm)]
    change, change_by = _distance_change(ev.get("distance_change", []), frames)
    mirror = sum(e["end"] - e["start"] for e in ev.get("mirror", [])) >= MIN_SHARE * frames
    distance = (_longest(ev.get("palm_distance", [])) or {"state": "apart"})["state"]
    if holders:
        relation = "hold_object"
    elif len(palm) >= 2:
        relation = "clap"
    elif palm:
        relation = "palm_contact"
    elif touches:
        relation = "touch_palm"
    elif tips:
        relation = "fingertip_contact"
    elif change in ("approaching", "separating") and change_by == "both":
        relation = "approach" if change == "approaching" else "separate"
    elif mirror:
        relation = "mirror"
    else:
        relation = "none"
    return PairSummary(
        relation=relation, palm_contacts=len(palm), palms_facing=any(e.get("facing") for e in palm),
        touches=touches, tip_contacts=tips, change=change, change_by=change_by, mirror=mirror, distance=distance,
        holders=list(holders),
    )


@dataclass
class ClipSummary:
    frames: int
    fps: float
    left: HandSummary
    right: HandSummary
    pair: PairSummary
    object: ObjectSummary | None = None

    def hand(self, side: str) -> HandSummary:
        return self.left if side == "left" else self.right


def summarise(events: dict[str, Any]) -> ClipSummary:
    """Read :func:`clip_events`' JSON into a :class:`ClipSummary`."""
    frames = int(events["frames"])
    obj = summarise_object(events)
    holders = obj.held_by if obj is not None else []
    hands = {side: _hand(side, events[side], frames, side in holders) for side in HANDS}
    return ClipSummary(
        frames=frames, fps=float(events["fps"]), left=hands["left"], right=hands["right"],
        pair=_pair(events["both"], frames, holders), object=obj,
    )
