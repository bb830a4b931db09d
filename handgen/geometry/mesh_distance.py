"""Distance from points to a triangle mesh: one exact kernel and the on-demand (lazy) back-end.

- :func:`point_triangle_distance`: the exact point-triangle distance, vectorised over
  (point, triangle) pairs. Every distance to a mesh in handgen ends here.
- :class:`SurfaceSamples`: area-weighted points on a mesh (fixed seed) plus every face centre
  (and optionally every vertex), with their faces and a k-d tree: the candidate search.
- :class:`MeshDistance` (lazy back-end): queries points on demand. Unsigned distance =
  the exact distance to the faces of the ``k`` nearest surface samples (exact wherever the
  closest face is among them, i.e. unless samples are far sparser than the query's distance
  to the surface); sign from the generalised winding number (:mod:`handgen.geometry.winding`,
  ``w > 0.5`` inside), so open real scans get the right sign.

The eager back-end, :class:`handgen.geometry.distance_grid.DistanceGrid`, evaluates the
same kernel once on a grid around the mesh and interpolates (data prep's hand-object
contact, the synthetic grasp solver); grasp synthesis's differentiable grid
(:func:`handgen.grasp.object_sdf.compute_sdf_grid`) is filled from :class:`MeshDistance`.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from handgen.geometry.winding import WindingNumber

NEAREST_SAMPLES = 8  # surface samples whose faces are candidates for a query's closest face


def _dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[:, 0] * v[:, 0] + u[:, 1] * v[:, 1] + u[:, 2] * v[:, 2]


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    length = _dot(ab, ab)
    t = np.clip(_dot(p - a, ab) / np.where(length > 0, length, 1.0), 0.0, 1.0)
    diff = p - (a + ab * t[:, None])
    return np.sqrt(_dot(diff, diff))


def point_triangle_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Distance (n,) from points p (n,3) to triangles with corners a, b, c (n,3 each), metres.

    The closest point lies in one of the triangle's seven Voronoi regions (three corners,
    three edges, the face), told apart by six dot products (Ericson, Real-Time Collision
    Detection, 5.1.5), vectorised over the n pairs; it is written a + x ab + y ac. A degenerate
    (zero or near-zero area) triangle is measured as its three edges.
    """
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = _dot(ab, ap), _dot(ac, ap)
    bp = p - b
    d3, d4 = _dot(ab, bp), _dot(ac, bp)
    cp = p - c
    d5, d6 = _dot(ab, cp), _dot(ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        x, y = vb / denom, vc / denom  # the face
        # the other regions in reverse of Ericson's order, so that the first that holds wins
        bc = (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0)
        t = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        x, y = np.where(bc, 1.0 - t, x), np.where(bc, t, y)
        e_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
        x, y = np.where(e_ac, 0.0, x), np.where(e_ac, d2 / (d2 - d6), y)
        corner_c = (d6 >= 0) & (d5 <= d6)
        x, y = np.where(corner_c, 0.0, x), np.where(corner_c, 1.0, y)
        e_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
        x, y = np.where(e_ab, d1 / (d1 - d3), x), np.where(e_ab, 0.0, y)
        corner_b = (d3 >= 0) & (d4 <= d3)
        x, y = np.where(corner_b, 1.0, x), np.where(corner_b, 0.0, y)
        corner_a = (d1 <= 0) & (d2 <= 0)
        x, y = np.where(corner_a, 0.0, x), np.where(corner_a, 0.0, y)
    diff = p - (a + ab * x[:, None] + ac * y[:, None])
    out = np.sqrt(_dot(diff, diff))
    # |ab x ac|^2 = va + vb + vc: (nearly) zero area makes the regions unreliable
    bad = ~np.isfinite(out) | (denom <= 1e-12 * _dot(ab, ab) * _dot(ac, ac))
    if bad.any():
        pb, ab_, bb, cb = p[bad], a[bad], b[bad], c[bad]
        out[bad] = np.minimum(np.minimum(_segment_distance(pb, ab_, bb), _segment_distance(pb, bb, cb)),
                              _segment_distance(pb, ab_, cb))
    return out


def nearest_face_distance(triangles: np.ndarray, points: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Distance (n,) from points (n,3) to the nearest of their candidate faces (n, k) of ``triangles`` (F,3,3)."""
    n, k = candidates.shape
    tri = triangles[candidates.reshape(-1)]
    rep = np.repeat(points, k, axis=0)
    return point_triangle_distance(rep, tri[:, 0], tri[:, 1], tri[:, 2]).reshape(n, k).min(axis=1)


class SurfaceSamples:
    """Points on a mesh and the faces they lie on, with a k-d tree over them.

    ``count`` area-weighted random points (seeded), then every face's centre (so no face is
    missed however small), then, with ``with_vertices``, every vertex used by a face.
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, count: int, seed: int = 0,
                 with_vertices: bool = False) -> None:
        vertices = np.asarray(vertices, dtype=np.float64)
        faces = np.asarray(faces, dtype=np.int64)
        tri = vertices[faces]  # (F,3,3)
        cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        area = 0.5 * np.linalg.norm(cross, axis=1)
        self.face_normals = cross / np.maximum(2.0 * area[:, None], 1e-12)  # (F,3) unit, outward for CCW faces
        rng = np.random.default_rng(seed)
        prob = area / area.sum() if area.sum() > 0 else np.full(len(area), 1.0 / len(area))
        ids = rng.choice(len(faces), size=count, p=prob)
        uv = rng.random((count, 2))
        uv = np.where(uv.sum(1, keepdims=True) > 1.0, 1.0 - uv, uv)
        t = tri[ids]
        points = [t[:, 0] + uv[:, :1] * (t[:, 1] - t[:, 0]) + uv[:, 1:] * (t[:, 2] - t[:, 0]), tri.mean(1)]
        owners = [ids, np.arange(len(faces))]
        if with_vertices:
            vertex_face = np.zeros(len(vertices), dtype=np.int64)
            vertex_face[faces.reshape(-1)] = np.repeat(np.arange(len(faces)), 3)
            used = np.unique(faces)
            points.append(vertices[used])
            owners.append(vertex_face[used])
        self.points = np.concatenate(points)  # (M,3)
        self.faces = np.concatenate(owners)  # (M,) the face each point lies on
        self.tree = cKDTree(self.points)

    def nearest(self, points: np.ndarray, k: int = NEAREST_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
        """Distances (n, k) and indices (n, k) of the ``k`` samples nearest to points (n,3)."""
        k = min(k, len(self.points))
        dist, idx = self.tree.query(points, k=k, workers=-1)
        return dist.reshape(len(points), k), idx.reshape(len(points), k)


class MeshDistance:
    """Signed distance (metres, negative inside) of points to one triangle mesh, computed on demand."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, samples: int | None = None, seed: int = 0,
                 with_vertices: bool = False) -> None:
        """``samples``: area-weighted surface samples of the candidate search (default max(20k, 4 per face))."""
        self.vertices = np.asarray(vertices, dtype=np.float64)
        self.faces = np.asarray(faces, dtype=np.int64)
        self.triangles = self.vertices[self.faces]  # (F,3,3)
        count = samples if samples is not None else max(20_000, 4 * len(self.faces))
        self.samples = SurfaceSamples(self.vertices, self.faces, count, seed, with_vertices)
        self._winding: WindingNumber | None = None

    @property
    def winding(self) -> WindingNumber:
        """The mesh's (clustered) generalised winding number, built on first use."""
        if self._winding is None:
            self._winding = WindingNumber(self.vertices, self.faces)
        return self._winding

    def distance_to_faces(self, points: np.ndarray, sample_idx: np.ndarray) -> np.ndarray:
        """Exact distance (n,) from points (n,3) to the nearest face among those of samples (n, k)."""
        return nearest_face_distance(self.triangles, points, self.samples.faces[sample_idx])

    def unsigned(self, points: np.ndarray, k: int = NEAREST_SAMPLES, chunk: int = 65536) -> np.ndarray:
        """Distance (N,) from points (N,3) to the surface, metres (exact up to the candidate search)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        out = np.empty(len(pts))
        for s in range(0, len(pts), chunk):
            p = pts[s : s + chunk]
            _, idx = self.samples.nearest(p, k)
            out[s : s + chunk] = self.distance_to_faces(p, idx)
        return out

    def surface_samples(self) -> np.ndarray:
        """The surface samples (M, 3) behind the distance queries."""
        return self.samples.points

    def inside(self, points: np.ndarray) -> np.ndarray:
        """Boolean (N,): generalised winding number above 0.5."""
        return self.winding(points) > 0.5

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Signed distance (N,), metres, negative inside."""
        d = self.unsigned(points)
        return np.where(self.inside(points), -d, d)
