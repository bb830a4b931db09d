"""Pick the hand model: real MANO when its files are given, the procedural hand otherwise."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from handgen.hand.base import HandModel
from handgen.hand.mano import ManoHand
from handgen.hand.pair import HandPair
from handgen.hand.procedural import ProceduralHand

log = logging.getLogger(__name__)
MANO_DIR_ENV = "HANDGEN_MANO_DIR"
_announced: set[str] = set()


def resolve_mano_dir(mano_dir: str | os.PathLike | None) -> Path | None:
    """The MANO folder from the argument or ``$HANDGEN_MANO_DIR`` (None when neither is set)."""
    value = mano_dir if mano_dir not in (None, "") else os.environ.get(MANO_DIR_ENV) or None
    return Path(value).expanduser() if value is not None else None


def make_hand(side: str, mano_dir: str | os.PathLike | None = None, flat_hand_mean: bool = True) -> HandModel:
    """A hand model for ``side``: ManoHand from ``mano_dir`` / $HANDGEN_MANO_DIR, else ProceduralHand.

    Raises:
        InputFileError: when a MANO folder is given but its files are missing, unsafe or malformed.
    """
    folder = resolve_mano_dir(mano_dir)
    if folder is not None:
        hand: HandModel = ManoHand(folder, side=side, flat_hand_mean=flat_hand_mean)
        message = f"hand model: MANO from {folder}"
    else:
        hand = ProceduralHand(side=side, flat_hand_mean=flat_hand_mean)
        message = "hand model: built-in procedural hand (set --mano-dir or HANDGEN_MANO_DIR for MANO)"
    if message not in _announced:
        _announced.add(message)
        log.info(message)
    return hand


def make_hand_pair(mano_dir: str | os.PathLike | None = None, flat_hand_mean: bool = True) -> HandPair:
    """Left and right hand models of the same kind (see :func:`make_hand`)."""
    return HandPair(
        make_hand("left", mano_dir, flat_hand_mean),
        make_hand("right", mano_dir, flat_hand_mean),
    )
