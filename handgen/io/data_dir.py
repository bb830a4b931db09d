"""DATA_DIR: handgen's processed-clip format; this module reads it (:class:`DataDir`).

The layout (file by file, array shapes, the canonical frame, who owns which manifest field) is
documented in :mod:`handgen.io.data_format`; writing lives in :mod:`handgen.io.data_shards`
(shards and resume markers) and :mod:`handgen.io.data_manifest` (manifest, stats, meta, skipped).
Every public name of those modules is importable from here too, as callers have always done
(``from handgen.io import data_dir as fmt``).
"""

from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from handgen.errors import InputFileError
from handgen.io.atomic import atomic_write_jsonl
from handgen.io.data_format import (
    ALL_ARRAYS,
    FEATURE_DIM,
    FORMAT_VERSION,
    MANIFEST,
    META,
    OBJECT_ARRAYS,
    OBJECTS,
    PREP_CAPTION_SOURCES,
    PREP_OPTIONAL_KEYS,
    ROW_KEYS,
    SHARD_ARRAYS,
    SHARDS,
    SKIPPED,
    SPLITS,
    STATS,
    clip_id,
    feature_layout,
    shard_relpath,
)
from handgen.io.data_manifest import (
    build_meta,
    compute_stats,
    merge_caption_fields,
    read_manifest,
    row_problem,
    sorted_rows,
    write_index,
    write_skipped,
)
from handgen.io.data_shards import (
    load_shard_arrays,
    read_shard_marker,
    shard_fingerprint,
    validate_shard_arrays,
    write_shard,
    write_shard_marker,
)
from handgen.repr.motion import BimanualMotion
from handgen.repr.normalization import FeatureStats

__all__ = [
    "ALL_ARRAYS",
    "FEATURE_DIM",
    "FORMAT_VERSION",
    "MANIFEST",
    "META",
    "OBJECTS",
    "OBJECT_ARRAYS",
    "PREP_CAPTION_SOURCES",
    "PREP_OPTIONAL_KEYS",
    "ROW_KEYS",
    "SHARDS",
    "SHARD_ARRAYS",
    "SKIPPED",
    "SPLITS",
    "STATS",
    "ClipRecord",
    "DataDir",
    "ObjectClip",
    "build_meta",
    "clip_id",
    "compute_stats",
    "feature_layout",
    "load_shard_arrays",
    "merge_caption_fields",
    "read_manifest",
    "read_shard_marker",
    "row_problem",
    "shard_fingerprint",
    "shard_relpath",
    "sorted_rows",
    "validate_shard_arrays",
    "write_index",
    "write_shard",
    "write_shard_marker",
    "write_skipped",
]


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise InputFileError(path, "not found (is this a DATA_DIR written by `handgen prep`?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(path, f"not valid JSON ({exc})") from None


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
            value = load_shard_arrays(path, (key,))[key]
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
            problem = row_problem(row)
            if problem is None and row["id"] in seen:
                problem = f"duplicate id {row['id']!r}"
            if problem:
                raise ValueError(f"bad manifest row {row.get('id') if isinstance(row, dict) else row!r}: {problem}")
            seen.add(row["id"])
            clean.append(dict(row))
        clean = [dict(r) for r in sorted_rows(clean)]
        atomic_write_jsonl(self.path / MANIFEST, clean)
        self.manifest = clean
        self._by_id = {row["id"]: row for row in clean}
