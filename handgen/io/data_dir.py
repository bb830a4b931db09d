"""DATA_DIR: handgen's processed-clip format (writer helpers and the reader).

Layout::

    DATA_DIR/
      manifest.jsonl   one clip per line, sorted by id:
                         id            "s01/box_use_01/000030"  (subject/sequence/start, 6 digits)
                         source        "arctic", "ahx", ...
                         subject, sequence
                         start, end    frame range [start, end) in the source sequence
                         fps           frames per second (30.0)
                         split         "train" | "val" | "test"
                         captions      [{"left", "right", "both"}, ...] (what training uses)
                         gt_captions   same, from a ground-truth side file ([] when none)
                         gt_labels     structured ground-truth labels or null
                         caption_source  "synthetic" | null | whatever a captioner sets
                         shard         "shards/s01/box_use_01.npz" (relative to DATA_DIR)
                         index         the clip's row in that shard
                         hand_model    "procedural" | "mano"
                         object        optional: the object's name (prep arctic; null without one)
                         verb          optional: the clip's action verb (prep ahx --labels)
                         member, dataset  optional (prep handx): the npz member key and the
                                       source dataset from source_metadata.json (or null)
      shards/<subject>/<sequence>.npz   one per source sequence; N clips of T frames stacked:
                         features (N,T,324) float32     handgen.repr.features layout
                         global_orient (N,T,2,3)        axis-angle, radians
                         hand_pose (N,T,2,45)           ABSOLUTE (flat-hand-mean), radians
                         transl (N,T,2,3)               metres, canonical frame
                         betas (N,2,10)
                         joints (N,T,2,21,3)            metres, canonical frame
                         canonical_offset (N,3)         what was added to every position
                         start (N,) int64               first source frame of each clip
                       and, for sequences with an object (all five together):
                         object_rot (N,T,3)             axis-angle: x = R x_canonical' + object_transl
                         object_transl (N,T,3)          metres, canonical frame (offset like the hands)
                         articulation (N,T)             radians, top part about the template's axis/pivot
                         object_contact (N,T,2)         fraction of each hand's vertices within 1 cm of it
                         object_tips (N,T,2,5) bool     fingertips (thumb..pinky) within 1 cm of it
      shards/<subject>/<sequence>.json  the sequence's manifest rows, the source file's size and
                         mtime and the conversion settings: the resume marker, written after the npz
      stats.npz        FeatureStats (mean, std over D=324) of the train split's frames
      meta.json        format version, feature layout, fps, clip_len, stride, hand_model,
                       hand_pose_convention, hands_mean per hand, split rule, counts, run timing
      skipped.jsonl    one line per input file not (fully) converted:
                       {"file": relpath, "reason": "...", "partial": bool, ...}
      objects/<name>/  the objects' templates in METRES: mesh.obj, parts.json, object.json
                       (:func:`data_prep.arctic_objects.write_object_folder`)

Canonical frame: every clip is translated (no rotation) so that the right wrist at its
first frame is the origin. Hand index 0 is the left hand, 1 the right.

Prep owns every manifest field; once a captioner has set ``caption_source`` to something
other than ``"synthetic"``/null, re-running prep keeps that row's ``captions``,
``caption_source`` and any keys prep does not write (``object`` and ``verb`` are prep's;
see :func:`merge_caption_fields`).

This module knows the format only; the source converters live in ``data_prep``.
"""

from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from handgen.errors import InputFileError
from handgen.hand.topology import HANDS
from handgen.io.atomic import atomic_save_npz, atomic_write_json, atomic_write_jsonl
from handgen.io.motion_npz import HAND_POSE_CONVENTION
from handgen.repr.features import FEATURE_DIM, HAND_BLOCKS, SLICES
from handgen.repr.motion import BimanualMotion
from handgen.repr.normalization import FeatureStats

FORMAT_VERSION = 1
MANIFEST, STATS, META, SKIPPED, SHARDS = "manifest.jsonl", "stats.npz", "meta.json", "skipped.jsonl", "shards"
OBJECTS = "objects"
SPLITS: tuple[str, ...] = ("train", "val", "test")
ROW_KEYS: tuple[str, ...] = (
    "id", "source", "subject", "sequence", "start", "end", "fps", "split", "captions", "gt_captions",
    "gt_labels", "caption_source", "shard", "index", "hand_model",
)
PREP_CAPTION_SOURCES = (None, "synthetic", "handx")  # captions prep itself writes
PREP_OPTIONAL_KEYS: tuple[str, ...] = ("object", "verb", "member", "dataset")  # prep-owned fields beyond ROW_KEYS
# array name -> shape after the leading N (T = clip length)
SHARD_ARRAYS: dict[str, tuple[str | int, ...]] = {
    "features": ("T", FEATURE_DIM),
    "global_orient": ("T", 2, 3),
    "hand_pose": ("T", 2, 45),
    "transl": ("T", 2, 3),
    "betas": (2, 10),
    "joints": ("T", 2, 21, 3),
    "canonical_offset": (3,),
    "start": (),
}
# present together, only in shards of sequences with an object
OBJECT_ARRAYS: dict[str, tuple[str | int, ...]] = {
    "object_rot": ("T", 3),
    "object_transl": ("T", 3),
    "articulation": ("T",),
    "object_contact": ("T", 2),
    "object_tips": ("T", 2, 5),
}
ALL_ARRAYS = {**SHARD_ARRAYS, **OBJECT_ARRAYS}
_DTYPES = {"start": np.int64, "object_tips": np.bool_}


# -- names -------------------------------------------------------------------------------------
def clip_id(subject: str, sequence: str, start: int) -> str:
    """``"s01/box_use_01/000030"``."""
    return f"{subject}/{sequence}/{int(start):06d}"


def shard_relpath(subject: str, sequence: str) -> str:
    """``"shards/s01/box_use_01.npz"`` (relative to DATA_DIR, forward slashes)."""
    return f"{SHARDS}/{subject}/{sequence}.npz"


def feature_layout() -> dict[str, Any]:
    """The feature vector's layout for meta.json: dim, per-hand blocks, named slices."""
    return {
        "dim": FEATURE_DIM,
        "hands": list(HANDS),
        "hand_blocks": [[name, size] for name, size in HAND_BLOCKS],
        "slices": {name: [sl.start, sl.stop] for name, sl in SLICES.items()},
    }


# -- writing -------------------------------------------------------------------------------------
def validate_shard_arrays(arrays: Mapping[str, np.ndarray]) -> int:
    """Check a shard's arrays against :data:`SHARD_ARRAYS` (+ all or none of :data:`OBJECT_ARRAYS`); returns N.

    Raises:
        ValueError: a missing, unknown or wrongly shaped array.
    """
    missing = set(SHARD_ARRAYS) - set(arrays)
    if missing:
        raise ValueError(f"shard arrays missing {sorted(missing)}")
    unknown = set(arrays) - set(ALL_ARRAYS)
    if unknown:
        raise ValueError(f"unknown shard arrays {sorted(unknown)}")
    objects = set(OBJECT_ARRAYS) & set(arrays)
    if objects and objects != set(OBJECT_ARRAYS):
        raise ValueError(f"object arrays come together; missing {sorted(set(OBJECT_ARRAYS) - objects)}")
    n = int(np.asarray(arrays["start"]).shape[0])
    t = int(np.asarray(arrays["features"]).shape[1]) if np.ndim(arrays["features"]) > 1 else -1
    for key in arrays:
        tail = ALL_ARRAYS[key]
        want = (n, *(t if d == "T" else d for d in tail))
        if tuple(np.shape(arrays[key])) != want:
            raise ValueError(f"shard array {key} has shape {np.shape(arrays[key])}, expected {want}")
    return n


def write_shard(
    data_dir: str | Path, subject: str, sequence: str, arrays: Mapping[str, np.ndarray], marker: Mapping[str, Any]
) -> None:
    """Write ``shards/<subject>/<sequence>.npz`` then its ``.json`` marker, both atomically.

    ``marker`` must hold ``rows`` (the sequence's manifest rows); it usually also holds
    ``source`` (file, size, mtime_ns) and ``settings`` for resuming.
    """
    n = validate_shard_arrays(arrays)
    if len(marker.get("rows", ())) != n:
        raise ValueError(f"marker has {len(marker.get('rows', ()))} rows for {n} clips")
    data_dir = Path(data_dir)
    typed = {k: np.asarray(v, dtype=_DTYPES.get(k, np.float32)) for k, v in arrays.items()}
    atomic_save_npz(data_dir / shard_relpath(subject, sequence), **typed)
    write_shard_marker(data_dir, subject, sequence, marker)


def write_shard_marker(data_dir: str | Path, subject: str, sequence: str, marker: Mapping[str, Any]) -> None:
    path = Path(data_dir) / shard_relpath(subject, sequence)
    atomic_write_json(path.with_suffix(".json"), {"format_version": FORMAT_VERSION, **marker})


def read_shard_marker(data_dir: str | Path, subject: str, sequence: str) -> dict[str, Any] | None:
    """The ``.json`` marker of a finished shard, or None (missing, unreadable, npz gone, old format)."""
    npz = Path(data_dir) / shard_relpath(subject, sequence)
    try:
        marker = json.loads(npz.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not npz.is_file() or not isinstance(marker, dict) or marker.get("format_version") != FORMAT_VERSION:
        return None
    return marker


def merge_caption_fields(new_row: dict[str, Any], old_row: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keep a captioner's work when prep rebuilds a row: see the module docstring."""
    if not old_row or old_row.get("caption_source") in PREP_CAPTION_SOURCES:
        return new_row
    if (old_row.get("shard"), old_row.get("start"), old_row.get("end")) != (
        new_row["shard"], new_row["start"], new_row["end"]
    ):
        return new_row
    out = dict(new_row)
    out["captions"] = old_row.get("captions", [])
    out["caption_source"] = old_row["caption_source"]
    for key, value in old_row.items():
        if key not in ROW_KEYS and key not in PREP_OPTIONAL_KEYS:
            out[key] = value
    return out


def compute_stats(data_dir: str | Path, rows: Sequence[Mapping[str, Any]]) -> FeatureStats:
    """Feature mean/std over every frame of ``rows``' clips, streamed shard by shard (float64)."""
    by_shard: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_shard[row["shard"]].append(int(row["index"]))
    count, mean, m2 = 0, np.zeros(FEATURE_DIM), np.zeros(FEATURE_DIM)
    for rel in sorted(by_shard):
        path = Path(data_dir) / rel
        feats = _load_shard_arrays(path, ("features",))["features"][sorted(by_shard[rel])]
        x = feats.reshape(-1, feats.shape[-1]).astype(np.float64)
        if len(x) == 0:
            continue
        n_b, mean_b = len(x), x.mean(axis=0)
        m2_b = ((x - mean_b) ** 2).sum(axis=0)
        delta, total = mean_b - mean, count + n_b
        mean = mean + delta * (n_b / total)
        m2 = m2 + m2_b + delta**2 * (count * n_b / total)
        count = total
    if count == 0:
        raise ValueError("cannot compute feature statistics from zero clips")
    return FeatureStats(mean=mean, std=np.maximum(np.sqrt(m2 / count), FeatureStats.STD_FLOOR))


def build_meta(
    *, source: str, fps: float, clip_len: int, stride: int, hand_model: str, hands_mean: Mapping[str, Any],
    split_rule: str, rows: Sequence[Mapping[str, Any]], skipped: Sequence[Mapping[str, Any]],
    stats_split: str = "train", **extra: Any,
) -> dict[str, Any]:
    """meta.json content; ``extra`` (e.g. ``run`` timing, ``sequences``) is added as is."""
    clips = {s: sum(r["split"] == s for r in rows) for s in SPLITS}
    sequences = {s: len({r["shard"] for r in rows if r["split"] == s}) for s in SPLITS}
    return {
        "format_version": FORMAT_VERSION,
        "source": source,
        "fps": float(fps),
        "clip_len": int(clip_len),
        "stride": int(stride),
        "hand_model": hand_model,
        "hand_pose_convention": HAND_POSE_CONVENTION,
        "hands_mean": {s: [float(v) for v in np.asarray(hands_mean[s]).reshape(-1)] for s in HANDS},
        "feature_layout": feature_layout(),
        "split_rule": split_rule,
        "stats_split": stats_split,
        "counts": {
            "clips": {**clips, "total": len(rows)},
            "sequences": {**sequences, "total": len({r["shard"] for r in rows})},
            "clip_frames": len(rows) * int(clip_len),
            "skipped_files": len(skipped),
            "partial_files": sum(bool(s.get("partial")) for s in skipped),
        },
        **extra,
    }


def write_index(
    data_dir: str | Path, rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any],
    skipped: Sequence[Mapping[str, Any]], stats: FeatureStats,
) -> None:
    """Write stats.npz, skipped.jsonl, meta.json and (last) manifest.jsonl, each atomically."""
    data_dir = Path(data_dir)
    stats.save(data_dir / STATS)
    write_skipped(data_dir, skipped)
    atomic_write_json(data_dir / META, dict(meta))
    atomic_write_jsonl(data_dir / MANIFEST, _sorted_rows(rows))


def write_skipped(data_dir: str | Path, skipped: Sequence[Mapping[str, Any]]) -> None:
    """skipped.jsonl, sorted by file (atomic)."""
    atomic_write_jsonl(Path(data_dir) / SKIPPED, sorted(skipped, key=lambda s: s["file"]))


def _sorted_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(rows, key=lambda r: r["id"])


# -- reading -------------------------------------------------------------------------------------
def _load_shard_arrays(path: Path, keys: Iterable[str]) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise InputFileError(path, "shard file not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise InputFileError(path, f"shard is missing array(s) {missing}")
            return {k: npz[k] for k in keys}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, InputFileError):
            raise
        raise InputFileError(path, f"corrupt shard ({exc})") from None


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise InputFileError(path, "not found (is this a DATA_DIR written by `handgen prep`?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(path, f"not valid JSON ({exc})") from None


def read_manifest(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a manifest.jsonl, validated (required keys, unique ids). Raises InputFileError."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "not found (is this a DATA_DIR written by `handgen prep`?)")
    rows, seen = [], set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"unreadable ({exc})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise InputFileError(path, f"line {number} is not valid JSON") from None
        problem = _row_problem(row)
        if problem is None and row["id"] in seen:
            problem = f"duplicate id {row['id']!r}"
        if problem:
            raise InputFileError(path, f"line {number}: {problem}")
        seen.add(row["id"])
        rows.append(row)
    return rows


def _row_problem(row: Any) -> str | None:
    if not isinstance(row, dict):
        return "not a JSON object"
    missing = [k for k in ROW_KEYS if k not in row]
    if missing:
        return f"missing key(s) {missing}"
    if row["split"] not in SPLITS:
        return f"split must be one of {SPLITS}, got {row['split']!r}"
    if not isinstance(row["captions"], list):
        return "captions must be a list"
    return None


@dataclass
class ClipRecord:
    """One clip loaded from a DATA_DIR (canonical frame, absolute hand_pose)."""

    row: dict[str, Any]
    features: np.ndarray  # (T, D) float32
    motion: BimanualMotion
    joints: np.ndarray  # (T, 2, 21, 3) metres


@dataclass
class ObjectClip:
    """The object of one clip: pose per frame in the clip's canonical frame, and hand contact."""

    name: str
    rot: np.ndarray  # (T, 3) axis-angle
    transl: np.ndarray  # (T, 3) metres
    articulation: np.ndarray  # (T,) radians
    contact: np.ndarray  # (T, 2) fraction of hand vertices within 1 cm
    tips: np.ndarray  # (T, 2, 5) bool


class DataDir:
    """Read a DATA_DIR: ``meta``, ``manifest``, ``stats``, clips and whole splits.

    Shard arrays are cached once read (call :meth:`clear_cache` to drop them).

    Raises:
        InputFileError: a missing or corrupt meta.json, manifest.jsonl, stats.npz or shard.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise InputFileError(self.path, "DATA_DIR not found")
        meta = _read_json(self.path / META)
        if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
            version = meta.get("format_version") if isinstance(meta, dict) else None
            raise InputFileError(self.path / META, f"format version {version!r}, this handgen reads {FORMAT_VERSION}")
        self.meta: dict[str, Any] = meta
        self.manifest: list[dict[str, Any]] = read_manifest(self.path / MANIFEST)
        self._by_id = {row["id"]: row for row in self.manifest}
        self._stats: FeatureStats | None = None
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    @property
    def stats(self) -> FeatureStats:
        if self._stats is None:
            path = self.path / STATS
            try:
                stats = FeatureStats.load(path)
            except (FileNotFoundError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise InputFileError(path, f"bad normalisation statistics ({exc})") from None
            if stats.mean.shape != (FEATURE_DIM,):
                raise InputFileError(path, f"expected {FEATURE_DIM} dims, got {stats.mean.shape}")
            self._stats = stats
        return self._stats

    @property
    def clip_len(self) -> int:
        return int(self.meta["clip_len"])

    def clips(self, split: str | None = None) -> list[dict[str, Any]]:
        """Manifest rows (sorted by id), optionally of one split."""
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return [r for r in self.manifest if split is None or r["split"] == split]

    def row(self, clip: str) -> dict[str, Any]:
        try:
            return self._by_id[clip]
        except KeyError:
            raise KeyError(f"no clip {clip!r} in {self.path / MANIFEST}") from None

    def shard_array(self, shard: str, key: str) -> np.ndarray:
        """One array of one shard (cached), checked against the format."""
        if key not in ALL_ARRAYS:
            raise KeyError(key)
        if (shard, key) not in self._cache:
            path = self.path / shard
            value = _load_shard_arrays(path, (key,))[key]
            tail = tuple(self.clip_len if d == "T" else d for d in ALL_ARRAYS[key])
            if value.shape[1:] != tail:
                raise InputFileError(path, f"{key} has shape {value.shape}, expected (N, {', '.join(map(str, tail))})")
            self._cache[(shard, key)] = value
        return self._cache[(shard, key)]

    def clear_cache(self) -> None:
        self._cache.clear()

    def _index(self, row: Mapping[str, Any], key: str) -> np.ndarray:
        array = self.shard_array(row["shard"], key)
        if not 0 <= int(row["index"]) < len(array):
            raise InputFileError(self.path / row["shard"], f"has {len(array)} clips, manifest asks for #{row['index']}")
        return array[int(row["index"])]

    def load_clip(self, clip: str) -> ClipRecord:
        """One clip by id. Raises KeyError (unknown id) or InputFileError (bad shard)."""
        row = self.row(clip)
        arrays = {k: self._index(row, k) for k in ("features", "global_orient", "hand_pose", "transl", "betas", "joints")}
        motion = BimanualMotion(
            global_orient=arrays["global_orient"].astype(np.float64),
            hand_pose=arrays["hand_pose"].astype(np.float64),
            transl=arrays["transl"].astype(np.float64),
            betas=arrays["betas"].astype(np.float64),
            fps=float(row["fps"]),
        )
        return ClipRecord(row=row, features=arrays["features"], motion=motion, joints=arrays["joints"])

    def load_object(self, clip: str) -> ObjectClip | None:
        """The object of one clip (pose, articulation, contact), or None when it has none.

        Raises KeyError (unknown id) or InputFileError (bad shard, missing object arrays).
        """
        row = self.row(clip)
        if not row.get("object"):
            return None
        arrays = {k: self._index(row, k) for k in OBJECT_ARRAYS}
        return ObjectClip(
            name=str(row["object"]), rot=arrays["object_rot"].astype(np.float64),
            transl=arrays["object_transl"].astype(np.float64), articulation=arrays["articulation"].astype(np.float64),
            contact=arrays["object_contact"], tips=arrays["object_tips"].astype(bool),
        )

    def object_folder(self, name: str) -> Path:
        """``objects/<name>/`` (metric template: mesh.obj, parts.json, object.json)."""
        return self.path / OBJECTS / name

    def split_arrays(self, split: str) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """All features of a split (N, T, D) float32 in manifest order, with their rows."""
        rows = self.clips(split)
        out = np.empty((len(rows), self.clip_len, FEATURE_DIM), dtype=np.float32)
        by_shard: dict[str, list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            by_shard[row["shard"]].append(i)
        for shard, positions in by_shard.items():
            feats = self.shard_array(shard, "features")
            index = np.array([int(rows[i]["index"]) for i in positions])
            if index.size and (index.min() < 0 or index.max() >= len(feats)):
                raise InputFileError(self.path / shard, f"has {len(feats)} clips, manifest asks for #{index.max()}")
            out[positions] = feats[index]
        return out, rows

    def rewrite_manifest(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Replace manifest.jsonl atomically with ``rows`` (validated, sorted by id)."""
        clean, seen = [], set()
        for row in rows:
            problem = _row_problem(row)
            if problem is None and row["id"] in seen:
                problem = f"duplicate id {row['id']!r}"
            if problem:
                raise ValueError(f"bad manifest row {row.get('id') if isinstance(row, dict) else row!r}: {problem}")
            seen.add(row["id"])
            clean.append(dict(row))
        clean = [dict(r) for r in _sorted_rows(clean)]
        atomic_write_jsonl(self.path / MANIFEST, clean)
        self.manifest = clean
        self._by_id = {row["id"]: row for row in clean}
