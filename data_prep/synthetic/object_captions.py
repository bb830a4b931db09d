"""Ground-truth captions of hand-object sequences: ``{left, right, both}`` triplets naming the object.

Observable words only: how each hand holds the object (its side, from below, around it, on
top, the lid's edge) and what the held object does (the action), in the person's frame
(left = +x). A free hand "stays still". ``both`` names the object and the action, e.g.
"Both hands lift the box." or "The left hand holds the can while the right hand stays still."
"""

from __future__ import annotations

import numpy as np

from data_prep.synthetic.captions import NUM_PHRASINGS, hand_caption
from data_prep.synthetic.compose import HandLabel
from data_prep.synthetic.object_motion import ONE_HAND_LAYOUTS, ObjectPlan, hand_roles

# what a holding hand does with the object: (finite phrase, gerund phrase); {o} = "the box"
ACTION_PHRASES: dict[str, list[tuple[str, str]]] = {
    "lift": [("lifts {o} upward", "lifting {o} upward"), ("raises {o} up", "raising {o} up")],
    "lower": [("lowers {o}, moving it downward", "lowering {o}"), ("brings {o} downward", "bringing {o} downward")],
    "move_left": [("carries {o} to the left", "carrying {o} to the left"),
                  ("moves {o} to the left", "moving {o} to the left")],
    "move_right": [("carries {o} to the right", "carrying {o} to the right"),
                   ("moves {o} to the right", "moving {o} to the right")],
    "push": [("pushes {o} forward, away from the body", "pushing {o} forward"),
             ("moves {o} forward", "moving {o} forward")],
    "pull": [("pulls {o} backward toward the body", "pulling {o} backward"), ("draws {o} back toward the chest",
                                                                            "drawing {o} back toward the chest")],
    "turn": [("turns {o} around", "turning {o} around"), ("rotates {o}", "rotating {o}")],
    "tilt": [("tilts {o} to one side", "tilting {o}"), ("tips {o} sideways", "tipping {o} sideways")],
    "open": [("holds {o} steady", "holding {o} steady"), ("keeps {o} still", "keeping {o} still")],
}
# what two hands do together (plural verb), {o} = "it"
PLURAL_ACTIONS: dict[str, list[str]] = {
    "lift": ["lift {o} upward", "raise {o} up"], "lower": ["lower {o}", "bring {o} downward"],
    "move_left": ["carry {o} to the left", "move {o} to the left"],
    "move_right": ["carry {o} to the right", "move {o} to the right"],
    "push": ["push {o} forward", "move {o} forward, away from the body"],
    "pull": ["pull {o} backward toward the body", "draw {o} back toward the chest"],
    "turn": ["turn {o} around", "rotate {o}"], "tilt": ["tilt {o} to one side", "tip {o} sideways"],
}
GRIPS: dict[str, list[str]] = {
    "side": ["holds the {s} side of {o}", "grips {o} from the {s}", "presses its palm against the {s} side of {o}"],
    "bottom": ["supports {o} from below, palm up", "holds {o} from underneath", "carries {o} on its upturned palm"],
    "wrap": ["wraps its fingers around {o}", "grasps {o} around its side", "grips {o} firmly around its body"],
    "top": ["covers the top of {o}", "rests its palm on top of {o}", "holds {o} from above, palm down"],
    "body": ["holds {o} steady at its side", "grips the side of {o}", "keeps {o} in place from the left side"],
    "support": ["supports {o} from below, palm up", "holds {o} up from underneath", "carries {o} on its upturned palm"],
    "pinch": ["pinches {o} between thumb and index finger", "holds {o} in a fingertip pinch",
              "takes {o} between its thumb and fingertips"],
    "lid": ["grips the front edge of the lid", "takes hold of the lid's front edge", "hooks its fingers over the lid"],
}
BOTH_PHRASES: dict[str, list[str]] = {
    "lift": ["Both hands lift {o}.", "The two hands hold {o} between them and raise it.",
             "Holding {o} with both hands, the person lifts it up."],
    "lower": ["Both hands lower {o}.", "The two hands hold {o} and bring it down.",
              "Holding {o} with both hands, the person lowers it."],
    "move_left": ["Both hands carry {o} to the left.", "The two hands hold {o} and move it to the left."],
    "move_right": ["Both hands carry {o} to the right.", "The two hands hold {o} and move it to the right."],
    "push": ["Both hands push {o} forward, away from the body.", "The two hands hold {o} and move it forward."],
    "pull": ["Both hands pull {o} back toward the body.", "The two hands hold {o} and draw it backward."],
    "turn": ["Both hands turn {o} around, {how}.", "The two hands rotate {o} about the vertical, {how}."],
    "tilt": ["Both hands tilt {o}, {how}.", "The two hands tip {o} sideways, {how}."],
    "open": ["The left hand holds {o} while the right hand opens its lid.",
             "Holding {o} steady with the left hand, the right hand lifts its lid open.",
             "The right hand opens the lid of {o}; the left hand keeps it in place."],
}
REACH_PREFIX = ["Both hands reach for {o} and grab it, then ", "The hands take hold of {o}; then "]


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _how(plan: ObjectPlan) -> str:
    if plan.action == "turn":
        return ("the left hand pulling back and the right hand pushing forward" if plan.angle > 0
                else "the right hand pulling back and the left hand pushing forward")
    if plan.action == "tilt":
        return "raising its left side" if plan.angle > 0 else "raising its right side"
    return ""


def _noun(noun: str) -> str:
    return f"the {noun}"


def holding_caption(side: str, role: str, plan: ObjectPlan, noun: str, rng: np.random.Generator) -> str:
    """One sentence about a holding hand: its grip, then what it does with the object."""
    o = _noun(noun)
    grip = _pick(rng, GRIPS[role]).format(o=o, s=side)
    if role == "lid":
        rest = _pick(rng, ["and lifts it open", "and raises it, opening the lid", "and swings the lid upward"])
        return f"The {side} hand {grip} {rest}."
    if role == "body":
        return f"The {side} hand {grip}" + _pick(rng, [".", " while the lid opens.", ", not moving."])
    finite, gerund = _pick(rng, ACTION_PHRASES[plan.action])
    if rng.random() < 0.5:
        return f"The {side} hand {grip} and {finite.format(o='it')}."
    return f"The {side} hand {grip}, {gerund.format(o='it')}."


def both_caption(plan: ObjectPlan, noun: str, rng: np.random.Generator) -> str:
    o = _noun(noun)
    roles = hand_roles(plan)
    if plan.layout in ONE_HAND_LAYOUTS:
        free = "right" if plan.holder == "left" else "left"
        finite, _ = _pick(rng, ACTION_PHRASES[plan.action])
        return _pick(rng, [
            f"The {plan.holder} hand holds {o} and {finite.format(o='it')} while the {free} hand stays still.",
            f"Only the {plan.holder} hand holds {o}; it {finite.format(o='it')} and the {free} hand stays still.",
        ])
    if plan.layout == "support_top":
        top = next(s for s, r in roles.items() if r == "top")
        together = _pick(rng, PLURAL_ACTIONS[plan.action]).format(o="it")
        return _pick(rng, [
            f"The {plan.holder} hand supports {o} from below and the {top} hand steadies it from above; "
            f"together they {together}.",
            f"Holding {o} between the {plan.holder} palm underneath and the {top} palm on top, both hands {together}.",
        ])
    if plan.layout == "wrap_top":
        top = next(s for s, r in roles.items() if r == "top")
        together = _pick(rng, PLURAL_ACTIONS[plan.action]).format(o="it")
        return _pick(rng, [
            f"Both hands hold {o}, the {plan.holder} hand around it and the {top} hand on top, and {together}.",
            f"The {plan.holder} hand grips {o} around its side while the {top} hand covers its top; "
            f"together they {together}.",
        ])
    text = _pick(rng, BOTH_PHRASES[plan.action]).format(o=o, how=_how(plan))
    if plan.reach and plan.action != "open" and rng.random() < 0.5:
        prefix = _pick(rng, REACH_PREFIX).format(o=o)
        return prefix + text[0].lower() + text[1:]
    return text


def object_caption_triplets(
    plan: ObjectPlan, noun: str, rng: np.random.Generator, count: int = NUM_PHRASINGS
) -> list[dict[str, str]]:
    """``count`` distinct ``{left, right, both}`` phrasings of an object sequence."""
    roles = hand_roles(plan)
    out: list[dict[str, str]] = []
    for _ in range(20 * count):
        triplet = {}
        for side in ("left", "right"):
            if roles[side] == "free":
                triplet[side] = hand_caption(side, HandLabel("relaxed", "still"), rng)
            else:
                triplet[side] = holding_caption(side, roles[side], plan, noun, rng)
        triplet["both"] = both_caption(plan, noun, rng)
        if triplet not in out:
            out.append(triplet)
        if len(out) == count:
            break
    return out
