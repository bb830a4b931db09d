"""data_prep.compiled_hand: the procedural hand with a compiled skeleton gives the procedural hand's numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from data_prep import compiled_hand
from data_prep.compiled_hand import CompiledSkeletonHand, with_compiled_skeleton
from handgen.hand import ProceduralHand
from handgen.hand.pair import HandPair


@pytest.fixture(scope="module")
def left():
    return ProceduralHand("left")


@pytest.fixture(scope="module")
def right():
    return ProceduralHand("right")


def _same_bytes(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.detach().numpy().tobytes() == b.detach().numpy().tobytes()


def test_compiled_skeleton_is_torchs_bit_for_bit(left, right, monkeypatch):
    """Without autograd the compiled loops make the local rotations and pose the skeleton: the same bytes as torch's
    for vertices, joints, the local rotations (the features' 6D) and the world rotations; with a tracked pose it is
    torch's own path."""
    calls = []
    for name in ("posed_skeleton", "rodrigues"):  # count the compiled loops' calls
        real = getattr(compiled_hand, name)
        monkeypatch.setattr(compiled_hand, name, lambda *args, _real=real, _name=name: calls.append(_name) or _real(*args))
    rng = np.random.default_rng(21)
    for hand in (left, right):
        compiled = CompiledSkeletonHand(hand.side)
        for batch in (1, 90, 300):  # 300 > SKIN_CHUNK; large angles, non-zero betas
            go, hp, tr = (torch.as_tensor(rng.normal(size=(batch, n)) * s, dtype=torch.float32)
                          for n, s in ((3, 2.0), (45, 0.8), (3, 0.3)))
            betas = torch.as_tensor(rng.normal(size=(batch, 10)), dtype=torch.float32)
            go[0], hp[0] = 0.0, 0.0  # zero rotations: the angle's floor
            hp[-1, :6] = torch.tensor([1e-9, -1e-9, 0.0, 4.0, -9.0, 12.0])  # tiny and several turns
            with torch.no_grad():
                fast, slow = compiled(go, hp, betas, tr), hand(go, hp, betas, tr)
                fast_pair, slow_pair = (h.joints_and_rotations(go, hp, betas, tr) for h in (compiled, hand))
                fast_world, slow_world = (h._skeleton(go, hp, betas)[0] for h in (compiled, hand))
            for a, b in ((fast.vertices, slow.vertices), (fast.joints, slow.joints), (fast_world, slow_world),
                         *zip(fast_pair, slow_pair)):
                assert _same_bytes(a, b)
            assert calls.count("posed_skeleton") == calls.count("rodrigues") == 3  # compiled, not torch's
            calls.clear()
            tracked = go.clone().requires_grad_(True)
            out = compiled(tracked, hp, betas, tr)  # torch's path: differentiable, same numbers
            assert not calls
            assert _same_bytes(out.vertices, slow.vertices)
            out.vertices.sum().backward()
            assert tracked.grad is not None and torch.isfinite(tracked.grad).all()


def test_with_compiled_skeleton_swaps_only_procedural_hands(left, right):
    pair = with_compiled_skeleton(HandPair(left, right))
    assert type(pair.left) is CompiledSkeletonHand and type(pair.right) is CompiledSkeletonHand
    assert pair.name == "procedural" and pair.flat_hand_mean and pair.left.side == "left"
    assert torch.equal(pair.right.hands_mean, right.hands_mean)
    unflat = with_compiled_skeleton(HandPair(ProceduralHand("left", flat_hand_mean=False),
                                             ProceduralHand("right", flat_hand_mean=False)))
    assert not unflat.flat_hand_mean
    kept = HandPair(*(type("Other", (ProceduralHand,), {})(side) for side in ("left", "right")))
    assert with_compiled_skeleton(kept).left is kept.left  # another model (MANO) stays as it is
