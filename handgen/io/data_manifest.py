"""DATA_DIR index files: manifest.jsonl (read and validated, captioners' fields kept on re-prep),
stats.npz (computed from the shards), meta.json and skipped.jsonl.

Layout and row keys: :mod:`handgen.io.data_format`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from handgen.errors import InputFileError
from handgen.hand.topology import HANDS
from handgen.io.atomic import atomic_write_json, atomic_write_jsonl
from handgen.io.data_format import (
    FEATURE_DIM,
    FORMAT_VERSION,
    MANIFEST,
    META,
    PREP_CAPTION_SOURCES,
    PREP_OPTIONAL_KEYS,
    ROW_KEYS,
    SKIPPED,
    SPLITS,
    STATS,
    feature_layout,
)
from handgen.io.data_shards import load_shard_arrays
from handgen.io.motion_npz import HAND_POSE_CONVENTION
from handgen.repr.normalization import FeatureStats


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
        feats = load_shard_arrays(path, ("features",))["features"][sorted(by_shard[rel])]
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
    atomic_write_jsonl(data_dir / MANIFEST, sorted_rows(rows))


def write_skipped(data_dir: str | Path, skipped: Sequence[Mapping[str, Any]]) -> None:
    """skipped.jsonl, sorted by file (atomic)."""
    atomic_write_jsonl(Path(data_dir) / SKIPPED, sorted(skipped, key=lambda s: s["file"]))


def sorted_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Manifest rows sorted by id (the manifest's order)."""
    return sorted(rows, key=lambda r: r["id"])


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
        problem = row_problem(row)
        if problem is None and row["id"] in seen:
            problem = f"duplicate id {row['id']!r}"
        if problem:
            raise InputFileError(path, f"line {number}: {problem}")
        seen.add(row["id"])
        rows.append(row)
    return rows


def row_problem(row: Any) -> str | None:
    """Why ``row`` is not a valid manifest row, or None."""
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
