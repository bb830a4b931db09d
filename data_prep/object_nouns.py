"""Readable nouns for object template names (``sphere`` -> "ball"), used by the captioners.

A DATA_DIR row names its object by its template folder (``object``: ``sphere``, ``crackerbox``,
``waffleiron``...). Captions need what a person would call it. :data:`OBJECT_NOUNS` covers
the synthetic generator's catalogue (the nouns of :mod:`data_prep.synthetic.object_catalog`;
a test keeps the two in step) and ARCTIC's 11 objects; an unknown name is used as it is, with
underscores and dashes read as spaces. :data:`MOVING_PARTS` names the part that the
articulation moves (None: the whole object "opens", as scissors do).
"""

from __future__ import annotations

OBJECT_NOUNS: dict[str, str] = {
    # synthetic catalogue
    "box": "box",
    "cylinder": "cylinder",
    "sphere": "ball",
    "hingebox": "box with a lid",
    "crackerbox": "cracker box",
    "masterchefcan": "coffee can",
    "tomatosoupcan": "soup can",
    # ARCTIC (its "box" is a box with a lid: the same noun as the primitive)
    "capsulemachine": "capsule machine",
    "ketchup": "ketchup bottle",
    "laptop": "laptop",
    "microwave": "microwave",
    "mixer": "mixer",
    "notebook": "notebook",
    "espressomachine": "espresso machine",
    "waffleiron": "waffle iron",
    "scissors": "scissors",
    "phone": "phone",
}

# the part the articulation moves, by template name; absent or None: the object itself opens
MOVING_PARTS: dict[str, str | None] = {
    "hingebox": "lid",
    "box": "lid",
    "capsulemachine": "lid",
    "ketchup": "cap",
    "laptop": "screen",
    "microwave": "door",
    "mixer": "lid",
    "notebook": "cover",
    "espressomachine": "lid",
    "waffleiron": "lid",
    "scissors": None,
    "phone": None,
}


def object_noun(name: str | None) -> str:
    """The caption noun of template ``name`` ("object" when there is none)."""
    if not name:
        return "object"
    key = str(name).strip().lower()
    return OBJECT_NOUNS.get(key, key.replace("_", " ").replace("-", " "))


def moving_part(name: str | None) -> str | None:
    """The noun of the part that the articulation moves ("lid"), or None when the object itself opens."""
    return MOVING_PARTS.get(str(name or "").strip().lower(), "lid")
