"""ProceduralHand: shapes, units, keypoint order, conventions, mirroring, differentiability."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handgen.hand import ProceduralHand
from handgen.hand.anatomy import mirror_axis_angle, right_hands_mean
from handgen.hand.surface import _is_closed
from handgen.hand.topology import FINGER_KEYPOINTS, FINGERTIP_KEYPOINTS, KEYPOINT_NAMES
from handgen.repr.rotations import rotvec_to_rotmat


@pytest.fixture(scope="module")
def right():
    return ProceduralHand("right")


@pytest.fixture(scope="module")
def left():
    return ProceduralHand("left")


def _rest(hand, batch=(1,), **kw):
    go = torch.zeros(*batch, 3)
    hp = torch.zeros(*batch, 45)
    return hand(go, hp, **kw)


def test_shapes_batched_over_leading_dims(right):
    out = right(torch.zeros(2, 5, 3), torch.zeros(2, 5, 45), torch.zeros(2, 5, 10), torch.zeros(2, 5, 3))
    assert out.vertices.shape == (2, 5, right.num_vertices, 3)
    assert out.joints.shape == (2, 5, 21, 3)
    assert out.faces.shape[1] == 3 and out.faces.dtype == torch.int64
    assert 300 <= right.num_vertices <= 3000


def test_mesh_is_closed_and_outward(right):
    v = right.v_template.double().numpy()
    f = right.faces.numpy()
    assert _is_closed(f)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0
    assert 1.5e-4 < volume < 6e-4  # 150..600 cm^3: an adult hand, outward-facing faces


def test_metres_and_adult_size(right):
    j = _rest(right).joints[0]
    length = torch.linalg.norm(j[12] - j[0]).item()  # wrist -> middle tip
    assert 0.16 < length < 0.20
    # MANO template: wrist ~96 mm along +x of the origin, fingers along -x, thumb on +z
    assert j[0, 0] > 0.08
    assert (j[FINGERTIP_KEYPOINTS, 0] < j[0, 0] - 0.09).all()
    assert j[4, 2] > j[20, 2] + 0.05  # thumb tip on +z, pinky tip on -z


def test_keypoint_order_runs_base_to_tip(right):
    j = _rest(right).joints[0]
    assert KEYPOINT_NAMES[0] == "wrist"
    for finger, chain in FINGER_KEYPOINTS.items():
        dist = [torch.linalg.norm(j[k] - j[0]).item() for k in chain]
        assert dist == sorted(dist), f"{finger} keypoints are not ordered base -> tip"
    # across fingers at the MCPs, z decreases from index to pinky
    mcp_z = [j[FINGER_KEYPOINTS[f][0], 2].item() for f in ("index", "middle", "ring", "pinky")]
    assert mcp_z == sorted(mcp_z, reverse=True)


def test_flexion_about_plus_z_curls_fingers_to_the_palm(right):
    hp = torch.zeros(1, 45)
    hp[0, 3 * 3 + 2] = 1.2  # middle MCP (MANO joint 4), about +z
    bent = right(torch.zeros(1, 3), hp).joints[0]
    flat = _rest(right).joints[0]
    # the palm faces -y: the middle fingertip moves down (-y), the index tip does not move
    assert bent[12, 1] < flat[12, 1] - 0.04
    assert torch.allclose(bent[8], flat[8], atol=1e-6)


def test_flat_hand_mean_conventions_agree(right):
    mean = torch.as_tensor(right_hands_mean(), dtype=torch.float32)[None]
    mano_style = ProceduralHand("right", flat_hand_mean=False)
    a = mano_style(torch.zeros(1, 3), torch.zeros(1, 45)).joints
    b = right(torch.zeros(1, 3), mean).joints
    assert torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(a, _rest(right).joints, atol=1e-3)  # the mean pose is curled


def test_left_is_mirror_of_right(right, left):
    rng = np.random.default_rng(0)
    go = rng.normal(scale=0.5, size=(4, 3))
    hp = rng.normal(scale=0.4, size=(4, 45))
    tr = rng.normal(scale=0.1, size=(4, 3))
    betas = rng.normal(size=(4, 10))
    t = lambda x: torch.as_tensor(x, dtype=torch.float32)  # noqa: E731
    r = right(t(go), t(hp), t(betas), t(tr))
    mirrored_tr = tr * np.array([-1.0, 1.0, 1.0])
    lo = left(t(mirror_axis_angle(go)), t(mirror_axis_angle(hp)), t(betas), t(mirrored_tr))
    flip = torch.tensor([-1.0, 1.0, 1.0])
    assert torch.allclose(lo.joints, r.joints * flip, atol=1e-5)
    assert torch.allclose(lo.vertices, r.vertices * flip, atol=1e-5)
    assert torch.allclose(left.hands_mean, torch.as_tensor(mirror_axis_angle(right_hands_mean()), dtype=torch.float32))


def test_global_rotation_pivots_about_the_wrist(right):
    go = torch.tensor([[0.3, -1.1, 0.7]])
    tr = torch.tensor([[0.01, 0.02, -0.03]])
    posed = right(go, torch.zeros(1, 45), None, tr).joints[0]
    rest = _rest(right).joints[0]
    assert torch.allclose(posed[0], rest[0] + tr[0], atol=1e-6)
    assert torch.allclose(right.wrist_offset(), rest[0], atol=1e-7)


def test_betas_change_size_and_proportions(right):
    def span(betas):
        j = right(torch.zeros(1, 3), torch.zeros(1, 45), torch.as_tensor(betas, dtype=torch.float32)[None]).joints[0]
        return torch.linalg.norm(j[12] - j[0]).item(), torch.linalg.norm(j[5] - j[17]).item()

    base_len, base_width = span(np.zeros(10))
    big_len, big_width = span(np.eye(10)[0] * 2)
    assert big_len > base_len * 1.08 and big_width > base_width * 1.08
    long_len, long_width = span(np.eye(10)[1] * 2)
    assert long_len > base_len * 1.03 and abs(long_width - base_width) < 1e-6
    wide_len, wide_width = span(np.eye(10)[2] * 2)
    assert wide_width > base_width * 1.08


def test_gradcheck_small_case():
    hand = ProceduralHand("right", dtype=torch.float64)
    torch.manual_seed(0)
    go = (torch.randn(1, 3, dtype=torch.float64) * 0.3).requires_grad_()
    hp = (torch.randn(1, 45, dtype=torch.float64) * 0.3).requires_grad_()
    betas = (torch.randn(1, 10, dtype=torch.float64) * 0.5).requires_grad_()
    tr = torch.randn(1, 3, dtype=torch.float64).requires_grad_()

    def f(go, hp, betas, tr):
        out = hand(go, hp, betas, tr)
        return out.joints, out.vertices[:, ::97]

    assert torch.autograd.gradcheck(f, (go, hp, betas, tr), eps=1e-6, atol=1e-5)


def test_bad_shapes_raise(right):
    with pytest.raises(ValueError, match="hand_pose"):
        right(torch.zeros(2, 3), torch.zeros(2, 44))
    with pytest.raises(ValueError, match="side"):
        ProceduralHand("middle")


def test_joints_only_path_matches_full_forward(right, left):
    rng = np.random.default_rng(7)
    t = lambda x: torch.as_tensor(x, dtype=torch.float32)  # noqa: E731
    args = (t(rng.normal(size=(3, 2, 3))), t(rng.normal(scale=0.4, size=(3, 2, 45))),
            t(rng.normal(size=(3, 2, 10))), t(rng.normal(scale=0.1, size=(3, 2, 3))))
    for hand in (right, left):
        assert torch.allclose(hand.joints(*args), hand(*args).joints, atol=1e-6)


def test_joints_then_vertices_are_joints_and_forward_on_the_rows_bit_for_bit(right, left):
    """One skeleton for the keypoints of a batch and the skinning of some of its rows (hand-object contact) =
    joints() of the batch and forward() of those rows, bit for bit on one torch thread (as prep's workers run;
    with more threads torch may split the skinning GEMM of 4 rows of 9 differently from a batch of 4)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _check_joints_then_vertices(right, left)
    finally:
        torch.set_num_threads(threads)


def _check_joints_then_vertices(right, left):
    rng = np.random.default_rng(8)
    t = lambda x: torch.as_tensor(x, dtype=torch.float32)
    go, hp, tr = t(rng.normal(size=(9, 3))), t(rng.normal(scale=0.4, size=(9, 45))), t(rng.normal(size=(9, 3)))
    rows = torch.tensor([0, 3, 4, 8])
    for hand, betas in ((right, t(rng.normal(size=10))), (left, t(rng.normal(size=(9, 10))))):
        joints, vertices = hand.joints_then_vertices(go, hp, betas, tr)
        assert torch.equal(joints, hand.joints(go, hp, betas, tr))
        rows_betas = betas if betas.dim() == 1 else betas[rows]
        assert torch.equal(vertices(rows), hand(go[rows], hp[rows], rows_betas, tr[rows]).vertices)


def test_joints_and_rotations_share_the_skeletons_rotations_bit_for_bit(right):
    """What the features read: joints() and rotvec_to_rotmat of the 16 axis-angles, the same numbers when the
    skeleton's own rotations are reused (float32), and the default path for a float64 pose."""
    rng = np.random.default_rng(9)
    go, hp, tr = (torch.as_tensor(rng.normal(size=(4, 7, n))) for n in (3, 45, 3))
    for dtype in (torch.float32, torch.float64):
        args = (go.to(dtype), hp.to(dtype), None, tr.to(dtype))
        joints, rotations = right.joints_and_rotations(*args)
        assert torch.equal(joints, right.joints(*args))
        expected = rotvec_to_rotmat(torch.cat(args[:2], dim=-1).unflatten(-1, (16, 3)))
        assert rotations.shape == (4, 7, 16, 3, 3) and rotations.dtype == dtype and torch.equal(rotations, expected)


def test_skinning_without_autograd_gives_the_tracked_paths_numbers(right):
    """The no-grad skinning (one reused buffer, combined in place, chunked) = the autograd path bit for bit, over
    batch sizes that end inside, on and past a chunk, with and without a shift."""
    from handgen.hand.skinning import SKIN_CHUNK, skin_matrices

    rng = np.random.default_rng(10)
    for batch in (1, SKIN_CHUNK - 1, SKIN_CHUNK, 2 * SKIN_CHUNK + 3):
        go, hp = (torch.as_tensor(rng.normal(scale=0.5, size=(batch, n)), dtype=torch.float32) for n in (3, 45))
        betas = torch.as_tensor(rng.normal(size=(batch, 10)), dtype=torch.float32)
        shift = torch.as_tensor(rng.normal(scale=0.1, size=(batch, 1, 3)), dtype=torch.float32)
        with torch.no_grad():
            rotations, positions, joints_rest, _ = right._skeleton(go, hp, betas)
            matrices = skin_matrices(rotations, positions, joints_rest)
            plain, shifted = right.skin(betas, matrices), right.skin(betas, matrices, shift)
        tracked = betas.clone().requires_grad_(True)
        assert torch.equal(plain, right.skin(tracked, matrices).detach())
        assert torch.equal(shifted, right.skin(tracked, matrices, shift).detach())
        assert plain.shape == (batch, right.num_vertices, 3) and plain.is_contiguous()
