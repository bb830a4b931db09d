"""Data-prep throughput: synthetic sequences in ARCTIC format -> DATA_DIR (source frames per second).

Rows: ``prep arctic`` on hands-only sequences and on hand-object sequences (whose per-frame
contact with the object costs most of their time), each with one worker; then the whole
set with ``workers`` processes. Wall-clock frames/s is what ``prep`` prints; beside it, frames
per CPU-second of a worker (``prep``'s own count of the CPU time spent converting), which load
on the other cores does not change: the rate of a worker on an idle core. The object set is
converted with cold grids (``prep``: the contact makes them exact where the hands reach, once
per object and run), then by a second reader that has read the set once, with grids already
exact where the hands reach: the per-frame cost of a long dataset. That first read writes no
shards: every file a bench run creates and deletes slows the file creations of the runs in
the next minutes (docs/fast_paths_and_seams.md, fifth pass). The setup row is the object
grids' build plus what a converting process needs once (numba's start-up for the compiled
contact kernels and prep's compiled hand, the hands' flesh radii, a chunk of each hand posed
and skinned: ``ArcticReader.prepare`` and the pipeline's first call of each hand).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch


def _timed_prep(raw: Path, data: Path, workers: int) -> tuple[float, float, int, float]:
    """(wall seconds, CPU seconds of the workers' conversion, source frames, setup seconds) of one ``prep_arctic``.

    Wall and CPU seconds are ``prep``'s own (the conversion, without the setup: object grids, compiled kernels).
    """
    from data_prep.prep_arctic import prep_arctic

    summary = prep_arctic(raw, data, clip_len=60, stride=30, workers=workers, progress=False)
    return summary.seconds, summary.cpu_seconds, summary.frames_converted, summary.setup_seconds


def _warm_object_pass(raw: Path, data: Path) -> tuple[float, int]:
    """(CPU seconds, source frames) of converting ``raw`` with grids already made exact by reading it once."""
    from data_prep.clip_pipeline import convert_all
    from data_prep.prep_arctic import ArcticReader, find_sequences, make_hands

    hands, tasks, reader = make_hands(None), find_sequences(raw), ArcticReader(raw)
    settings = {"source": "arctic", "clip_len": 60, "stride": 30, "hand_model": hands.name}
    reader.prepare(tasks, hands)
    with torch.no_grad():
        for task in tasks:  # the contact makes the grids exact where the hands reach; no shard written
            reader.read(task, hands)
    cpu = time.process_time()
    results = convert_all(tasks, data, hands, reader, settings, 1, False)
    return time.process_time() - cpu, sum(r.frames for r in results)


def bench_prep(num_seqs: int = 64, frames: int = 90, workers: int = 2) -> list[dict]:
    """Rows: prep arctic frames/s over ``num_seqs`` synthetic sequences of ``frames`` frames each.

    The defaults are ``handgen prep synthetic --num-seqs 64``'s data (90-frame sequences, 1/3 with objects).
    """
    from data_prep.prep_arctic import make_hands
    from data_prep.synthetic.generate import generate

    make_hands(None)  # build (and cache) the procedural hand's surface outside the timed runs
    rows = []

    def row(case: str, value: float, unit: str = "frames/s") -> None:
        rows.append({"benchmark": "prep arctic", "case": case, "value": value, "unit": unit})

    with tempfile.TemporaryDirectory() as tmp:
        hands_raw, mixed_raw = Path(tmp) / "raw_hands", Path(tmp) / "raw_mixed"
        generate(hands_raw, num_seqs=num_seqs, seed=0, frames=frames, progress=False, objects=0.0)
        generate(mixed_raw, num_seqs=num_seqs, seed=0, frames=frames, progress=False)
        wall, cpu, count, _ = _timed_prep(hands_raw, Path(tmp) / "d_hands", 1)
        case = f"{num_seqs} hands-only seqs x {frames} frames, 1 worker"
        row(case, count / wall)
        row(case + ", per CPU-second of the worker", count / cpu)
        wall, cpu, count, setup = _timed_prep(mixed_raw, Path(tmp) / "d_mixed", 1)
        case = f"{num_seqs} seqs x {frames} frames, 1/3 with objects (contact), 1 worker"
        row(case, count / wall)
        row(case + ", per CPU-second of the worker", count / cpu)
        row(case + ": setup, object grids + compiled kernels (not in frames/s)", setup, "s")
        cpu, count = _warm_object_pass(mixed_raw, Path(tmp) / "d_warm")
        row(case + ", grids already exact where the hands reach, per CPU-second", count / cpu)
        if workers > 1:
            wall, cpu, count, _ = _timed_prep(mixed_raw, Path(tmp) / "d_mixed_w", workers)
            case = f"{num_seqs} seqs, 1/3 with objects, {workers} workers"
            row(case + " (wall clock, with process start-up)", count / wall)
            row(case + ", per CPU-second of a worker", count / cpu)
    return rows
