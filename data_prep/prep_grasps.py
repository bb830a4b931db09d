"""``handgen prep grasps``: bimanual grasp frames of ARCTIC-layout data -> GRASP_DIR (grasp prior data).

A frame is kept when EACH hand has more than ``min_fraction`` (0.2) of its mesh vertices
within ``contact_dist`` (1 cm) of the object's surface (BG-HOP's ARCTIC rule, docs/reference.md
section 5); only every ``stride``-th frame (frame % stride == 0) is considered, to thin out
near-duplicates. Objects, posing and contact are those of ``prep arctic``
(:mod:`data_prep.arctic_objects`, :mod:`data_prep.object_contact`); sequences without a
``.object.npy`` or whose object has no template are recorded in ``skipped.jsonl``.

Output (the contract with the grasp prior)::

    GRASP_DIR/
      manifest.jsonl   one line per kept frame, sorted by id:
         {"id": "s01/box_use_01/000123", "source": "arctic"|"synthetic", "subject", "sequence",
          "frame": 123, "object": "box", "category": "box", "text": "grasp box with both hands",
          "articulation": 0.0, "split": "train"|"val"|"test", "shard": "shards/s01/box_use_01.npz",
          "index": 4, "contact": {"left": 0.31, "right": 0.42}, "hand_model": "procedural"|"mano",
          "grasp_type": "support_top"}   grasp_type: the synthetic generator's two-hand layout (its
                                         captions.jsonl labels' ``layout``), "" without such labels
      shards/<subject>/<sequence>.npz   arrays over that sequence's N kept frames:
         frame (N,) int64
         {h}_global_orient (N,3), {h}_hand_pose (N,45) ABSOLUTE (flat-hand-mean), {h}_transl (N,3),
         {h}_betas (N,10)         h in left, right; WORLD frame of the source sequence, metres
         joints (N,2,21,3)        world, metres (index 0 left, 1 right)
         object_rot (N,3), object_transl (N,3) metres: x_world = R x_canonical + t (x_canonical: the
                                  template in metres with the top part already rotated by articulation)
         articulation (N,)        radians (0 for rigid objects)
         hand_frame (N,4,4)       world metres -> right-hand normalised frame (:mod:`data_prep.hand_frame`)
         joints_normalized (N,2,21,3)  joints in that frame (units of 0.2 m)
         contact_fraction (N,2)   fraction of each hand's vertices within contact_dist of the object
         tips_in_contact (N,2,5)  bool, fingertips (thumb..pinky) within contact_dist
      shards/<subject>/<sequence>.json  resume marker (source file stats, settings, rows)
      objects/<name>/mesh.obj    canonical template in METRES (articulation 0); parts.json (1 = top);
      objects/<name>/object.json {"name", "category", "articulated", "axis": [0,0,-1], "pivot": [x,y,z]}
      meta.json        format version, thresholds, hand-frame definition, counts, hand_model, split rule
      skipped.jsonl    sequences not converted, with reasons

With ``hold_test`` (``--hold-test``) every kept frame is also put through the hold test
(:mod:`handgen.grasp.frame_holds`: static hands, gravity along 6 axes, the object moves < 2 cm in
>= 5): rows gain ``holds`` and ``hold_directions``, the frames that do not hold are dropped from
the manifest (their shard arrays stay, unreferenced) and ``meta.json`` counts them under
``hold_test``. It costs ~1 s per frame on an idle core (the rest of ``prep grasps`` ~1 ms per
frame) and is redone on every run (the per-sequence markers do not keep verdicts).

Splits: the rule of ``prep arctic`` (:mod:`data_prep.splits`) over all sequences found. The
category is the template's ``object.json`` ``category`` when present, else the object name.
Resumable (per-sequence markers) and atomic like ``prep arctic``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from data_prep.arctic_objects import object_name_of, read_object_track
from data_prep.arctic_reader import read_mano_sequence
from data_prep.caption_segments import SIDE_FILE, read_caption_segments
from data_prep.clip_pipeline import convert_all, skip_reason
from data_prep.hand_frame import DEFINITION, apply_frame, right_hand_frame
from data_prep.object_contact import CONTACT_DIST, sequence_contact
from data_prep.prep_arctic import ArcticReader, find_sequences, make_hands
from data_prep.prep_records import SequenceResult, SequenceTask
from data_prep.splits import assign_splits
from handgen.errors import HandgenError, InputFileError
from handgen.grasp.frame_holds import FrameHoldTester
from handgen.grasp.grasp_data import GraspDataset
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS
from handgen.io.atomic import atomic_save_npz, atomic_write_json, atomic_write_jsonl
from handgen.io.object_folder import write_object_folder
from handgen.repr.motion import BimanualMotion

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
MIN_FRACTION = 0.2
MANIFEST, META, SKIPPED, SHARDS, OBJECTS = "manifest.jsonl", "meta.json", "skipped.jsonl", "shards", "objects"


def candidate_frames(valid: np.ndarray, stride: int) -> np.ndarray:
    """Indices of the frames considered: valid and a multiple of ``stride``."""
    frames = np.arange(0, len(valid), stride)
    return frames[np.asarray(valid, dtype=bool)[frames]]


def grasp_frame_mask(contact: np.ndarray, min_fraction: float) -> np.ndarray:
    """(F,) bool: both hands' contact fractions (F,2) strictly above ``min_fraction``."""
    return (np.asarray(contact) > min_fraction).all(axis=1)


def _shard_rel(task: SequenceTask) -> str:
    return f"{SHARDS}/{task.subject}/{task.sequence}.npz"


def _marker_path(out: Path, task: SequenceTask) -> Path:
    return (out / _shard_rel(task)).with_suffix(".json")


def _clear(out: Path, task: SequenceTask) -> None:
    for path in (_marker_path(out, task), out / _shard_rel(task)):
        if path.exists():
            path.unlink()


def convert_grasp_sequence(
    task: SequenceTask, out: Path, hands: HandPair, reader: ArcticReader, settings: dict[str, Any]
) -> SequenceResult:
    """Kept grasp frames of one sequence -> its shard and marker (none when no frame is kept)."""
    if reader.object_file(task) is None:
        _clear(out, task)
        why = "no object (no .object.npy)" if reader.objects else "no meta/object_vtemplates/ folder"
        return SequenceResult(task, skipped={"file": task.relfile, "reason": why, "partial": False})
    try:
        motion, valid = read_mano_sequence(task.path, hands)
        name = object_name_of(task.sequence)
        distance = reader.distance(name)
        track = read_object_track(reader.object_file(task), frames=motion.num_frames)
    except InputFileError as exc:
        _clear(out, task)
        return SequenceResult(task, skipped={"file": task.relfile, "reason": skip_reason(task, exc), "partial": False})
    valid = valid & track.valid
    frames = candidate_frames(valid, settings["stride"])
    contact, tips = sequence_contact(motion, valid, hands, track, distance, settings["contact_dist"], frames=frames)
    keep = frames[grasp_frame_mask(contact[frames], settings["min_fraction"])]
    rows: list[dict[str, Any]] = []
    if len(keep):
        arrays = grasp_arrays(motion, keep, hands, track, contact, tips)
        template = distance.template
        for i, f in enumerate(keep):
            rows.append({
                "id": f"{task.subject}/{task.sequence}/{int(f):06d}", "source": settings["source"],
                "subject": task.subject, "sequence": task.sequence, "frame": int(f), "object": name,
                "category": template.category, "text": f"grasp {template.category} with both hands",
                "articulation": round(float(track.articulation[f]), 6), "split": None, "shard": _shard_rel(task),
                "index": i, "contact": {side: round(float(contact[f, h]), 4) for h, side in enumerate(HANDS)},
                "hand_model": settings["hand_model"],
            })
        atomic_save_npz(out / _shard_rel(task), **arrays)
    elif (out / _shard_rel(task)).exists():
        (out / _shard_rel(task)).unlink()
    marker = {"format_version": FORMAT_VERSION, "source": task.source(), "settings": settings, "rows": rows,
              "considered": int(len(frames)), "object": name}
    atomic_write_json(_marker_path(out, task), marker)
    return SequenceResult(task, rows=rows, frames=motion.num_frames)


def grasp_arrays(
    motion: BimanualMotion, keep: np.ndarray, hands: HandPair, track, contact: np.ndarray, tips: np.ndarray
) -> dict[str, np.ndarray]:
    """The shard arrays of the kept frames (see the module docstring)."""
    part = BimanualMotion(motion.global_orient[keep], motion.hand_pose[keep], motion.transl[keep], motion.betas)
    with torch.no_grad():
        joints = part.joints(hands).astype(np.float64)  # (N,2,21,3)
    n = len(keep)
    arrays: dict[str, np.ndarray] = {"frame": keep.astype(np.int64)}
    for h, side in enumerate(HANDS):
        arrays[f"{side}_global_orient"] = part.global_orient[:, h].astype(np.float32)
        arrays[f"{side}_hand_pose"] = part.hand_pose[:, h].astype(np.float32)
        arrays[f"{side}_transl"] = part.transl[:, h].astype(np.float32)
        arrays[f"{side}_betas"] = np.broadcast_to(part.betas[h], (n, 10)).astype(np.float32)
    frame = right_hand_frame(hands["right"], part.global_orient[:, 1], part.transl[:, 1], part.betas[1])
    arrays.update(
        joints=joints.astype(np.float32), object_rot=track.rot[keep].astype(np.float32),
        object_transl=track.transl[keep].astype(np.float32), articulation=track.articulation[keep].astype(np.float32),
        hand_frame=frame.astype(np.float32), joints_normalized=apply_frame(frame, joints).astype(np.float32),
        contact_fraction=contact[keep].astype(np.float32), tips_in_contact=tips[keep].astype(bool),
    )
    return arrays


def _reuse(task: SequenceTask, out: Path, settings: dict[str, Any]) -> SequenceResult | None:
    try:
        marker = json.loads(_marker_path(out, task).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(marker, dict) or marker.get("format_version") != FORMAT_VERSION
            or marker.get("source") != task.source() or marker.get("settings") != settings):
        return None
    if marker["rows"] and not (out / _shard_rel(task)).is_file():
        return None
    return SequenceResult(task, rows=marker["rows"], reused=True)


def grasp_type_of(segments: dict, row: dict[str, Any]) -> str:
    """The generator's layout label of the caption segment holding ``row``'s frame ("" when none)."""
    for segment in segments.get(f"{row['subject']}/{row['sequence']}", ()):
        if segment.start <= row["frame"] < segment.end and isinstance(segment.labels, dict):
            return str(segment.labels.get("layout", ""))
    return ""


def _source_name(src: Path) -> str:
    try:
        info = json.loads((src / "synthetic_info.json").read_text(encoding="utf-8"))
        return "synthetic" if info.get("generator") == "handgen-synthetic" else "arctic"
    except (OSError, ValueError, AttributeError):
        return "arctic"


def prep_grasps(
    src: str | Path, out: str | Path, mano_dir: str | None = None, contact_dist: float = CONTACT_DIST,
    min_fraction: float = MIN_FRACTION, stride: int = 1, workers: int = 1, progress: bool = True,
    hold_test: bool = False,
) -> dict[str, Any]:
    """Write GRASP_DIR ``out`` from ARCTIC_ROOT ``src``; returns meta.json's content.

    Raises:
        HandgenError: bad options, no input sequences, or not a single grasp frame kept.
    """
    if not 0 < contact_dist <= 0.05:
        raise HandgenError(f"--contact-dist must be in (0, 0.05] metres, got {contact_dist}")
    if not 0 <= min_fraction < 1:
        raise HandgenError(f"--min-fraction must be in [0, 1), got {min_fraction}")
    if stride < 1 or workers < 1:
        raise HandgenError(f"--stride and --workers must be >= 1 (got {stride}, {workers})")
    src, out = Path(src), Path(out)
    tasks = find_sequences(src)
    if out.exists() and not out.is_dir():
        raise HandgenError(f"--out {out}: exists and is not a folder")
    assign_splits(src, [])  # a bad split file fails before the work
    hands = make_hands(mano_dir)
    reader = ArcticReader(src, contact_dist)
    settings = {"source": _source_name(src), "contact_dist": contact_dist, "min_fraction": min_fraction,
                "stride": stride, "hand_model": hands.name}
    out.mkdir(parents=True, exist_ok=True)
    reused = {t.key: r for t in tasks if (r := _reuse(t, out, settings)) is not None}
    todo = [t for t in tasks if t.key not in reused]
    setup_started = time.perf_counter()
    reader.prepare(todo, hands)
    setup_seconds = time.perf_counter() - setup_started
    started = time.perf_counter()
    converted = convert_all(todo, out, hands, reader, settings, workers, progress, convert=convert_grasp_sequence,
                            desc="prep grasps")
    seconds = time.perf_counter() - started
    results = sorted([*reused.values(), *converted], key=lambda r: r.task.relfile)
    skipped = sorted((r.skipped for r in results if r.skipped), key=lambda s: s["file"])
    atomic_write_jsonl(out / SKIPPED, skipped)
    splits, split_rule = assign_splits(src, [t.key for t in tasks])
    segments = read_caption_segments(src / SIDE_FILE) if (src / SIDE_FILE).is_file() else {}
    rows = sorted((dict(row, split=splits[r.task.key], grasp_type=grasp_type_of(segments, row))
                   for r in results for row in r.rows), key=lambda row: row["id"])
    if not rows:
        raise HandgenError(f"no grasp frame kept from {src} (sequences without objects or without bimanual contact; "
                           f"see {out / SKIPPED})")
    for name in sorted({row["object"] for row in rows}):
        write_object_folder(out / OBJECTS / name, reader.template(name))
    frames_read = sum(r.frames for r in converted)
    meta = {
        "format_version": FORMAT_VERSION, "source": settings["source"], "contact_dist": contact_dist,
        "min_fraction": min_fraction, "stride": stride, "hand_model": hands.name, "hand_frame": DEFINITION,
        "hand_pose_convention": "absolute (flat_hand_mean=True): MANO hand_pose = this - hands_mean",
        "hands_mean": {s: hands[s].hands_mean.detach().cpu().double().numpy().round(8).tolist() for s in HANDS},
        "split_rule": split_rule,
        "counts": {
            "frames": len(rows), "per_object": dict(sorted(Counter(r["object"] for r in rows).items())),
            "per_grasp_type": dict(sorted(Counter(r["grasp_type"] for r in rows).items())),
            "per_split": {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")},
            "sequences": len(tasks), "sequences_with_grasps": len({r["shard"] for r in rows}),
            "skipped": len(skipped),
        },
        "run": {"frames_read": frames_read, "seconds": round(seconds, 3),
                "frames_per_second": round(frames_read / seconds, 1) if seconds > 0 else 0.0, "workers": workers,
                "setup_seconds": round(setup_seconds, 3)},
    }
    atomic_write_json(out / META, meta)
    atomic_write_jsonl(out / MANIFEST, rows)
    if hold_test:
        meta = keep_holding_frames(out, meta, hands, progress)
    return meta


def keep_holding_frames(out: Path, meta: dict[str, Any], hands: HandPair, progress: bool = True) -> dict[str, Any]:
    """Hold-test every manifest row of GRASP_DIR ``out`` and keep the rows that hold (module docstring)."""
    from tqdm import tqdm

    data = GraspDataset(out, ("train", "val", "test"))
    tester = FrameHoldTester(data, hands)
    started = time.perf_counter()
    rows = []
    for i in tqdm(range(len(data)), desc="hold test", unit="frame", disable=not progress):
        result = tester(i)
        if result.holds:
            rows.append(dict(data.rows[i], holds=True, hold_directions=result.directions_held))
    if not rows:
        raise HandgenError(f"no grasp frame of {out} holds in the hold test (--hold-test)")
    rows.sort(key=lambda row: row["id"])
    counts = meta["counts"]
    meta["hold_test"] = {"tested": len(data), "kept": len(rows), "dropped": len(data) - len(rows),
                         "seconds": round(time.perf_counter() - started, 1),
                         "dropped_per_object": dict(Counter(r["object"] for r in data.rows) - Counter(r["object"] for r in rows))}
    counts.update(frames=len(rows), per_object=dict(sorted(Counter(r["object"] for r in rows).items())),
                  per_grasp_type=dict(sorted(Counter(r["grasp_type"] for r in rows).items())),
                  per_split={s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")})
    atomic_write_json(out / META, meta)
    atomic_write_jsonl(out / MANIFEST, rows)
    return meta


def run_from_args(args) -> int:
    """Entry point of ``handgen prep grasps``."""
    meta = prep_grasps(
        args.src, args.out, mano_dir=args.mano_dir, contact_dist=args.contact_dist, min_fraction=args.min_fraction,
        stride=args.stride, workers=args.workers, progress=not getattr(args, "quiet", False),
        hold_test=getattr(args, "hold_test", False),
    )
    counts, run = meta["counts"], meta["run"]
    per_object = ", ".join(f"{k} {v}" for k, v in counts["per_object"].items())
    print(
        f"prep grasps: {counts['frames']} grasp frames from {counts['sequences_with_grasps']} of {counts['sequences']} "
        f"sequences ({per_object}); splits {counts['per_split']}; {counts['skipped']} sequences skipped; "
        f"{run['frames_read']} frames read in {run['seconds']:.2f} s = {run['frames_per_second']:.0f} frames/s "
        f"(setup: object grids {run['setup_seconds']:.1f} s)"
    )
    if "hold_test" in meta:
        h = meta["hold_test"]
        print(f"prep grasps --hold-test: {h['kept']} of {h['tested']} frames hold and are kept ({h['dropped']} dropped: "
              f"{h['dropped_per_object'] or 'none'}) in {h['seconds']:.0f} s")
    return 0
