"""Known answers of the text-to-motion metrics (handgen.analysis.embedding_metrics)."""

from __future__ import annotations

import numpy as np
import pytest

from handgen.analysis import embedding_metrics as mm


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 16))
    assert mm.fid(a, a) == pytest.approx(0.0, abs=1e-6)
    # same covariance, mean moved by s in every dim: FID = D s^2 exactly
    shifts = [0.1, 0.5, 1.0]
    values = [mm.fid(a, a + s) for s in shifts]
    for s, v in zip(shifts, values):
        assert v == pytest.approx(16 * s**2, rel=1e-4, abs=1e-6)
    assert values == sorted(values)
    # a wider distribution is also further away
    assert mm.fid(a, 2.0 * a) > 1.0


def test_fid_handles_singular_covariances():
    """Fewer samples than dimensions (as with a 52-clip test split and 256-D embeddings)."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(20, 64))
    assert mm.fid(a, a) == pytest.approx(0.0, abs=1e-4)
    assert np.isfinite(mm.fid(a, rng.normal(size=(20, 64))))
    with pytest.raises(ValueError):
        mm.fid(a[:1], a)


def test_r_precision_matched_is_one_and_shuffled_is_chance():
    rng = np.random.default_rng(0)
    text = _unit(rng.normal(size=(3200, 32)))
    assert mm.r_precision(text, text, seed=0).tolist() == [1.0, 1.0, 1.0]
    noisy = _unit(text + 0.05 * rng.normal(size=text.shape))
    assert mm.r_precision(noisy, text, seed=0)[0] == 1.0
    shuffled = text[rng.permutation(len(text))]
    top = mm.r_precision(text, shuffled, seed=0)
    assert top == pytest.approx([1 / 32, 2 / 32, 3 / 32], abs=0.012)
    assert top[0] <= top[1] <= top[2]


def test_r_precision_protocol_batches_and_ties():
    rng = np.random.default_rng(0)
    text = _unit(rng.normal(size=(70, 8)))
    # 70 items -> two full batches of 32 (the last 6 are dropped); the seed picks which
    a = mm.r_precision(text, text, seed=1)
    assert a.tolist() == [1.0, 1.0, 1.0]
    # every motion sits exactly between two identical texts: ties do not count against it
    same = np.repeat(text[:1], 32, axis=0)
    assert mm.r_precision(same, same, seed=0).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="at least 32"):
        mm.r_precision(text[:31], text[:31], seed=0)
    assert mm.r_precision(text[:8], text[:8], seed=0, batch_size=8).tolist() == [1.0, 1.0, 1.0]


def test_matching_diversity_multimodality_mpjpe_known_values():
    m = np.zeros((4, 3))
    t = np.array([[3.0, 4.0, 0.0]] * 4)
    assert mm.matching_score(m, t) == pytest.approx(5.0)
    two_points = np.array([[0.0, 0.0], [0.0, 2.0]])
    assert mm.diversity(two_points, seed=3) == pytest.approx(2.0)  # every pair is the two distinct points
    groups = np.zeros((2, 3, 2))
    groups[0, :, 0] = [0.0, 1.0, 2.0]  # pairwise 1, 2, 1 -> 4/3
    groups[1] = 7.0  # identical samples -> 0
    assert mm.multimodality(groups) == pytest.approx(2.0 / 3.0)
    with pytest.raises(ValueError):
        mm.multimodality(groups[:, :1])
    joints = np.zeros((2, 5, 2, 21, 3))
    moved = joints.copy()
    moved[..., 0] += 0.003
    assert mm.mpjpe_mm(moved, joints) == pytest.approx(3.0)


def test_mean_ci():
    out = mm.mean_ci([1.0, 2.0, 3.0, 4.0])
    assert out["mean"] == pytest.approx(2.5)
    assert out["ci95"] == pytest.approx(1.96 * np.std([1, 2, 3, 4]) / 2.0)
    assert mm.mean_ci([5.0]) == {"mean": 5.0, "ci95": 0.0, "n": 1}
