"""The opposition (force-closure proxy) refinement term on a sphere with known answers."""

from __future__ import annotations

import pytest
import torch

from handgen.grasp.grid_sampling import GridSDF
from handgen.grasp.opposition import contact_weights, opposition_terms, sdf_normals

R = 0.05


@pytest.fixture(scope="module")
def sphere() -> GridSDF:
    n, spacing = 41, 0.005
    axis = torch.arange(n, dtype=torch.float32) * spacing - 0.1
    z, y, x = torch.meshgrid(axis, axis, axis, indexing="ij")
    values = torch.sqrt(x**2 + y**2 + z**2) - R  # (nz, ny, nx)
    return GridSDF(values, torch.tensor([-0.1, -0.1, -0.1]), spacing)


def patch(centre: list[float], count: int = 30) -> torch.Tensor:
    """Points (count, 3) spread over a small cap of the sphere around direction ``centre``."""
    g = torch.Generator().manual_seed(0)
    d = torch.tensor(centre) + 0.15 * torch.randn(count, 3, generator=g)
    return R * d / d.norm(dim=-1, keepdim=True)


def terms(sphere, left, right):
    verts = torch.stack([left, right])[None]  # (1, 2, V, 3)
    phi = sphere(verts)
    return opposition_terms(verts, phi, sphere, torch.zeros(3), R, subsample=1, min_contact=10.0)


def test_normals_of_a_sphere_point_outwards(sphere):
    p = torch.tensor([[0.05, 0.0, 0.0], [0.0, -0.03, 0.04]])
    n = sdf_normals(sphere, p)
    assert torch.allclose(n, p / p.norm(dim=-1, keepdim=True), atol=0.02)


def test_opposed_contacts_balance_one_sided_do_not(sphere):
    opposed, deficiency = terms(sphere, patch([-1.0, 0, 0]), patch([1.0, 0, 0]))
    assert opposed.item() < 0.01 and deficiency.item() == 0.0
    one_side, _ = terms(sphere, patch([0, 1.0, 0]), patch([0.2, 1.0, 0]))
    assert one_side.item() > 0.8  # all pushes along -y: net force ~1


def test_a_hand_that_lets_go_is_penalised(sphere):
    far = patch([1.0, 0, 0]) * 2.0  # 5 cm off the surface: no contact
    _, deficiency = terms(sphere, patch([-1.0, 0, 0]), far)
    assert deficiency.item() == pytest.approx(1.0)
    assert contact_weights(torch.tensor([-0.01, 0.0, 0.0025, 0.01]), 0.005).tolist() == [1.0, 1.0, 0.5, 0.0]
