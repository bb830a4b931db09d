"""Reading a triangle mesh from a file: the one loader, with one set of one-line errors.

Every mesh handgen reads (a user's object for grasping, object template folders, grasp
data, a grasp file's recorded mesh, the YCB meshes of the synthetic catalogue) goes through
:func:`read_mesh`. It loads with trimesh as a single mesh (a scene's geometry concatenated,
nothing merged or reordered), multiplies by ``scale`` and raises :class:`InputFileError`
``"<path>: <problem>"`` for:

- a missing file: ``"<what> not found"`` (``what`` names the file's role, default ``mesh file``),
  or a path that is not a file: ``"not a file"``;
- a file trimesh cannot parse: ``"cannot be parsed as a mesh (<error>)"``;
- no triangles (empty, a point cloud, a scene without meshes): ``"holds no triangles (empty or
  not a triangle mesh)"``;
- NaN/inf coordinates: ``"has NaN or infinite vertex coordinates"``;
- with ``solid=True``, a flat mesh (:func:`check_not_flat`): ``"has zero volume (flat: extents
  [...] m)"``.

A non-positive or non-finite ``scale`` is a :class:`HandgenError` naming ``--scale``.

trimesh is imported when a mesh is read, not with this module: :mod:`handgen.io.motion_npz`
(every sample, render and export command) reaches it through :mod:`handgen.io.grasp_npz`, and
importing trimesh costs those commands' start-up ~0.3 s for nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from handgen.errors import HandgenError, InputFileError

if TYPE_CHECKING:
    import trimesh

FLAT_RATIO = 1e-4  # a mesh whose shortest side is below this fraction of its longest is flat


def check_not_flat(path: str | Path, vertices: np.ndarray) -> None:
    """Raise InputFileError when vertices (V,3) span (almost) no thickness along some axis."""
    extents = vertices.max(0) - vertices.min(0)
    if float(extents.min()) < FLAT_RATIO * float(extents.max()):
        raise InputFileError(path, f"has zero volume (flat: extents {np.round(extents, 5).tolist()} m)")


def read_mesh(
    path: str | Path, scale: float = 1.0, what: str = "mesh file", keep_order: bool = False, solid: bool = False,
) -> trimesh.Trimesh:
    """The triangle mesh in ``path`` times ``scale`` (vertices float64, faces int64, unprocessed).

    ``keep_order``: keep the file's vertex order exactly (per-vertex labels stored beside
    the mesh line up with it). ``solid``: also reject a flat mesh. Errors: the module docstring.
    """
    import trimesh  # see the module docstring

    path = Path(path)
    if not np.isfinite(scale) or scale <= 0:
        raise HandgenError(f"--scale must be a positive number, got {scale}")
    if not path.is_file():
        raise InputFileError(path, f"{what} not found" if not path.exists() else "not a file")
    try:
        loaded = trimesh.load(str(path), force="mesh", process=False, maintain_order=keep_order)
    except Exception as exc:  # noqa: BLE001 - trimesh raises many kinds on bad files
        raise InputFileError(path, f"cannot be parsed as a mesh ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0 or len(loaded.vertices) == 0:
        raise InputFileError(path, "holds no triangles (empty or not a triangle mesh)")
    vertices = np.asarray(loaded.vertices, dtype=np.float64) * scale
    if not np.isfinite(vertices).all():
        raise InputFileError(path, "has NaN or infinite vertex coordinates")
    if solid:
        check_not_flat(path, vertices)
    return trimesh.Trimesh(vertices, np.asarray(loaded.faces, dtype=np.int64), process=False)
