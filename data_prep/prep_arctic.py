"""``handgen prep arctic``: ARCTIC ``raw_seqs/`` (MANO per frame) -> a DATA_DIR of canonical clips.

For each ``raw_seqs/<subject>/<sequence>.mano.npy`` (sorted): read it (absolute finger poses),
cut windows of ``clip_len`` frames every ``stride`` frames that contain no NaN/inf frame,
canonicalise each clip (right wrist at its first frame at the origin), compute features and
joints with the hand model, and write ``shards/<subject>/<sequence>.npz`` + ``.json``.
Then assign splits (:mod:`data_prep.splits`), attach ground-truth captions from
``captions.jsonl`` when present (:mod:`data_prep.caption_segments`), and write the manifest,
statistics, meta and ``skipped.jsonl`` (format: :mod:`handgen.io.data_dir`).

Bad files are recorded in ``skipped.jsonl`` and never stop the run. Resuming: a sequence
whose shard and marker exist, with the same source size/mtime and settings, is not
recomputed; the index files are re-assembled every run (shards of sequences that left the
source stay on disk but not in the manifest). ``--workers N`` converts sequences
in N processes (each with its own copy of the hand models, one torch thread each), with the same result
as one worker.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from data_prep.arctic_reader import ARCTIC_FPS, MANO_SUFFIX, read_mano_sequence
from data_prep.caption_segments import SIDE_FILE, match_segment, read_caption_segments
from data_prep.clipping import bad_frame_ranges, clip_arrays, window_starts
from data_prep.splits import assign_splits
from handgen.errors import HandgenError, InputFileError
from handgen.hand.factory import make_hand_pair, resolve_mano_dir
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS
from handgen.io import data_dir as fmt

log = logging.getLogger(__name__)
SOURCE = "arctic"


@dataclass(frozen=True)
class SequenceTask:
    """One input file to convert."""

    path: str  # absolute
    relfile: str  # relative to ARCTIC_ROOT, forward slashes
    subject: str
    sequence: str
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        return f"{self.subject}/{self.sequence}"

    def source(self) -> dict[str, Any]:
        return {"file": self.relfile, "size": self.size, "mtime_ns": self.mtime_ns}


@dataclass
class SequenceResult:
    task: SequenceTask
    rows: list[dict[str, Any]] = field(default_factory=list)  # prep rows (split/captions filled later)
    skipped: dict[str, Any] | None = None
    frames: int = 0  # source frames read (0 when reused); the throughput counts those of converted files
    reused: bool = False


@dataclass
class PrepSummary:
    converted: int
    reused: int
    skipped: int
    partial: int
    clips: dict[str, int]
    clip_frames: int
    frames_converted: int
    seconds: float

    @property
    def frames_per_second(self) -> float:
        return self.frames_converted / self.seconds if self.seconds > 0 else 0.0

    def line(self, workers: int) -> str:
        split_counts = " / ".join(f"{s} {self.clips.get(s, 0)}" for s in fmt.SPLITS)
        return (
            f"prep arctic: {self.converted + self.reused} sequences in the DATA_DIR ({self.converted} converted now, "
            f"{self.reused} already up to date), "
            f"{self.skipped} files skipped ({self.partial} partially converted); {self.clips['total']} clips "
            f"({split_counts}), {self.clip_frames} clip frames; {self.frames_converted} source frames in "
            f"{self.seconds:.2f} s = {self.frames_per_second:.0f} frames/s ({workers} worker(s))"
        )


# -- discovering inputs --------------------------------------------------------------------------
def find_sequences(src: str | Path) -> list[SequenceTask]:
    """Every ``raw_seqs/<subject>/<name>.mano.npy`` under ``src``, sorted. Raises HandgenError."""
    root = Path(src)
    if not root.is_dir():
        raise HandgenError(f"--src {src}: ARCTIC_ROOT not found (a folder holding raw_seqs/)")
    raw = root / "raw_seqs"
    if not raw.is_dir():
        raise HandgenError(f"--src {src}: no raw_seqs/ folder (expected raw_seqs/<subject>/<name>{MANO_SUFFIX})")
    tasks = []
    for path in sorted(raw.glob(f"*/*{MANO_SUFFIX}")):
        if not path.is_file():
            continue
        stat = path.stat()
        tasks.append(SequenceTask(
            path=str(path.resolve()), relfile=path.relative_to(root).as_posix(), subject=path.parent.name,
            sequence=path.name[: -len(MANO_SUFFIX)], size=stat.st_size, mtime_ns=stat.st_mtime_ns,
        ))
    if not tasks:
        raise HandgenError(f"--src {src}: raw_seqs/ holds no <subject>/*{MANO_SUFFIX} files")
    return tasks


# -- converting one sequence ----------------------------------------------------------------------
def _base_row(task: SequenceTask, start: int, clip_len: int, index: int, hand_model: str) -> dict[str, Any]:
    return {
        "id": fmt.clip_id(task.subject, task.sequence, start), "source": SOURCE, "subject": task.subject,
        "sequence": task.sequence, "start": start, "end": start + clip_len, "fps": ARCTIC_FPS, "split": None,
        "captions": [], "gt_captions": [], "gt_labels": None, "caption_source": None,
        "shard": fmt.shard_relpath(task.subject, task.sequence), "index": index, "hand_model": hand_model,
    }


def _remove_stale_shard(out: Path, task: SequenceTask) -> None:
    npz = out / fmt.shard_relpath(task.subject, task.sequence)
    for path in (npz.with_suffix(".json"), npz):
        if path.exists():
            path.unlink()


def convert_sequence(task: SequenceTask, out: Path, hands: HandPair, settings: dict[str, Any]) -> SequenceResult:
    """Read, clip and write one sequence; bad input is reported in ``result.skipped``."""
    clip_len, stride = settings["clip_len"], settings["stride"]
    try:
        motion, valid = read_mano_sequence(task.path, hands)
    except InputFileError as exc:
        _remove_stale_shard(out, task)
        return SequenceResult(task, skipped={"file": task.relfile, "reason": exc.problem, "partial": False})
    frames = motion.num_frames
    if frames < clip_len:
        _remove_stale_shard(out, task)
        reason = f"{frames} frames, shorter than one clip ({clip_len} frames)"
        return SequenceResult(task, skipped={"file": task.relfile, "reason": reason, "partial": False}, frames=frames)
    starts = window_starts(valid, clip_len, stride)
    skipped = None
    if not valid.all():
        bad = int((~valid).sum())
        ranges = ", ".join(f"{a}-{b - 1}" if b - a > 1 else str(a) for a, b in bad_frame_ranges(valid)[:5])
        dropped = len(window_starts(np.ones_like(valid), clip_len, stride)) - len(starts)
        reason = f"{bad} frame(s) with NaN/inf values (frames {ranges}); {dropped} overlapping clip(s) dropped"
        skipped = {"file": task.relfile, "reason": reason, "partial": bool(starts), "bad_frames": bad}
    if not starts:
        _remove_stale_shard(out, task)
        return SequenceResult(task, skipped=skipped, frames=frames)
    arrays = clip_arrays(motion, valid, starts, clip_len, hands)
    rows = [_base_row(task, s, clip_len, i, settings["hand_model"]) for i, s in enumerate(starts)]
    marker = {"source": task.source(), "settings": settings, "num_frames": frames, "skipped": skipped, "rows": rows}
    fmt.write_shard(out, task.subject, task.sequence, arrays, marker)
    return SequenceResult(task, rows=rows, skipped=skipped, frames=frames)


def _convert_guarded(task: SequenceTask, out: Path, hands: HandPair, settings: dict[str, Any]) -> SequenceResult:
    """convert_sequence, turning an unexpected failure into a skipped record (the batch goes on)."""
    try:
        return convert_sequence(task, out, hands, settings)
    except Exception as exc:  # noqa: BLE001 - one bad file must not lose the others
        log.debug("conversion of %s failed:\n%s", task.relfile, traceback.format_exc())
        reason = f"conversion failed ({type(exc).__name__}: {exc})"
        return SequenceResult(task, skipped={"file": task.relfile, "reason": reason, "partial": False})


_WORKER: dict[str, Any] = {}


def _init_worker(hands: HandPair) -> None:
    """Pool initializer: one torch thread; the worker's own copy of the hand models (pickled by
    the pool, which saves rebuilding the procedural surface or re-reading MANO files per worker)."""
    torch.set_num_threads(1)
    _WORKER["hands"] = hands


def _worker_convert(task: SequenceTask, out: str, settings: dict[str, Any]) -> SequenceResult:
    return _convert_guarded(task, Path(out), _WORKER["hands"], settings)


def _reuse(task: SequenceTask, out: Path, settings: dict[str, Any]) -> SequenceResult | None:
    marker = fmt.read_shard_marker(out, task.subject, task.sequence)
    if not marker or marker.get("source") != task.source() or marker.get("settings") != settings:
        return None
    return SequenceResult(task, rows=marker["rows"], skipped=marker.get("skipped"), reused=True)


def _convert_all(
    todo: list[SequenceTask], out: Path, hands: HandPair, settings: dict[str, Any], workers: int, progress: bool,
) -> list[SequenceResult]:
    bar = tqdm(total=len(todo), desc="prep arctic", unit="seq", disable=not progress or not todo, mininterval=0.5)
    results: list[SequenceResult] = []
    if workers <= 1 or len(todo) <= 1:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # same numbers as the single-threaded workers
        try:
            for task in todo:
                results.append(_convert_guarded(task, out, hands, settings))
                bar.update()
        finally:
            torch.set_num_threads(threads)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(hands,)) as pool:
            # biggest files first, for a balanced finish
            ordered = sorted(todo, key=lambda t: -t.size)
            futures = [pool.submit(_worker_convert, task, str(out), settings) for task in ordered]
            try:
                for future in as_completed(futures):
                    results.append(future.result())
                    bar.update()
            except BrokenProcessPool:
                raise HandgenError(
                    "a worker process died (out of memory?); finished sequences are kept: re-run to resume"
                ) from None
    bar.close()
    return results


# -- assembling the index ---------------------------------------------------------------------------
def _old_manifest(out: Path) -> dict[str, dict[str, Any]]:
    path = out / fmt.MANIFEST
    if not path.is_file():
        return {}
    try:
        return {row["id"]: row for row in fmt.read_manifest(path)}
    except InputFileError as exc:
        log.warning("ignoring the existing manifest: %s", exc)
        return {}


def _final_rows(result: SequenceResult, split: str, segments: list) -> list[dict[str, Any]]:
    rows = []
    for base in result.rows:
        row = dict(base, split=split)
        segment = match_segment(segments, row["start"], row["end"])
        if segment is None:
            row.update(captions=[], gt_captions=[], gt_labels=None, caption_source=None)
        else:
            captions = [dict(c) for c in segment.captions]
            row.update(captions=captions, gt_captions=[dict(c) for c in captions], gt_labels=segment.labels,
                       caption_source="synthetic")
        rows.append(row)
    return rows


def prep_arctic(
    src: str | Path, out: str | Path, mano_dir: str | None = None, clip_len: int = 60, stride: int = 30,
    workers: int = 1, progress: bool = True,
) -> PrepSummary:
    """Convert ``src/raw_seqs`` into the DATA_DIR ``out``; see the module docstring.

    Raises:
        HandgenError: bad options, no input files, an unusable MANO folder, a bad side file
            (captions.jsonl, splits_json), or not a single clip converted.
    """
    if clip_len < 1 or stride < 1 or workers < 1:
        raise HandgenError(f"--clip-len, --stride and --workers must be >= 1 (got {clip_len}, {stride}, {workers})")
    tasks = find_sequences(src)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HandgenError(f"--out {out}: exists and is not a folder")
    mano_path = resolve_mano_dir(mano_dir)
    mano_arg = str(mano_path) if mano_path is not None else None
    try:
        hands = make_hand_pair(mano_arg, flat_hand_mean=True)
    except (OSError, ValueError, ImportError) as exc:
        raise HandgenError(f"cannot build the MANO hand model from {mano_arg}: {exc}") from None
    side_file = Path(src) / SIDE_FILE
    segments = read_caption_segments(side_file) if side_file.is_file() else {}
    assign_splits(src, [])  # a bad split file fails now, not after the conversion
    settings = {"clip_len": clip_len, "stride": stride, "hand_model": hands.name, "fps": ARCTIC_FPS}
    out.mkdir(parents=True, exist_ok=True)

    reused = {t.key: r for t in tasks if (r := _reuse(t, out, settings)) is not None}
    todo = [t for t in tasks if t.key not in reused]
    started = time.perf_counter()
    converted = _convert_all(todo, out, hands, settings, workers, progress)
    seconds = time.perf_counter() - started
    results = sorted([*reused.values(), *converted], key=lambda r: r.task.relfile)

    with_clips = [r for r in results if r.rows]
    skipped = [r.skipped for r in results if r.skipped]
    for record in skipped:
        log.warning("%s %s: %s", "partly converted" if record["partial"] else "skipped", record["file"], record["reason"])
    if not with_clips:
        fmt.write_skipped(out, skipped)
        raise HandgenError(f"no clip could be converted from {src} (reasons in {out / fmt.SKIPPED})")
    splits, split_rule = assign_splits(src, [r.task.key for r in with_clips])
    old = _old_manifest(out)
    rows: list[dict[str, Any]] = []
    for result in with_clips:
        prep_rows = _final_rows(result, splits[result.task.key], segments.get(result.task.key, []))
        if prep_rows != result.rows:  # new split/captions: update the marker, the npz stays
            marker = fmt.read_shard_marker(out, result.task.subject, result.task.sequence) or {}
            marker["rows"] = prep_rows
            fmt.write_shard_marker(out, result.task.subject, result.task.sequence, marker)
        rows += [fmt.merge_caption_fields(row, old.get(row["id"])) for row in prep_rows]

    train = [r for r in rows if r["split"] == "train"]
    stats_split = "train" if train else "all"
    if not train:
        log.warning("the train split is empty: normalisation statistics use every clip")
    stats = fmt.compute_stats(out, train or rows)
    summary = PrepSummary(
        converted=sum(1 for r in converted if r.rows), reused=len(reused), skipped=len(skipped),
        partial=sum(bool(s.get("partial")) for s in skipped),
        clips={**{s: sum(r["split"] == s for r in rows) for s in fmt.SPLITS}, "total": len(rows)},
        clip_frames=len(rows) * clip_len, frames_converted=sum(r.frames for r in converted if r.rows), seconds=seconds,
    )
    run = {"frames_converted": summary.frames_converted, "seconds": round(seconds, 3),
           "frames_per_second": round(summary.frames_per_second, 1), "workers": workers}
    meta = fmt.build_meta(
        source=SOURCE, fps=ARCTIC_FPS, clip_len=clip_len, stride=stride, hand_model=hands.name,
        hands_mean={s: hands[s].hands_mean.detach().cpu().double().numpy() for s in HANDS},
        split_rule=split_rule, rows=rows, skipped=skipped, stats_split=stats_split,
        captions_side_file=SIDE_FILE if segments else None, run=run,
    )
    fmt.write_index(out, rows, meta, skipped, stats)
    return summary


def run_from_args(args) -> int:
    """Entry point of ``handgen prep arctic`` (see handgen/commands/prep.py)."""
    summary = prep_arctic(
        src=args.src, out=args.out, mano_dir=args.mano_dir, clip_len=args.clip_len, stride=args.stride,
        workers=args.workers, progress=not getattr(args, "quiet", False),
    )
    print(summary.line(args.workers))
    if summary.skipped:
        print(f"prep arctic: skipped files are listed in {Path(args.out) / fmt.SKIPPED}")
    return 0

