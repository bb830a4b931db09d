"""How deep one triangle mesh reaches into another (hand-hand interpenetration).

Inside test: generalised winding number ``w(q) = sum_f Omega_f(q) / 4 pi`` (solid angles,
van Oosterom-Strackee), dense in torch, ``w > 0.5`` inside: exact for closed meshes (the
procedural hand) and graceful for open ones (MANO's wrist opening). It runs only on
candidates: points within ``search_radius`` of the other surface (a k-d tree over dense
surface samples) that lie behind the nearest sample's face or within ``SURFACE_BAND`` of it,
so frames where the hands are apart cost almost nothing. No point inside a hand is more than
~1.5 cm from its surface, so the 3 cm default radius loses nothing there; for bulky meshes
pass a larger one. Depth of an inside point: the exact distance to the nearest of the faces
of its nearest samples.

The winding number is :func:`handgen.geometry.winding.dense_winding_numbers` (exact, every face:
candidate sets here are small, so the clustered :class:`~handgen.geometry.winding.WindingNumber`
would not pay for its set-up).
"""

from __future__ import annotations

import numpy as np

from handgen.geometry.winding import dense_winding_numbers

SEARCH_RADIUS = 0.03  # metres (see the module docstring)
SURFACE_BAND = 0.003  # metres: closer than this to the surface, the face-side test is not trusted
NEAREST = 8  # surface samples whose faces are searched for the nearest surface point
SAMPLES_PER_FACE = 4


class SurfaceSamples:
    """Points spread over a mesh (area-weighted, fixed seed, plus every vertex and centroid) and their faces."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, seed: int = 0) -> None:
        from scipy.spatial import cKDTree

        tri = vertices[faces]
        cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        area = 0.5 * np.linalg.norm(cross, axis=1)
        self.face_normals = cross / np.maximum(2.0 * area[:, None], 1e-12)
        n = SAMPLES_PER_FACE * len(faces)
        rng = np.random.default_rng(seed)
        ids = rng.choice(len(faces), size=n, p=area / area.sum()) if area.sum() > 0 else rng.integers(0, len(faces), n)
        uv = rng.random((n, 2))
        uv = np.where(uv.sum(1, keepdims=True) > 1.0, 1.0 - uv, uv)
        t = tri[ids]
        pts = t[:, 0] + uv[:, :1] * (t[:, 1] - t[:, 0]) + uv[:, 1:] * (t[:, 2] - t[:, 0])
        vertex_face = np.zeros(len(vertices), dtype=np.int64)
        vertex_face[faces.reshape(-1)] = np.repeat(np.arange(len(faces)), 3)
        used = np.unique(faces)
        self.points = np.concatenate([pts, tri.mean(1), vertices[used]])
        self.faces = np.concatenate([ids, np.arange(len(faces)), vertex_face[used]])
        self.tree = cKDTree(self.points)


def penetration_depths(vertices: np.ndarray, faces: np.ndarray, other_vertices: np.ndarray,
                       other_faces: np.ndarray, search_radius: float = SEARCH_RADIUS) -> np.ndarray:
    """Depth (V,) in metres of each vertex of one mesh inside the other mesh (0 when outside)."""
    from trimesh.triangles import closest_point

    v = np.asarray(vertices, dtype=np.float64)
    ov = np.asarray(other_vertices, dtype=np.float64)
    of = np.asarray(other_faces, dtype=np.int64)
    depth = np.zeros(len(v))
    lo, hi = ov.min(0) - search_radius, ov.max(0) + search_radius
    near = np.flatnonzero(np.all((v >= lo) & (v <= hi), axis=1))
    if near.size == 0:
        return depth
    surface = SurfaceSamples(ov, of)
    k = min(NEAREST, len(surface.points))
    dist, idx = surface.tree.query(v[near], k=k)
    dist, idx = dist.reshape(len(near), k), idx.reshape(len(near), k)
    first = idx[:, 0]
    behind = ((v[near] - surface.points[first]) * surface.face_normals[surface.faces[first]]).sum(1) < 0
    cand = (dist[:, 0] < search_radius) & (behind | (dist[:, 0] < SURFACE_BAND))
    near, idx = near[cand], idx[cand]
    if near.size == 0:
        return depth
    inside = dense_winding_numbers(ov, of, v[near]) > 0.5
    if inside.any():
        pts = v[near[inside]]
        face_ids = surface.faces[idx[inside]].reshape(-1)
        rep = np.repeat(pts, k, axis=0)
        d = np.linalg.norm(closest_point(ov[of[face_ids]], rep) - rep, axis=1)
        depth[near[inside]] = d.reshape(len(pts), k).min(axis=1)
    return depth


def mutual_penetration(vertices_a: np.ndarray, faces_a: np.ndarray, vertices_b: np.ndarray,
                       faces_b: np.ndarray) -> float:
    """Deepest vertex of either mesh inside the other, metres (0 when they do not intersect)."""
    da = penetration_depths(vertices_a, faces_a, vertices_b, faces_b)
    db = penetration_depths(vertices_b, faces_b, vertices_a, faces_a)
    return float(max(da.max(initial=0.0), db.max(initial=0.0)))
