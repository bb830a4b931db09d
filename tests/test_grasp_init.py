"""Grasp synthesis start strategies (handgen.grasp.init_strategies) and the hold-first ranking."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from handgen.grasp.init_strategies import initial_orientations, principal_axes, rotation_taking, squeeze_type
from handgen.grasp.synthesis import GraspCandidate

BOX = trimesh.creation.box((0.04, 0.2, 0.1))  # extents x < z < y


def test_principal_axes_smallest_extent_first():
    axes = principal_axes(BOX.vertices)
    np.testing.assert_allclose(np.abs(axes), np.eye(3)[[0, 2, 1]], atol=1e-9)


@pytest.mark.parametrize("direction", [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.2, -0.4, 0.9]])
def test_rotation_taking_maps_the_direction_to_plus_y(direction):
    d = np.asarray(direction) / np.linalg.norm(direction)
    r = rotation_taking(d, 0.7)
    np.testing.assert_allclose(r @ d, [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)


def test_axis_starts_squeeze_along_every_principal_axis_and_both_signs():
    rots, labels = initial_orientations(BOX.vertices, BOX.faces, 18, torch.Generator().manual_seed(0))
    assert rots.shape == (18, 3, 3) and labels[:3] == ["axis0", "normal", "random"]
    axes = principal_axes(BOX.vertices)
    seen = set()
    for r, label in zip(rots.double().numpy(), labels):
        if label.startswith("axis"):
            y = r @ axes[int(label[-1])]
            assert abs(y[1]) == pytest.approx(1.0, abs=1e-6)  # that axis lies along the squeeze
            seen.add((label, np.sign(y[1])))
        elif label == "normal":  # a face normal of the box along the squeeze: one box axis along y
            assert np.abs(r).max(axis=1).max() == pytest.approx(1.0, abs=1e-6)
    assert seen == {(f"axis{k}", s) for k in range(3) for s in (-1.0, 1.0)}
    with pytest.raises(ValueError):
        initial_orientations(BOX.vertices, BOX.faces, 2, torch.Generator(), ("sideways",))


def test_squeeze_type_names_the_axis_between_the_palms():
    joints = np.zeros((2, 21, 3))
    joints[0, :, 1] = -0.1  # left palm at -y, right at +y: the box's longest axis (axis2)
    joints[1, :, 1] = 0.1
    assert squeeze_type(joints, principal_axes(BOX.vertices)) == "axis2"


def _cand(holds: float, directions: float, tips: int, sds: float) -> GraspCandidate:
    metrics = {"holds": holds, "hold_directions": directions, "tips_in_contact_left": tips,
               "tips_in_contact_right": tips, "penetration_depth_mm": 1.0}
    z = np.zeros((2, 3))
    return GraspCandidate(z, z, np.zeros((2, 45)), np.zeros((2, 21, 3)), np.zeros((2, 4, 3)), sds, metrics)


def test_ranking_puts_holding_grasps_first():
    cands = [_cand(0.0, 4.0, 5, 0.01), _cand(1.0, 5.0, 1, 0.5), _cand(1.0, 6.0, 0, 0.9), _cand(0.0, 4.0, 0, 0.0)]
    order = sorted(range(4), key=lambda b: cands[b].rank_key())
    assert order == [2, 1, 0, 3]  # holds (6 before 5 directions), then plausible, then SDS loss


def test_sds_draws_timesteps_of_the_respaced_schedule():
    from types import SimpleNamespace

    from handgen.grasp.sds import SDSConfig, sds_step

    seen = []

    class Prior:
        scheduler = SimpleNamespace(config=SimpleNamespace(num_train_timesteps=1000),
                                    alphas_cumprod=torch.linspace(0.999, 0.001, 1000),
                                    add_noise=lambda x, n, t: x)

        def eps(self, x, t, cond, guidance):
            seen.extend(t.tolist())
            return torch.zeros_like(x)

    x = torch.zeros(64, 1, 2, 2, 2, requires_grad=True)
    sds_step(Prior(), x, {}, SDSConfig(), torch.Generator().manual_seed(0))
    assert all(t % 10 == 0 and 250 <= t < 750 for t in seen) and len(set(seen)) > 20


def test_select_diverse_skips_near_duplicates_unless_too_few_differ():
    from handgen.grasp.synthesis import select_diverse

    cands = [_cand(1.0, 6.0, 3, 0.0) for _ in range(4)]
    for c, shift in zip(cands, (0.0, 0.01, 0.1, 0.2)):
        c.joints = c.joints + shift
    assert select_diverse(cands, [0, 1, 2, 3], 3) == [0, 2, 3]  # 1 is 1.7 cm from 0 (mean joint distance)
    assert select_diverse(cands, [0, 1, 2, 3], 4) == [0, 2, 3, 1]
