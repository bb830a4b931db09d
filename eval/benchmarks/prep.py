"""Data-prep throughput: synthetic sequences in ARCTIC format -> DATA_DIR (frames per second)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from data_prep.prep_arctic import prep_arctic
from data_prep.synthetic.generate import generate


def bench_prep(num_seqs: int = 64, frames: int = 300, workers: int = 1) -> list[dict]:
    """Rows: prep arctic frames/s over ``num_seqs`` synthetic sequences of ``frames`` frames."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, data = Path(tmp) / "raw", Path(tmp) / "data"
        generate(raw, num_seqs=num_seqs, seed=0, frames=frames, progress=False)
        summary = prep_arctic(raw, data, clip_len=60, stride=30, workers=workers, progress=False)
    return [{"benchmark": "prep arctic", "case": f"{num_seqs} seqs x {frames} frames, {workers} worker(s)",
             "value": summary.frames_per_second, "unit": "frames/s"}]
