"""Turning one feature stream into JSON events: state runs, contact runs, moving runs.

Shared by the hand, pair and object events (:mod:`.clip`, :mod:`.objects`). Frames are
clip frames [start, end); distances in cm, speeds in cm/s, angles in degrees.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from data_prep.events import segmentation as seg

CONTACT_MIN_FRAMES = 2  # a clap lasts a few frames; contacts are always reported


def cm(metres: float) -> float:
    return round(float(metres) * 100.0, 1)


def event(run: seg.Run, **attrs: Any) -> dict[str, Any]:
    return {"start": int(run.start), "end": int(run.end), **attrs}


def state_events(states: np.ndarray, names: tuple[str, ...], min_frames: int = seg.MIN_FRAMES) -> list[dict]:
    merged = seg.merge_short_runs(states, min_frames)
    return [event(r, state=names[int(r.state)]) for r in seg.runs(merged)]


def contact_runs(flags: np.ndarray) -> list[seg.Run]:
    """Runs of True in (T,): gaps shorter than 6 frames between contacts are closed, contacts
    shorter than 2 frames dropped (a clip edge never extends a contact)."""
    values = np.asarray(flags, dtype=bool).copy()
    found = seg.runs(values)
    for i, r in enumerate(found):
        if not r.state and 0 < i < len(found) - 1 and r.length < seg.MIN_FRAMES:
            values[r.start : r.end] = True
    return [r for r in seg.runs(values) if r.state and r.length >= CONTACT_MIN_FRAMES]


def direction_events(signs: np.ndarray, values: np.ndarray, fps: float, words: tuple[str, str],
                     min_amount: float, unit: str) -> list[dict]:
    """Moving runs of a -1/0/+1 stream with mean speed and the amount moved (integral of ``values``)."""
    merged = seg.merge_short_runs(signs)
    out = []
    for r in seg.runs(merged):
        if r.state == 0:
            continue
        amount = float(values[r.start : r.end].sum() / fps)
        if abs(amount) < min_amount or np.sign(amount) != r.state:
            continue
        speed = float(np.abs(values[r.start : r.end]).mean())
        if unit == "cm":
            out.append(event(r, direction=words[r.state > 0], speed=cm(speed), distance=cm(abs(amount))))
        else:
            out.append(event(r, direction=words[r.state > 0], speed=round(np.degrees(speed)),
                             angle=round(np.degrees(abs(amount)))))
    return out
