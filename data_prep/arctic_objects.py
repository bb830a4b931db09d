"""ARCTIC objects on disk: templates (mm), ``.object.npy`` trajectories, and their posing.

Layout (ARCTIC, docs/reference.md section 2; also what ``handgen prep synthetic`` writes)::

    ARCTIC_ROOT/meta/object_vtemplates/<obj>/mesh.obj     the canonical template, MILLIMETRES
    ARCTIC_ROOT/meta/object_vtemplates/<obj>/parts.json   per-vertex list: 1 = top (moving), 0 = bottom
    ARCTIC_ROOT/meta/object_vtemplates/<obj>/object.json  optional (handgen): {"category": ..., "axis", "pivot"}
    ARCTIC_ROOT/raw_seqs/<subject>/<obj>_<grab|use>_NN.object.npy   plain (F,7) float array:
        [articulation (rad), axis-angle (3), translation (3, MILLIMETRES)]

The object of a sequence is the part of its name before the first ``_``. Templates are
converted to metres on load and translations to metres on read. Posing
(:func:`pose_object`, from :mod:`handgen.repr.object_pose`): the top part rotates about
``[0, 0, -1] * articulation`` through the canonical origin (ARCTIC's pivot, explicit in the
template), then ``x = R(axis_angle) v + translation``. handgen's metric copies
(``objects/<name>/``) are written by :func:`handgen.io.object_folder.write_object_folder`.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handgen.errors import InputFileError
from handgen.io.object_folder import load_template as load_template_folder
from handgen.io.object_folder import write_object_folder, write_template
from handgen.repr.object_pose import (
    ObjectTemplate,
    canonical_to_top_part,
    pose_object,
    rotation_matrices,
    world_to_canonical,
)

OBJECT_SUFFIX = ".object.npy"
TEMPLATES_DIR = Path("meta") / "object_vtemplates"
MM = 0.001

__all__ = [
    "MM", "OBJECT_SUFFIX", "TEMPLATES_DIR", "ObjectTemplate", "ObjectTrack", "canonical_to_top_part",
    "load_template", "object_name_of", "pose_object", "read_object_track", "rotation_matrices",
    "template_folder", "world_to_canonical", "write_arctic_template", "write_object_folder",
]


@dataclass
class ObjectTrack:
    """An object's per-frame pose: x_world = R(rot) x_canonical' + transl (metres)."""

    articulation: np.ndarray  # (F,) radians
    rot: np.ndarray  # (F, 3) axis-angle
    transl: np.ndarray  # (F, 3) metres
    valid: np.ndarray  # (F,) bool: all seven values finite (invalid frames hold zeros)

    @property
    def num_frames(self) -> int:
        return int(self.articulation.shape[0])


def object_name_of(sequence: str) -> str:
    """``"box_use_01"`` -> ``"box"`` (ARCTIC names sequences ``<object>_<grab|use>_NN``)."""
    return sequence.split("_", 1)[0]


def template_folder(root: str | Path, name: str) -> Path:
    """``ARCTIC_ROOT/meta/object_vtemplates/<name>``."""
    return Path(root) / TEMPLATES_DIR / name


def read_object_track(path: str | Path, frames: int | None = None) -> ObjectTrack:
    """Read a ``.object.npy`` (F,7) file (no pickle); translation mm -> metres.

    Raises:
        InputFileError: unreadable/truncated file, not a numeric (F,7) array, or (with
            ``frames``) a frame count that differs from the hands'.
    """
    path = Path(path)
    try:
        raw = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(path, f"unreadable object trajectory ({type(exc).__name__}: {exc})") from None
    if not isinstance(raw, np.ndarray) or raw.ndim != 2 or raw.shape[1] != 7 or not np.issubdtype(raw.dtype, np.number):
        raise InputFileError(path, f"expected a numeric (F, 7) array, got shape {getattr(raw, 'shape', None)}")
    if frames is not None and raw.shape[0] != frames:
        raise InputFileError(path, f"has {raw.shape[0]} frames but the hands have {frames}")
    data = raw.astype(np.float64)
    valid = np.isfinite(data).all(axis=1)
    data = np.where(valid[:, None], data, 0.0)
    return ObjectTrack(articulation=data[:, 0], rot=data[:, 1:4], transl=data[:, 4:7] * MM, valid=valid)


def load_template(folder: str | Path, name: str | None = None) -> ObjectTemplate:
    """An ARCTIC template folder (``mesh.obj`` in mm, ``parts.json``), in metres. Raises InputFileError."""
    return load_template_folder(folder, name, unit=MM)


def write_arctic_template(root: str | Path, template: ObjectTemplate) -> Path:
    """Write ``meta/object_vtemplates/<name>/`` under ``root`` in ARCTIC's units (mm)."""
    return write_template(template_folder(root, template.name), template, unit=MM, digits=4)
