"""Left-right mirroring of bimanual motion features and of their captions (training augmentation).

Reflecting the scene through the x = 0 plane (+x is the person's left) turns the left hand into
a right hand and vice versa: MANO's left hand is the x-mirror of its right hand, so a left hand
with rotations R becomes a right hand with rotations M R M (M = diag(-1, 1, 1)), and every
position p becomes M p. On the feature layout of :mod:`handgen.repr.features` this is a sign
flip of fixed entries plus a swap of the two hand blocks, then a re-canonicalisation (the new
right wrist at frame 0 back at the origin). Captions follow by swapping "left" and "right"
(and the other words whose meaning a reflection flips: leftward, clockwise ...).
"""

from __future__ import annotations

import re

import torch

from handgen.hand.topology import HANDS
from handgen.repr.features import HAND_BLOCKS, HAND_DIM, SLICES, translate_features

POSITION_SIGN = (-1.0, 1.0, 1.0)  # M p
# M R M on the 6D layout (first column, then second): entry (i, j) of R changes sign by s_i s_j
SIXD_SIGN = (1.0, -1.0, -1.0, -1.0, 1.0, 1.0)

# words whose meaning the reflection flips (matched whole, case-preserving): pairs swap both ways
MIRROR_PAIRS: tuple[tuple[str, str], ...] = (
    ("left", "right"), ("leftward", "rightward"), ("leftwards", "rightwards"), ("clockwise", "counterclockwise"),
)
_PARTNER = {**dict(MIRROR_PAIRS), **{b: a for a, b in MIRROR_PAIRS},
            "counter-clockwise": "clockwise", "anticlockwise": "clockwise", "anti-clockwise": "clockwise"}
_WORD = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _PARTNER), key=len, reverse=True)) + r")\b", re.IGNORECASE)


def _hand_sign() -> torch.Tensor:
    """(HAND_DIM,) sign of each entry of one hand's block under the reflection."""
    parts = []
    for block, size in HAND_BLOCKS:
        pattern = SIXD_SIGN if block in ("root6d", "pose6d") else POSITION_SIGN
        parts.append(torch.tensor(pattern).repeat(size // len(pattern)))
    return torch.cat(parts)


def mirror_features(features: torch.Tensor) -> torch.Tensor:
    """Features (..., T, D) of a motion -> those of its left-right mirror image, canonicalised.

    The right wrist at frame 0 of the result is the origin, like every DATA_DIR clip; mirroring
    a canonical clip twice gives it back.
    """
    sign = _hand_sign().to(features)
    left, right = (features[..., SLICES[f"{side}.wrist"].start : SLICES[f"{side}.wrist"].start + HAND_DIM]
                   for side in HANDS)
    out = torch.cat([right * sign, left * sign], dim=-1)  # the mirrored right hand is the new left
    return translate_features(out, -out[..., 0, SLICES["right.wrist"]])


def mirror_text(text: str) -> str:
    """A caption of the mirrored motion: "The left hand waves leftward." -> "The right hand waves rightward."."""

    def swap(match: re.Match) -> str:
        word = match.group(0)
        partner = _PARTNER[word.lower()]
        return partner.capitalize() if word[0].isupper() else partner

    return _WORD.sub(swap, text)
