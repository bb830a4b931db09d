"""argparse ``type=`` validators: every numeric option is parsed and range-checked before a command runs.

A bad value is one line from argparse (``handgen sample: error: argument --frames: must be an
integer in [1, 3600], got 0``) and exit status 2, never a traceback or a silent default.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

MAX_SAMPLE_FRAMES = 3600  # 2 minutes at 30 fps; ~100 s per sample on 2 CPU cores with the tiny model
MAX_RENDER_SIZE = 2048  # pixels; = handgen.render.animation.MAX_RENDER_SIZE (not imported: keeps --help fast)
MAX_SEED = 2**32 - 1


def _fmt(x: float) -> str:
    return "inf" if x == math.inf else ("-inf" if x == -math.inf else (str(int(x)) if float(x).is_integer() else f"{x:g}"))


def _interval(lo: float, hi: float, lo_open: bool, hi_open: bool) -> str:
    return f"{'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}{')' if hi_open or hi == math.inf else ']'}"


def int_in(lo: int, hi: float = math.inf, why: str = "") -> Callable[[str], int]:
    """An integer in [lo, hi]."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"must be an integer in {_interval(lo, hi, False, False)}, got {value}{why if value > hi else ''}")
        return value
    parse.__name__ = "integer"
    return parse


def float_in(lo: float = -math.inf, hi: float = math.inf, lo_open: bool = False,
             hi_open: bool = False) -> Callable[[str], float]:
    """A finite number in the interval (open ends with lo_open / hi_open)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        ok = math.isfinite(value) and (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
        if not ok:
            raise argparse.ArgumentTypeError(
                f"must be a finite number in {_interval(lo, hi, lo_open, hi_open)}, got {text}")
        return value
    parse.__name__ = "number"
    return parse


positive_int = int_in(1)
nonneg_int = int_in(0)
seed = int_in(0, MAX_SEED)
workers = int_in(1, 256)
positive = float_in(0, lo_open=True)
nonneg = float_in(0)
unit = float_in(0, 1)
sample_frames = int_in(1, MAX_SAMPLE_FRAMES, why=" (longer motions: sample pieces and join them)")
render_size = int_in(64, MAX_RENDER_SIZE)
fps = float_in(0, 240, lo_open=True)
