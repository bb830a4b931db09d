"""Data-prep throughput: synthetic sequences in ARCTIC format -> DATA_DIR (source frames per second).

Rows: ``prep arctic`` on hands-only sequences and on hand-object sequences (whose per-frame
contact with the object costs most of their time), each with one worker; then the whole
set with ``workers`` processes. Wall-clock frames/s is what ``prep`` prints; on a shared
machine the single-worker rows also give the process's CPU time (frames per CPU-second of
the one worker), which load on the other cores does not change.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def _timed_prep(raw: Path, data: Path, workers: int) -> tuple[float, float, int, float]:
    """(wall seconds, CPU seconds of this process, source frames, setup seconds) of one ``prep_arctic`` run.

    Wall seconds are ``prep``'s own (the conversion, without the object grids' setup); CPU seconds
    cover the whole call, setup included.
    """
    from data_prep.prep_arctic import prep_arctic

    cpu = time.process_time()
    summary = prep_arctic(raw, data, clip_len=60, stride=30, workers=workers, progress=False)
    return summary.seconds, time.process_time() - cpu, summary.frames_converted, summary.setup_seconds


def bench_prep(num_seqs: int = 64, frames: int = 90, workers: int = 2) -> list[dict]:
    """Rows: prep arctic frames/s over ``num_seqs`` synthetic sequences of ``frames`` frames each.

    The defaults are ``handgen prep synthetic --num-seqs 64``'s data (90-frame sequences).
    """
    from data_prep.prep_arctic import make_hands
    from data_prep.synthetic.generate import generate

    make_hands(None)  # build (and cache) the procedural hand's surface outside the timed runs
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        hands_raw, mixed_raw = Path(tmp) / "raw_hands", Path(tmp) / "raw_mixed"
        generate(hands_raw, num_seqs=num_seqs, seed=0, frames=frames, progress=False, objects=0.0)
        generate(mixed_raw, num_seqs=num_seqs, seed=0, frames=frames, progress=False)
        wall, cpu, count, _ = _timed_prep(hands_raw, Path(tmp) / "d_hands", 1)
        case = f"{num_seqs} hands-only seqs x {frames} frames, 1 worker"
        rows.append({"benchmark": "prep arctic", "case": case, "value": count / wall, "unit": "frames/s"})
        rows.append({"benchmark": "prep arctic", "case": case + ", per CPU-second", "value": count / cpu,
                     "unit": "frames/s"})
        wall, cpu, count, setup = _timed_prep(mixed_raw, Path(tmp) / "d_mixed", 1)
        case = f"{num_seqs} seqs x {frames} frames, 1/3 with objects (contact), 1 worker"
        rows.append({"benchmark": "prep arctic", "case": case, "value": count / wall, "unit": "frames/s"})
        rows.append({"benchmark": "prep arctic", "case": case + ", per CPU-second (grid setup included)",
                     "value": count / cpu, "unit": "frames/s"})
        rows.append({"benchmark": "prep arctic", "case": case + ": object grid setup (not in frames/s)",
                     "value": setup, "unit": "s"})
        if workers > 1:
            wall, _, count, _ = _timed_prep(hands_raw, Path(tmp) / "d_hands_w", workers)
            rows.append({"benchmark": "prep arctic", "case": f"{num_seqs} hands-only seqs, {workers} workers (with process start-up)",
                         "value": count / wall, "unit": "frames/s"})
    return rows
