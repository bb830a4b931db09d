"""The rule-based captioner: deterministic ``{left, right, both}`` triplets from a clip's events.

Offline and faithful by construction: every sentence is a template filled from
:func:`data_prep.events.summary.summarise` (shapes, travel, rotations, palm direction,
contacts); contacts between the hands, and the absence of any, are always reported; no
intent is named. ``k`` triplets come in three levels of detail (:func:`caption_levels`:
2 concise, 2 moderate, 1 detailed for k=5), each level in different phrasings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from data_prep.captioning import object_phrases as O
from data_prep.captioning import phrases as P
from data_prep.captioning.object_rules import holding_caption, object_relation_parts, short_noun_phrase
from data_prep.captioning.phrases import finger_detail as _finger_detail
from data_prep.captioning.phrases import finger_list as _fingers
from data_prep.captioning.phrases import join_and as _and
from data_prep.captioning.phrases import pick as _pick
from data_prep.events.summary import ClipSummary, HandSummary, PairSummary, summarise
from handgen.analysis.wrist import AXES
from handgen.hand.topology import HANDS

LEVELS = ("concise", "moderate", "detailed")
Phrase = tuple[str, str]  # (finite verb phrase, gerund phrase)


def caption_levels(k: int) -> list[str]:
    """Detail level of each of ``k`` triplets: ~40% concise, ~40% moderate, at least one detailed."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    detailed = max(1, round(k / 5))
    concise = math.ceil((k - detailed) / 2)
    return ["concise"] * concise + ["moderate"] * (k - detailed - concise) + ["detailed"] * detailed


def shape_phrase(hand: HandSummary, ev: dict[str, Any], variant: int) -> Phrase:
    if hand.shape in P.SHAPE_PHRASES:
        formed, held = _pick(P.SHAPE_PHRASES[hand.shape], variant)
        return formed if hand.shape_from is not None else held
    detail = _finger_detail(ev)
    return f"holds {detail}", f"keeping {detail}"


def _travel_phrase(hand: HandSummary, ev: dict[str, Any], variant: int, level: str) -> Phrase:
    direction = hand.travel[0][0]
    verb_fin, verb_ger = _pick(P.TRAVEL_VERBS.get(direction, P.TRAVEL_VERBS["other"]), variant)
    pieces = []
    for name, cm in hand.travel:
        word = _pick(P.TRAVEL_WORDS[name], variant)
        if level != "concise":
            word = f"about {max(1, round(cm))} cm {word}"
        if level == "detailed":
            speeds = [e["speed"] for events in ev.get("translation", {}).values() for e in events
                      if e["direction"] == name]
            if speeds:
                word += f" at roughly {max(1, round(sum(speeds) / len(speeds)))} cm/s"
        pieces.append(word)
    tail = _and(pieces) if len(pieces) < 3 else ", then ".join(pieces)
    return f"{verb_fin} {tail}", f"{verb_ger} {tail}"


def motion_phrases(hand: HandSummary, ev: dict[str, Any], variant: int, level: str) -> list[Phrase]:
    """What the wrist does, as phrases (still when nothing moves)."""
    if hand.still:
        return [_pick(P.STILL_PHRASES, variant)]
    out = []
    if hand.travel:
        out.append(_travel_phrase(hand, ev, variant, level))
    for axis in hand.oscillations:
        out.append(_pick(P.OSCILLATION_PHRASES[axis], variant))
    for name, directions in hand.rotations.items():
        if hand.rotating_back_and_forth(name):
            out.append(_pick(P.ROTATION_PHRASES[name], variant))
        else:
            out.append(P.ROTATION_ONCE[name][directions[0]])
    if not out:  # only a slow turn with the object it touches
        out.append(("turns slowly", "turning slowly"))
    return out


def _joined(phrases: list[Phrase], gerund: bool = False) -> str:
    return _and([p[1] if gerund else p[0] for p in phrases])


def _contact_sentences(hand: HandSummary, clip: ClipSummary, events: dict[str, Any], fps: float) -> list[str]:
    out = []
    others = [f for f in hand.thumb_contacts if not (f == "index" and hand.shape == "pinch")]
    if others:
        frames = sum(e["end"] - e["start"] for e in events.get("thumb_contact", []) if e["finger"] in others)
        briefly = " briefly" if frames < clip.frames / 3 else ""
        out.append(f"Its thumb tip{briefly} touches the {_and([P.TIP_NAMES[f] for f in others])}.")
    for event in hand.object_contact:
        what = short_noun_phrase(clip.object) if clip.object else "the object"
        tips = event.get("tips") or []
        with_tips = f" with the {_fingers(tips)}" if tips else ""
        when = f" from {event['start'] / fps:.1f} s to {event['end'] / fps:.1f} s"
        out.append(f"It touches {what}{with_tips}{when}.")
    return out


def hand_caption(clip: ClipSummary, side: str, events: dict[str, Any], level: str, variant: int) -> str:
    """One sentence (or a few, when detailed) about hand ``side`` only."""
    hand, ev = clip.hand(side), events[side]
    if hand.holds and clip.object is not None:
        return holding_caption(clip, side, events, level, variant, _contact_sentences(hand, clip, ev, clip.fps))
    subject = _pick(P.SUBJECTS, variant).format(side=side)
    shape_fin, shape_ger = shape_phrase(hand, ev, variant)
    motion = motion_phrases(hand, ev, variant, level)
    palm = _pick(P.PALM_WORDS[hand.palm], variant)
    contacts = _contact_sentences(hand, clip, ev, clip.fps)
    if level == "concise":
        if variant % 2 == 0:
            return f"{subject} {shape_fin} and {_joined(motion)}."
        return f"{subject} {_joined(motion)} while {shape_ger}."
    if level == "moderate":
        if variant % 2 == 0:
            text = f"{subject}, {palm}, {shape_fin} and {_joined(motion)}."
        else:
            text = f"{subject} {_joined(motion)} with the {palm}, {shape_ger}."
        return " ".join([text, *contacts])
    when = ""
    main = [e for e in ev.get("shape", []) if e["state"] == hand.shape]
    if hand.shape_from is not None and main:
        when = f" within the first {main[-1]['start'] / clip.fps:.1f} s"
    detail = "" if hand.shape not in P.SHAPE_PHRASES else f", with {_finger_detail(ev)}"
    directed = P.DIRECTED_WORDS[hand.pointing]
    text = (f"{subject} {shape_fin}{when}{detail}. "
            f"With the {palm} and the {directed}, it {_joined(motion)}.")
    return " ".join([text, *contacts])


def _relative_sentence(events: dict[str, Any]) -> str | None:
    words = {"above": "higher than", "below": "lower than", "in front of": "in front of", "behind": "behind",
             "right of": "to the right side of"}
    found = []
    relative = events["both"].get("relative_position", {})
    for axis in AXES:
        runs = relative.get(axis)
        if runs:
            state = max(runs, key=lambda e: e["end"] - e["start"])["state"]
            if state in words:
                found.append(words[state])
    return f"The left hand stays {_and(found)} the right hand." if found else None


def _grouped(pairs: Iterable[tuple[Any, str]]) -> dict[Any, list[str]]:
    """(key, value) pairs -> key -> its distinct values, both in first-seen order."""
    out: dict[Any, list[str]] = {}
    for key, value in pairs:
        values = out.setdefault(key, [])
        if value not in values:
            values.append(value)
    return out


def contact_parts(pair: PairSummary, variant: int) -> list[str]:
    """One sentence per palm that fingertips of the other hand touch, then one per left fingertip that touches
    right fingertips: "The left thumb tip and index fingertip touch the right palm."."""
    parts: list[str] = []
    palm_tips = _grouped(((t["hand"], t["palm"]), t["finger"]) for t in pair.touches)  # (hand, palm) -> tips
    for (hand, palm), fingers in palm_tips.items():
        options = P.TOUCH_PALM if len(fingers) == 1 else P.TOUCH_PALM_MANY
        parts.append(_pick(options, variant).format(t=hand, tip=P.tip_list(fingers), r=palm))
    right_tips = _grouped((c["left"], c["right"]) for c in pair.tip_contacts)  # left tip -> the right tips it touches
    for left, rights in right_tips.items():
        parts.append(_pick(P.TIP_TOUCH, variant).format(a=P.TIP_NAMES[left], b=P.tip_list(rights)))
    return parts


def relation_caption(clip: ClipSummary, events: dict[str, Any], level: str, variant: int) -> str:
    """The two hands together: the object first (who holds or touches it, what it does), then the
    contacts between the hands (always reported), then approach/separation or mirroring (not when
    the hands hold the object: they move with it)."""
    pair = clip.pair
    holding = bool(clip.object is not None and clip.object.held_by)
    others = {side: _joined(motion_phrases(clip.hand(side), events[side], variant, level)) for side in HANDS}
    object_parts = object_relation_parts(clip, events, level, variant, others)
    parts: list[str] = []
    if pair.palm_contacts >= 2:
        parts.append(_pick(P.CLAP, variant).format(n=pair.palm_contacts))
    elif pair.palm_contacts == 1:
        parts.append(_pick(P.PALM_TOUCH, variant))
    parts += contact_parts(pair, variant)
    touching = bool(parts)
    parts = object_parts + parts
    moving = not holding and not pair.palm_contacts
    if moving and pair.change in ("approaching", "separating"):
        if pair.change_by == "both":
            parts.append(_pick(P.APPROACH if pair.change == "approaching" else P.SEPARATE, variant))
        else:
            mover = pair.change_by or "left"
            other = "right" if mover == "left" else "left"
            options = P.ONE_APPROACHES if pair.change == "approaching" else P.ONE_SEPARATES
            parts.append(_pick(options, variant).format(m=mover, o=other))
    elif moving and pair.change == "back_and_forth":
        parts.append(_pick(P.BACK_AND_FORTH, variant))
    if pair.mirror and pair.change not in ("approaching", "separating") and not holding:
        parts.append(_pick(P.MIRROR, variant))
    if not parts:
        parts.append(_pick(P.RELATION_NONE, variant))
    elif not touching and level != "concise":
        parts.append(_pick(O.NO_HAND_CONTACT if object_parts else P.NO_CONTACT, variant))
    if level == "concise":
        return parts[0]
    if level == "detailed":
        distances = events["both"].get("palm_distance", [])
        if distances:
            parts.append(f"The palms end about {max(1, round(distances[-1]['min_cm']))} cm apart.")
        relative = _relative_sentence(events)
        if relative:
            parts.append(relative)
    return " ".join(parts)


def rules_captions(events: dict[str, Any], k: int = 5) -> list[dict[str, str]]:
    """``k`` caption triplets ``{left, right, both}`` of a clip's events JSON (deterministic)."""
    clip = summarise(events)
    out = []
    counters = {level: 0 for level in LEVELS}
    for level in caption_levels(k):
        variant = counters[level]
        counters[level] += 1
        out.append({
            "left": hand_caption(clip, "left", events, level, variant),
            "right": hand_caption(clip, "right", events, level, variant),
            "both": relation_caption(clip, events, level, variant),
        })
    return out
