"""data_prep.compiled_skinning: prep's compiled skinning gives SkinningLayout's bytes, or SkinningLayout's path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from data_prep import compiled_skinning
from data_prep.compiled_skinning import CompiledSkinning, _sparse_weights
from handgen.hand import ProceduralHand
from handgen.hand.skinning import skin_matrices


@pytest.fixture(scope="module")
def hands():
    return {side: ProceduralHand(side) for side in ("left", "right")}


def _counted(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = compiled_skinning.blend_vertices
    monkeypatch.setattr(compiled_skinning, "blend_vertices",
                        lambda *args: calls.append(len(args[1])) or real(*args))
    return calls


def _pose(hand: ProceduralHand, rng: np.random.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(betas (B, 10), skin matrices (B, 12, 16)) of random poses: large angles, non-zero shapes."""
    go, hp, betas = (torch.as_tensor(rng.normal(size=(batch, n)) * s, dtype=torch.float32)
                     for n, s in ((3, 2.0), (45, 0.8), (10, 1.0)))
    with torch.no_grad():
        rotations, positions, joints_rest, _ = hand._skeleton(go, hp, betas)
    return betas, skin_matrices(rotations, positions, joints_rest)


def test_compiled_skinning_is_the_layouts_bytes(hands, monkeypatch):
    """Without autograd the compiled pass skins every batch size (one frame, the GEMMs' small-batch paths, over a
    32-frame block and the 128-frame chunk), with and without the shift: the same bytes as SkinningLayout.forward."""
    calls = _counted(monkeypatch)
    rng = np.random.default_rng(5)
    for hand in hands.values():
        skin = CompiledSkinning(hand.skin)
        for batch in (1, 4, 5, 33, 90, 129):
            betas, matrices = _pose(hand, rng, batch)
            shift = torch.as_tensor(rng.normal(size=(batch, 1, 3)), dtype=torch.float32)
            with torch.no_grad():
                for extra in (None, shift):
                    expected, found = hand.skin(betas, matrices, extra), skin(betas, matrices, extra)
                    assert found.shape == expected.shape == (batch, hand.skin.weights_t.shape[1], 3)
                    assert found.dtype == torch.float32 and found.is_contiguous()
                    assert found.numpy().tobytes() == expected.numpy().tobytes()
        assert skin._verified is True
    assert sorted(set(calls)) == [1, 4, 5, 7, 33, 90, 129, 300]  # compiled; the probe's batches (1, 7, 90, 300) too


def test_compiled_skinning_falls_back_to_the_layout(hands, monkeypatch):
    """A tracked pose, a non-finite matrix (inf * 0 weight is NaN in the GEMM) or a probe that finds one byte off take
    the layout's path: its numbers, its gradients."""
    hand, rng = hands["right"], np.random.default_rng(6)
    skin = CompiledSkinning(hand.skin)
    betas, matrices = _pose(hand, rng, 20)
    tracked = matrices.clone().requires_grad_(True)
    out = skin(betas, tracked)
    out.sum().backward()
    assert tracked.grad is not None and torch.isfinite(tracked.grad).all()
    assert skin._verified is None  # no compiled call yet
    broken = matrices.clone()
    broken[3, 0, 5] = float("inf")
    calls = _counted(monkeypatch)
    with torch.no_grad():
        assert torch.equal(skin(betas, broken).isnan(), hand.skin(betas, broken).isnan())
    assert not calls

    off_by_one = CompiledSkinning(hand.skin)
    real = compiled_skinning.blend_vertices

    def perturbed(*args):
        real(*args)
        args[-1][0, 0, 0] = np.nextafter(args[-1][0, 0, 0], np.float32(np.inf))

    monkeypatch.setattr(compiled_skinning, "blend_vertices", perturbed)
    with torch.no_grad():
        found = off_by_one(betas, matrices)
    assert off_by_one._verified is False
    assert found.numpy().tobytes() == hand.skin(betas, matrices).numpy().tobytes()


def test_sparse_weights_are_per_vertex_increasing_joints():
    """Known answer: the nonzero weights of each vertex in joint order; a vertex without weights gets one zero term."""
    weights_t = np.zeros((16, 3), dtype=np.float32)
    weights_t[[2, 0, 15], 0] = [0.5, 0.25, 0.25]
    weights_t[7, 2] = 1.0
    starts, joints, weights = _sparse_weights(weights_t)
    assert starts.tolist() == [0, 3, 4, 5]
    assert joints.tolist() == [0, 2, 15, 0, 7]
    assert weights.tolist() == [0.25, 0.5, 0.25, 0.0, 1.0]
