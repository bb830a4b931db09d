"""Assembly101-style fine-grained action labels: per-sequence frame intervals with a verb.

Input: a csv (read with the csv module) with a header holding ``start_frame`` and
``end_frame`` (30 fps frame numbers; ``end_frame`` included by default) and a verb in
``verb`` or ``verb_cls`` (a name; a purely numeric ``verb_cls`` is kept as ``verb_<n>``).
The sequence of a row is its ``sequence`` column, else the first path component of its
``video`` column without extension (Assembly101 writes ``<sequence>/<view>.mp4``), else
the csv's file name. Other columns are ignored.

Verbs are normalised (lower case, ``_``/``-`` -> space, single spaces): ``pick_up``,
``Pick-Up`` and ``pick up`` are all ``"pick up"``. :data:`BENCHMARK_VERBS` are the six
verbs of the AssemblyHands-X action benchmark.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handgen.errors import InputFileError

BENCHMARK_VERBS: tuple[str, ...] = ("pick up", "put down", "position", "remove", "screw", "unscrew")
LABEL_FPS = 30.0


@dataclass(frozen=True)
class ActionSegment:
    """Frames [start, end) of a sequence (label frame rate) doing ``verb``."""

    start: int
    end: int
    verb: str

    @property
    def is_benchmark_verb(self) -> bool:
        return self.verb in BENCHMARK_VERBS


def normalize_verb(text: str) -> str:
    """``"Pick_Up"`` -> ``"pick up"``; numeric ids -> ``"verb_<n>"``."""
    verb = re.sub(r"[\s_\-]+", " ", str(text).strip().lower()).strip()
    return f"verb_{verb}" if verb.isdigit() else verb


def _sequence_of(row: dict[str, str], default: str) -> str:
    if row.get("sequence"):
        return row["sequence"].strip()
    video = (row.get("video") or "").strip().replace("\\", "/").strip("/")
    if not video:
        return default
    parts = video.split("/")
    return parts[0] if len(parts) > 1 else Path(parts[0]).stem


def read_action_labels(csv_path: str | Path, end_inclusive: bool = True) -> dict[str, list[ActionSegment]]:
    """Segments per sequence, each list sorted by start; see the module docstring.

    Raises:
        InputFileError: unreadable file, missing columns, or a row with bad frame numbers.
    """
    path = Path(csv_path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = [f.strip() for f in reader.fieldnames or []]
            reader.fieldnames = fields
            verb_key = "verb" if "verb" in fields else "verb_cls" if "verb_cls" in fields else None
            if "start_frame" not in fields or "end_frame" not in fields or verb_key is None:
                raise InputFileError(path, "action csv needs start_frame, end_frame and verb (or verb_cls) columns")
            out: dict[str, list[ActionSegment]] = {}
            for line, row in enumerate(reader, start=2):
                try:
                    start = int(float(row["start_frame"]))
                    end = int(float(row["end_frame"])) + (1 if end_inclusive else 0)
                except (TypeError, ValueError):
                    raise InputFileError(path, f"line {line}: bad start_frame/end_frame") from None
                if end <= start or start < 0:
                    raise InputFileError(path, f"line {line}: empty or negative interval {start}..{end}")
                verb = normalize_verb(row.get(verb_key) or "")
                if not verb:
                    raise InputFileError(path, f"line {line}: empty verb")
                seq = _sequence_of(row, path.stem)
                out.setdefault(seq, []).append(ActionSegment(start, end, verb))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(path, f"cannot read action labels: {exc}") from None
    return {seq: sorted(segs, key=lambda s: (s.start, s.end)) for seq, segs in out.items()}


def _to_label_frames(frame: float, motion_fps: float, label_fps: float) -> float:
    return frame * label_fps / motion_fps


def dominant_verb(
    segments: list[ActionSegment],
    start: int,
    end: int,
    *,
    benchmark_only: bool = True,
    motion_fps: float = LABEL_FPS,
    label_fps: float = LABEL_FPS,
) -> str | None:
    """The verb covering most frames of the clip [start, end) (motion frames), or None.

    Overlapping segments each count their overlap; ties go to the verb seen first.
    With ``benchmark_only`` only the six :data:`BENCHMARK_VERBS` compete.
    """
    lo, hi = _to_label_frames(start, motion_fps, label_fps), _to_label_frames(end, motion_fps, label_fps)
    cover: dict[str, float] = {}
    for seg in segments:
        if benchmark_only and not seg.is_benchmark_verb:
            continue
        overlap = min(hi, seg.end) - max(lo, seg.start)
        if overlap > 0:
            cover[seg.verb] = cover.get(seg.verb, 0.0) + overlap
    if not cover:
        return None
    best = max(cover.values())
    return next(verb for verb, value in cover.items() if value == best)


def per_frame_verbs(
    segments: list[ActionSegment],
    num_frames: int,
    *,
    benchmark_only: bool = False,
    motion_fps: float = LABEL_FPS,
    label_fps: float = LABEL_FPS,
) -> np.ndarray:
    """Verb of each motion frame (num_frames,) as strings; "" where no segment covers it.

    Where segments overlap, the later-starting one wins.
    """
    out = np.full(num_frames, "", dtype=object)
    label_frame = np.arange(num_frames) * label_fps / motion_fps
    for seg in segments:
        if benchmark_only and not seg.is_benchmark_verb:
            continue
        out[(label_frame >= seg.start) & (label_frame < seg.end)] = seg.verb
    return out.astype(str)
