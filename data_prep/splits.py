"""Train/val/test assignment of whole sequences (clips of one sequence never straddle splits).

Two rules:

* ``ARCTIC_ROOT/splits_json/protocol_p1.json`` = ``{"train": ["s05/box_use_01", ...], "val": [...],
  "test": [...]}`` when it exists: listed sequences go to their split; sequences it does not
  list go to **train** (logged).
* otherwise a deterministic hash split: sort the sequences by the md5 of ``"subject/sequence"``;
  the first ceil(10 %) go to test, the next ceil(10 %) to val, the rest to train. With fewer
  than 3 sequences everything is train.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Iterable

from handgen.errors import InputFileError

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")
PROTOCOL_FILE = Path("splits_json") / "protocol_p1.json"
HASH_RULE = (
    "hash: sequences sorted by md5('subject/sequence'); first ceil(10%) test, next ceil(10%) val, rest train "
    "(all train when fewer than 3 sequences)"
)


def hash_split(keys: Iterable[str], fraction: float = 0.1) -> dict[str, str]:
    """Deterministic split of sequence keys ``"subject/sequence"`` (see the module docstring)."""
    ordered = sorted(set(keys), key=lambda k: (hashlib.md5(k.encode("utf-8")).hexdigest(), k))
    out = {k: "train" for k in ordered}
    if len(ordered) >= 3:
        n_held = math.ceil(fraction * len(ordered))
        for k in ordered[:n_held]:
            out[k] = "test"
        for k in ordered[n_held : 2 * n_held]:
            out[k] = "val"
    return out


def read_protocol(path: str | Path) -> dict[str, str]:
    """``{"subject/sequence": split}`` from a protocol json. Raises InputFileError."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(path, f"unreadable split file ({exc})") from None
    if not isinstance(data, dict) or not set(data) <= set(SPLITS):
        raise InputFileError(path, f"expected an object with keys among {SPLITS}")
    out: dict[str, str] = {}
    for split, keys in data.items():
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise InputFileError(path, f"{split!r} must be a list of 'subject/sequence' strings")
        for key in keys:
            key = key.strip("/")
            if out.get(key, split) != split:
                raise InputFileError(path, f"{key!r} is listed in both {out[key]!r} and {split!r}")
            out[key] = split
    return out


def assign_splits(root: str | Path, keys: Iterable[str]) -> tuple[dict[str, str], str]:
    """Split of every sequence key, and a description of the rule used (for meta.json)."""
    keys = sorted(set(keys))
    protocol_path = Path(root) / PROTOCOL_FILE
    if not protocol_path.is_file():
        return hash_split(keys), HASH_RULE
    protocol = read_protocol(protocol_path)
    unlisted = [k for k in keys if k not in protocol]
    if unlisted:
        log.info("%d sequence(s) not listed in %s go to train", len(unlisted), protocol_path)
    rule = f"protocol: {PROTOCOL_FILE.as_posix()} (sequences it does not list go to train)"
    return {k: protocol.get(k, "train") for k in keys}, rule
