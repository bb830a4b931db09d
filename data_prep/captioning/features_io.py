"""A DATA_DIR clip -> its events JSON, and where that JSON is stored.

The events of clip ``<subject>/<sequence>/<start>`` are written to
``DATA_DIR/motion_events/<subject>/<sequence>/<start>.json`` (atomic); the manifest row
points at it with ``motion_events`` (relative path). Optional object inputs are read from
the clip's shard when present: ``object_contact (N, T, 2)``, ``object_tips (N, T, 2, 5)``,
the object's pose ``object_rot``/``object_transl (N, T, 3)`` and ``articulation (N, T)``, and
the row's ``object`` name; the object's position is the bounding-box centre of its template
(``objects/<name>/mesh.obj``; the template origin when the folder is missing).
"""

from __future__ import annotations

import json
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from data_prep.events import clip_events, events_json
from handgen.analysis import extract_clip_features
from handgen.errors import InputFileError
from handgen.io.atomic import atomic_write_text
from handgen.io.data_dir import DataDir
from handgen.io.object_folder import load_template

EVENTS_DIR = "motion_events"
OBJECT_KEYS = ("object_contact", "object_tips", "object_rot", "object_transl", "articulation")


def events_relpath(clip_id: str) -> str:
    """``motion_events/<subject>/<sequence>/<start>.json`` (relative to DATA_DIR)."""
    return f"{EVENTS_DIR}/{clip_id}.json"


def object_arrays(data: DataDir, row: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The clip's optional object-contact arrays (empty dict when the shard has none)."""
    path = data.path / row["shard"]
    try:
        with np.load(path, allow_pickle=False) as npz:
            present = [k for k in OBJECT_KEYS if k in npz.files]
            return {k: np.asarray(npz[k][int(row["index"])]) for k in present}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, IndexError) as exc:
        raise InputFileError(path, f"cannot read object contact arrays ({exc})") from None


@lru_cache(maxsize=32)
def _template_centre(folder: str, stamp: int) -> np.ndarray | None:
    """Bounding-box centre (3,) of a metric template folder's mesh, or None when it cannot be read.

    ``stamp`` (the mesh file's mtime) keeps the cache from serving a rewritten template.
    """
    try:
        vertices = load_template(folder).vertices
    except InputFileError:
        return None
    return 0.5 * (vertices.min(axis=0) + vertices.max(axis=0))


def object_centre(data: DataDir, name: str | None) -> np.ndarray | None:
    """Canonical centre (3,) of the DATA_DIR's template ``name`` (None without a readable one)."""
    if not name:
        return None
    folder = data.object_folder(str(name))
    try:
        stamp = (folder / "mesh.obj").stat().st_mtime_ns
    except OSError:
        return None
    return _template_centre(str(folder), stamp)


def clip_event_json(data: DataDir, row: Mapping[str, Any]) -> dict[str, Any]:
    """Extract the features of one manifest row's clip and segment them into events.

    Raises:
        InputFileError: a bad shard, or joints/object arrays the features cannot use.
    """
    record = data.load_clip(row["id"])
    objects = object_arrays(data, row)
    try:
        features = extract_clip_features(
            record.joints, fps=float(row.get("fps") or 30.0),
            object_contact=objects.get("object_contact"), object_tips=objects.get("object_tips"),
            object_rot=objects.get("object_rot"), object_transl=objects.get("object_transl"),
            articulation=objects.get("articulation"),
            object_centre=object_centre(data, row.get("object")) if "object_rot" in objects else None,
        )
    except ValueError as exc:
        raise InputFileError(data.path / row["shard"], f"clip {row['id']}: {exc}") from None
    return clip_events(features, object_name=row.get("object"))


def write_events(data_dir: str | Path, clip_id: str, events: Mapping[str, Any]) -> str:
    """Write a clip's events JSON atomically; returns its path relative to DATA_DIR."""
    rel = events_relpath(clip_id)
    atomic_write_text(Path(data_dir) / rel, events_json(dict(events)) + "\n")
    return rel


def read_events(data_dir: str | Path, rel: str) -> dict[str, Any] | None:
    """A stored events JSON, or None when missing or unreadable."""
    try:
        value = json.loads((Path(data_dir) / rel).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
