"""The faster synthetic-object machinery gives the same answers: lazy distance grids, the vectorised
point-triangle distance, numpy skinning of a few vertices, finger closing several steps at a time."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from data_prep.object_distance import DistanceGrid, point_triangle_distance
from data_prep.synthetic.grasp_solver import close_fingers, hand_rotation, open_hand, place_palm
from data_prep.synthetic.hand_geometry import SkinnedPoints, pose_hand
from handgen.geometry import grid_kernels
from handgen.geometry.exact_band import lower_corner


def test_point_triangle_distance_matches_trimesh_in_every_region():
    rng = np.random.default_rng(0)
    n = 4000
    a, b, c = (rng.normal(size=(n, 3)) for _ in range(3))
    p = rng.normal(size=(n, 3)) * 2.0
    c[:10] = a[:10] + 0.5 * (b[:10] - a[:10])  # degenerate (collinear) triangles
    expected = np.linalg.norm(p - trimesh.triangles.closest_point(np.stack([a, b, c], axis=1), p), axis=1)
    np.testing.assert_allclose(point_triangle_distance(p, a, b, c), expected, atol=1e-9)
    assert point_triangle_distance(np.zeros((1, 3)), *np.eye(3)[:, None])[0] == pytest.approx(np.sqrt(1 / 3))  # face


def test_lazy_grid_gives_the_eager_grids_values_bit_for_bit():
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=0.05)
    kwargs = dict(spacing=0.004, band=0.01, cap=0.03, signed=True)
    eager = DistanceGrid.from_mesh(mesh.vertices, mesh.faces, **kwargs)
    lazy = DistanceGrid.from_mesh(mesh.vertices, mesh.faces, lazy=True, **kwargs)
    points = np.random.default_rng(1).uniform(-0.07, 0.07, size=(500, 3))
    np.testing.assert_array_equal(lazy(points), eager(points))  # queried: exact where read
    assert not np.array_equal(lazy.values, eager.values)  # ...and only there so far
    np.testing.assert_array_equal(lazy.materialize().values, eager.values)
    radius = np.linalg.norm(points, axis=1)
    near = np.abs(radius - 0.05) < 0.008
    np.testing.assert_allclose(eager(points)[near], (radius - 0.05)[near], atol=1.5e-3)  # signed sphere distance


def test_lower_bound_and_below_read_a_lazy_grid_without_making_all_of_it_exact():
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=0.05)
    points = np.random.default_rng(3).uniform(-0.08, 0.08, size=(2000, 3))  # some beyond the grid
    for signed in (False, True):
        kwargs = dict(spacing=0.004, band=0.01, cap=0.03, signed=signed)
        eager = DistanceGrid.from_mesh(mesh.vertices, mesh.faces, **kwargs)
        lazy = DistanceGrid.from_mesh(mesh.vertices, mesh.faces, lazy=True, **kwargs)
        exact = eager(points)
        before = lazy.values.copy()
        bound = lazy.lower_bound(points)
        np.testing.assert_array_equal(lazy.values, before)  # made nothing exact
        assert (bound <= exact).all() and (bound < exact - 1e-3).any()  # a bound, not the value
        for threshold in (0.004, 0.008, -0.003):
            np.testing.assert_array_equal(lazy.below(points, threshold), exact < threshold)
        assert not np.array_equal(lazy.values, eager.values)  # voxels no answer depended on are still pending
        np.testing.assert_array_equal(lazy(points), exact)
        np.testing.assert_array_equal(lazy.materialize().values, eager.values)


def _trilinear_reference(grid: DistanceGrid, points: np.ndarray) -> np.ndarray:
    """The numpy trilinear interpolation that DistanceGrid.__call__ ran before the compiled one: voxel coordinates
    ``(p - origin) / spacing``, the cell's lower corner (clamped), float32 values widened, x then y then z;
    ``cap`` outside the grid."""
    values = grid.values
    _, ny, nz = values.shape
    flat = values.reshape(-1)
    coords = [(points[:, k] - grid.origin[k]) * (1.0 / grid.spacing) for k in range(3)]
    inside = np.ones(len(points), dtype=bool)
    for k, c in enumerate(coords):
        inside &= (c >= 0.0) & (c <= values.shape[k] - 1)
    x, y, z = (c[inside] for c in coords)
    ix, iy, iz = lower_corner(values.shape, x, y, z)
    fx, fy, fz = x - ix, y - iy, z - iz
    sx, sy = ny * nz, nz
    i = ix * sx + iy * sy + iz
    c00 = flat[i] * (1 - fx) + flat[i + sx] * fx
    c01 = flat[i + 1] * (1 - fx) + flat[i + sx + 1] * fx
    c10 = flat[i + sy] * (1 - fx) + flat[i + sx + sy] * fx
    c11 = flat[i + sy + 1] * (1 - fx) + flat[i + sx + sy + 1] * fx
    out = np.full(len(points), grid.cap, dtype=np.float64)
    out[inside] = (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz
    return out


def test_compiled_kernels_give_the_numpy_paths_numbers_bit_for_bit():
    """grid_kernels (numba) = the numpy code they replace in DistanceGrid.below: the point-triangle distance in
    every Voronoi region and on degenerate triangles, the exact band values, trilinear interpolation; and the
    world-to-object map (frame_map) = numpy's elementwise products."""
    rng = np.random.default_rng(4)
    n = 3000
    a, b, c = (rng.normal(size=(n, 3)) for _ in range(3))
    p = rng.normal(size=(n, 3)) * 2.0
    c[:10] = a[:10] + 0.5 * (b[:10] - a[:10])  # collinear
    c[10:20], b[10:20] = a[10:20], a[10:20]  # a point
    got = np.array([grid_kernels.point_triangle_distance(p[i], a[i], b[i], c[i]) for i in range(n)])
    np.testing.assert_array_equal(got, point_triangle_distance(p, a, b, c))
    mesh = trimesh.creation.box(extents=(0.06, 0.04, 0.05))
    for signed in (False, True):
        kwargs = {"spacing": 0.004, "band": 0.012, "cap": 0.03, "signed": signed}
        eager = DistanceGrid.from_mesh(mesh.vertices, mesh.faces, **kwargs)
        lazy = DistanceGrid.from_mesh(mesh.vertices, mesh.faces, lazy=True, **kwargs)
        band, flat = lazy._band, lazy.values.reshape(-1)
        band.voxel_state()
        inside = np.zeros(0, dtype=bool) if band.inside is None else band.inside
        grid_kernels.exact_values(flat, np.asarray(lazy.shape), lazy.origin, lazy.spacing, lazy.cap,
                                  np.arange(len(band.index)), band.index, band.nearest, band.close, inside,
                                  band.triangles, band._touched_row, band.touched_faces)
        np.testing.assert_array_equal(lazy.values, eager.values)
    # below()'s block minima: the smallest value each block of 4x4x4 cells reads (its 5x5x5 voxels)
    v, blocks = eager.values, eager._block_minimum().reshape([(n + 2) // 4 for n in eager.shape])
    for i, j, k in ((0, 0, 0), (1, 2, 3), tuple(np.array(blocks.shape) - 1)):
        assert blocks[i, j, k] == v[4 * i : 4 * i + 5, 4 * j : 4 * j + 5, 4 * k : 4 * k + 5].min()
    points = rng.uniform(-0.08, 0.08, size=(5000, 3))  # some beyond the grid
    points[:5] = eager.origin + (np.array(eager.shape) - 1.0) * eager.spacing  # the grid's far corner: clamped cell
    inv, shape = 1.0 / eager.spacing, np.asarray(eager.shape)
    reference = _trilinear_reference(eager, points)
    assert grid_kernels.interpolate(eager.values.reshape(-1), shape, eager.origin, inv, points,
                                    eager.cap).tobytes() == reference.tobytes()
    assert eager(points).tobytes() == reference.tobytes()  # __call__ is that kernel
    assert (reference[5:] == eager.cap).any() and (reference < eager.cap).any()
    lazy = DistanceGrid.from_mesh(mesh.vertices, mesh.faces, lazy=True, **kwargs)
    assert lazy(points).tobytes() == _trilinear_reference(lazy, points).tobytes() == reference.tobytes()
    np.testing.assert_array_equal(eager.below(points, 0.006), eager(points) < 0.006)  # an exact grid: no band arrays
    # the per-frame maps into an object's frames: numpy's elementwise products in the same order, float32 widened
    world, shift, rot, pivot = rng.normal(size=(4, 7, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3, 3)), rng.normal(size=3)
    d = world - shift[:, None]
    expected = d[..., 0:1] * rot[:, None, 0] + d[..., 1:2] * rot[:, None, 1] + d[..., 2:3] * rot[:, None, 2]
    np.testing.assert_array_equal(grid_kernels.frame_map(world, shift, rot, np.zeros(0)), expected)
    np.testing.assert_array_equal(grid_kernels.frame_map(world, shift, rot, pivot), expected + pivot)
    np.testing.assert_allclose(expected, np.matmul(d, rot), rtol=0, atol=1e-14)
    single = world.astype(np.float32)
    np.testing.assert_array_equal(grid_kernels.frame_map(single, shift, rot, pivot),
                                  grid_kernels.frame_map(single.astype(np.float64), shift, rot, pivot))


def test_skinned_points_match_the_torch_hand():
    rng = np.random.default_rng(2)
    betas = rng.normal(scale=0.5, size=10)
    ids = np.arange(0, 778, 7)
    for side in ("left", "right"):
        rotvec = rng.normal(size=3)
        poses = rng.normal(scale=0.3, size=(3, 45))
        expected = pose_hand(side, np.repeat(rotvec[None], 3, 0), poses, betas).vertices[:, ids]
        got = SkinnedPoints(side, betas, ids)(rotvec, poses)
        np.testing.assert_allclose(got, expected, atol=2e-5)
        np.testing.assert_allclose(SkinnedPoints(side, betas, ids)(rotvec, poses[0]), expected[0], atol=2e-5)


def _box_sdf(points: np.ndarray, half: float = 0.03) -> np.ndarray:
    q = np.abs(points) - half
    return np.linalg.norm(np.maximum(q, 0), axis=-1) + np.minimum(q.max(-1), 0)


def test_closing_several_steps_at_a_time_is_closing_step_by_step():
    """A right hand palm-down on a 6 cm cube, fingers forward: its fingers curl over the front edge."""
    side, betas, sdf = "right", np.zeros(10), _box_sdf
    normal, forward = np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    rotvec = hand_rotation(side, forward, normal)
    wrist, _ = place_palm(side, rotvec, open_hand(side), betas, np.array([0.0, 0.03, 0.0]), normal, sdf)
    one = close_fingers(side, rotvec, wrist, open_hand(side), betas, sdf, lookahead=1)
    many = close_fingers(side, rotvec, wrist, open_hand(side), betas, sdf)
    np.testing.assert_array_equal(one[0], many[0])
    assert one[1] == many[1] and any(one[1].values())
