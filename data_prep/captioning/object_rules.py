"""Rule-based captions of hand-object clips: the holding hands' sentences and the two-hand relation.

Used by :mod:`data_prep.captioning.rules` when the clip's summary has an object
(:mod:`data_prep.events.object_summary`). A holding hand's caption says how it holds the object
(named by its noun) and what the object does, measured on the object's own pose: "The left
hand holds the ball and lifts it about 11 cm." With a moving part (a lid opening), the holder
that moves with the part opens it and a holder that stays still holds the object steady. The
relation names the holder(s): "Both hands hold the ball and lift it." or "The left hand holds
the can and lowers it while the right hand stays still." Every level names the object and
the holders; amounts from the moderate level, timing and speed in the detailed one.
"""

from __future__ import annotations

from typing import Any

from data_prep.captioning import object_phrases as O
from data_prep.captioning import phrases as P
from data_prep.events.object_summary import ObjectMotion, ObjectSummary
from data_prep.events.summary import ClipSummary
from handgen.hand.topology import HANDS

PART_ACTIONS = ("open", "close")
PLURAL_NOUNS = ("scissors",)
PART_MOVE_CM = 2.0  # a holder travelling this far while the part moves moves it


def noun_phrase(obj: ObjectSummary) -> str:
    return f"the {obj.noun}"


def short_noun_phrase(obj: ObjectSummary) -> str:
    """The object once named: "the box" for "the box with a lid" (no "with ... with the fingers")."""
    return f"the {obj.noun.split(' with ')[0]}"


def pronouns(obj: ObjectSummary) -> tuple[str, str]:
    """("it", "its") or ("them", "their") for plural nouns."""
    return ("them", "their") if obj.noun in PLURAL_NOUNS else ("it", "its")


def _amount(motion: ObjectMotion | None, level: str) -> str:
    if motion is None or level == "concise":
        return ""
    n = max(1, round(motion.amount))
    return f" about {n} cm" if motion.unit == "cm" else f" by about {n} degrees"


def _timing(motion: ObjectMotion | None, level: str, fps: float) -> str:
    """", at roughly 9 cm/s between 0.9 s and 2.0 s" (detailed level only)."""
    if motion is None or level != "detailed":
        return ""
    speed = max(1, round(motion.speed))
    rate = f"{speed} cm/s" if motion.unit == "cm" else f"{speed} degrees per second"
    return f", at roughly {rate} between {motion.start / fps:.1f} s and {motion.end / fps:.1f} s"


def main_motion(obj: ObjectSummary) -> ObjectMotion | None:
    return obj.motions[0] if obj.motions else None


def action_phrase(obj: ObjectSummary, motion: ObjectMotion | None, level: str, variant: int, form: int,
                  fps: float, pronoun: bool) -> str:
    """What is done to the object: form 0 singular finite, 1 plural finite, 2 gerund; the object as a
    pronoun (``pronoun``) or by its noun."""
    action = motion.action if motion is not None else "hold"
    table = O.WHOLE_OPENING if action in PART_ACTIONS and obj.part is None else O.ACTION_PHRASES
    it, its = pronouns(obj)
    template = P.pick(table[action], variant)[form]
    direction = O.TURN_WORDS.get(motion.direction, motion.direction) if motion is not None else ""
    text = template.format(o=it if pronoun else noun_phrase(obj), its=its if pronoun else f"{short_noun_phrase(obj)}'s",
                           amt=_amount(motion, level), dir=direction, part=obj.part or "lid")
    return text + _timing(motion, level, fps)


def _moves_during(ev: dict[str, Any], start: int, end: int) -> bool:
    """Whether a hand's events hold a translation (at least :data:`PART_MOVE_CM`) or a slow turn that
    overlaps frames [start, end) (reaching for the object before it moves does not count)."""
    for axis_events in ev.get("translation", {}).values():
        if any(e["start"] < end and start < e["end"] and e["distance"] >= PART_MOVE_CM for e in axis_events):
            return True
    return any(e["start"] < end and start < e["end"] for runs in ev.get("turning", {}).values() for e in runs)


def part_movers(clip: ClipSummary, events: dict[str, Any]) -> list[str]:
    """Holders that move with the object's moving part (its main motion opens or closes it): those
    whose hand travels or turns while the part moves. Empty when no holder does, when all do, or
    when the main motion is not the part's."""
    obj = clip.object
    motion = main_motion(obj) if obj is not None else None
    if motion is None or motion.action not in PART_ACTIONS:
        return []
    movers = [side for side in obj.held_by if _moves_during(events[side], motion.start, motion.end)]
    return movers if len(movers) < len(obj.held_by) else []


def _when_grasped(clip: ClipSummary, side: str) -> str:
    contact = clip.hand(side).object_contact
    if clip.hand(side).shape_from is None or not contact:
        return ""
    return f" after about {contact[0]['start'] / clip.fps:.1f} s"


def _reach_words(reach: list[tuple[str, float]]) -> str:
    """"to the right and forward": the directions a hand travels before it grasps the object."""
    return P.join_and([O.REACH_WORDS[direction] for direction, _ in reach])


def holding_caption(clip: ClipSummary, side: str, events: dict[str, Any], level: str, variant: int,
                    contacts: list[str]) -> str:
    """The caption of a hand holding the object (``contacts``: its contact sentences)."""
    obj, hand = clip.object, clip.hand(side)
    assert obj is not None
    o = noun_phrase(obj)
    subject = P.pick(P.SUBJECTS, variant).format(side=side)
    palm = P.pick(P.PALM_WORDS[hand.palm], variant)
    motion = main_motion(obj)
    movers = part_movers(clip, events)
    grip_fin, grip_ger = P.pick(O.GRASPS if hand.shape_from is not None else O.GRIPS, variant)
    detailed = level == "detailed"  # the detailed sentence names the object again: "it lifts the ball"
    if movers and side in movers:
        head = P.pick(O.PART_GRIP, variant).format(part=obj.part, o=short_noun_phrase(obj))
        moved = f"the {obj.part}" if detailed else "it"
        doing = P.pick(O.PART_MOVES[motion.action], variant).format(x=moved, amt=_amount(motion, level))
        doing += _timing(motion, level, clip.fps)
    elif movers:
        head = P.pick(O.STEADY, variant).format(o=o)
        doing = ""
    else:
        head = grip_fin.format(o=o)
        doing = action_phrase(obj, motion, level, variant, 0, clip.fps, pronoun=not detailed)
    if level == "concise":
        if not doing:
            return f"{subject} {head}."
        if variant % 2 == 0 or movers:
            return f"{subject} {head} and {doing}."
        lead = grip_ger.format(o=o)
        return f"{lead[0].upper()}{lead[1:]}, {subject[0].lower()}{subject[1:]} {doing}."
    if hand.reach:  # travel before the grasp: "reaches to the right, grasps the box and lifts it"
        head = f"reaches {_reach_words(hand.reach)}" + (", " if doing else " and ") + head
    if level == "moderate":
        text = f"{subject}, {palm}, {head}" + (f" and {doing}." if doing else ".")
        return " ".join([text, *contacts])
    directed = P.DIRECTED_WORDS[hand.pointing]
    text = f"{subject} {head}{_when_grasped(clip, side)}, with {P.finger_detail(events[side])}."
    if doing:
        text += f" With the {palm} and the {directed}, it {doing}."
    else:
        its = pronouns(obj)[1]
        text += f" With the {palm} and the {directed}, it does not move while {its} {obj.part} moves."
    return " ".join([text, *contacts])


def object_relation_parts(clip: ClipSummary, events: dict[str, Any], level: str, variant: int,
                          others: dict[str, str]) -> list[str]:
    """Sentences about who holds or touches the object and what it does (empty: no hand touches it).

    ``others``: for each hand, a finite phrase of its own motion ("stays still"), used for a hand
    that does not hold the object.
    """
    obj = clip.object
    if obj is None:
        return []
    o = noun_phrase(obj)
    motion = main_motion(obj)
    holders = obj.held_by
    if not holders:
        return [P.pick(O.TOUCHES, variant).format(h=side, o=o) for side in obj.touched_by]
    singular = action_phrase(obj, motion, level, variant, 0, clip.fps, pronoun=True)
    plural = action_phrase(obj, motion, level, variant, 1, clip.fps, pronoun=True)
    if len(holders) == 2:
        movers = part_movers(clip, events)
        if len(movers) == 1:
            steady = next(side for side in HANDS if side not in movers)
            part_action = action_phrase(obj, motion, level, variant, 0, clip.fps, pronoun=True)
            return [P.pick(O.STEADY_AND_PART, variant).format(s=steady, m=movers[0], o=o, part_action=part_action)]
        return [P.pick(O.BOTH_HOLD, variant).format(o=o, plural=plural, singular=singular)]
    holder = holders[0]
    free = next(side for side in HANDS if side != holder)
    other = ("touches it briefly" if free in obj.touched_by else others.get(free, "stays still"))
    return [P.pick(O.ONE_HOLDS, variant).format(h=holder, f=free, o=o, singular=singular, other=other)]
