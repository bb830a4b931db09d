"""ManoHand against an independent numpy MANO on the synthetic MANO files (no licensed data needed).

The files themselves and their loader: tests/test_mano_files.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handgen.hand.mano_file import load_mano_arrays
from tests.helpers import MANO_KEYPOINT_ORDER as KEYPOINT_ORDER
from tests.helpers import MANO_PARENTS as PARENTS
from tests.helpers import MANO_TIPS as TIPS


@pytest.fixture(scope="session")
def mano_hands(mano_dir):
    from handgen.hand.mano import ManoHand

    return {side: ManoHand(mano_dir, side) for side in ("left", "right")}


@pytest.fixture(scope="session")
def mano_hands64(mano_dir):
    from handgen.hand.mano import ManoHand

    return {side: ManoHand(mano_dir, side, dtype=torch.float64) for side in ("left", "right")}


def _mirror_rotvec(r: torch.Tensor) -> torch.Tensor:
    return r.reshape(*r.shape[:-1], -1, 3) * r.new_tensor([1.0, -1.0, -1.0])


def _mirror_points(p: torch.Tensor) -> torch.Tensor:
    return p * p.new_tensor([-1.0, 1.0, 1.0])


def _random_params(batch: int, seed: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (
        0.8 * torch.randn(batch, 3, generator=g, dtype=dtype),
        0.4 * torch.randn(batch, 45, generator=g, dtype=dtype),
        torch.randn(batch, 10, generator=g, dtype=dtype),
        0.1 * torch.randn(batch, 3, generator=g, dtype=dtype),
    )


# -- independent reference: plain numpy MANO (LBS with pose correctives) ------------------
def _rodrigues(r: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(r)
    if angle < 1e-12:
        return np.eye(3)
    k = r / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def numpy_mano(arrays, global_orient, hand_pose, betas, transl, tip_ids):
    v_shaped = arrays["v_template"] + arrays["shapedirs"] @ betas
    joints = arrays["J_regressor"] @ v_shaped
    rots = [_rodrigues(r) for r in np.concatenate([global_orient, hand_pose]).reshape(16, 3)]
    features = np.concatenate([(r - np.eye(3)).reshape(9) for r in rots[1:]])
    v_posed = v_shaped + arrays["posedirs"] @ features
    world = []
    for j in range(16):
        local = np.eye(4)
        local[:3, :3] = rots[j]
        local[:3, 3] = joints[j] - (joints[PARENTS[j]] if j else 0.0)
        world.append(local if j == 0 else world[PARENTS[j]] @ local)
    skin = []
    for j, g in enumerate(world):
        a = g.copy()
        a[:3, 3] -= g[:3, :3] @ joints[j]
        skin.append(a)
    blended = np.einsum("vj,jrc->vrc", arrays["weights"], np.stack(skin))
    verts = np.einsum("vrc,vc->vr", blended[:, :3, :3], v_posed) + blended[:, :3, 3]
    posed_joints = np.stack([g[:3, 3] for g in world])
    keypoints = np.concatenate([posed_joints, verts[tip_ids]])[KEYPOINT_ORDER]
    return verts + transl, keypoints + transl


# -- ManoHand -----------------------------------------------------------------------------
@pytest.mark.parametrize("side", ["left", "right"])
def test_mano_hand_shapes_units_and_translation(mano_hands, side):
    hand = mano_hands[side]
    assert hand.name == "mano" and hand.num_vertices == 778
    go, hp, betas, transl = (x.float().reshape(2, 3, -1) for x in _random_params(6, seed=1))
    out = hand(go, hp, betas, transl)
    assert out.vertices.shape == (2, 3, 778, 3) and out.joints.shape == (2, 3, 21, 3)
    assert out.faces.shape == (1538, 3) and out.faces.dtype == torch.long
    assert out.vertices.dtype == torch.float32
    moved = hand(go, hp, betas, transl + 1.0)
    torch.testing.assert_close(moved.joints, out.joints + 1.0)
    rest = hand(torch.zeros(1, 3), torch.zeros(1, 45))
    length = torch.linalg.norm(rest.joints[0, 12] - rest.joints[0, 0])  # wrist -> middle tip, metres
    assert 0.15 < float(length) < 0.22
    torch.testing.assert_close(rest.joints[0, 0], hand.rest_joints()[0])
    torch.testing.assert_close(hand.wrist_offset(betas[0]), hand.rest_joints(betas[0])[..., 0, :])
    assert hand.rest_joints(betas).shape == (2, 3, 16, 3)
    sign = -1.0 if side == "left" else 1.0
    assert float(sign * (rest.joints[0, 0, 0] - rest.joints[0, 12, 0])) > 0.1  # fingers along -x (right)


@pytest.mark.parametrize("side", ["left", "right"])
def test_mano_hand_matches_independent_numpy_mano(mano_dir, mano_hands64, side):
    arrays = load_mano_arrays(mano_dir / f"MANO_{side.upper()}.pkl")
    hand = mano_hands64[side]
    go, hp, betas, transl = _random_params(3, seed=2)
    out = hand(go, hp, betas, transl)
    for i in range(3):
        verts, joints = numpy_mano(arrays, go[i].numpy(), hp[i].numpy(), betas[i].numpy(), transl[i].numpy(),
                                   TIPS[side])
        np.testing.assert_allclose(out.vertices[i].numpy(), verts, rtol=0, atol=1e-7)
        np.testing.assert_allclose(out.joints[i].numpy(), joints, rtol=0, atol=1e-7)
    rest = arrays["J_regressor"] @ (arrays["v_template"] + arrays["shapedirs"] @ betas[0].numpy())
    np.testing.assert_allclose(hand.rest_joints(betas[0]).numpy(), rest, rtol=0, atol=1e-12)


def test_tip_vertex_id_options(mano_dir, mano_hands64):
    from handgen.hand.mano import ManoHand

    smplx_ids = ManoHand(mano_dir, "right", tip_vertex_ids="smplx", dtype=torch.float64)
    custom = ManoHand(mano_dir, "right", tip_vertex_ids=[0, 1, 2, 3, 4], dtype=torch.float64)
    go, hp, betas, _ = _random_params(1, seed=3)
    default = mano_hands64["right"](go, hp, betas)
    out_smplx, out_custom = smplx_ids(go, hp, betas), custom(go, hp, betas)
    tips = [4, 8, 12, 16, 20]
    torch.testing.assert_close(out_smplx.joints[0, tips], default.vertices[0, [744, 320, 443, 554, 671]])
    torch.testing.assert_close(out_custom.joints[0, tips], default.vertices[0, [0, 1, 2, 3, 4]])
    others = [i for i in range(21) if i not in tips]
    torch.testing.assert_close(out_smplx.joints[0, others], default.joints[0, others])
    with pytest.raises(ValueError, match="5 vertex ids"):
        ManoHand(mano_dir, "right", tip_vertex_ids=[1, 2, 3])


@pytest.mark.parametrize("side", ["left", "right"])
def test_flat_hand_mean_false_adds_hands_mean(mano_dir, mano_hands64, side):
    from handgen.hand.mano import ManoHand

    relative = ManoHand(mano_dir, side, flat_hand_mean=False, dtype=torch.float64)
    absolute = mano_hands64[side]
    arrays = load_mano_arrays(mano_dir / f"MANO_{side.upper()}.pkl")
    np.testing.assert_allclose(relative.hands_mean.numpy(), arrays["hands_mean"])
    assert float(relative.hands_mean.abs().sum()) > 1.0
    go, hp, betas, transl = _random_params(4, seed=4)
    a = relative(go, hp, betas, transl)
    b = absolute(go, hp + relative.hands_mean, betas, transl)
    torch.testing.assert_close(a.vertices, b.vertices)
    torch.testing.assert_close(a.joints, b.joints)


def test_gradcheck_double(mano_hands64):
    hand = mano_hands64["right"]
    go, hp, betas, transl = (x[:1].clone().requires_grad_(True) for x in _random_params(1, seed=5))

    def joints_and_some_vertices(go, hp, betas, transl):
        out = hand(go, hp, betas, transl)
        return out.joints, out.vertices[:, ::97]

    assert torch.autograd.gradcheck(joints_and_some_vertices, (go, hp, betas, transl), eps=1e-6, atol=1e-6)


def test_left_shapedirs_fix_changes_only_the_left_x_shape_direction(mano_dir, mano_hands64):
    from handgen.hand.mano import ManoHand

    plain = mano_hands64["left"]
    # same tip vertices as the right hand (manopth's left middle tip is 445, not 444)
    fixed = ManoHand(mano_dir, "left", fix_left_shapedirs=True, tip_vertex_ids=TIPS["right"], dtype=torch.float64)
    assert not plain.fix_left_shapedirs and fixed.fix_left_shapedirs
    torch.testing.assert_close(fixed.mano.shapedirs[:, 0], -plain.mano.shapedirs[:, 0])
    torch.testing.assert_close(fixed.mano.shapedirs[:, 1:], plain.mano.shapedirs[:, 1:])
    for name in ("v_template", "posedirs", "J_regressor", "lbs_weights"):
        torch.testing.assert_close(getattr(fixed.mano, name), getattr(plain.mano, name))
    right_fixed = ManoHand(mano_dir, "right", fix_left_shapedirs=True, dtype=torch.float64)
    torch.testing.assert_close(right_fixed.mano.shapedirs, mano_hands64["right"].mano.shapedirs)

    go, hp, betas, transl = _random_params(3, seed=6)
    zero = torch.zeros_like(betas)
    torch.testing.assert_close(fixed(go, hp, zero, transl).vertices, plain(go, hp, zero, transl).vertices)
    # with the fix, the left hand is the exact mirror of the right one for the same betas
    right = mano_hands64["right"](go, hp, betas, transl)
    mirrored = fixed(_mirror_rotvec(go).reshape(3, 3), _mirror_rotvec(hp).reshape(3, 45), betas, _mirror_points(transl))
    torch.testing.assert_close(mirrored.joints, _mirror_points(right.joints))
    torch.testing.assert_close(mirrored.vertices, _mirror_points(right.vertices))
    unfixed = plain(_mirror_rotvec(go).reshape(3, 3), _mirror_rotvec(hp).reshape(3, 45), betas, _mirror_points(transl))
    assert float((unfixed.vertices - _mirror_points(right.vertices)).abs().max()) > 1e-3


def test_mano_data_stays_out_of_state_dict(mano_hands):
    assert len(mano_hands["right"].state_dict()) == 0


def test_make_hand_picks_mano_with_a_folder(mano_dir, monkeypatch):
    from handgen.hand import ProceduralHand, make_hand, make_hand_pair
    from handgen.hand.mano import ManoHand

    monkeypatch.delenv("HANDGEN_MANO_DIR", raising=False)
    hand = make_hand("right", mano_dir=mano_dir)
    assert isinstance(hand, ManoHand) and hand.name == "mano" and hand.side == "right"
    assert isinstance(make_hand("right"), ProceduralHand)
    monkeypatch.setenv("HANDGEN_MANO_DIR", str(mano_dir))
    pair = make_hand_pair(flat_hand_mean=False)
    assert isinstance(pair.left, ManoHand) and pair.left.side == "left" and not pair.left.flat_hand_mean
    params = {f"{h}_{k}": torch.zeros(4, n) for h in ("left", "right") for k, n in
              (("global_orient", 3), ("hand_pose", 45), ("transl", 3))}
    assert pair.name == "mano" and pair.joints(params).shape == (4, 2, 21, 3)


def test_joints_then_vertices_default_is_joints_and_forward(mano_hands):
    """HandModel's default (MANO: no shared skeleton): joints() of the batch, forward() of the rows."""
    rng = np.random.default_rng(5)
    t = lambda x: torch.as_tensor(x, dtype=torch.float32)
    go, hp, tr = t(rng.normal(size=(5, 3))), t(rng.normal(scale=0.4, size=(5, 45))), t(rng.normal(size=(5, 3)))
    hand, betas, rows = mano_hands["right"], t(rng.normal(size=10)), torch.tensor([1, 4])
    joints, vertices = hand.joints_then_vertices(go, hp, betas, tr)
    assert torch.equal(joints, hand.joints(go, hp, betas, tr))
    assert torch.equal(vertices(rows), hand(go[rows], hp[rows], betas, tr[rows]).vertices)
