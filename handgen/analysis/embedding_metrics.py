"""Text-to-motion metrics on evaluator embeddings (HumanML3D / HandX protocols).

Embeddings are the evaluator's unit vectors (N, 256); every distance is Euclidean.

- FID: Fréchet distance between Gaussians fitted to two embedding sets (``scipy.linalg.sqrtm``).
- R-Precision: shuffle the items with a fixed seed into batches of 32 (the last, incomplete
  batch is dropped); each TEXT ranks the 32 motions of its batch by distance (the field's
  direction, HumanML3D and HandX: text rows, motion columns); top-k hit when fewer than k
  motions are strictly closer than its own (ties, e.g. two identical motions, do not count
  against it). HandX's exact variant (contiguous batches in file order) is
  :func:`eval.handx_protocol.r_precision`.
- Matching score (MM-Dist): mean distance between each motion and its own text.
- Diversity: mean distance of 300 random pairs of distinct items (pairs drawn with
  replacement when the set is small).
- MultiModality: for each text, the mean pairwise distance between its K samples, averaged.
- MPJPE: mean joint position error (mm) between generated and ground-truth joints of the
  same captions, over joints, frames and both hands (absolute positions; the report's
  ``MPJPE_mm`` is HandX's wrist-relative one, :func:`eval.handx_protocol.mpjpe_mm`).

:func:`mean_ci` turns per-replication values into mean and 95% interval (1.96 std / sqrt(n)).
"""

from __future__ import annotations

import numpy as np

R_PRECISION_BATCH = 32
DIVERSITY_PAIRS = 300
TIE_TOLERANCE = 1e-6


def mean_ci(values) -> dict[str, float]:
    """``{"mean", "ci95", "n"}`` of per-replication values (ci95 = 1.96 std / sqrt(n), 0 for one value)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        raise ValueError("mean_ci needs at least one value")
    ci = 1.96 * v.std() / np.sqrt(v.size) if v.size > 1 else 0.0
    return {"mean": float(v.mean()), "ci95": float(ci), "n": int(v.size)}


def _as2d(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got {a.shape}")
    return a


def pairwise_distances(a, b) -> np.ndarray:
    """Euclidean distances (Na, Nb) between the rows of ``a`` and ``b``."""
    a, b = _as2d(a), _as2d(b)
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def gaussian_stats(embeddings) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of embeddings (N, D), N >= 2."""
    e = _as2d(embeddings)
    if len(e) < 2:
        raise ValueError("FID needs at least 2 embeddings per set")
    return e.mean(0), np.cov(e, rowvar=False)


def frechet_distance(mu1, cov1, mu2, cov2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(C1 + C2 - 2 sqrt(C1 C2)); a small ridge is added when the product is singular."""
    from scipy import linalg

    diff = np.asarray(mu1) - np.asarray(mu2)
    covmean, _ = linalg.sqrtm(cov1 @ cov2, disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(cov1)) * eps
        covmean = linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    covmean = np.real(covmean)
    value = float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def fid(a, b) -> float:
    """Fréchet distance between the embedding sets ``a`` (N, D) and ``b`` (M, D)."""
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


def r_precision(motion, text, seed: int, top_k: int = 3, batch_size: int = R_PRECISION_BATCH) -> np.ndarray:
    """Top-1..top_k R-Precision (top_k,) of matched rows ``motion[i]`` <-> ``text[i]``; each text ranks the motions.

    Raises:
        ValueError: fewer items than one batch.
    """
    m, t = _as2d(motion), _as2d(text)
    if len(m) != len(t):
        raise ValueError(f"{len(m)} motions but {len(t)} texts")
    if len(m) < batch_size:
        raise ValueError(f"R-Precision needs at least {batch_size} items, got {len(m)}")
    order = np.random.default_rng(seed).permutation(len(m))
    hits = np.zeros(top_k)
    count = 0
    for start in range(0, len(m) - batch_size + 1, batch_size):
        idx = order[start : start + batch_size]
        d = pairwise_distances(t[idx], m[idx])  # (B, B): text i vs motion j
        own = np.diag(d)[:, None]
        rank = (d < own - TIE_TOLERANCE).sum(1)  # motions strictly closer to text i than its own
        hits += (rank[:, None] < np.arange(1, top_k + 1)[None, :]).sum(0)
        count += batch_size
    return hits / count


def matching_score(motion, text) -> float:
    """MM-Dist: mean distance between matched rows."""
    m, t = _as2d(motion), _as2d(text)
    return float(np.linalg.norm(m - t, axis=1).mean())


def diversity(embeddings, seed: int, pairs: int = DIVERSITY_PAIRS) -> float:
    """Mean distance between ``pairs`` random pairs of distinct rows."""
    e = _as2d(embeddings)
    if len(e) < 2:
        raise ValueError("diversity needs at least 2 embeddings")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(e), pairs)
    second = (first + rng.integers(1, len(e), pairs)) % len(e)  # never the same row
    return float(np.linalg.norm(e[first] - e[second], axis=1).mean())


def multimodality(groups) -> float:
    """Mean over texts of the mean pairwise distance between that text's samples; ``groups`` (N, K, D), K >= 2."""
    g = np.asarray(groups, dtype=np.float64)
    if g.ndim != 3 or g.shape[1] < 2:
        raise ValueError(f"multimodality needs (texts, samples >= 2, D), got {g.shape}")
    k = g.shape[1]
    iu = np.triu_indices(k, 1)
    return float(np.mean([pairwise_distances(x, x)[iu].mean() for x in g]))


def mpjpe_mm(pred_joints, gt_joints) -> float:
    """Mean per-joint position error in millimetres of (..., 21, 3) joint arrays in metres."""
    p, g = np.asarray(pred_joints, dtype=np.float64), np.asarray(gt_joints, dtype=np.float64)
    if p.shape != g.shape:
        raise ValueError(f"joint shapes differ: {p.shape} vs {g.shape}")
    return float(np.linalg.norm(p - g, axis=-1).mean() * 1e3)
