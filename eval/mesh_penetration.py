"""How deep one triangle mesh reaches into another (hand-hand interpenetration).

Inside test: generalised winding number ``w(q) = sum_f Omega_f(q) / 4 pi`` (solid angles,
van Oosterom-Strackee), dense in torch, ``w > 0.5`` inside: exact for closed meshes (the
procedural hand) and graceful for open ones (MANO's wrist opening). It runs only on
candidates: points within ``search_radius`` of the other surface (a k-d tree over dense
surface samples) that lie behind the nearest sample's face or within ``SURFACE_BAND`` of it,
so frames where the hands are apart cost almost nothing. No point inside a hand is more than
~1.5 cm from its surface, so the 3 cm default radius loses nothing there; for bulky meshes
pass a larger one. Depth of an inside point: the exact distance to the nearest of the faces
of its nearest samples (:mod:`handgen.geometry.mesh_distance`, the core's one distance kernel).

The winding number is :func:`handgen.geometry.winding.dense_winding_numbers` (exact, every face:
candidate sets here are small, so the clustered :class:`~handgen.geometry.winding.WindingNumber`
would not pay for its set-up).
"""

from __future__ import annotations

import numpy as np

from handgen.geometry.mesh_distance import NEAREST_SAMPLES, SurfaceSamples, nearest_face_distance
from handgen.geometry.winding import dense_winding_numbers

SEARCH_RADIUS = 0.03  # metres (see the module docstring)
SURFACE_BAND = 0.003  # metres: closer than this to the surface, the face-side test is not trusted
SAMPLES_PER_FACE = 4


def penetration_depths(vertices: np.ndarray, faces: np.ndarray, other_vertices: np.ndarray,
                       other_faces: np.ndarray, search_radius: float = SEARCH_RADIUS) -> np.ndarray:
    """Depth (V,) in metres of each vertex of one mesh inside the other mesh (0 when outside)."""
    v = np.asarray(vertices, dtype=np.float64)
    ov = np.asarray(other_vertices, dtype=np.float64)
    of = np.asarray(other_faces, dtype=np.int64)
    depth = np.zeros(len(v))
    lo, hi = ov.min(0) - search_radius, ov.max(0) + search_radius
    near = np.flatnonzero(np.all((v >= lo) & (v <= hi), axis=1))
    if near.size == 0:
        return depth
    surface = SurfaceSamples(ov, of, SAMPLES_PER_FACE * len(of), with_vertices=True)
    dist, idx = surface.nearest(v[near], NEAREST_SAMPLES)
    first = idx[:, 0]
    behind = ((v[near] - surface.points[first]) * surface.face_normals[surface.faces[first]]).sum(1) < 0
    cand = (dist[:, 0] < search_radius) & (behind | (dist[:, 0] < SURFACE_BAND))
    near, idx = near[cand], idx[cand]
    if near.size == 0:
        return depth
    inside = dense_winding_numbers(ov, of, v[near]) > 0.5
    if inside.any():
        depth[near[inside]] = nearest_face_distance(ov[of], v[near[inside]], surface.faces[idx[inside]])
    return depth


def mutual_penetration(vertices_a: np.ndarray, faces_a: np.ndarray, vertices_b: np.ndarray,
                       faces_b: np.ndarray) -> float:
    """Deepest vertex of either mesh inside the other, metres (0 when they do not intersect)."""
    da = penetration_depths(vertices_a, faces_a, vertices_b, faces_b)
    db = penetration_depths(vertices_b, faces_b, vertices_a, faces_a)
    return float(max(da.max(initial=0.0), db.max(initial=0.0)))
