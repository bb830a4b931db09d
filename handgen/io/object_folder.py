"""Object template folders: ``mesh.obj`` + ``parts.json`` + ``object.json``.

handgen's metric copy of an object (``objects/<name>/`` in a DATA_DIR or GRASP_DIR)::

    mesh.obj      the canonical template in METRES (articulation 0), ``v``/``f`` lines
    parts.json    one 0/1 per vertex (1 = top, moving part)
    object.json   {"name", "category", "articulated": bool, "axis": [x,y,z], "pivot": [x,y,z] metres}

ARCTIC's own templates (``meta/object_vtemplates/<obj>/``) have the same files in
millimetres and usually no ``object.json`` (:func:`load_template` with ``unit=0.001``);
posing: :mod:`handgen.repr.object_pose`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from handgen.errors import InputFileError
from handgen.geometry.mesh_file import read_mesh
from handgen.io.atomic import atomic_write_json, atomic_write_text
from handgen.repr.object_pose import ARCTIC_AXIS, ARCTIC_PIVOT, ObjectTemplate


def obj_text(vertices: np.ndarray, faces: np.ndarray, digits: int = 6) -> str:
    """A minimal Wavefront OBJ (``v`` and ``f`` lines, 1-based)."""
    fmt = f"v %.{digits}f %.{digits}f %.{digits}f"
    lines = ["# handgen object template"]
    lines += [fmt % tuple(v) for v in np.asarray(vertices, dtype=np.float64)]
    lines += ["f %d %d %d" % tuple(f) for f in np.asarray(faces, dtype=np.int64) + 1]
    return "\n".join(lines) + "\n"


def object_info(template: ObjectTemplate) -> dict:
    """The ``object.json`` content of a template."""
    return {
        "name": template.name, "category": template.category, "articulated": template.articulated,
        "axis": [float(v) for v in template.axis], "pivot": [float(v) for v in template.pivot],
    }


def write_template(folder: str | Path, template: ObjectTemplate, unit: float = 1.0, digits: int = 7) -> Path:
    """Write ``mesh.obj`` (in ``unit`` metres per file unit), ``parts.json`` and ``object.json`` atomically."""
    folder = Path(folder)
    atomic_write_text(folder / "mesh.obj", obj_text(template.vertices / unit, template.faces, digits=digits))
    atomic_write_json(folder / "parts.json", [int(p) for p in template.parts])
    atomic_write_json(folder / "object.json", object_info(template))
    return folder


def write_object_folder(folder: str | Path, template: ObjectTemplate) -> Path:
    """handgen's metric copy (see the module docstring)."""
    return write_template(folder, template, unit=1.0, digits=7)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(path, f"not valid JSON ({exc})") from None


def load_template(folder: str | Path, name: str | None = None, unit: float = 1.0) -> ObjectTemplate:
    """Read ``mesh.obj`` (+ ``parts.json``, + ``object.json``) of a template folder.

    ``unit`` is the length of one file unit in metres (ARCTIC: 0.001; handgen's copies: 1.0).
    Vertex order is kept as in the file, so ``parts.json`` lines up with it.

    Raises:
        InputFileError: missing/unparsable mesh, an empty mesh, NaN coordinates, parts of
            the wrong length or with values other than 0/1, a bad object.json.
    """
    folder = Path(folder)
    mesh = read_mesh(folder / "mesh.obj", what="object template mesh", keep_order=True)
    vertices, faces = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    parts = np.zeros(len(vertices), dtype=np.int8)
    parts_path = folder / "parts.json"
    if parts_path.is_file():
        values = np.asarray(_read_json(parts_path))
        if values.shape != (len(vertices),) or not np.isin(values, (0, 1)).all():
            raise InputFileError(parts_path, f"expected {len(vertices)} values of 0/1 (one per vertex), "
                                             f"got shape {values.shape}")
        parts = values.astype(np.int8)
    info: dict = {}
    info_path = folder / "object.json"
    if info_path.is_file():
        info = _read_json(info_path)
        if not isinstance(info, dict):
            raise InputFileError(info_path, "expected a JSON object")
    try:
        axis = np.asarray(info.get("axis", ARCTIC_AXIS), dtype=np.float64).reshape(3)
        pivot = np.asarray(info.get("pivot", ARCTIC_PIVOT), dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise InputFileError(info_path, "axis and pivot must be 3 numbers each") from None
    if not np.linalg.norm(axis) > 0:
        raise InputFileError(info_path, "axis must be a non-zero vector")
    name = name or str(info.get("name") or folder.name)
    return ObjectTemplate(name=name, vertices=vertices * unit, faces=faces, parts=parts, axis=axis, pivot=pivot,
                          category=str(info.get("category") or name))
