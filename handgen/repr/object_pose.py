"""Rigid and two-part articulated objects: a template in its canonical frame and its pose per frame.

A template's vertices (metres, articulation 0) carry a part label: 0 bottom (fixed), 1 top
(moving). Posing a vertex ``v`` with articulation ``a``, axis-angle ``rot`` and translation ``t``:

    top part:  v' = R(axis * a) (v - pivot) + pivot        bottom part: v' = v
    world:     x  = R(rot) v' + t

ARCTIC's convention (docs/reference.md section 2) is ``axis = [0, 0, -1]`` through ``pivot = 0``
(its code rotates the raw template vertices, i.e. about an axis through the canonical
origin); the pivot is explicit so that other templates can put their hinge elsewhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from handgen.geometry.grid_kernels import frame_map

ARCTIC_AXIS = (0.0, 0.0, -1.0)
ARCTIC_PIVOT = (0.0, 0.0, 0.0)


@dataclass
class ObjectTemplate:
    """A rigid or two-part articulated object in its canonical frame (metres)."""

    name: str
    vertices: np.ndarray  # (V, 3) float64, metres, articulation 0
    faces: np.ndarray  # (F, 3) int64
    parts: np.ndarray  # (V,) int8: 1 top (moving), 0 bottom
    axis: np.ndarray = field(default_factory=lambda: np.array(ARCTIC_AXIS))  # (3,) unit
    pivot: np.ndarray = field(default_factory=lambda: np.array(ARCTIC_PIVOT))  # (3,) metres
    category: str = ""

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, dtype=np.float64)
        self.faces = np.asarray(self.faces, dtype=np.int64)
        self.parts = np.asarray(self.parts, dtype=np.int8)
        self.axis = np.asarray(self.axis, dtype=np.float64)
        self.axis = self.axis / np.linalg.norm(self.axis)
        self.pivot = np.asarray(self.pivot, dtype=np.float64)
        if not self.category:
            self.category = self.name

    @property
    def articulated(self) -> bool:
        return bool(self.parts.any()) and not bool(self.parts.all())

    def face_parts(self) -> np.ndarray:
        """Part of each face (F,): the part of the majority of its three vertices."""
        return (self.parts[self.faces].sum(axis=1) >= 2).astype(np.int8)

    def part_mesh(self, part: int) -> tuple[np.ndarray, np.ndarray]:
        """Vertices (all, canonical) and the faces of one part (0 bottom, 1 top)."""
        return self.vertices, self.faces[self.face_parts() == part]

    def digest(self) -> str:
        """A short hash of the geometry, parts, axis and pivot."""
        h = hashlib.md5()
        for array in (self.vertices, self.faces, self.parts, self.axis, self.pivot):
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()[:16]


_NO_ADD = np.zeros(0)


def rotation_matrices(rotvec: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) -> rotation matrices (..., 3, 3) (float64)."""
    rotvec = np.asarray(rotvec, dtype=np.float64)
    return Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix().reshape(*rotvec.shape[:-1], 3, 3)


def articulation_matrices(template: ObjectTemplate, articulation: np.ndarray) -> np.ndarray:
    """Rotation (..., 3, 3) of the top part for articulation angles (...) radians."""
    angle = np.asarray(articulation, dtype=np.float64)
    return rotation_matrices(angle[..., None] * template.axis)


def articulated_vertices(template: ObjectTemplate, articulation: np.ndarray) -> np.ndarray:
    """Canonical vertices (F, V, 3) with the top part rotated about ``axis`` through ``pivot``."""
    articulation = np.atleast_1d(np.asarray(articulation, dtype=np.float64))
    verts = np.broadcast_to(template.vertices, (len(articulation), *template.vertices.shape)).copy()
    if template.articulated:
        top = template.parts == 1
        rot = articulation_matrices(template, articulation)  # (F,3,3)
        verts[:, top] = np.matmul(template.vertices[top] - template.pivot, np.swapaxes(rot, 1, 2)) + template.pivot
    return verts


def pose_object(
    template: ObjectTemplate, articulation: np.ndarray, rot: np.ndarray, transl_m: np.ndarray
) -> np.ndarray:
    """World vertices (F, V, 3) metres for articulation (F,), axis-angle (F,3), translation (F,3) metres."""
    rot = np.asarray(rot, dtype=np.float64).reshape(-1, 3)
    transl = np.asarray(transl_m, dtype=np.float64).reshape(-1, 3)
    canonical = articulated_vertices(template, np.asarray(articulation).reshape(-1))
    return np.matmul(canonical, np.swapaxes(rotation_matrices(rot), 1, 2)) + transl[:, None, :]


def world_to_canonical(points: np.ndarray, rot: np.ndarray, transl_m: np.ndarray) -> np.ndarray:
    """Points (F, N, 3) world -> the object's canonical frame (undo rotation and translation), float64.

    Row vectors: ``(p - t) R`` = ``(R^T (p - t))^T``, computed by :func:`handgen.geometry.grid_kernels.frame_map`
    (the same numbers on every CPU, unlike a BLAS matmul).
    """
    matrices = rotation_matrices(np.asarray(rot).reshape(-1, 3))
    shift = np.ascontiguousarray(np.asarray(transl_m, dtype=np.float64).reshape(-1, 3))
    return frame_map(_frames_of_points(points), shift, matrices, _NO_ADD)


def canonical_to_top_part(template: ObjectTemplate, points: np.ndarray, articulation: np.ndarray) -> np.ndarray:
    """Canonical points (F, N, 3) -> the top part's own frame (its articulation undone), float64."""
    rot = articulation_matrices(template, np.asarray(articulation).reshape(-1))
    pivot = np.asarray(template.pivot, dtype=np.float64)
    return frame_map(_frames_of_points(points), np.tile(pivot, (len(rot), 1)), rot, pivot)


def _frames_of_points(points: np.ndarray) -> np.ndarray:
    """Points (F, N, 3) as a contiguous float32 (kept) or float64 array, what frame_map reads."""
    points = np.asarray(points)
    return np.ascontiguousarray(points if points.dtype == np.float32 else points.astype(np.float64, copy=False))
