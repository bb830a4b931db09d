"""The lazy part of a :class:`~handgen.geometry.distance_grid.DistanceGrid`: its band voxels not yet exact, by brick.

A lazy grid defers the exact point-triangle distances of its band voxels (step 3 of
:mod:`handgen.geometry.distance_grid`) to the queries that read them. Voxels are grouped in
bricks (cubes of :data:`BRICK` voxels a side); a distance query makes whole bricks exact, so the
few voxels a moving hand reaches next are usually done already, while a threshold query
(``below``) makes exact only the eight voxels around each point it cannot decide otherwise
(the compiled :func:`handgen.geometry.grid_kernels.below`; on the synthetic set's contact, 2.5x fewer voxels than whole
bricks). Until then a band voxel holds a lower bound of its exact value (the grid's
``lower_bound`` and ``below`` rely on it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BRICK = 4  # voxels a side of the blocks a lazy grid makes exact at once


@dataclass
class ExactBand:
    """What the exact values of a grid's band voxels need (the deferred step 3).

    Band voxels are grouped by brick (cubes of :data:`BRICK` voxels a side): a query makes
    whole bricks exact, so the few voxels a moving hand reaches next are usually done already.
    """

    triangles: np.ndarray  # (F, 3, 3) the subdivided mesh
    touched: np.ndarray  # (n,) sorted flat indices of the voxels holding faces
    touched_faces: np.ndarray  # (n, K) their faces, -1 = none
    shape: tuple[int, int, int]  # the grid's
    index: np.ndarray  # (b,) flat indices of the band voxels, brick by brick
    nearest: np.ndarray  # (b,) flat index of each one's nearest touched voxel
    close: np.ndarray  # (b,) bool: within 2.5 voxels of the surface
    inside: np.ndarray | None  # (b,) bool, signed grids only
    starts: np.ndarray  # (bricks + 1,) where each brick's voxels start in the arrays above
    pending: np.ndarray  # (bricks,) bool: the brick has band voxels not yet exact
    # voxel by voxel (grid_kernels.below), made on first use: each grid voxel's position above (-1 off the band),
    # which band voxels are exact, and how many are still pending per brick
    _position: np.ndarray | None = None  # (nx*ny*nz,) int32
    _done: np.ndarray | None = None  # (b,) bool
    _remaining: np.ndarray | None = None  # (bricks,) int64
    # for the compiled path (handgen.geometry.grid_kernels), made with the above: each band voxel's brick and
    # each grid voxel's row in touched/touched_faces (-1 = it holds no faces)
    _brick_of: np.ndarray | None = None  # (b,) int64
    _touched_row: np.ndarray | None = None  # (nx*ny*nz,) int32

    @classmethod
    def build(cls, triangles, touched, touched_faces, shape, index, nearest, close, inside) -> "ExactBand":
        counts = -(-np.asarray(shape) // BRICK)
        brick = _brick_keys(shape, *np.unravel_index(index, shape))
        order = np.argsort(brick, kind="stable")
        starts = np.searchsorted(brick[order], np.arange(int(np.prod(counts)) + 1))
        return cls(triangles, touched, touched_faces, tuple(shape), index[order], nearest[order], close[order],
                   None if inside is None else inside[order], starts, starts[1:] > starts[:-1])

    def faces_of(self, flat: np.ndarray) -> np.ndarray:
        """Faces (n, K) of voxels ``flat`` (n,); -1 where a voxel holds none."""
        pos = np.minimum(np.searchsorted(self.touched, flat), len(self.touched) - 1)
        hit = self.touched[pos] == flat
        return np.where(hit[:, None], self.touched_faces[pos], -1)

    def take(self, bricks: np.ndarray) -> np.ndarray:
        """Positions (in the arrays above) of the band voxels of ``bricks`` not yet exact; marks them done."""
        bricks = _distinct(bricks[self.pending[bricks]], len(self.pending))
        self.pending[bricks] = False
        lengths = self.starts[bricks + 1] - self.starts[bricks]
        offsets = np.repeat(self.starts[bricks] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        positions = offsets + np.arange(int(lengths.sum()))
        if self._done is not None:  # some of them made exact one at a time already
            positions = positions[~self._done[positions]]
            self._done[positions] = True
            self._remaining[bricks] = 0
        return positions

    def voxel_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Each grid voxel's position on the band ((nx*ny*nz,) int32, -1 off it) and which band voxels are
        exact ((b,) bool), made on first use; kept up to date by :meth:`take` and ``grid_kernels.below``."""
        if self._position is None:
            self._position = np.full(int(np.prod(self.shape)), -1, dtype=np.int32)
            self._position[self.index] = np.arange(len(self.index), dtype=np.int32)
            lengths = np.diff(self.starts)
            self._done = ~np.repeat(self.pending, lengths)
            self._remaining = np.where(self.pending, lengths, 0).astype(np.int64)
            self._brick_of = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
            self._touched_row = np.full(int(np.prod(self.shape)), -1, dtype=np.int32)
            self._touched_row[self.touched] = np.arange(len(self.touched), dtype=np.int32)
        return self._position, self._done


    def kernel_arrays(self) -> tuple[np.ndarray, ...]:
        """The band as :func:`handgen.geometry.grid_kernels.below` reads and updates it: position, done, each band
        voxel's brick, remaining per brick, pending, index, nearest, close, inside (empty if unsigned), triangles,
        each grid voxel's row in touched_faces, touched_faces."""
        position, done = self.voxel_state()
        inside = np.zeros(0, dtype=bool) if self.inside is None else self.inside
        return (position, done, self._brick_of, self._remaining, self.pending, self.index, self.nearest, self.close,
                inside, self.triangles, self._touched_row, self.touched_faces)


def _distinct(values: np.ndarray, size: int) -> np.ndarray:
    """The distinct values (sorted) of non-negative integers below ``size`` (np.unique by marking: many repeats)."""
    if len(values) < 2:
        return values
    mark = np.zeros(size, dtype=bool)
    mark[values] = True
    return np.flatnonzero(mark)


def _brick_keys(shape: tuple, i: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Brick number of voxels (i, j, k) (integer arrays)."""
    _, ny, nz = -(-np.asarray(shape) // BRICK)
    return ((i // BRICK) * ny + j // BRICK) * nz + k // BRICK


def lower_corner(shape: tuple, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Voxel indices (i, j, k), (n,) each, of the lower corner of the grid cell that the trilinear interpolation
    (:func:`handgen.geometry.grid_kernels.interpolate`) reads for fractional coordinates (n,) each (>= 0, so the
    cast floors), clamped so that the cell's upper corner stays inside a grid of ``shape``."""
    nx, ny, nz = shape
    return (np.minimum(x.astype(np.int64), nx - 2), np.minimum(y.astype(np.int64), ny - 2),
            np.minimum(z.astype(np.int64), nz - 2))


def corner_bricks(shape: tuple, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Bricks (8n,) of the voxels the trilinear interpolation (:func:`handgen.geometry.grid_kernels.interpolate`)
    reads for fractional coordinates (n,) each."""
    counts = -(-np.asarray(shape) // BRICK)
    b = [np.stack([i // BRICK, (i + 1) // BRICK]) for i in lower_corner(shape, x, y, z)]  # (2, n) per axis
    keys = (b[0][:, None, None] * counts[1] + b[1][None, :, None]) * counts[2] + b[2][None, None, :]
    return keys.reshape(-1)
