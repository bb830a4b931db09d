"""Wording of the rule-based captioner: several phrasings of every observable fact.

Plain, observable words only (no intent). Each hand's words keep to that hand: the shape
words of a primitive (``fist``, ``spread`` for an open hand, ``pinch``, ``point``, ``relax``)
appear only for that shape, and the movement words (``to the left``, ``upward``,
``forward``, ``rotat``, ``wav``, ``swing``, ``still``...) only for that movement. Directions
that are not movements (where the palm faces, where the fingers are directed) therefore use
other words ("away from the body", "toward the other hand").

Phrases are (finite verb phrase, gerund phrase) pairs; ``{n}`` is filled with a number.
"""

from __future__ import annotations

from typing import Any

from handgen.hand.topology import FINGERS

FINGER_NAMES = {"thumb": "thumb", "index": "index finger", "middle": "middle finger", "ring": "ring finger",
                "pinky": "little finger"}
SHORT_NAMES = {"index": "index", "middle": "middle", "ring": "ring", "pinky": "little"}  # the four fingers, hand order
TIP_NAMES = {"thumb": "thumb tip", "index": "index fingertip", "middle": "middle fingertip",
             "ring": "ring fingertip", "pinky": "little fingertip"}

# shape held over the clip: (formed during the clip, held from the start)
SHAPE_PHRASES: dict[str, list[tuple[tuple[str, str], tuple[str, str]]]] = {
    "fist": [
        (("closes into a fist", "closing into a fist"), ("remains clenched in a fist", "clenched in a fist")),
        (("makes a fist", "making a fist"), ("holds a fist", "holding a fist")),
        (("curls all four fingers into a tight fist", "curling all four fingers into a tight fist"),
         ("keeps all four fingers curled in a tight fist", "keeping a tight fist")),
    ],
    "open": [
        (("opens wide with the fingers spread", "opening wide with the fingers spread"),
         ("remains open with the fingers spread", "held open with the fingers spread")),
        (("spreads its fingers apart", "spreading its fingers apart"),
         ("keeps its fingers spread apart", "keeping its fingers spread apart")),
        (("straightens and spreads all five fingers", "straightening and spreading all five fingers"),
         ("holds all five fingers straight and spread", "holding all five fingers straight and spread")),
    ],
    "flat": [
        (("straightens its fingers and holds them together", "straightening its fingers together"),
         ("keeps its fingers straight and together", "keeping its fingers straight and together")),
        (("flattens, fingers straight and side by side", "flattening with the fingers side by side"),
         ("remains flat with the fingers side by side", "held flat with the fingers side by side")),
    ],
    "point": [
        (("points with the index finger", "pointing with the index finger"),
         ("keeps pointing with the index finger", "pointing with the index finger")),
        (("extends the index finger to point while the other fingers fold", "pointing with a straight index finger"),
         ("holds a pointing pose, index straight and the others folded", "holding a pointing pose")),
        (("forms a pointing gesture", "forming a pointing gesture"),
         ("keeps a pointing gesture", "keeping a pointing gesture")),
    ],
    "pinch": [
        (("pinches the thumb and index fingertips together", "pinching the thumb and index fingertips together"),
         ("holds a pinch between the thumb and index finger", "holding a pinch between the thumb and index finger")),
        (("brings the thumb tip onto the index fingertip in a pinch", "pinching thumb tip to index fingertip"),
         ("keeps the thumb tip pinched against the index fingertip", "keeping a thumb-index pinch")),
        (("forms a pinch with the thumb and index finger", "forming a pinch with the thumb and index finger"),
         ("remains in a pinch, thumb on the index fingertip", "pinching thumb to index")),
    ],
    "relaxed": [
        (("settles into a relaxed pose, fingers loosely curled", "relaxing with the fingers loosely curled"),
         ("remains relaxed with the fingers loosely curled", "relaxed with the fingers loosely curled")),
        (("relaxes its fingers", "relaxing its fingers"),
         ("keeps its fingers relaxed and slightly bent", "keeping its fingers relaxed")),
        (("eases into a relaxed, slightly curled pose", "easing into a relaxed pose"),
         ("rests in a relaxed, slightly curled pose", "resting in a relaxed pose")),
    ],
}

TRAVEL_WORDS: dict[str, list[str]] = {
    "left": ["to the left", "leftward", "over to the left"],
    "right": ["to the right", "rightward", "over to the right"],
    "up": ["upward", "upward", "upward"],
    "down": ["downward", "downward", "downward"],
    "forward": ["forward, away from the body", "forward", "forward"],
    "back": ["backward toward the body", "backward", "backward"],
}
TRAVEL_VERBS: dict[str, list[tuple[str, str]]] = {
    "up": [("moves", "moving"), ("rises", "rising"), ("lifts", "lifting")],
    "down": [("moves", "moving"), ("lowers", "lowering"), ("drops", "dropping")],
    "other": [("moves", "moving"), ("shifts", "shifting"), ("slides", "sliding")],
}
OSCILLATION_PHRASES: dict[str, list[tuple[str, str]]] = {
    "left_right": [("swings in and out repeatedly", "swinging in and out"),
                   ("swings in toward the middle and out again", "swinging in toward the middle and out again"),
                   ("keeps swinging inward and outward", "swinging inward and outward")],
    "down_up": [("bobs up and down", "bobbing up and down"), ("moves up and down repeatedly", "moving up and down"),
                ("goes up and down several times", "going up and down")],
    "back_front": [("moves back and forth", "moving back and forth"),
                   ("goes to and fro, toward and away from the body", "going to and fro"),
                   ("moves in and out from the body repeatedly", "moving in and out from the body")],
}
ROTATION_PHRASES: dict[str, list[tuple[str, str]]] = {  # back and forth
    "supination": [("rotates the wrist back and forth", "rotating the wrist back and forth"),
                   ("rotates about the forearm, turning the palm one way and the other", "rotating about the forearm"),
                   ("keeps rotating at the wrist", "rotating at the wrist")],
    "deviation": [("waves from side to side", "waving from side to side"), ("waves repeatedly", "waving repeatedly"),
                  ("waves, tilting side to side at the wrist", "waving side to side")],
    "flexion": [("flaps up and down at the wrist", "flapping at the wrist"),
                ("bends back and forth at the wrist", "bending back and forth at the wrist"),
                ("flexes and extends the wrist repeatedly", "flexing and extending the wrist")],
}
ROTATION_ONCE: dict[str, dict[str, tuple[str, str]]] = {  # one way
    "supination": {"palm turning up": ("rotates to turn the palm up", "rotating to turn the palm up"),
                   "palm turning down": ("rotates to turn the palm down", "rotating to turn the palm down")},
    "deviation": {"toward the thumb": ("tilts toward the thumb side", "tilting toward the thumb side"),
                  "toward the little finger": ("tilts toward the little-finger side",
                                               "tilting toward the little finger")},
    "flexion": {"bending toward the palm": ("bends at the wrist toward the palm", "bending at the wrist"),
                "bending back": ("bends the wrist back", "bending the wrist back")},
}
STILL_PHRASES: list[tuple[str, str]] = [("stays still", "staying still"), ("holds still in place", "holding still"),
                                        ("keeps still", "keeping still")]
PALM_WORDS: dict[str, list[str]] = {
    "down": ["palm down", "palm facing down", "palm turned down"],
    "up": ["palm up", "palm facing up", "palm turned up"],
    "forward": ["palm facing away from the body", "palm facing out in front", "palm turned away from the body"],
    "back": ["palm facing the body", "palm turned toward the body", "palm facing the chest"],
    "inward": ["palm turned toward the other hand", "palm facing inward", "palm facing the middle"],
    "outward": ["palm turned outward", "palm facing outward", "palm facing away from the other hand"],
}
DIRECTED_WORDS: dict[str, str] = {  # where the fingers are directed
    "down": "fingers directed down", "up": "fingers raised", "forward": "fingers extended away from the body",
    "back": "fingers turned toward the body", "inward": "fingers directed toward the other hand",
    "outward": "fingers directed outward",
}
FLEXION_WORDS = {"hyper-extended": "hyper-extended", "extended": "straight", "partially bent": "partly bent",
                 "fully bent": "fully bent"}
SUBJECTS = ("The {side} hand", "The {side} hand", "The person's {side} hand")

RELATION_NONE = ["The hands do not touch; each moves on its own.", "There is no contact between the two hands.",
                 "The two hands stay apart and do not touch.", "Each hand moves separately; they never touch."]
CLAP = ["The hands clap together {n} times, palm against palm.", "The palms meet {n} times in repeated claps.",
        "The two hands clap {n} times.", "Both palms strike together {n} times."]
PALM_TOUCH = ["The palms touch once.", "The two palms come together and touch briefly.",
              "The hands meet palm to palm once."]
TOUCH_PALM = ["The {t} {tip} touches the {r} palm.", "The {t} hand's {tip} comes to rest on the {r} palm.",
              "The {t} hand touches the center of the {r} palm with its {tip}."]
TOUCH_PALM_MANY = ["The {t} {tip} touch the {r} palm.", "The {t} hand's {tip} come to rest on the {r} palm.",
                   "The {t} hand touches the center of the {r} palm with its {tip}."]  # several tips, one sentence
TIP_TOUCH = ["The left {a} touches the right {b}.", "The left {a} and the right {b} come into contact."]
APPROACH = ["The hands move toward each other.", "The two hands come closer together.",
            "Both hands draw closer to each other."]
SEPARATE = ["The hands move apart.", "The two hands pull away from each other.", "The hands separate."]
ONE_APPROACHES = ["The {m} hand moves toward the {o} hand.", "The {m} hand comes closer to the {o} hand."]
ONE_SEPARATES = ["The {m} hand moves away from the {o} hand.", "The {m} hand draws away from the {o} hand."]
BACK_AND_FORTH = ["The hands repeatedly come closer and move apart again.",
                  "The gap between the hands opens and closes repeatedly."]
MIRROR = ["The two hands move as mirror images of each other.", "The hands mirror each other's movement.",
          "Both hands make the same movement in mirror image."]
NO_CONTACT = ["The hands do not touch.", "There is no contact between the hands."]


# ------------------------------------------------------------------ joining words


def pick(options, variant: int):
    """The ``variant``-th phrasing, cycling."""
    return options[variant % len(options)]


def join_and(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def finger_list(names: list[str]) -> str:
    """``["index", "middle"]`` -> "index and middle fingers"; the thumb and the little finger by name."""
    long = [SHORT_NAMES[n] for n in names if n != "thumb"]
    parts = ["thumb"] if "thumb" in names else []
    if long:
        joined = long[0] if len(long) == 1 else ", ".join(long[:-1]) + " and " + long[-1]
        parts.append(joined + (" finger" if len(long) == 1 else " fingers"))
    return " and the ".join(parts)


def tip_list(names: list[str]) -> str:
    """``["index", "middle"]`` -> "index and middle fingertips"; ``["thumb", "index"]`` -> "thumb tip and index
    fingertip"; one name -> its ``TIP_NAMES`` entry."""
    long = [short for n, short in SHORT_NAMES.items() if n in names]  # hand order
    parts = ["thumb tip"] if "thumb" in names else []
    if long:
        parts.append(join_and(long) + (" fingertip" if len(long) == 1 else " fingertips"))
    return " and the ".join(parts) if len(parts) == 2 and len(long) > 1 else " and ".join(parts)


def finger_states(ev: dict[str, Any]) -> dict[str, list[str]]:
    """Flexion word -> fingers, from each finger's longest state run in a hand's events."""
    out: dict[str, list[str]] = {}
    for finger in FINGERS:
        runs = ev.get("fingers", {}).get(finger, [])
        if runs:
            state = max(runs, key=lambda e: e["end"] - e["start"])["state"]
            out.setdefault(FLEXION_WORDS[state], []).append(finger)
    return out


def finger_detail(ev: dict[str, Any]) -> str:
    """"all five fingers straight" / "the thumb partly bent and the index ... fully bent"."""
    states = finger_states(ev)
    if len(states) == 1 and len(next(iter(states.values()))) == len(FINGERS):
        return f"all five fingers {next(iter(states))}"
    return join_and([f"the {finger_list(names)} {state}" for state, names in states.items()])
