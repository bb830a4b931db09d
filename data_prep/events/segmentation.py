"""Turning per-frame signals into steady states and runs: hysteresis and a minimum run length.

All functions take time along the first axis. Hysteresis keeps noise around a threshold
from flickering: a state is entered past one threshold and left only past a laxer one.
:func:`merge_short_runs` then removes runs shorter than a minimum length (HandX: 6 frames)
by absorbing them into a neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

MIN_FRAMES = 6


@dataclass(frozen=True)
class Run:
    """Frames [start, end) holding one ``state``."""

    start: int
    end: int
    state: object

    @property
    def length(self) -> int:
        return self.end - self.start


def runs(states: Sequence | np.ndarray) -> list[Run]:
    """Maximal runs of equal consecutive values of a 1-D sequence."""
    values = np.asarray(states)
    if values.size == 0:
        return []
    starts = [0, *(np.flatnonzero(values[1:] != values[:-1]) + 1).tolist()]
    ends = [*starts[1:], len(values)]
    items = values.tolist()
    return [Run(a, b, items[a]) for a, b in zip(starts, ends)]


def merge_short_runs(
    states: Sequence | np.ndarray, min_frames: int = MIN_FRAMES, min_frames_by_state: Mapping | None = None
) -> np.ndarray:
    """States (T,) where no run is shorter than its minimum, the shortest absorbed first.

    A short run takes the state of its neighbours when they agree, else of the longer
    neighbour (the earlier one on ties). ``min_frames_by_state`` overrides ``min_frames`` for
    some states (e.g. brief contacts that must stay reported). A clip shorter than a minimum
    keeps its single run.
    """
    values = np.asarray(states).copy()
    special = dict(min_frames_by_state or {})
    while True:
        current = runs(values)
        if len(current) <= 1:
            return values
        short = [(r.length, i) for i, r in enumerate(current) if r.length < special.get(r.state, min_frames)]
        if not short:
            return values
        _, i = min(short)
        run = current[i]
        before = current[i - 1] if i > 0 else None
        after = current[i + 1] if i + 1 < len(current) else None
        if before is not None and after is not None and before.state == after.state:
            target = before.state
        elif after is None or (before is not None and before.length >= after.length):
            target = before.state  # type: ignore[union-attr]
        else:
            target = after.state
        values[run.start : run.end] = target


def _per_channel(values: np.ndarray, step, initial, dtype) -> np.ndarray:
    """Run the scalar state machine ``step(state, x) -> state`` along time for every channel."""
    v = np.asarray(values, dtype=np.float64)
    flat = v.reshape(len(v), -1)
    out = np.empty(flat.shape, dtype=dtype)
    for c in range(flat.shape[1]):
        column = flat[:, c].tolist()
        state = initial(column[0]) if column else None
        for t, x in enumerate(column):
            state = step(state, x)
            out[t, c] = state
    return out.reshape(v.shape)


def hysteresis_sign(values: np.ndarray, enter: float, leave: float) -> np.ndarray:
    """-1 / 0 / +1 per frame (same shape as ``values``): +1 once ``values > enter``, kept while ``> leave``.

    Symmetric for -1 (``< -enter``, kept while ``< -leave``). Needs ``enter >= leave >= 0``.
    """
    if not enter >= leave >= 0:
        raise ValueError(f"need enter >= leave >= 0, got {enter}, {leave}")

    def step(state: int, x: float) -> int:
        if x > enter:
            return 1
        if x < -enter:
            return -1
        if (state > 0 and x > leave) or (state < 0 and x < -leave):
            return state
        return 0

    return _per_channel(values, step, lambda x: 0, np.int8)


def hysteresis_below(values: np.ndarray, enter: float, leave: float) -> np.ndarray:
    """Boolean per frame: on once ``values < enter``, off again only when ``values > leave`` (``leave >= enter``)."""
    if leave < enter:
        raise ValueError(f"need leave >= enter, got {enter}, {leave}")
    return _per_channel(values, lambda on, x: x <= leave if on else x < enter, lambda x: False, bool)


def hysteresis_above(values: np.ndarray, enter: float, leave: float) -> np.ndarray:
    """Boolean per frame: on once ``values > enter``, off again only when ``values < leave`` (``leave <= enter``)."""
    return hysteresis_below(-np.asarray(values, dtype=np.float64), -enter, -leave)


def hysteresis_bands(values: np.ndarray, edges: Sequence[float], margin: float) -> np.ndarray:
    """Band index per frame (``np.digitize`` with ascending ``edges``) that changes only ``margin`` past an edge."""
    v = np.asarray(values, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    up_all, down_all = np.digitize(v - margin, e), np.digitize(v + margin, e)  # the bands surely reached
    flat_up, flat_down = up_all.reshape(len(v), -1), down_all.reshape(len(v), -1)
    out = np.empty(flat_up.shape, dtype=np.int64)
    for c in range(flat_up.shape[1]):
        ups, downs = flat_up[:, c].tolist(), flat_down[:, c].tolist()
        state = int(np.digitize(v.reshape(len(v), -1)[0, c], e)) if ups else 0
        for t, (up, down) in enumerate(zip(ups, downs)):
            state = up if up > state else (down if down < state else state)
            out[t, c] = state
    return out.reshape(v.shape)


def hysteresis_argmax(scores: np.ndarray, margin: float) -> np.ndarray:
    """Index of the best of C scores per frame (T, C), switching only when another beats the current by ``margin``."""
    s = np.asarray(scores, dtype=np.float64)
    out = np.zeros(len(s), dtype=np.int64)
    state = int(s[0].argmax()) if len(s) else 0
    for t, row in enumerate(s):
        best = int(row.argmax())
        if row[best] > row[state] + margin:
            state = best
        out[t] = state
    return out


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average along time (edges use the available frames)."""
    v = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(v) == 0:
        return v
    kernel_half = window // 2
    padded = np.concatenate([np.zeros((1,) + v.shape[1:]), np.cumsum(v, axis=0)])
    t = np.arange(len(v))
    lo, hi = np.maximum(t - kernel_half, 0), np.minimum(t + kernel_half + 1, len(v))
    shape = (-1,) + (1,) * (v.ndim - 1)
    return (padded[hi] - padded[lo]) / (hi - lo).reshape(shape)
