"""Compiled (numba) loops of :class:`~handgen.geometry.distance_grid.DistanceGrid` and of posing points into an object.

- :func:`below` does, point by point in one pass, what ``DistanceGrid.below`` did in several numpy passes:
  voxel coordinates, the inside test, trilinear interpolation, the comparison with the threshold, and for a
  lazy grid, where the interpolated lower bound is under the threshold, making the 8 voxels read exact
  (:func:`exact_values`, the point-triangle distances of :func:`point_triangle_distance`) and reading again.
- :func:`interpolate`: trilinear interpolation alone (``DistanceGrid.lower_bound``).
- :func:`frame_map`: world points into an object's (or its top part's) frame, per frame.

Every operation is the numpy path's, in the same order and precision (float32 values widened to float64,
no fused multiply-adds: numba does not contract without ``fastmath``), so the numbers are the same bit for
bit; ``tests/test_object_speedups.py`` compares each kernel with the numpy code it replaces.

Compiled once per machine (``cache=True``: numba keeps the machine code beside this file in ``__pycache__``,
or in its user cache when that folder is read-only); :func:`load` brings them in (~0.4 CPU-s per process,
numba's own start-up) where a caller's setup can pay for it.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _lower(c: float, n: int) -> int:
    """The lower voxel index of fractional coordinate ``c`` >= 0, clamped to ``n - 2`` (``lower_corner``)."""
    return min(int(c), n - 2)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _interpolate(flat, ny: int, nz: int, ix: int, iy: int, iz: int, fx: float, fy: float, fz: float) -> float:
    """Trilinear interpolation at one point from its lower voxel (ix, iy, iz) and fractions (fx, fy, fz): float32
    values widened, ``(v0 (1 - fx) + v1 fx)`` along x, then y, then z (tests/test_object_speedups.py holds the
    numpy formula it is checked against)."""
    sx, sy = ny * nz, nz
    i = ix * sx + iy * sy + iz
    gx = 1.0 - fx
    c00 = np.float64(flat[i]) * gx + np.float64(flat[i + sx]) * fx
    c01 = np.float64(flat[i + 1]) * gx + np.float64(flat[i + sx + 1]) * fx
    c10 = np.float64(flat[i + sy]) * gx + np.float64(flat[i + sx + sy]) * fx
    c11 = np.float64(flat[i + sy + 1]) * gx + np.float64(flat[i + sx + sy + 1]) * fx
    gy = 1.0 - fy
    return (c00 * gy + c10 * fy) * (1.0 - fz) + (c01 * gy + c11 * fy) * fz


@numba.njit(cache=True, nogil=True, error_model="numpy")
def interpolate(flat, shape, origin, inv: float, points, cap: float):
    """Interpolated values (n,) float64 at points (n, 3) (``cap`` outside the grid); arguments as above."""
    nx, ny, nz = shape[0], shape[1], shape[2]
    n = points.shape[0]
    out = np.empty(n, dtype=np.float64)
    for p in range(n):
        x = (points[p, 0] - origin[0]) * inv
        y = (points[p, 1] - origin[1]) * inv
        z = (points[p, 2] - origin[2]) * inv
        if not (x >= 0.0 and x <= nx - 1 and y >= 0.0 and y <= ny - 1 and z >= 0.0 and z <= nz - 1):
            out[p] = cap
            continue
        ix, iy, iz = _lower(x, nx), _lower(y, ny), _lower(z, nz)
        out[p] = _interpolate(flat, ny, nz, ix, iy, iz, x - ix, y - iy, z - iz)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _dot(u0: float, u1: float, u2: float, v0: float, v1: float, v2: float) -> float:
    return u0 * v0 + u1 * v1 + u2 * v2


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _segment_distance(p, a, b) -> float:
    """``mesh_distance._segment_distance`` of one point p (3,) and segment a-b (3,) each."""
    ab0, ab1, ab2 = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    length = _dot(ab0, ab1, ab2, ab0, ab1, ab2)
    t = _dot(p[0] - a[0], p[1] - a[1], p[2] - a[2], ab0, ab1, ab2) / (length if length > 0 else 1.0)
    t = min(max(t, 0.0), 1.0)
    d0, d1, d2 = p[0] - (a[0] + ab0 * t), p[1] - (a[1] + ab1 * t), p[2] - (a[2] + ab2 * t)
    return np.sqrt(_dot(d0, d1, d2, d0, d1, d2))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def point_triangle_distance(p, a, b, c) -> float:
    """:func:`handgen.geometry.mesh_distance.point_triangle_distance` of one point p (3,) and triangle a, b, c
    (3,) each: the same operations in the same order (Ericson's Voronoi regions; a degenerate triangle is
    measured as its three edges), so the same float64 bit for bit."""
    ab0, ab1, ab2 = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    ac0, ac1, ac2 = c[0] - a[0], c[1] - a[1], c[2] - a[2]
    ap0, ap1, ap2 = p[0] - a[0], p[1] - a[1], p[2] - a[2]
    d1, d2 = _dot(ab0, ab1, ab2, ap0, ap1, ap2), _dot(ac0, ac1, ac2, ap0, ap1, ap2)
    bp0, bp1, bp2 = p[0] - b[0], p[1] - b[1], p[2] - b[2]
    d3, d4 = _dot(ab0, ab1, ab2, bp0, bp1, bp2), _dot(ac0, ac1, ac2, bp0, bp1, bp2)
    cp0, cp1, cp2 = p[0] - c[0], p[1] - c[1], p[2] - c[2]
    d5, d6 = _dot(ab0, ab1, ab2, cp0, cp1, cp2), _dot(ac0, ac1, ac2, cp0, cp1, cp2)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    denom = va + vb + vc
    # the first region that holds, in the numpy kernel's order of precedence
    if d1 <= 0 and d2 <= 0:
        x, y = 0.0, 0.0
    elif d3 >= 0 and d4 <= d3:
        x, y = 1.0, 0.0
    elif vc <= 0 and d1 >= 0 and d3 <= 0:
        x, y = d1 / (d1 - d3), 0.0
    elif d6 >= 0 and d5 <= d6:
        x, y = 0.0, 1.0
    elif vb <= 0 and d2 >= 0 and d6 <= 0:
        x, y = 0.0, d2 / (d2 - d6)
    elif va <= 0 and d4 - d3 >= 0 and d5 - d6 >= 0:
        t = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        x, y = 1.0 - t, t
    else:
        x, y = vb / denom, vc / denom
    q0 = p[0] - (a[0] + ab0 * x + ac0 * y)
    q1 = p[1] - (a[1] + ab1 * x + ac1 * y)
    q2 = p[2] - (a[2] + ab2 * x + ac2 * y)
    out = np.sqrt(_dot(q0, q1, q2, q0, q1, q2))
    if not np.isfinite(out) or denom <= 1e-12 * _dot(ab0, ab1, ab2, ab0, ab1, ab2) * _dot(ac0, ac1, ac2, ac0, ac1, ac2):
        out = min(min(_segment_distance(p, a, b), _segment_distance(p, b, c)), _segment_distance(p, a, c))
    return out



@numba.njit(cache=True, nogil=True)
def _gather_faces(touched_row, touched_faces, voxel: int, faces, count: int) -> int:
    """Appends the faces of grid voxel ``voxel`` not yet among ``faces[:count]``; returns the new count."""
    row = touched_row[voxel]
    if row >= 0:
        for f in touched_faces[row]:
            if f < 0:
                continue
            seen = False
            for k in range(count):
                if faces[k] == f:
                    seen = True
                    break
            if not seen:
                faces[count] = f
                count += 1
    return count


@numba.njit(cache=True, nogil=True, error_model="numpy")
def exact_values(flat, shape, origin, spacing: float, cap: float, positions, index, nearest, close, inside, triangles,
                 touched_row, touched_faces) -> None:
    """Writes the exact values of band voxels ``positions`` (m,) into ``flat``: ``DistanceGrid._make_exact``'s
    numbers bit for bit (the nearest of the faces of the voxel's nearest touched voxel and, within 2.5 voxels
    of the surface, of its six neighbours, each face measured once; clipped to ``cap``; negative where
    ``inside``, empty if unsigned).

    ``index``, ``nearest``, ``close``, ``inside`` are the band's per-voxel arrays
    (:class:`~handgen.geometry.exact_band.ExactBand`), ``triangles`` (F, 3, 3), ``touched_row``
    (nx*ny*nz,) int32 each grid voxel's row in ``touched_faces`` (n, K) (-1: it holds no faces; -1 faces = none).
    """
    nx, ny, nz = shape[0], shape[1], shape[2]
    signed = inside.shape[0] > 0
    point = np.empty(3)
    faces = np.empty(7 * touched_faces.shape[1], dtype=np.int64)
    for q in positions:
        v = index[q]
        point[0] = origin[0] + (v // (ny * nz)) * spacing
        point[1] = origin[1] + ((v // nz) % ny) * spacing
        point[2] = origin[2] + (v % nz) * spacing
        near = nearest[q]
        count = _gather_faces(touched_row, touched_faces, near, faces, 0)
        if close[q]:
            i, j, k = near // (ny * nz), (near // nz) % ny, near % nz
            if i > 0:
                count = _gather_faces(touched_row, touched_faces, near - ny * nz, faces, count)
            if i < nx - 1:
                count = _gather_faces(touched_row, touched_faces, near + ny * nz, faces, count)
            if j > 0:
                count = _gather_faces(touched_row, touched_faces, near - nz, faces, count)
            if j < ny - 1:
                count = _gather_faces(touched_row, touched_faces, near + nz, faces, count)
            if k > 0:
                count = _gather_faces(touched_row, touched_faces, near - 1, faces, count)
            if k < nz - 1:
                count = _gather_faces(touched_row, touched_faces, near + 1, faces, count)
        best = np.inf
        for f in faces[:count]:
            tri = triangles[f]
            best = min(best, point_triangle_distance(point, tri[0], tri[1], tri[2]))
        value = min(best, cap)
        if signed and inside[q]:
            value = -value
        flat[v] = np.float32(value)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def below(flat, shape, origin, spacing: float, cap: float, points, threshold: float, block_min, position, done,
          brick_of, remaining, pending, index, nearest, close, inside, triangles, touched_row, touched_faces):
    """Interpolated distance < ``threshold`` (n,) bool at points (n, 3) of a grid, making lazy voxels exact as needed.

    ``flat``: the grid's values (nx*ny*nz,) float32; ``shape`` (3,) int64; ``origin`` (3,) metres; points outside
    the grid read ``cap``. ``block_min`` (blocks,) float32: per block of 4x4x4 cells (ceil((n - 1) / 4) a side)
    a lower bound of the values they read; a point whose block's bound is over the threshold is not under it
    (by a margin far above the interpolation's rounding), whatever the voxels. The other arrays describe a
    lazy grid's band (empty for an exact grid):
    ``position`` (nx*ny*nz,) int32 a voxel's place on the band (-1 off it), ``done`` (b,) bool exact already,
    ``brick_of`` (b,) each one's brick, ``remaining`` (bricks,) int64 voxels not yet exact per brick, ``pending``
    (bricks,) bool, and what :func:`exact_values` reads. A point whose interpolated value (a lower bound while
    a voxel is not exact) is under the threshold gets its 8 voxels made exact and is interpolated again; the
    others are decided (values only grow when made exact).
    """
    nx, ny, nz = shape[0], shape[1], shape[2]
    sx, sy = ny * nz, nz
    inv = 1.0 / spacing
    by, bz = (ny + 2) // 4, (nz + 2) // 4  # blocks of 4 cells: ceil((n - 1) / 4)
    lazy = position.shape[0] > 0
    out = np.empty(points.shape[0], dtype=np.bool_)
    taken = np.empty(8, dtype=np.int64)
    for p in range(points.shape[0]):
        x = (points[p, 0] - origin[0]) * inv
        y = (points[p, 1] - origin[1]) * inv
        z = (points[p, 2] - origin[2]) * inv
        if not (x >= 0.0 and x <= nx - 1 and y >= 0.0 and y <= ny - 1 and z >= 0.0 and z <= nz - 1):
            out[p] = cap < threshold
            continue
        ix, iy, iz = _lower(x, nx), _lower(y, ny), _lower(z, nz)
        if block_min[((ix >> 2) * by + (iy >> 2)) * bz + (iz >> 2)] >= threshold + 1e-9:
            out[p] = False
            continue
        fx, fy, fz = x - ix, y - iy, z - iz
        value = _interpolate(flat, ny, nz, ix, iy, iz, fx, fy, fz)
        if lazy and value < threshold:
            i = ix * sx + iy * sy + iz
            m = 0
            for step in (0, 1, sy, sy + 1, sx, sx + 1, sx + sy, sx + sy + 1):
                q = position[i + step]
                if q >= 0 and not done[q]:
                    done[q] = True
                    taken[m] = q
                    m += 1
                    b = brick_of[q]
                    remaining[b] -= 1
                    if remaining[b] == 0:
                        pending[b] = False
            if m:
                exact_values(flat, shape, origin, spacing, cap, taken[:m], index, nearest, close, inside, triangles,
                             touched_row, touched_faces)
                value = _interpolate(flat, ny, nz, ix, iy, iz, fx, fy, fz)
        out[p] = value < threshold
    return out


@numba.njit(cache=True, nogil=True)
def frame_map(points, shift, matrices, add):
    """Points (F, N, 3) (float32 or float64) -> ``(p - shift[f]) @ matrices[f] + add`` (F, N, 3) float64, frame f.

    ``shift`` (F, 3), ``matrices`` (F, 3, 3) float64; ``add`` (3,), or empty for none. Each coordinate is
    ``(d0 m0j + d1 m1j) + d2 m2j`` in float64 without fused multiply-adds: numpy's elementwise products in
    that order give the same numbers (a BLAS matmul may not: its order and FMAs depend on the CPU).
    """
    frames, n = points.shape[0], points.shape[1]
    out = np.empty((frames, n, 3))
    with_add = add.shape[0] > 0
    for f in range(frames):
        s0, s1, s2 = shift[f, 0], shift[f, 1], shift[f, 2]
        m = matrices[f]
        for i in range(n):
            d0 = np.float64(points[f, i, 0]) - s0
            d1 = np.float64(points[f, i, 1]) - s1
            d2 = np.float64(points[f, i, 2]) - s2
            for j in range(3):
                v = d0 * m[0, j] + d1 * m[1, j] + d2 * m[2, j]
                out[f, i, j] = v + add[j] if with_add else v
    return out


def load() -> None:
    """Compiles or loads (from numba's cache) the kernels for the types the grids use: ~0.3-0.4 CPU-s once per
    process (mostly numba's own start-up), which callers can spend in their setup rather than in the first query."""
    flat, shape, origin = np.zeros(8, dtype=np.float32), np.full(3, 2, dtype=np.int64), np.zeros(3)
    points, none = np.full((1, 3), 0.5), np.zeros(0, dtype=np.int64)
    position, flags = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=bool)
    below(flat, shape, origin, 1.0, 1.0, points, 1.0, np.zeros(1, dtype=np.float32), position, flags, none, none,
          flags, none, none, flags, flags, np.zeros((1, 3, 3)), position, np.zeros((0, 3), dtype=np.int64))
    interpolate(flat, shape, origin, 1.0, points, 1.0)
    for dtype in (np.float32, np.float64):
        frame_map(np.zeros((1, 1, 3), dtype=dtype), origin[None], np.eye(3)[None], origin)
        frame_map(np.zeros((1, 1, 3), dtype=dtype), origin[None], np.eye(3)[None], np.zeros(0))
