"""``handgen prep handx``: HandX's released npz files -> a DATA_DIR (format: :mod:`handgen.io.data_dir`).

Input (``--src HANDX_DIR``, :mod:`data_prep.handx_reader`): ``{train,test}_can_pos_all_wotextfeat.npz``
with ``{train,test}_mano.npz`` beside each (a split with neither is left out; one without the
other is an error), and optionally ``source_metadata.json``.

Output, per clip (an npz member; 60 frames at 30 fps):

- ``joints`` in the shard are the FILE's joints (handgen keypoint order, ``--up-axis`` applied,
  the right wrist at frame 0 at the origin): the ground truth every metric uses.
- ``features`` / MANO arrays come from the file's MANO fit (``hand_pose + hands_mean`` ->
  absolute) through the hand model in use (MANO from ``--mano-dir``, else the procedural
  hand), canonicalised like every DATA_DIR. When that hand model is not the one HandX fitted
  with, its joints differ from the file's: the mean distance is reported once (mm) in the
  summary line and ``meta.json`` (``joint_disagreement_mm``).
- manifest rows: id ``{train|test}/{member:07d}/000000``, all 5 caption triplets as
  ``captions`` (and ``gt_captions``; ``caption_source`` "handx"), ``member`` (the npz key),
  ``dataset`` (source dataset from the metadata file, else null).
- splits: the file name gives train / test; ``val`` is carved from train deterministically:
  members are grouped in blocks of ``--val-block`` consecutive keys (clips of one source
  recording sit together, so a block keeps overlapping windows on one side) and a block goes
  to val when the md5 of ``handx-val/<block>`` falls below ``--val-fraction`` (default 5 %).

Streaming: members are converted in chunks of ``--chunk`` (default 2048) read one member at
a time from both archives (bounded memory: one chunk's arrays); each chunk is one shard
``shards/{split}/chunk_NNNNN.npz`` with a resume marker (same input files and settings ->
reused). A member that cannot be read (corrupt, unsafe pickle class, wrong shapes, missing
in the mano file) is one line in ``skipped.jsonl`` (``file``, ``member``, ``reason``) and the
rest converts. ``--workers N`` converts chunks in N processes (same output).
"""

from __future__ import annotations

import hashlib
import logging
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from data_prep.clip_pipeline import convert_all
from data_prep.prep_records import SequenceResult, SequenceTask, file_task
from data_prep.handx_reader import (
    HANDX_FPS, HANDX_FRAMES, METADATA_FILE, SPLIT_FILES, UP_AXES, HandXClip, make_clip, read_source_metadata,
    rotate_params,
)
from data_prep.prep_arctic import make_hands
from handgen.errors import HandgenError, InputFileError
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS
from handgen.io import data_dir as fmt
from handgen.io.safe_pickle import iter_object_npz
from handgen.repr.features import SLICES, params_to_features

log = logging.getLogger(__name__)
SOURCE = "handx"
DEFAULT_CHUNK = 2048
FEATURE_BATCH = 64  # clips per hand-model call
DISAGREEMENT_WARN_MM = 2.0


def carve_split(file_split: str, key: str, fraction: float, block: int) -> str:
    """train / val / test of one member (see the module docstring)."""
    if file_split != "train" or fraction <= 0:
        return file_split
    group = str(int(key) // block) if key.isdigit() else key
    draw = int(hashlib.md5(f"handx-val/{group}".encode("utf-8")).hexdigest()[:8], 16) / 2**32
    return "val" if draw < fraction else "train"


def split_rule(fraction: float, block: int) -> str:
    return (f"handx: train/test from the file names; val = train members in blocks of {block} consecutive keys "
            f"whose md5('handx-val/<block>') < {fraction} of the range")


def _sequence_name(key: str) -> str:
    return f"{int(key):07d}" if key.isdigit() else key


class HandXReader:
    """Member lists and per-process open archives of one HANDX_DIR (picklable: archives reopen lazily)."""

    def __init__(self, root: Path, up_axis: str, chunk: int, metadata: dict[str, dict[str, str]]) -> None:
        self.root, self.up_axis, self.chunk, self.metadata = Path(root), up_axis, chunk, metadata
        self._zips: dict[str, zipfile.ZipFile] = {}
        self._members: dict[str, list[str]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_zips"] = {}
        return state

    def archive(self, name: str) -> zipfile.ZipFile:
        if name not in self._zips:
            path = self.root / name
            try:
                self._zips[name] = zipfile.ZipFile(path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise InputFileError(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None
        return self._zips[name]

    def members(self, split: str) -> list[str]:
        """Member keys of the split's can_pos file, in archive order."""
        if split not in self._members:
            names = self.archive(SPLIT_FILES[split][0]).namelist()
            self._members[split] = [n[:-4] if n.endswith(".npy") else n for n in names]
        return self._members[split]

    def chunk_members(self, split: str, index: int) -> list[str]:
        return self.members(split)[index * self.chunk : (index + 1) * self.chunk]

    def dataset(self, split: str, key: str) -> str | None:
        return self.metadata.get(split, {}).get(key)

    def close(self) -> None:
        for archive in self._zips.values():
            archive.close()
        self._zips.clear()


def find_tasks(src: str | Path, reader: HandXReader) -> list[SequenceTask]:
    """One task per chunk of each split present, in split then chunk order.

    Raises:
        HandgenError: no such folder, no HandX file, a can_pos file without its mano file (or back).
        InputFileError: a file that is not a zip archive.
    """
    root = Path(src)
    if not root.is_dir():
        raise HandgenError(f"--src {src}: HANDX_DIR not found (the folder with {SPLIT_FILES['train'][0]} ...)")
    tasks = []
    for split, (can_name, mano_name) in SPLIT_FILES.items():
        can, mano = root / can_name, root / mano_name
        if not can.is_file() and not mano.is_file():
            continue
        if not (can.is_file() and mano.is_file()):
            missing = mano_name if can.is_file() else can_name
            raise HandgenError(f"--src {src}: {missing} is missing (HandX ships {can_name} and {mano_name} together)")
        count = len(reader.members(split))
        sides = [mano] + ([root / METADATA_FILE] if (root / METADATA_FILE).is_file() else [])
        for index in range((count + reader.chunk - 1) // reader.chunk):
            tasks.append(file_task(can, root, split, f"chunk_{index:05d}", sides))
    if not tasks:
        expected = ", ".join(name for pair in SPLIT_FILES.values() for name in pair)
        raise HandgenError(f"--src {src}: no HandX data files (expected {expected})")
    return tasks


def chunk_arrays(clips: list[HandXClip], hands: HandPair, up_axis: str = "z") -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Shard arrays (``handgen.io.data_dir.SHARD_ARRAYS``) of ``clips`` and each clip's joint disagreement (mm).

    Features come from the MANO parameters (rotated to handgen's frame for ``up_axis``) through
    ``hands`` (canonical: the model's right wrist at frame 0 at the origin); ``joints`` are the
    clips' own (file) joints.
    """
    n, t = len(clips), HANDX_FRAMES
    hp = np.stack([c.motion.hand_pose for c in clips])  # (N, T, 2, 45)
    betas = np.stack([c.motion.betas for c in clips])  # (N, 2, 10)
    go, tr = rotate_params(np.stack([c.motion.global_orient for c in clips]),  # (N, T, 2, 3)
                           np.stack([c.motion.transl for c in clips]), betas, UP_AXES[up_axis], hands)
    with torch.no_grad():
        w_right = hands.right.wrist_offset(torch.as_tensor(betas[:, 1], dtype=torch.float32)).double().numpy()
    offsets = -(tr[:, 0, 1] + w_right)  # (N, 3)
    tr = tr + offsets[:, None, None, :]
    features = np.empty((n, t, fmt.FEATURE_DIM), dtype=np.float32)
    with torch.no_grad():
        for a in range(0, n, FEATURE_BATCH):
            b = slice(a, a + FEATURE_BATCH)
            params = {}
            for i, side in enumerate(HANDS):
                params[f"{side}_global_orient"] = torch.as_tensor(go[b, :, i], dtype=torch.float32)
                params[f"{side}_hand_pose"] = torch.as_tensor(hp[b, :, i], dtype=torch.float32)
                params[f"{side}_transl"] = torch.as_tensor(tr[b, :, i], dtype=torch.float32)
                params[f"{side}_betas"] = torch.as_tensor(betas[b, i], dtype=torch.float32)
            features[b] = params_to_features(params, hands).numpy()
    file_joints = np.stack([c.joints for c in clips])  # (N, T, 2, 21, 3)
    model_joints = np.stack([features[..., SLICES[f"{s}.joints"]].reshape(n, t, 21, 3) for s in HANDS], axis=2)
    disagreement = np.linalg.norm(model_joints - file_joints, axis=-1).mean(axis=(1, 2, 3)) * 1e3
    arrays = {
        "features": features, "global_orient": go, "hand_pose": hp, "transl": tr, "betas": betas,
        "joints": file_joints, "canonical_offset": offsets, "start": np.zeros(n, dtype=np.int64),
    }
    return arrays, disagreement


def _member_skip(relfile: str, key: str, exc: InputFileError) -> dict[str, Any]:
    return {"file": relfile, "member": key, "reason": exc.problem, "partial": False}


def convert_chunk(
    task: SequenceTask, out: Path, hands: HandPair, reader: HandXReader, settings: dict[str, Any]
) -> SequenceResult:
    """Convert one chunk of members into ``shards/{split}/chunk_NNNNN.npz`` (bad members recorded, not fatal)."""
    split, index = task.subject, int(task.sequence.split("_")[-1])
    can_name, mano_name = SPLIT_FILES[split]
    keys = reader.chunk_members(split, index)
    can_path = reader.root / can_name
    clips: list[HandXClip] = []
    skipped: list[dict[str, Any]] = []
    pairs = zip(iter_object_npz(reader.archive(can_name), keys), iter_object_npz(reader.archive(mano_name), keys))
    for (key, can_pos), (_, mano) in pairs:
        if isinstance(can_pos, InputFileError):
            skipped.append(_member_skip(can_name, key, can_pos))
        elif isinstance(mano, InputFileError):
            skipped.append(_member_skip(mano_name, key, mano))
        else:
            try:
                clips.append(make_clip(can_path, key, can_pos, mano, hands, settings["up_axis"]))
            except InputFileError as exc:
                skipped.append(_member_skip(exc.path.name, key, exc))
    record = None
    if skipped:
        record = {"file": task.relfile, "reason": f"{len(skipped)} member(s) skipped", "partial": bool(clips),
                  "members": skipped}
    npz = out / fmt.shard_relpath(split, task.sequence)
    if not clips:
        for path in (npz.with_suffix(".json"), npz):
            path.unlink(missing_ok=True)
        return SequenceResult(task, skipped=record, frames=0)
    arrays, disagreement = chunk_arrays(clips, hands, settings["up_axis"])
    rows = []
    for i, clip in enumerate(clips):
        seq = _sequence_name(clip.key)
        rows.append({
            "id": fmt.clip_id(split, seq, 0), "source": SOURCE, "subject": split, "sequence": seq, "start": 0,
            "end": HANDX_FRAMES, "fps": HANDX_FPS,
            "split": carve_split(split, clip.key, settings["val_fraction"], settings["val_block"]),
            "captions": clip.captions, "gt_captions": [dict(c) for c in clip.captions], "gt_labels": None,
            "caption_source": SOURCE, "shard": fmt.shard_relpath(split, task.sequence), "index": i,
            "hand_model": settings["hand_model"], "member": clip.key, "dataset": reader.dataset(split, clip.key),
        })
    info = {"disagreement_mm_sum": float(disagreement.sum()), "clips": len(clips)}
    marker = {"source": task.source(), "settings": settings, "num_frames": len(clips) * HANDX_FRAMES,
              "skipped": record, "rows": rows, "info": info}
    fmt.write_shard(out, split, task.sequence, arrays, marker)
    return SequenceResult(task, rows=rows, skipped=record, frames=len(clips) * HANDX_FRAMES)


@dataclass
class HandXSummary:
    clips: dict[str, int]
    converted_clips: int  # converted now (not reused)
    reused_chunks: int
    skipped_members: int
    seconds: float
    joint_disagreement_mm: float
    workers: int

    @property
    def clips_per_second(self) -> float:
        return self.converted_clips / self.seconds if self.seconds > 0 else 0.0

    @property
    def frames_per_second(self) -> float:
        return self.clips_per_second * HANDX_FRAMES

    def line(self) -> str:
        counts = " / ".join(f"{s} {self.clips.get(s, 0)}" for s in fmt.SPLITS)
        return (f"prep handx: {self.clips['total']} clips ({counts}); {self.converted_clips} converted now in "
                f"{self.seconds:.2f} s = {self.clips_per_second:.1f} clips/s, {self.frames_per_second:.0f} frames/s "
                f"({self.workers} worker(s)), {self.reused_chunks} chunk(s) already up to date; "
                f"{self.skipped_members} member(s) skipped; hand model vs file joints {self.joint_disagreement_mm:.2f} mm "
                f"(the file's joints are kept for evaluation)")


def _reuse(task: SequenceTask, out: Path, settings: dict[str, Any]) -> tuple[SequenceResult, dict] | None:
    marker = fmt.read_shard_marker(out, task.subject, task.sequence)
    if not marker or marker.get("source") != task.source() or marker.get("settings") != settings:
        return None
    return SequenceResult(task, rows=marker["rows"], skipped=marker.get("skipped"), reused=True), marker


def _old_manifest(out: Path) -> dict[str, dict[str, Any]]:
    try:
        return {r["id"]: r for r in fmt.read_manifest(out / fmt.MANIFEST)} if (out / fmt.MANIFEST).is_file() else {}
    except InputFileError as exc:
        log.warning("ignoring the existing manifest: %s", exc)
        return {}


def prep_handx(
    src: str | Path, out: str | Path, mano_dir: str | None = None, up_axis: str = "z", workers: int = 1,
    chunk: int = DEFAULT_CHUNK, val_fraction: float = 0.05, val_block: int = 100, progress: bool = True,
) -> HandXSummary:
    """Convert HANDX_DIR ``src`` into the DATA_DIR ``out``; see the module docstring.

    Raises:
        HandgenError: bad options, missing files, or not a single clip converted.
        InputFileError: a data file that is not an npz archive, or a metadata file that is not JSON.
    """
    if up_axis not in UP_AXES:
        raise HandgenError(f"--up-axis must be one of {sorted(UP_AXES)}, got {up_axis!r}")
    if chunk < 1 or workers < 1 or val_block < 1 or not 0 <= val_fraction < 1:
        raise HandgenError(f"--chunk, --workers, --val-block must be >= 1 and --val-fraction in [0, 1) "
                           f"(got {chunk}, {workers}, {val_block}, {val_fraction})")
    root, out = Path(src), Path(out)
    if out.exists() and not out.is_dir():
        raise HandgenError(f"--out {out}: exists and is not a folder")
    metadata = read_source_metadata(root / METADATA_FILE) if (root / METADATA_FILE).is_file() else {}
    reader = HandXReader(root, up_axis, chunk, metadata)
    tasks = find_tasks(root, reader)
    hands = make_hands(mano_dir)
    settings = {"source": SOURCE, "hand_model": hands.name, "up_axis": up_axis, "chunk": chunk,
                "val_fraction": val_fraction, "val_block": val_block, "fps": HANDX_FPS}
    out.mkdir(parents=True, exist_ok=True)
    reused = {t.key: r for t in tasks if (r := _reuse(t, out, settings)) is not None}
    todo = [t for t in tasks if t.key not in reused]
    started = time.perf_counter()
    converted = convert_all(todo, out, hands, reader, settings, workers, progress, convert=convert_chunk,
                            desc="prep handx")
    seconds = time.perf_counter() - started
    reader.close()

    results = sorted([*(r for r, _ in reused.values()), *converted], key=lambda r: (r.task.subject, r.task.sequence))
    rows = [row for r in results for row in r.rows]
    skipped: list[dict[str, Any]] = []
    for r in results:
        if r.skipped:
            skipped += r.skipped.get("members") or [dict(r.skipped)]
    for record in skipped[:20]:
        log.warning("skipped %s member %s: %s", record["file"], record.get("member"), record["reason"])
    if not rows:
        fmt.write_skipped(out, skipped)
        raise HandgenError(f"no clip could be converted from {root} (reasons in {out / fmt.SKIPPED})")
    total_mm = 0.0
    for r in results:
        marker = reused[r.task.key][1] if r.reused else fmt.read_shard_marker(out, r.task.subject, r.task.sequence)
        total_mm += float((marker or {}).get("info", {}).get("disagreement_mm_sum", 0.0))
    disagreement = total_mm / len(rows)
    if disagreement > DISAGREEMENT_WARN_MM:
        log.warning("the %s hand's joints differ from HandX's by %.1f mm on average; the file's joints are kept "
                    "for evaluation", hands.name, disagreement)
    old = _old_manifest(out)
    rows = [fmt.merge_caption_fields(row, old.get(row["id"])) for row in rows]
    train = [r for r in rows if r["split"] == "train"]
    stats = fmt.compute_stats(out, train or rows)
    summary = HandXSummary(
        clips={**{s: sum(r["split"] == s for r in rows) for s in fmt.SPLITS}, "total": len(rows)},
        converted_clips=sum(len(r.rows) for r in converted), reused_chunks=len(reused), skipped_members=len(skipped),
        seconds=seconds, joint_disagreement_mm=disagreement, workers=workers,
    )
    meta = fmt.build_meta(
        source=SOURCE, fps=HANDX_FPS, clip_len=HANDX_FRAMES, stride=HANDX_FRAMES, hand_model=hands.name,
        hands_mean={s: hands[s].hands_mean.detach().cpu().double().numpy() for s in HANDS},
        split_rule=split_rule(val_fraction, val_block), rows=rows, skipped=skipped,
        stats_split="train" if train else "all", up_axis=up_axis, joints_source="file",
        joint_disagreement_mm=round(disagreement, 3),
        handx_files=sorted({t.relfile for t in tasks} | {s[0] for t in tasks for s in t.side_files}),
        run={"clips_converted": summary.converted_clips, "seconds": round(seconds, 3),
             "clips_per_second": round(summary.clips_per_second, 2),
             "frames_per_second": round(summary.frames_per_second, 1), "workers": workers},
    )
    fmt.write_index(out, rows, meta, skipped, stats)
    return summary


def run_from_args(args) -> int:
    """Entry point of ``handgen prep handx`` (see handgen/commands/prep.py)."""
    summary = prep_handx(
        src=args.src, out=args.out, mano_dir=args.mano_dir, up_axis=args.up_axis, workers=args.workers,
        chunk=args.chunk, val_fraction=args.val_fraction, val_block=args.val_block,
        progress=not getattr(args, "quiet", False),
    )
    print(summary.line())
    if summary.skipped_members:
        print(f"prep handx: skipped members are listed in {Path(args.out) / fmt.SKIPPED}")
    return 0
