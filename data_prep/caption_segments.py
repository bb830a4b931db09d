"""Ground-truth caption segments from a side file (``ARCTIC_ROOT/captions.jsonl``).

The synthetic generator writes one line per segment of a sequence::

    {"sequence": "s03/hands_use_0007", "start": 0, "end": 90,
     "captions": [{"left": ..., "right": ..., "both": ...}, ...], "labels": {...}}

with a half-open frame range [start, end). A clip gets the segment it overlaps most, if
that overlap covers at least 2/3 of the clip (:data:`MIN_OVERLAP`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from handgen.errors import InputFileError
from handgen.hand.topology import TEXT_BRANCHES

SIDE_FILE = "captions.jsonl"
MIN_OVERLAP = Fraction(2, 3)
CAPTION_KEYS = TEXT_BRANCHES


@dataclass(frozen=True)
class CaptionSegment:
    start: int
    end: int
    captions: tuple[dict[str, str], ...]
    labels: Any


def _caption(path: Path, number: int, item: Any) -> dict[str, str]:
    if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in CAPTION_KEYS):
        raise InputFileError(path, f"line {number}: each caption needs string 'left', 'right' and 'both'")
    return {k: item[k] for k in CAPTION_KEYS}


def read_caption_segments(path: str | Path) -> dict[str, list[CaptionSegment]]:
    """``{"subject/sequence": [segments sorted by start]}``. Raises InputFileError on a bad line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"unreadable ({exc})") from None
    out: dict[str, list[CaptionSegment]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise InputFileError(path, f"line {number} is not valid JSON") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("sequence"), str):
            raise InputFileError(path, f"line {number}: needs a 'sequence' string")
        start, end = entry.get("start"), entry.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or end <= start:
            raise InputFileError(path, f"line {number}: needs integer 'start' < 'end'")
        captions = entry.get("captions", [])
        if not isinstance(captions, list):
            raise InputFileError(path, f"line {number}: 'captions' must be a list")
        segment = CaptionSegment(start, end, tuple(_caption(path, number, c) for c in captions), entry.get("labels"))
        out.setdefault(entry["sequence"].strip("/"), []).append(segment)
    for segments in out.values():
        segments.sort(key=lambda s: (s.start, s.end))
    return out


def match_segment(segments: list[CaptionSegment], start: int, end: int) -> CaptionSegment | None:
    """The segment overlapping [start, end) most (earliest on ties), if it covers >= 2/3 of it."""
    best, best_overlap = None, 0
    for segment in segments:
        overlap = min(end, segment.end) - max(start, segment.start)
        if overlap > best_overlap:
            best, best_overlap = segment, overlap
    if best is None or Fraction(best_overlap, end - start) < MIN_OVERLAP:
        return None
    return best
