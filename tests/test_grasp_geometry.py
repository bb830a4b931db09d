"""Grasp geometry: winding numbers, mesh SDFs, grid resampling, hand fields, hand frame, Procrustes."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch
import trimesh

from handgen.grasp.grid_sampling import GridSDF, cell_centers, object_sdf_in_hand_frame, query_sdf
from handgen.grasp.hand_field import FIELD_CLAMP, joint_field
from handgen.grasp.hand_frame import (
    apply_affine,
    frame_center,
    hand_frame_matrix,
    local_to_normalized,
    transform_hand_params,
    world_to_local,
)
from handgen.grasp.object_sdf import MeshSDF, compute_sdf_grid
from handgen.grasp.procrustes import field_minima, kabsch, left_pose_from_field
from handgen.geometry.ray_parity import grid_inside_votes
from handgen.geometry.winding import WindingNumber
from tests.helpers import YCB_DIR

HALF = np.array([0.05, 0.1, 0.15])


def _box():
    return trimesh.creation.box(2 * HALF)


def _box_sdf(p):
    q = np.abs(p) - HALF
    return np.linalg.norm(np.maximum(q, 0), axis=-1) + np.minimum(q.max(-1), 0)


def test_winding_number_box_and_open_box():
    box = _box()
    pts = np.random.default_rng(0).uniform(-0.2, 0.2, (3000, 3))
    inside = np.all(np.abs(pts) < HALF, axis=1)
    w = WindingNumber(box.vertices, box.faces, leaf_size=4)(pts)
    np.testing.assert_allclose(w, inside.astype(float), atol=0.05)
    # remove the +z face: the centre loses exactly that face's solid angle (rectangle formula)
    keep = ~(box.triangles_center[:, 2] > HALF[2] - 1e-9)
    w_open = WindingNumber(box.vertices, box.faces[keep])(np.zeros((1, 3)))
    a, b, d = HALF
    hole = 4 * np.arctan(a * b / (d * np.sqrt(a * a + b * b + d * d))) / (4 * np.pi)
    assert w_open[0] == pytest.approx(1 - hole, abs=1e-6)
    assert w_open[0] > 0.5
    # inverted normals flip the sign
    w_inv = WindingNumber(box.vertices, box.faces[:, ::-1])(np.zeros((1, 3)))
    assert w_inv[0] == pytest.approx(-1.0, abs=1e-6)


def test_box_sdf_grid_matches_analytic():
    box = _box()
    grid = compute_sdf_grid(box.vertices, box.faces, margin=0.03, max_cells=40)
    pts = grid.points().reshape(-1, 3)
    ref = _box_sdf(pts)
    err = np.abs(grid.values.reshape(-1) - ref)
    assert err[np.abs(ref) < 0.015].max() < 1e-5
    assert err.max() < 1.05 * grid.spacing  # beyond the exact band: propagated, good to a voxel
    votes = grid_inside_votes(box.vertices, box.faces, grid.origin, grid.spacing, tuple(grid.shape_xyz))
    assert set(np.unique(votes)) <= {0, 6}


def _ycb_mesh(name):
    path = YCB_DIR / f"{name}.obj"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return trimesh.load(path, force="mesh", process=False)


@pytest.mark.parametrize("name", ["TomatoSoupCan", "CrackerBox"])
def test_sdf_sign_on_non_watertight_ycb_mesh(name):
    raw = _ycb_mesh(name)
    assert not raw.is_watertight  # the real, unrepaired mesh
    ref = raw.copy()
    ref.merge_vertices(merge_tex=True, merge_norm=True)
    assert ref.is_watertight and ref.volume > 0  # ground truth for the check only
    rng = np.random.default_rng(1)
    idx = rng.choice(len(ref.vertices), 120, replace=False)
    normals = ref.vertex_normals[idx]
    pts = np.concatenate([ref.vertices[idx] + 0.004 * normals, ref.vertices[idx] - 0.004 * normals])
    truth = ref.contains(pts)  # thin features can put an offset point on the other side: trust the repair
    sdf = MeshSDF(raw.vertices, raw.faces)
    values = sdf(pts)
    assert ((values < 0) == truth).all()
    np.testing.assert_allclose(values, -trimesh.proximity.signed_distance(ref, pts), atol=5e-4)
    if name != "TomatoSoupCan":
        return
    grid = compute_sdf_grid(raw.vertices, raw.faces, mesh_sdf=sdf, max_cells=48)
    cells = grid.points().reshape(-1, 3)
    sel = rng.choice(len(cells), 800, replace=False)
    assert ((grid.values.reshape(-1)[sel] < 0) == ref.contains(cells[sel])).all()
    g = GridSDF.from_grid(grid)
    inside = torch.tensor(pts[truth], dtype=torch.float32)
    assert (g(inside) < 0.002).all()


def test_query_sdf_gradcheck_and_outside():
    values = torch.randn(4, 5, 6, dtype=torch.float64)
    lower = torch.tensor([-0.1, -0.2, 0.0], dtype=torch.float64)
    upper = lower + 0.05 * torch.tensor([5.0, 4.0, 3.0], dtype=torch.float64)
    pts = (lower + (upper - lower) * torch.tensor([[0.31, 0.52, 0.23], [0.77, 0.18, 0.61]], dtype=torch.float64))
    pts.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: query_sdf(values, lower, upper, p), (pts,))
    # exact at voxel centres, extrapolated by distance outside the box
    assert query_sdf(values, lower, upper, lower[None])[0] == pytest.approx(values[0, 0, 0].item())
    out = query_sdf(values, lower, upper, (lower - torch.tensor([0.1, 0.0, 0.0], dtype=torch.float64))[None])
    assert out[0] == pytest.approx(values[0, 0, 0].item() + 0.1)


def test_object_sdf_resampling_gradcheck_and_values():
    box = _box()
    grid = compute_sdf_grid(box.vertices, box.faces, margin=0.05, max_cells=16)
    sdf = GridSDF.from_grid(grid, dtype=torch.float64)
    rot6 = torch.tensor([[1.0, 0.1, 0.0, -0.1, 1.0, 0.2]], dtype=torch.float64, requires_grad=True)
    transl = torch.tensor([[0.01, -0.02, 0.03]], dtype=torch.float64, requires_grad=True)
    center = torch.tensor([0.0, -0.08, 0.0], dtype=torch.float64)

    def fn(r6, t):
        rot = roma.special_gramschmidt(r6.reshape(1, 2, 3).transpose(1, 2))
        return object_sdf_in_hand_frame(sdf, rot, t, center, resolution=3, extent=0.4)

    assert torch.autograd.gradcheck(fn, (rot6, transl), atol=1e-5)
    # identity pose: hand-frame grid values equal the object SDF at those points, truncated and scaled
    fine = GridSDF.from_grid(compute_sdf_grid(box.vertices, box.faces, margin=0.05, max_cells=48), dtype=torch.float64)
    vol = object_sdf_in_hand_frame(fine, torch.eye(3, dtype=torch.float64)[None], torch.zeros(1, 3, dtype=torch.float64), center, 8)
    pts = (cell_centers(8, dtype=torch.float64) * 0.2 + center).reshape(-1, 3).numpy()
    expect = np.clip(_box_sdf(pts) / 0.2, -0.2, 0.2) / 0.2
    assert np.abs(vol.reshape(-1).numpy() - expect).max() < 0.05  # 2 mm (beyond the exact band)


def test_hand_field_values_and_gradcheck(hand_pair):
    from handgen.hand import ProceduralHand

    joints = torch.zeros(1, 21, 3)
    joints[0, 5] = torch.tensor([0.1, -0.2, 0.3])
    field = joint_field(joints, resolution=16)
    assert field.shape == (1, 20, 16, 16, 16)
    centers = cell_centers(16)
    expect = ((centers - joints[0, 5]) ** 2).sum(-1).clamp(max=FIELD_CLAMP)
    assert torch.allclose(field[0, 4], expect)
    assert field.max() <= FIELD_CLAMP
    # differentiable in the hand's articulation (double precision hand, small grid)
    hand = ProceduralHand("right", dtype=torch.float64)
    base = (hand.hands_mean + 0.05)[None]
    sel = [0, 1, 2, 38, 39, 44]  # index MCP and two thumb components keep the check quick
    part = base[:, sel].clone().requires_grad_(True)

    def fn(p):
        pose = base.clone()
        pose[:, sel] = p
        out = hand(torch.zeros(1, 3, dtype=torch.float64), pose)
        return joint_field(local_to_normalized(out.joints, frame_center(hand)), resolution=3, extent=0.5)

    assert torch.autograd.gradcheck(fn, (part,), atol=1e-5)


def test_hand_frame_matrix_and_param_transform(hand_pair):
    right = hand_pair.right
    go = torch.tensor([[0.3, -1.2, 0.5]])
    tr = torch.tensor([[0.1, 0.2, -0.3]])
    pose = right.hands_mean[None]
    world = right(go, pose, None, tr).joints
    mat = hand_frame_matrix(right, go, tr)
    wrist_rest = right.rest_joints()[0]
    local = world_to_local(world, go, tr, wrist_rest)
    at_rest = right(torch.zeros(1, 3), pose).joints
    assert torch.allclose(local, at_rest, atol=1e-5)
    norm = apply_affine(mat, world)
    assert torch.allclose(norm, local_to_normalized(at_rest, frame_center(right)), atol=1e-5)
    # rigidly moving a posed hand == re-expressing its parameters
    rot = roma.rotvec_to_rotmat(torch.tensor([0.4, 0.1, -0.7]))
    shift = torch.tensor([0.05, -0.1, 0.2])
    go2, tr2 = transform_hand_params(go[0], tr[0], rot, shift, wrist_rest)
    moved = right(go2[None], pose, None, tr2[None]).vertices
    expect = right(go, pose, None, tr).vertices @ rot.T + shift
    assert torch.allclose(moved, expect, atol=1e-5)


def test_kabsch_recovers_rigid_transform():
    g = torch.Generator().manual_seed(0)
    src = torch.randn(20, 3, generator=g, dtype=torch.float64)
    rot = roma.random_rotmat(generator=g, dtype=torch.float64)
    t = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)
    r_est, t_est = kabsch(src, src @ rot.T + t)
    assert torch.allclose(r_est, rot, atol=1e-9) and torch.allclose(t_est, t, atol=1e-9)


def test_procrustes_recovers_left_hand_pose_from_its_field(hand_pair):
    """A field built from a known left-hand pose (in the right frame) gives back that pose within a voxel."""
    left, right = hand_pair.left, hand_pair.right
    center = frame_center(right)
    mean = left.hands_mean[None]
    neutral = local_to_normalized(left(torch.zeros(1, 3), mean).joints, center)[0]  # (21,3)
    rot = roma.rotvec_to_rotmat(torch.tensor([0.2, 2.5, -0.4]))
    shift = torch.tensor([0.05, -0.15, 0.1])
    go, tr = transform_hand_params(torch.zeros(3), torch.zeros(3), rot, shift, left.rest_joints()[0])
    joints = local_to_normalized(left(go[None], mean, None, tr[None]).joints, center)  # (1,21,3)
    field = joint_field(joints)
    voxel = 3.0 / 16
    for subvoxel, tol in ((False, voxel), (True, 0.2 * voxel)):
        pts, w = field_minima(field[0], subvoxel=subvoxel)
        assert (w == 1).all()
        assert (pts - joints[0, 1:]).norm(dim=-1).max() < tol * np.sqrt(3) / 2 + 1e-6
        r_est, t_est = left_pose_from_field(field[0], neutral[1:], subvoxel=subvoxel)
        recovered = neutral @ r_est.T + t_est
        assert (recovered - joints[0]).norm(dim=-1).max() < tol
    # in metres: the recovered rotation is within a few degrees
    angle = roma.rotmat_geodesic_distance(r_est, rot)
    assert angle < np.radians(3)
