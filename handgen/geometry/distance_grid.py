"""Distance from points to a triangle mesh's surface, precomputed on a regular grid (the eager back-end).

:class:`DistanceGrid` stores the distance (unsigned, or signed: negative inside) from
every voxel centre of an axis-aligned grid around a mesh to the mesh's surface, and
answers queries for any number of points by trilinear interpolation (about half a
microsecond per point, independent of the mesh size).

Building (:meth:`DistanceGrid.from_mesh`), all in the mesh's own frame, metres:

1. faces longer than two voxels are split (the surface is unchanged); the surface is sampled
   densely (face corners, face centres and area-uniform samples at a third of the voxel
   size); each voxel touched by samples keeps up to :data:`FACES_PER_VOXEL` different faces,
   those with a sample nearest its centre;
2. a Euclidean distance transform (scipy) gives every voxel its nearest touched voxel;
3. within ``band`` of the surface the distance is the exact point-triangle distance to the
   nearest of that voxel's faces (within 2.5 voxels of the surface, also of its six
   neighbours' faces: near edges, corners and ties the nearest voxel may hold only the
   second-closest face); further out the transform's distance is used; all values are
   clipped to ``cap``;
4. ``signed=True``: voxels inside the mesh (odd number of surface crossings on a ray
   along +x, rows offset by a tiny fraction of a voxel so that no ray grazes an edge;
   :func:`handgen.geometry.ray_parity.parity_inside`) get negative distances. The mesh
   must then be closed (watertight).

The point-triangle distances are :func:`handgen.geometry.mesh_distance.point_triangle_distance`,
the kernel of the on-demand back-end :class:`~handgen.geometry.mesh_distance.MeshDistance`.

Step 3 is most of the cost (a few point-triangle distances per voxel of the band). With
``lazy=True`` it is deferred: a voxel of the band gets its exact value the first time a
query needs it (one of the eight corners around a queried point; whole 4x4x4 bricks at a
time), so a grid queried only near part of the surface (a hand holding the object)
computes only that part. The values
are the same as the eager grid's, bit for bit; :meth:`DistanceGrid.materialize` finishes
the rest. Until then a band voxel holds a lower bound of its exact value (some face corner is
within longest edge/sqrt(3) of the nearest surface point and within spacing*sqrt(3)/2 of a
touched voxel's centre); :meth:`DistanceGrid.lower_bound` reads the grid as it is, and
:meth:`DistanceGrid.below` (is the distance under a threshold?) makes exact only the voxels
around points whose lower bound is under it, voxel by voxel (hand-object contact in prep).

The distance is 1-Lipschitz and piecewise smooth, so trilinear interpolation is exact on
flat faces and within ~h^2/(8 r) near curved iso-surfaces of radius r (h the spacing);
where the nearest touched voxel misses the truly closest face (near sharp edges) the
value errs high by at most about one voxel. Points outside the grid read ``cap``. The
tests check the values against exact box and sphere distances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh
from scipy import ndimage

from handgen.geometry import grid_kernels
from handgen.geometry.exact_band import ExactBand, corner_bricks
from handgen.geometry.mesh_distance import point_triangle_distance
from handgen.geometry.ray_parity import parity_inside

FACES_PER_VOXEL = 3
CELL_BLOCK = 4  # cells a side of the blocks whose smallest value below() reads first (grid_kernels.below's 4)
_CHUNK = 100_000
_PAIRS = 400_000  # (point, face) pairs measured per vectorised pass
_RAY_JITTER = (1.1e-4, 2.3e-4)  # row offsets in voxels: no ray runs exactly along an axis-aligned edge
_NO_INT32, _NO_FLAGS, _NO_INT64 = np.empty(0, dtype=np.int32), np.empty(0, dtype=bool), np.empty(0, dtype=np.int64)
# what below() passes for a grid with no lazy band (ExactBand.kernel_arrays, empty)
_NO_BAND = (_NO_INT32, _NO_FLAGS, _NO_INT64, _NO_INT64, _NO_FLAGS, _NO_INT64, _NO_INT64, _NO_FLAGS, _NO_FLAGS,
            np.empty((0, 3, 3)), _NO_INT32, np.empty((0, FACES_PER_VOXEL), dtype=np.int64))


@dataclass
class DistanceGrid:
    """Distances on a grid: ``values[i, j, k]`` at ``origin + spacing * (i, j, k)`` (metres).

    A lazy grid (``from_mesh(lazy=True)``) holds a lower bound of the exact distance in band voxels
    not yet queried (:mod:`handgen.geometry.exact_band`); queries and :meth:`materialize` make them exact.
    """

    origin: np.ndarray  # (3,) centre of voxel (0, 0, 0)
    spacing: float
    values: np.ndarray  # (nx, ny, nz) float32, clipped to [-cap, cap]
    cap: float
    signed: bool
    _band: ExactBand | None = field(default=None, repr=False, compare=False)
    # per block of 4x4x4 cells, the smallest value they read: a lower bound of anything interpolated there, for
    # good (values only grow when made exact); below() skips the points it settles (made on first use)
    _block_min: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_mesh(
        cls, vertices: np.ndarray, faces: np.ndarray, spacing: float = 0.004, band: float = 0.02,
        cap: float | None = None, signed: bool = False, seed: int = 0, lazy: bool = False,
    ) -> "DistanceGrid":
        """Build the grid of a mesh (vertices (V,3) metres, faces (F,3)); see the module docstring.

        ``band``: exact distances up to this far from the surface; ``cap`` (default ``band``):
        the largest stored magnitude. The grid spans the mesh's bounds plus ``cap`` + one voxel.
        ``lazy``: defer the exact band values to the queries that need them (module docstring).

        Raises:
            ValueError: an empty mesh or a non-positive spacing.
        """
        vertices = np.asarray(vertices, dtype=np.float64)
        faces = np.asarray(faces, dtype=np.int64)
        if len(vertices) == 0 or len(faces) == 0:
            raise ValueError("cannot build a distance grid of an empty mesh")
        if not spacing > 0:
            raise ValueError(f"spacing must be positive, got {spacing}")
        cap = float(band if cap is None else cap)
        pad = cap + spacing
        origin = vertices.min(axis=0) - pad
        shape = tuple(int(n) for n in np.ceil((vertices.max(axis=0) + pad - origin) / spacing).astype(int) + 1)
        # large triangles are split (same surface) so that a voxel's few nearest faces include the closest one
        vertices, faces = trimesh.remesh.subdivide_to_size(vertices, faces, max_edge=2.0 * spacing, max_iter=12)
        triangles = vertices[faces]
        longest_edge = float(np.linalg.norm(triangles - np.roll(triangles, 1, axis=1), axis=2).max())

        touched_flat, touched_faces = _voxel_faces(triangles, origin, spacing, shape, seed)
        touched = np.zeros(int(np.prod(shape)), dtype=bool)
        touched[touched_flat] = True
        edt, nearest = ndimage.distance_transform_edt(~touched.reshape(shape), sampling=spacing, return_indices=True)
        edt = edt.reshape(-1)
        values = np.minimum(edt, cap)
        band_idx = np.flatnonzero(edt < band + spacing)
        # until exact, a band voxel holds a lower bound of its exact value (what lower_bound and below read):
        # some face corner lies within longest_edge/sqrt(3) of the nearest surface point and within
        # spacing*sqrt(3)/2 of a touched voxel's centre, so the surface is at least edt minus both away
        slack = longest_edge / np.sqrt(3.0) + spacing * np.sqrt(3.0) / 2.0 + 1e-6
        values[band_idx] = np.clip(edt[band_idx] - slack, 0.0, cap)
        inside = parity_inside(triangles, origin, spacing, shape, _RAY_JITTER).reshape(-1) if signed else None
        if signed:
            values = np.where(inside, -values, values)
            values[band_idx[inside[band_idx]]] = -cap  # the least an inside voxel's exact value can be
        exact = ExactBand.build(
            triangles, touched_flat, touched_faces, shape, band_idx,
            np.ravel_multi_index(nearest.reshape(3, -1)[:, band_idx], shape), edt[band_idx] < 2.5 * spacing,
            inside[band_idx] if signed else None,
        )
        del nearest
        grid = cls(origin=origin, spacing=float(spacing), values=values.astype(np.float32).reshape(shape), cap=cap,
                   signed=signed, _band=exact)
        if lazy:
            grid._block_minimum()  # of the lower bounds, at build time: valid for good
        else:
            grid.materialize()
        return grid

    def materialize(self) -> "DistanceGrid":
        """Make every band voxel exact (nothing to do for an eager grid); returns the grid."""
        if self._band is not None:
            self._resolve(np.flatnonzero(self._band.pending))
            self._band = None
        return self

    def _resolve(self, bricks: np.ndarray) -> None:
        """Exact values of the band voxels of ``bricks`` (brick numbers) not yet exact."""
        self._make_exact(self._band.take(bricks))

    def _make_exact(self, positions: np.ndarray) -> None:
        """Exact values of the band voxels at ``positions`` (in the band's arrays)."""
        band = self._band
        if not len(positions):
            return
        out = self.values.reshape(-1)
        for a in range(0, len(positions), _CHUNK):
            pos = positions[a : a + _CHUNK]
            idx = band.index[pos]
            points = self.origin + np.stack(np.unravel_index(idx, self.shape), axis=1) * self.spacing
            own = band.faces_of(band.nearest[pos])
            best = np.empty(len(idx))
            # near the surface (edges, corners, ties between voxels) the nearest touched voxel may hold only
            # the second-closest face: its six neighbours' faces are tried too
            near = band.close[pos]
            best[~near] = _nearest_of(band.triangles, points[~near], own[~near])
            if near.any():
                extra = _neighbour_faces(band.faces_of, band.nearest[pos[near]], self.shape)
                best[near] = _nearest_of(band.triangles, points[near], np.concatenate([own[near], extra], axis=1))
            value = np.minimum(best, self.cap)
            if band.inside is not None:
                value = np.where(band.inside[pos], -value, value)
            out[idx] = value.astype(np.float32)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.values.shape)  # type: ignore[return-value]

    def _coords(self, points: np.ndarray) -> tuple[tuple[int, ...], list[np.ndarray], np.ndarray]:
        """Leading shape, fractional voxel coordinates (n,) x 3 and the inside mask (n,) of points (..., 3)."""
        points = np.asarray(points, dtype=np.float64)
        flat = points.reshape(-1, 3)
        inv = 1.0 / self.spacing
        coords = [(flat[:, k] - self.origin[k]) * inv for k in range(3)]  # contiguous per axis
        inside = np.ones(len(flat), dtype=bool)
        for k, c in enumerate(coords):
            inside &= (c >= 0.0) & (c <= self.values.shape[k] - 1)
        return points.shape[:-1], coords, inside

    def lower_bound(self, points: np.ndarray) -> np.ndarray:
        """A lower bound (...) of :meth:`__call__` at points (..., 3), making nothing exact (equal for an eager grid).

        It interpolates the current values: a lazy grid's band voxels not yet exact hold a lower bound of
        their exact value, and interpolation (non-negative weights, monotone rounding) keeps the order.
        """
        return self._interpolate(points)

    def _interpolate(self, points: np.ndarray) -> np.ndarray:
        """Trilinear interpolation (...) of the current values at points (..., 3), ``cap`` outside the grid (one
        compiled pass, :func:`handgen.geometry.grid_kernels.interpolate`)."""
        points = np.asarray(points, dtype=np.float64)
        flat_points = np.ascontiguousarray(points.reshape(-1, 3))
        out = grid_kernels.interpolate(self.values.reshape(-1), np.asarray(self.shape, dtype=np.int64), self.origin,
                                       1.0 / self.spacing, flat_points, self.cap)
        return out.reshape(points.shape[:-1])

    def below(self, points: np.ndarray, threshold: float) -> np.ndarray:
        """``self(points) < threshold`` (bool (...) at points (..., 3)), bit for bit, making exact only the voxels
        around points whose :meth:`lower_bound` is below ``threshold``.

        One compiled pass (:func:`handgen.geometry.grid_kernels.below`) interpolates and compares every point;
        a point under the threshold on a voxel not yet exact gets its 8 voxels made exact, voxel by voxel
        (around a threshold test a brick's other voxels are rarely read), and is interpolated again.
        """
        points = np.asarray(points, dtype=np.float64)
        lead, flat_points = points.shape[:-1], np.ascontiguousarray(points.reshape(-1, 3))
        lazy = _NO_BAND if self._band is None else self._band.kernel_arrays()
        out = grid_kernels.below(self.values.reshape(-1), np.asarray(self.shape, dtype=np.int64), self.origin,
                                 self.spacing, self.cap, flat_points, float(threshold), self._block_minimum(), *lazy)
        return out.reshape(lead)

    def _block_minimum(self) -> np.ndarray:
        """:attr:`_block_min`, flat over blocks (ceil((n-1)/4) per axis) of :data:`CELL_BLOCK` cells a side."""
        if self._block_min is None:
            out = self.values
            for axis in range(3):
                n = out.shape[axis]
                blocks = -(-(n - 1) // CELL_BLOCK)
                pad = [(0, 0)] * 3
                pad[axis] = (0, CELL_BLOCK * blocks + 1 - n)
                inner = np.moveaxis(np.pad(out, pad, constant_values=np.inf), axis, 0)
                split = inner[: CELL_BLOCK * blocks].reshape(blocks, CELL_BLOCK, *inner.shape[1:]).min(axis=1)
                out = np.moveaxis(np.minimum(split, inner[CELL_BLOCK::CELL_BLOCK]), 0, axis)  # + each block's far face
            self._block_min = np.ascontiguousarray(out, dtype=np.float32).reshape(-1)
        return self._block_min

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Interpolated distance (...) at points (..., 3) metres; ``cap`` outside the grid. A lazy grid first makes
        the bricks around the points exact."""
        if self._band is not None:
            _, coords, inside = self._coords(points)
            self._resolve(corner_bricks(self.values.shape, *(c[inside] for c in coords)))
        return self._interpolate(points)


def _surface_samples(triangles: np.ndarray, step: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points on the surface (N,3) and their faces (N,): face corners, face centres, area samples."""
    n = len(triangles)
    areas = 0.5 * np.linalg.norm(np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]), axis=1)
    points = [triangles.reshape(-1, 3), triangles.mean(axis=1)]
    owners = [np.repeat(np.arange(n), 3), np.arange(n)]
    count = int(np.ceil(areas.sum() / step**2))
    if count > 0 and areas.sum() > 0:
        rng = np.random.default_rng(seed)
        face = rng.choice(n, size=count, p=areas / areas.sum())
        u, v = rng.random(count), rng.random(count)
        flip = u + v > 1.0
        u[flip], v[flip] = 1.0 - u[flip], 1.0 - v[flip]
        tri = triangles[face]
        points.append(tri[:, 0] + u[:, None] * (tri[:, 1] - tri[:, 0]) + v[:, None] * (tri[:, 2] - tri[:, 0]))
        owners.append(face)
    return np.concatenate(points), np.concatenate(owners)


def _voxel_faces(
    triangles: np.ndarray, origin: np.ndarray, spacing: float, shape: tuple, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The voxels touched by surface samples (sorted flat indices (n,)) and, for each, up to
    FACES_PER_VOXEL faces whose samples fall in it, nearest its centre first ((n, K), -1 = none)."""
    samples, owner = _surface_samples(triangles, spacing / 3.0, seed)
    voxel = np.rint((samples - origin) / spacing).astype(np.int64)
    flat = np.ravel_multi_index(voxel.T, shape)
    dist = np.linalg.norm(samples - (origin + voxel * spacing), axis=1)
    # the nearest sample of each (voxel, face) pair
    order = np.lexsort((dist, owner, flat))
    flat, owner, dist = flat[order], owner[order], dist[order]
    first = np.concatenate([[True], (flat[1:] != flat[:-1]) | (owner[1:] != owner[:-1])])
    flat, owner, dist = flat[first], owner[first], dist[first]
    # rank the faces of each voxel by that distance and keep the first few
    order = np.lexsort((dist, flat))
    flat, owner = flat[order], owner[order]
    starts = np.concatenate([[True], flat[1:] != flat[:-1]])
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(flat)), 0))
    rank = np.arange(len(flat)) - group_start
    keep = rank < FACES_PER_VOXEL
    voxels, row = np.unique(flat[keep], return_inverse=True)
    out = np.full((len(voxels), FACES_PER_VOXEL), -1, dtype=np.int64)
    out[row, rank[keep]] = owner[keep]
    return voxels, out


def _nearest_of(triangles: np.ndarray, points: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Distance (n,) from each point to the nearest of its candidate faces (n, K) (-1 = none; inf if none).

    Every distinct (point, face) pair is measured once, in one vectorised pass per chunk.
    """
    best = np.full(len(points), np.inf)
    step = max(1, _PAIRS // max(1, candidates.shape[1]))
    for a in range(0, len(points), step):
        cand = np.sort(candidates[a : a + step], axis=1)
        valid = cand >= 0
        valid[:, 1:] &= cand[:, 1:] != cand[:, :-1]  # a face listed twice is measured once
        rows, cols = np.nonzero(valid)
        if not len(rows):
            continue
        faces = cand[rows, cols]
        tri = triangles[faces]
        d = point_triangle_distance(points[a : a + step][rows], tri[:, 0], tri[:, 1], tri[:, 2])
        counts = valid.sum(axis=1)
        has = counts > 0
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        best[a : a + step][has] = np.minimum.reduceat(d, starts[has])
    return best


def _neighbour_faces(faces_of, flat: np.ndarray, shape: tuple) -> np.ndarray:
    """Faces (n, 6K) of the 6 face-neighbours of voxels ``flat`` (n,); -1 where absent.

    ``faces_of(flat (m,)) -> (m, K)`` looks up a voxel's faces.
    """
    index = np.stack(np.unravel_index(flat, shape), axis=1)
    out = []
    for axis in range(3):
        for step in (-1, 1):
            nb = index.copy()
            nb[:, axis] += step
            ok = (nb[:, axis] >= 0) & (nb[:, axis] < shape[axis])
            faces = np.full((len(flat), FACES_PER_VOXEL), -1, dtype=np.int64)
            faces[ok] = faces_of(np.ravel_multi_index(nb[ok].T, shape))
            out.append(faces)
    return np.concatenate(out, axis=1)
