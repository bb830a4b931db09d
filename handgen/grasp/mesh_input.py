"""Loading a user's object mesh for grasping: parse, validate, scale, repair what is safe to repair.

Checks, each a one-line :class:`InputFileError` naming the file:

- the file is missing, is not a mesh trimesh can parse, holds no triangles, or has NaN/inf
  vertices (:func:`handgen.geometry.mesh_file.read_mesh`, the one mesh loader);
- the size is implausible for a hand-held object (longest side outside
  ``[MIN_EXTENT, MAX_EXTENT]`` metres): the message suggests ``--scale`` (e.g. 0.001 for
  a file in millimetres);
- the surface encloses no volume (flat, degenerate, or an open sheet).

Automatic, documented fixes (listed in ``ObjectMesh.fixes``):

- vertices are merged (textured exports split them along UV seams) and degenerate
  faces dropped; inconsistent face winding is made consistent;
- inverted normals (winding number ~ -1 inside) are flipped;
- a mesh of more than ``FACE_BUDGET`` triangles is simplified to the budget (quadric decimation,
  ``fast-simplification``): a 1.3M-face scan would otherwise take minutes and GBs per grasp.

Non-watertight meshes are accepted: the inside test is the generalised winding number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import trimesh

from handgen.errors import InputFileError
from handgen.geometry.mesh_file import check_not_flat, read_mesh
from handgen.geometry.ray_parity import grid_inside_votes
from handgen.geometry.winding import WindingNumber

log = logging.getLogger(__name__)

MIN_EXTENT = 0.01  # metres: smaller than a marble is not a bimanual grasp target
MAX_EXTENT = 1.5  # metres: larger than a big box held in two arms
FACE_BUDGET = 50_000  # triangles: denser meshes are simplified (a hand sees ~mm detail; YCB meshes have ~16k)
_PROBE = 48  # probes along the longest side for the volume check


@dataclass
class ObjectMesh:
    """A validated object mesh in metres (the input file's coordinates times ``scale``)."""

    vertices: np.ndarray  # (V, 3) float64
    faces: np.ndarray  # (F, 3) int64, counter-clockwise seen from outside
    path: Path
    scale: float
    volume: float  # m^3, winding-number estimate
    fixes: list[str] = field(default_factory=list)

    @property
    def extents(self) -> np.ndarray:
        return self.vertices.max(0) - self.vertices.min(0)

    @property
    def center(self) -> np.ndarray:
        """Centre of the bounding box, metres."""
        return 0.5 * (self.vertices.max(0) + self.vertices.min(0))


def _suggest_scale(longest: float) -> str:
    for factor, unit in ((0.001, "millimetres"), (0.01, "centimetres"), (0.0254, "inches")):
        if MIN_EXTENT <= longest * factor <= MAX_EXTENT and longest > MAX_EXTENT:
            return f"; if the file is in {unit}, pass --scale {factor:g}"
    if longest < MIN_EXTENT:
        return f"; pass --scale to convert it to metres (e.g. --scale {round(0.1 / max(longest, 1e-12)):g} for ~10 cm)"
    return "; pass --scale to convert it to metres"


def simplify_to_budget(mesh, face_budget: int, path: Path, fixes: list[str]):
    """Quadric-decimate ``mesh`` (a trimesh.Trimesh) to at most ``face_budget`` faces; notes it in ``fixes``."""
    n = len(mesh.faces)
    log.warning("%s: %d triangles, above the face budget of %d: simplifying (quadric decimation)...", path, n,
                face_budget)
    try:
        simple = mesh.simplify_quadric_decimation(face_count=face_budget)
    except Exception as exc:  # the simplifier's own errors vary
        raise InputFileError(path, f"has {n} triangles and could not be simplified to {face_budget} "
                                   f"({exc.__class__.__name__}: {exc}); simplify it first") from None
    simple.remove_unreferenced_vertices()
    fixes.append(f"simplified from {n} to {len(simple.faces)} triangles (face budget {face_budget})")
    return simple


def load_object_mesh(path: str | Path, scale: float = 1.0, face_budget: int = FACE_BUDGET,
                     what: str = "mesh file") -> ObjectMesh:
    """Read, scale, validate and repair an object mesh (see the module docstring); ``what`` names it in errors.

    Raises:
        InputFileError: the file is missing, unparsable, empty, not finite, implausibly
            sized or encloses no volume.
        HandgenError: ``scale`` is not a positive finite number.
    """
    path = Path(path)
    mesh = read_mesh(path, scale, what=what)
    fixes: list[str] = []
    n_before = len(mesh.vertices)
    mesh.merge_vertices(merge_tex=True, merge_norm=True)
    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.remove_unreferenced_vertices()
    if len(mesh.vertices) < n_before:
        fixes.append(f"merged {n_before - len(mesh.vertices)} duplicate vertices")
    if len(mesh.faces) == 0:
        raise InputFileError(path, "has zero volume (every triangle is degenerate)")
    if len(mesh.faces) > face_budget:
        mesh = simplify_to_budget(mesh, face_budget, path, fixes)
    longest = float(mesh.extents.max())
    if not MIN_EXTENT <= longest <= MAX_EXTENT:
        raise InputFileError(
            path,
            f"implausible size for a hand-held object: its longest side is {longest:.4g} m after --scale {scale:g} "
            f"(expected {MIN_EXTENT}..{MAX_EXTENT} m){_suggest_scale(longest)}",
        )
    check_not_flat(path, mesh.vertices)
    if not mesh.is_winding_consistent:
        trimesh.repair.fix_winding(mesh)
        fixes.append("made the face winding consistent")
    volume = _enclosed_volume(mesh.vertices, mesh.faces)
    if volume < 0:
        mesh.invert()
        volume = -volume
        fixes.append("flipped inverted normals")
    if volume < 1e-3 * float(np.prod(mesh.extents)):
        raise InputFileError(path, "has zero volume (the surface encloses no space: an open sheet or a degenerate mesh)")
    for note in fixes:
        log.info("%s: %s", path, note)
    return ObjectMesh(np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int64), path, float(scale), volume, fixes)


def _enclosed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Enclosed volume (m^3) by ray-parity votes on a probe grid, negative for inverted normals.

    Parity ignores orientation, so it measures the volume; the winding number at a few
    inside probes (~+1 outward, ~-1 inverted) gives the orientation.
    """
    lo, hi = vertices.min(0), vertices.max(0)
    spacing = float((hi - lo).max()) / _PROBE
    counts = np.maximum(np.ceil((hi - lo) / spacing).astype(int), 1)
    origin = 0.5 * (lo + hi) - 0.5 * spacing * (counts - 1)
    votes = grid_inside_votes(vertices, faces, origin, spacing, tuple(int(c) for c in counts))
    idx = np.argwhere(votes >= 4)  # (k, j, i)
    if len(idx) == 0:
        return 0.0
    pick = idx[np.random.default_rng(0).choice(len(idx), min(len(idx), 64), replace=False)]
    probes = origin + spacing * pick[:, ::-1]
    sign = 1.0 if float(np.mean(WindingNumber(vertices, faces)(probes))) >= 0 else -1.0
    return sign * len(idx) * spacing**3
