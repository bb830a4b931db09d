"""The clip pipeline shared by ``prep arctic`` and ``prep ahx``: sequences -> a DATA_DIR.

A source (:class:`PrepSource`) lists its input files as :class:`SequenceTask` s and gives a
reader that turns one into a :class:`ReadSequence` (a BimanualMotion with a valid-frame
mask, optional per-frame arrays such as an object's pose and contact, and manifest fields).
The pipeline then, per sequence: cuts windows of ``clip_len`` frames every ``stride``
frames that contain no invalid frame, canonicalises each clip (right wrist at its first
frame at the origin; position arrays are shifted alike), computes features and joints
(:mod:`data_prep.clipping`) and writes ``shards/<subject>/<sequence>.npz`` + ``.json``.
Finally it assigns splits (:mod:`data_prep.splits`), lets the source annotate the rows
(captions, verbs), and writes the manifest, statistics, meta, ``skipped.jsonl`` and the
objects' metric templates (format: :mod:`handgen.io.data_dir`).

Bad files are recorded in ``skipped.jsonl`` and never stop the run. Resuming: a sequence
whose shard and marker exist, with the same source files (size/mtime) and settings, is not
recomputed; the index files are re-assembled every run. ``workers > 1`` converts sequences
in that many processes (each with its own copy of the hand models and the reader, one torch
thread each), with the same result as one worker.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm import tqdm

from data_prep.clipping import bad_frame_ranges, clip_arrays, window_starts
from data_prep.heap import retain_freed_memory
from data_prep.prep_records import PrepSource, PrepSummary, SequenceReader, SequenceResult, SequenceTask
from data_prep.splits import assign_splits
from handgen.errors import HandgenError, InputFileError
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS
from handgen.io import data_dir as fmt
from handgen.io.object_folder import write_object_folder
from handgen.repr.object_pose import ObjectTemplate

log = logging.getLogger(__name__)


# -- converting one sequence ----------------------------------------------------------------------
def _base_row(task: SequenceTask, start: int, clip_len: int, index: int, settings: dict, fps: float) -> dict[str, Any]:
    return {
        "id": fmt.clip_id(task.subject, task.sequence, start), "source": settings["source"], "subject": task.subject,
        "sequence": task.sequence, "start": start, "end": start + clip_len, "fps": float(fps), "split": None,
        "captions": [], "gt_captions": [], "gt_labels": None, "caption_source": None,
        "shard": fmt.shard_relpath(task.subject, task.sequence), "index": index, "hand_model": settings["hand_model"],
    }


def _remove_stale_shard(out: Path, task: SequenceTask) -> None:
    npz = out / fmt.shard_relpath(task.subject, task.sequence)
    for path in (npz.with_suffix(".json"), npz):
        if path.exists():
            path.unlink()


def _skip(out: Path, task: SequenceTask, reason: str, frames: int = 0) -> SequenceResult:
    _remove_stale_shard(out, task)
    return SequenceResult(task, skipped={"file": task.relfile, "reason": reason, "partial": False}, frames=frames)


def skip_reason(task: SequenceTask, exc: InputFileError) -> str:
    """The problem alone when it is about the task's main file, else the whole message (naming the other file)."""
    same = str(exc.path) == task.path or exc.path.resolve() == Path(task.path)
    return exc.problem if same else str(exc)


def convert_sequence(
    task: SequenceTask, out: Path, hands: HandPair, reader: SequenceReader, settings: dict[str, Any]
) -> SequenceResult:
    """Read, clip and write one sequence; bad input is reported in ``result.skipped``."""
    clip_len, stride = settings["clip_len"], settings["stride"]
    try:
        read = reader.read(task, hands)
    except InputFileError as exc:
        return _skip(out, task, skip_reason(task, exc))
    valid = np.asarray(read.valid, dtype=bool)
    frames = read.motion.num_frames
    if frames < clip_len:
        return _skip(out, task, f"{frames} frames, shorter than one clip ({clip_len} frames)", frames)
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
    arrays = clip_arrays(read.motion, valid, starts, clip_len, hands)
    index = np.asarray(starts)[:, None] + np.arange(clip_len)[None]  # (N, T)
    for name, per_frame in read.frame_arrays.items():
        clipped = np.asarray(per_frame)[index]
        if name in read.positions:
            offset = arrays["canonical_offset"].astype(np.float64)
            clipped = clipped + offset.reshape(len(starts), *([1] * (clipped.ndim - 2)), 3)
        arrays[name] = clipped
    rows = [dict(_base_row(task, s, clip_len, i, settings, read.motion.fps), **read.row_fields)
            for i, s in enumerate(starts)]
    marker = {"source": task.source(), "settings": settings, "num_frames": frames, "skipped": skipped, "rows": rows,
              "info": read.info}
    fmt.write_shard(out, task.subject, task.sequence, arrays, marker)
    return SequenceResult(task, rows=rows, skipped=skipped, frames=frames)


Converter = Callable[[SequenceTask, Path, HandPair, Any, dict], SequenceResult]


def _convert_guarded(
    convert: Converter, task: SequenceTask, out: Path, hands: HandPair, reader, settings: dict[str, Any]
) -> SequenceResult:
    """``convert(...)``, turning an unexpected failure into a skipped record (the batch goes on)."""
    cpu = time.process_time()
    try:
        result = convert(task, out, hands, reader, settings)
    except Exception as exc:  # noqa: BLE001 - one bad file must not lose the others
        log.debug("conversion of %s failed:\n%s", task.relfile, traceback.format_exc())
        result = SequenceResult(task, skipped={"file": task.relfile, "reason": f"conversion failed "
                                               f"({type(exc).__name__}: {exc})", "partial": False})
    result.cpu_seconds = time.process_time() - cpu
    return result


def _warm_up_hands(hands: HandPair) -> None:
    """Pose one frame of each hand without autograd, so that what a hand model compiles or loads on its first
    call (prep's compiled skeleton, :mod:`data_prep.compiled_hand`: numba's start-up) is paid here, not in the
    first sequence."""
    with torch.no_grad():
        for side in HANDS:
            hands[side](torch.zeros(1, 3), torch.zeros(1, 45))


_WORKER: dict[str, Any] = {}


def _init_worker(hands: HandPair, reader, convert: Converter) -> None:
    """Pool initializer: one torch thread, the heap kept (:mod:`data_prep.heap`); the worker's own copy of the hand
    models and reader (its start_worker())."""
    torch.set_num_threads(1)
    _warm_up_hands(hands)
    if hasattr(reader, "start_worker"):
        reader.start_worker(hands)
    retain_freed_memory()  # after the start's lasting allocations: the heap's reserve is for the conversion
    _WORKER.update(hands=hands, reader=reader, convert=convert)


def _worker_convert(task: SequenceTask, out: str, settings: dict[str, Any]) -> SequenceResult:
    return _convert_guarded(_WORKER["convert"], task, Path(out), _WORKER["hands"], _WORKER["reader"], settings)


def _reuse(task: SequenceTask, out: Path, settings: dict[str, Any]) -> SequenceResult | None:
    marker = fmt.read_shard_marker(out, task.subject, task.sequence)
    if not marker or marker.get("source") != task.source() or marker.get("settings") != settings:
        return None
    return SequenceResult(task, rows=marker["rows"], skipped=marker.get("skipped"), reused=True)


def convert_all(
    todo: list[SequenceTask], out: Path, hands: HandPair, reader, settings: dict[str, Any], workers: int,
    progress: bool, convert: Converter = convert_sequence, desc: str | None = None,
) -> list[SequenceResult]:
    """Run ``convert`` (a module-level function, so that worker processes can import it) on every task."""
    bar = tqdm(total=len(todo), desc=desc or f"prep {settings['source']}", unit="seq",
               disable=not progress or not todo, mininterval=0.5)
    results: list[SequenceResult] = []
    if workers <= 1 or len(todo) <= 1:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # same numbers as the single-threaded workers
        try:
            for task in todo:
                results.append(_convert_guarded(convert, task, out, hands, reader, settings))
                bar.update()
        finally:
            torch.set_num_threads(threads)
    else:
        context = multiprocessing.get_context("spawn")
        initargs = (hands, reader, convert)
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=initargs) as pool:
            ordered = sorted(todo, key=lambda t: -t.size)  # biggest files first, for a balanced finish
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


def _write_objects(out: Path, rows: list[dict[str, Any]], templates: dict[str, ObjectTemplate]) -> list[str]:
    names = sorted({r["object"] for r in rows if r.get("object")})
    for name in names:
        write_object_folder(out / fmt.OBJECTS / name, templates[name])
    return names


def run_pipeline(
    source: PrepSource, out: str | Path, hands: HandPair, clip_len: int, stride: int, workers: int = 1,
    progress: bool = True,
) -> PrepSummary:
    """Convert ``source`` into the DATA_DIR ``out``; see the module docstring.

    Raises:
        HandgenError: bad options, or not a single clip converted.
    """
    if clip_len < 1 or stride < 1 or workers < 1:
        raise HandgenError(f"--clip-len, --stride and --workers must be >= 1 (got {clip_len}, {stride}, {workers})")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HandgenError(f"--out {out}: exists and is not a folder")
    assign_splits(source.root, [])  # a bad split file fails now, not after the conversion
    fps = source.settings.get("fps")
    settings = {"source": source.name, "clip_len": clip_len, "stride": stride, "hand_model": hands.name,
                **source.settings}
    out.mkdir(parents=True, exist_ok=True)

    reused = {t.key: r for t in source.tasks if (r := _reuse(t, out, settings)) is not None}
    todo = [t for t in source.tasks if t.key not in reused]
    setup_started = time.perf_counter()
    if todo:
        _warm_up_hands(hands)
        if source.prepare is not None:
            source.prepare(todo)
        # after the setup's lasting allocations (the grids): the heap's reserve is for the conversion (data_prep.heap)
        retain_freed_memory()
    setup_seconds = time.perf_counter() - setup_started
    started = time.perf_counter()
    converted = convert_all(todo, out, hands, source.reader, settings, workers, progress)
    seconds = time.perf_counter() - started
    results = sorted([*reused.values(), *converted], key=lambda r: r.task.relfile)

    with_clips = [r for r in results if r.rows]
    skipped = [*source.skipped, *(r.skipped for r in results if r.skipped)]
    for record in skipped:
        what = "partly converted" if record["partial"] else "skipped"
        log.warning("%s %s: %s", what, record["file"], record["reason"])
    if not with_clips:
        fmt.write_skipped(out, skipped)
        raise HandgenError(f"no clip could be converted from {source.root} (reasons in {out / fmt.SKIPPED})")
    splits, split_rule = assign_splits(source.root, [r.task.key for r in with_clips])
    old = _old_manifest(out)
    rows: list[dict[str, Any]] = []
    for result in with_clips:
        split = splits[result.task.key]
        prep_rows = source.annotate(result.task.key, [dict(base, split=split) for base in result.rows])
        if prep_rows != result.rows:  # new split/annotations: update the marker, the npz stays
            marker = fmt.read_shard_marker(out, result.task.subject, result.task.sequence) or {}
            marker["rows"] = prep_rows
            fmt.write_shard_marker(out, result.task.subject, result.task.sequence, marker)
        rows += [fmt.merge_caption_fields(row, old.get(row["id"])) for row in prep_rows]
    objects = _write_objects(out, rows, source.templates)

    train = [r for r in rows if r["split"] == "train"]
    if not train:
        log.warning("the train split is empty: normalisation statistics use every clip")
    stats = fmt.compute_stats(out, train or rows)
    summary = PrepSummary(
        source=source.name, converted=sum(1 for r in converted if r.rows), reused=len(reused), skipped=len(skipped),
        partial=sum(bool(s.get("partial")) for s in skipped),
        clips={**{s: sum(r["split"] == s for r in rows) for s in fmt.SPLITS}, "total": len(rows)},
        clip_frames=len(rows) * clip_len, frames_converted=sum(r.frames for r in converted if r.rows), seconds=seconds,
        setup_seconds=setup_seconds if todo else 0.0,
        cpu_seconds=sum(r.cpu_seconds for r in converted if r.rows),
    )
    run = {"frames_converted": summary.frames_converted, "seconds": round(seconds, 3),
           "frames_per_second": round(summary.frames_per_second, 1), "workers": workers,
           "setup_seconds": round(summary.setup_seconds, 3), "cpu_seconds": round(summary.cpu_seconds, 3)}
    fps_of_rows = {float(r["fps"]) for r in rows}
    meta = fmt.build_meta(
        source=source.name, fps=fps if fps is not None else min(fps_of_rows), clip_len=clip_len, stride=stride,
        hand_model=hands.name, hands_mean={s: hands[s].hands_mean.detach().cpu().double().numpy() for s in HANDS},
        split_rule=split_rule, rows=rows, skipped=skipped, stats_split="train" if train else "all",
        objects={name: sum(r.get("object") == name for r in rows) for name in objects}, run=run,
        **source.meta_extra,
    )
    fmt.write_index(out, rows, meta, skipped, stats)
    return summary
