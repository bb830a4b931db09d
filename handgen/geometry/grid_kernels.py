"""Compiled (numba) loops of :class:`~handgen.geometry.distance_grid.DistanceGrid`'s threshold query.

:func:`below_or_pending` does, point by point in one pass, what ``DistanceGrid.below`` did in
several numpy passes: voxel coordinates, the inside test, trilinear interpolation and the
comparison with the threshold, and for a lazy grid whether any of the 8 voxels read is still a
lower bound (not yet exact). Every operation is the numpy path's, in the same order and
precision (float32 values widened to float64, no fused multiply-adds: numba does not contract
without ``fastmath``), so the values are the same bit for bit; ``tests/test_distance_grid.py``
compares them with :func:`handgen.geometry.distance_grid._trilinear`.

Compiled once per machine (``cache=True``: numba keeps the machine code beside this file in
``__pycache__``, or in its user cache when that folder is read-only) and loaded in ~10 ms after.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _lower(c: float, n: int) -> int:
    """The lower voxel index of fractional coordinate ``c`` >= 0, clamped to ``n - 2`` (``lower_corner``)."""
    i = int(c)
    return n - 2 if i > n - 2 else i


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _interpolate(flat, ny: int, nz: int, ix: int, iy: int, iz: int, fx: float, fy: float, fz: float) -> float:
    """``distance_grid._trilinear`` at one point: its lower voxel (ix, iy, iz) and fractions (fx, fy, fz)."""
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
def _pending(position, done, v: int) -> bool:
    p = position[v]
    return p >= 0 and not done[p]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def below_or_pending(flat, shape, origin, inv: float, points, threshold: float, cap_below: bool, position, done):
    """Interpolated distance < ``threshold`` at points (n, 3), and the points that need exact voxels first.

    ``flat``: the grid's values (nx*ny*nz,) float32; ``shape`` (3,) int64; ``origin`` (3,) metres;
    ``inv`` = 1 / spacing; ``cap_below``: the answer outside the grid (``cap < threshold``).
    ``position`` (nx*ny*nz,) int32 (a voxel's place on the lazy band, -1 off it) and ``done``
    (band voxels,) bool (exact already) describe a lazy grid; empty arrays for an exact one.

    Returns ``out`` (n,) bool and ``redo`` (m,) int64: the points whose interpolated lower bound is
    under the threshold while one of their 8 voxels is not exact yet; their ``out`` is to be redone
    once those voxels are exact (the others are final: values only grow when made exact).
    """
    nx, ny, nz = shape[0], shape[1], shape[2]
    sx, sy = ny * nz, nz
    lazy = position.shape[0] > 0
    n = points.shape[0]
    out = np.empty(n, dtype=np.bool_)
    redo = np.empty(n, dtype=np.int64)
    m = 0
    for p in range(n):
        x = (points[p, 0] - origin[0]) * inv
        y = (points[p, 1] - origin[1]) * inv
        z = (points[p, 2] - origin[2]) * inv
        if not (x >= 0.0 and x <= nx - 1 and y >= 0.0 and y <= ny - 1 and z >= 0.0 and z <= nz - 1):
            out[p] = cap_below
            continue
        ix, iy, iz = _lower(x, nx), _lower(y, ny), _lower(z, nz)
        value = _interpolate(flat, ny, nz, ix, iy, iz, x - ix, y - iy, z - iz)
        out[p] = value < threshold
        if lazy and out[p]:
            i = ix * sx + iy * sy + iz
            if (_pending(position, done, i) or _pending(position, done, i + 1) or _pending(position, done, i + sy)
                    or _pending(position, done, i + sy + 1) or _pending(position, done, i + sx)
                    or _pending(position, done, i + sx + 1) or _pending(position, done, i + sx + sy)
                    or _pending(position, done, i + sx + sy + 1)):
                redo[m] = p
                m += 1
    return out, redo[:m]


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
def take_corner_voxels(shape, origin, inv: float, points, position, done):
    """Band positions (m,) of the voxels that trilinear interpolation reads at points (n, 3) (inside the
    grid) and that are not exact yet, each once; marks them exact in ``done`` (arguments as above)."""
    nx, ny, nz = shape[0], shape[1], shape[2]
    sx, sy = ny * nz, nz
    taken = np.empty(8 * points.shape[0], dtype=np.int64)
    m = 0
    for p in range(points.shape[0]):
        ix = _lower((points[p, 0] - origin[0]) * inv, nx)
        iy = _lower((points[p, 1] - origin[1]) * inv, ny)
        iz = _lower((points[p, 2] - origin[2]) * inv, nz)
        i = ix * sx + iy * sy + iz
        for step in (0, 1, sy, sy + 1, sx, sx + 1, sx + sy, sx + sy + 1):
            q = position[i + step]
            if q >= 0 and not done[q]:
                done[q] = True
                taken[m] = q
                m += 1
    return taken[:m]


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
def _gather_faces(touched, touched_faces, voxel: int, faces, count: int) -> int:
    """Appends the faces of grid voxel ``voxel`` not yet among ``faces[:count]``; returns the new count."""
    at = np.searchsorted(touched, voxel)
    if at < touched.shape[0] and touched[at] == voxel:
        for f in touched_faces[at]:
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
                 touched, touched_faces) -> None:
    """Writes the exact values of band voxels ``positions`` (m,) into ``flat``: ``DistanceGrid._make_exact``'s
    numbers bit for bit (the nearest of the faces of the voxel's nearest touched voxel and, within 2.5 voxels
    of the surface, of its six neighbours, each face measured once; clipped to ``cap``; negative where
    ``inside``, empty if unsigned).

    ``index``, ``nearest``, ``close``, ``inside`` are the band's per-voxel arrays
    (:class:`~handgen.geometry.exact_band.ExactBand`), ``triangles`` (F, 3, 3), ``touched`` (n,) sorted flat
    indices of the voxels holding faces and ``touched_faces`` (n, K) their faces (-1 = none).
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
        count = _gather_faces(touched, touched_faces, near, faces, 0)
        if close[q]:
            i, j, k = near // (ny * nz), (near // nz) % ny, near % nz
            if i > 0:
                count = _gather_faces(touched, touched_faces, near - ny * nz, faces, count)
            if i < nx - 1:
                count = _gather_faces(touched, touched_faces, near + ny * nz, faces, count)
            if j > 0:
                count = _gather_faces(touched, touched_faces, near - nz, faces, count)
            if j < ny - 1:
                count = _gather_faces(touched, touched_faces, near + nz, faces, count)
            if k > 0:
                count = _gather_faces(touched, touched_faces, near - 1, faces, count)
            if k < nz - 1:
                count = _gather_faces(touched, touched_faces, near + 1, faces, count)
        best = np.inf
        for f in faces[:count]:
            tri = triangles[f]
            best = min(best, point_triangle_distance(point, tri[0], tri[1], tri[2]))
        value = min(best, cap)
        if signed and inside[q]:
            value = -value
        flat[v] = np.float32(value)


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
    points, index = np.full((1, 3), 0.5), np.zeros(0, dtype=np.int64)
    position, done = np.zeros(8, dtype=np.int32), np.ones(1, dtype=bool)
    below_or_pending(flat, shape, origin, 1.0, points, 1.0, False, position, done)
    interpolate(flat, shape, origin, 1.0, points, 1.0)
    take_corner_voxels(shape, origin, 1.0, points, position, done)
    for dtype in (np.float32, np.float64):
        frame_map(np.zeros((1, 1, 3), dtype=dtype), origin[None], np.eye(3)[None], origin)
        frame_map(np.zeros((1, 1, 3), dtype=dtype), origin[None], np.eye(3)[None], np.zeros(0))
    exact_values(flat, shape, origin, 1.0, 1.0, index, index, index, np.zeros(0, dtype=bool), np.zeros(0, dtype=bool),
                 np.zeros((1, 3, 3)), index, np.zeros((0, 3), dtype=np.int64))
