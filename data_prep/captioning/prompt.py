"""The LLM prompt: the captioning rules, how to read the events JSON, and the clip's events.

:func:`build_messages` returns chat-completions messages; :func:`prompt_key` hashes them with
the model name and sampling settings (the cache key). Changing the wording changes
:data:`PROMPT_VERSION` so that old cached answers are not reused.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from data_prep.captioning.rules import caption_levels
from data_prep.events import events_json

PROMPT_VERSION = 2

RULES = """You write captions of two-hand motion for a text-to-motion dataset. You receive the
measured motion features of one short clip as JSON events and write {k} caption triplets.

Rules:
1. Describe only what the features show: hand shapes, finger bending, contacts, wrist travel
   and rotation, palm direction, how the hands relate. Never guess a purpose, an activity,
   an emotion, or an object that the features do not name.
2. "left" is about the left hand only and "right" about the right hand only. "both" is about
   the two hands together: contacts between them, moving toward or away from each other,
   mirror-image motion, relative position. When the hands never touch, say so in "both".
3. Report every contact listed: thumb-to-fingertip contacts in that hand's caption, contacts
   between the hands in "both", contact with an object in that hand's caption.
   When the features have an "object", every triplet mentions it by its "noun": each hand in
   "held_by" holds it (say how and what it does with it), "both" says which hand(s) hold it
   ("Both hands hold the ball and lift it." or "The left hand holds the can while the right hand
   stays still.") and what the object itself does.
4. Directions are the person's own: left/right, up/down, forward (away from the body) and
   backward (toward the body).
5. Word the {k} triplets differently. {levels}
6. Answer with one JSON object and nothing else:
   {{"captions": [{{"left": "...", "right": "...", "both": "..."}}, ...]}} with exactly {k} items,
   every string a non-empty English sentence or two.

How to read the features: frames are clip frames [start, end) at "fps" frames per second;
distances are in cm and speeds in cm/s; rotation angles in degrees and their speeds in
degrees/s. Per hand ("left", "right"):
- "shape": the hand's shape over time: fist (four fingers fully bent), open (straight and
  spread), flat (straight, together), point (index straight, others fully bent), pinch (thumb
  tip on the index tip), relaxed (loosely curled), other (see "fingers").
- "fingers": each finger's bending: hyper-extended, extended, partially bent, fully bent.
- "spacing": spread or together (the four long fingers).
- "thumb_contact": the thumb tip touching another fingertip.
- "translation": wrist travel per axis (left_right, down_up, back_front) with direction,
  mean speed and distance; a hand with no translation and no rotation stays still.
- "rotation": supination (the forearm rolls the palm up or down), flexion (the hand bends at the
  wrist), deviation (the hand tilts sideways, as in waving); several alternating events mean
  back-and-forth motion.
- "palm_facing" / "fingers_pointing": where the palm faces / the fingers point (inward means
  toward the other hand; "also" names a second direction it leans to).
- "object_contact": the hand touching the object (fingertips in contact, contact share).
- "turning": a hand touching the object slowly turning about a world axis (as "rotation" of
  the object below).
For both hands ("both"):
- "palm_distance": touching, close (< 15 cm), apart (< 30 cm) or far, between palm centres.
- "palm_contact": the palms touch ("facing": palm to palm). Several palm contacts are claps.
- "distance_change": the wrists approaching or separating; "moving" says which hand(s) move.
- "fingertip_to_palm": a fingertip of "hand" touching the "palm" of the other hand.
- "fingertip_to_fingertip": a left fingertip touching a right fingertip.
- "relative_position": where the LEFT palm is relative to the RIGHT palm per axis.
- "mirror": the hands move as mirror images of each other.
The object ("object", when there is one): "noun" is what to call it; "held_by" lists the hands
holding it (touching it for at least a third of the clip); what the object itself does, from
its own pose: "translation" of its centre per axis (as the wrists'), "rotation" about the world
axes (about_vertical: it turns, clockwise or counterclockwise seen from above; about_forward:
it tilts sideways, one side rising; about_left_right: it tips forward or back, its top moving
away from or toward the body), "articulation": its moving "part" (a lid) opening or closing by
"angle" degrees; "still": it does not move.
Anything not listed did not happen."""


def levels_sentence(k: int) -> str:
    """"Triplets 1-2 are concise ..." for ``k`` triplets (see :func:`caption_levels`)."""
    levels = caption_levels(k)
    words = {
        "concise": "concise (one short sentence per field)",
        "moderate": "moderate (a sentence or two with the main details: palm direction, amounts)",
        "detailed": "detailed (finger states, timing in seconds, distances and speeds)",
    }
    parts = []
    for level in ("concise", "moderate", "detailed"):
        index = [i + 1 for i, x in enumerate(levels) if x == level]
        if index:
            span = str(index[0]) if len(index) == 1 else f"{index[0]}-{index[-1]}"
            parts.append(f"triplet{'s' if len(index) > 1 else ''} {span} {'are' if len(index) > 1 else 'is'} "
                         f"{words[level]}")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def build_messages(events: dict[str, Any], k: int = 5) -> list[dict[str, str]]:
    """Chat messages (system rules + the clip's events JSON) asking for ``k`` triplets."""
    system = RULES.format(k=k, levels=levels_sentence(k))
    user = f"Clip motion features:\n{events_json(events)}\nWrite {k} caption triplets as JSON."
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def prompt_key(model: str, messages: list[dict[str, str]], settings: dict[str, Any] | None = None) -> str:
    """sha256 hex of (prompt version, model, messages, sampling settings): the cache key."""
    payload = {"version": PROMPT_VERSION, "model": model, "messages": messages, "settings": settings or {}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()
