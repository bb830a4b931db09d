"""Ground-truth captions of a segment: several ``{left, right, both}`` phrasings of its labels.

Plain, observable words only (no intent): the left caption names the left hand
and describes only the left hand's own primitives, the right caption likewise,
and ``both`` describes the relation (``none`` says plainly that the hands move
independently). Every phrase of a primitive contains that primitive's keyword
(:data:`FINGER_KEYWORDS`, :data:`WRIST_KEYWORDS`) and no other primitive's, so
captions can be checked against the labels mechanically.
"""

from __future__ import annotations

import re

import numpy as np

from data_prep.synthetic.compose import HandLabel, SegmentPlan

NUM_PHRASINGS = 5

# (finite verb phrase, gerund phrase) per primitive
FINGER_PHRASES: dict[str, list[tuple[str, str]]] = {
    "relaxed": [
        ("stays relaxed", "staying relaxed"),
        ("keeps its fingers loose and relaxed", "keeping its fingers loose and relaxed"),
        ("rests in a relaxed, slightly curled pose", "resting in a relaxed, slightly curled pose"),
        ("holds a relaxed, natural pose", "holding a relaxed, natural pose"),
    ],
    "fist": [
        ("clenches into a fist", "clenching into a fist"),
        ("makes a fist", "making a fist"),
        ("closes into a tight fist", "closing into a tight fist"),
        ("curls all its fingers into a fist", "curling all its fingers into a fist"),
    ],
    "open": [
        ("opens wide with the fingers spread", "opening wide with the fingers spread"),
        ("spreads its fingers apart", "spreading its fingers apart"),
        ("stretches its fingers out and spreads them", "stretching its fingers out and spreading them"),
        ("opens flat with all five fingers spread", "opening flat with all five fingers spread"),
    ],
    "pinch": [
        ("pinches its thumb and index finger together", "pinching its thumb and index finger together"),
        (
            "makes a pinch, thumb tip against the index fingertip",
            "making a pinch, thumb tip against the index fingertip",
        ),
        (
            "pinches, bringing the thumb and index fingertips together",
            "pinching the thumb and index fingertips together",
        ),
        ("forms a pinch between the thumb and index finger", "forming a pinch between the thumb and index finger"),
    ],
    "point": [
        ("points with the index finger", "pointing with the index finger"),
        ("points, index finger straight and the other fingers curled", "pointing with a straight index finger"),
        ("makes a pointing gesture", "making a pointing gesture"),
        ("extends the index finger to point while the others fold", "extending the index finger to point"),
    ],
}
WRIST_PHRASES: dict[str, list[tuple[str, str]]] = {
    "still": [
        ("stays still", "staying still"),
        ("holds still in place", "holding still in place"),
        ("keeps still", "keeping still"),
    ],
    "wave": [
        ("waves from side to side", "waving from side to side"),
        ("waves, raised with the fingers up", "waving with the fingers up"),
        ("waves repeatedly", "waving repeatedly"),
    ],
    "rotate": [
        ("rotates the wrist to and fro", "rotating the wrist to and fro"),
        ("rotates about the forearm, rolling the palm one way and the other", "rotating about the forearm"),
        ("keeps rotating at the wrist", "rotating at the wrist"),
    ],
    "left": [
        ("moves to the left", "moving to the left"),
        ("shifts leftward", "shifting leftward"),
        ("slides over to the left", "sliding over to the left"),
    ],
    "right": [
        ("moves to the right", "moving to the right"),
        ("shifts rightward", "shifting rightward"),
        ("slides over to the right", "sliding over to the right"),
    ],
    "up": [
        ("moves upward", "moving upward"),
        ("rises upward", "rising upward"),
        ("lifts upward", "lifting upward"),
    ],
    "down": [
        ("moves downward", "moving downward"),
        ("drops downward", "dropping downward"),
        ("sinks downward", "sinking downward"),
    ],
    "forward": [
        ("moves forward", "moving forward"),
        ("pushes forward, away from the body", "pushing forward, away from the body"),
        ("reaches forward", "reaching forward"),
    ],
    "back": [
        ("moves backward toward the body", "moving backward toward the body"),
        ("pulls backward", "pulling backward"),
        ("draws backward toward the chest", "drawing backward toward the chest"),
    ],
    "in_out": [
        ("swings in toward the middle and out again, over and over", "swinging in toward the middle and out again"),
        ("swings in and out repeatedly", "swinging in and out repeatedly"),
        ("keeps swinging inward and outward", "swinging inward and outward"),
    ],
}
PALM_PHRASES: dict[str, str] = {
    "down": "palm down",
    "forward": "palm facing the front",
    "inward": "palm turned inward",
    "up": "palm facing up",
}
FINGER_KEYWORDS: dict[str, str] = {
    "relaxed": r"relax", "fist": r"\bfist", "open": r"spread", "pinch": r"pinch", "point": r"point",
}
WRIST_KEYWORDS: dict[str, str] = {
    "still": r"\bstill\b", "wave": r"\bwav", "rotate": r"\brotat", "left": r"(to the left|leftward)",
    "right": r"(to the right|rightward)", "up": r"\bupward", "down": r"\bdownward", "forward": r"\bforward",
    "back": r"\bbackward", "in_out": r"\bswing",
}
RELATION_PHRASES: dict[str, list[str]] = {
    "none": [
        "The two hands move independently.",
        "Each hand moves on its own, without interacting with the other.",
        "The hands act separately and do not touch.",
        "There is no interaction between the hands; each does its own movement.",
    ],
    "approach": [
        "The hands move toward each other.",
        "The two hands come together, stopping a few centimeters apart.",
        "Both hands draw closer to each other without touching.",
        "The hands approach each other.",
    ],
    "separate": [
        "The hands move apart.",
        "The two hands pull away from each other.",
        "The hands separate, moving away from each other.",
        "Starting close together, the two hands draw apart.",
    ],
    "clap": [
        "The hands clap together repeatedly.",
        "The two palms face each other and meet in repeated claps.",
        "The hands clap several times.",
        "Both hands clap, palms striking together again and again.",
    ],
    "touch_palm": [
        "The {t} index fingertip touches the center of the {r} palm.",
        "The {t} hand points down and touches the palm of the {r} hand.",
        "The {t} hand's index finger comes down onto the upturned {r} palm.",
        "The {t} hand taps its index fingertip onto the middle of the {r} hand's palm.",
    ],
    "mirror": [
        "The two hands mirror each other, both {w}.",
        "The hands move in mirror symmetry, each {w}.",
        "Both hands do the same thing in mirror image, {w}.",
        "The left and right hands move as mirror images, {w}.",
    ],
}


def _choice(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def hand_caption(side: str, label: HandLabel, rng: np.random.Generator) -> str:
    """One sentence about hand ``side`` naming its finger and wrist primitives (and sometimes its palm)."""
    subject = _choice(rng, (f"The {side} hand", f"The {side} hand", f"The person's {side} hand"))
    if label.palm != "down" and rng.random() < 0.5:
        subject += f", {PALM_PHRASES[label.palm]},"
    f_fin, f_ger = _choice(rng, FINGER_PHRASES[label.fingers])
    w_fin, w_ger = _choice(rng, WRIST_PHRASES[label.wrist])
    template = int(rng.integers(3))
    if template == 0:
        first, joint, second = f_fin, "while", w_ger
    elif template == 1:
        first, joint, second = w_fin, "while", f_ger
    else:
        first, joint, second = f_fin, "and", w_fin
    comma = "," if "," in first else ""  # close an inserted clause before the conjunction
    return f"{subject} {first}{comma} {joint} {second}."


def relation_caption(plan: SegmentPlan, rng: np.random.Generator) -> str:
    """One sentence about the two hands together."""
    text = _choice(rng, RELATION_PHRASES[plan.relation])
    if plan.relation == "touch_palm":
        toucher = plan.toucher or "right"
        return text.format(t=toucher, r="right" if toucher == "left" else "left")
    if plan.relation == "mirror":
        return text.format(w=_choice(rng, WRIST_PHRASES[plan.left.wrist])[1])
    return text


def caption_triplets(plan: SegmentPlan, rng: np.random.Generator, count: int = NUM_PHRASINGS) -> list[dict[str, str]]:
    """``count`` distinct ``{left, right, both}`` phrasings of ``plan`` (fewer only if all are exhausted)."""
    out: list[dict[str, str]] = []
    for _ in range(20 * count):
        triplet = {
            "left": hand_caption("left", plan.left, rng),
            "right": hand_caption("right", plan.right, rng),
            "both": relation_caption(plan, rng),
        }
        if triplet not in out:
            out.append(triplet)
        if len(out) == count:
            break
    return out


def mentions(text: str, pattern: str) -> bool:
    """Whether ``text`` contains the keyword ``pattern`` (regex, case-insensitive)."""
    return re.search(pattern, text, flags=re.IGNORECASE) is not None
