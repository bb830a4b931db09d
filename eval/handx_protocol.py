"""HandX's evaluation protocol (docs/reference.md 4b, "run_evaluation"), step by step.

Inputs: ground-truth joints (N, T, 2, 21, 3) and G generated groups (G, N, T, 2, 21, 3), metres,
handgen's keypoint order, in the order of HandX's sample files (the order matters: R-Precision
batches are contiguous). Embeddings come from an evaluator (``embed_motion`` of
:func:`evaluator_input` arrays, ``embed_text`` of caption triplets).

Steps:

- :func:`evaluator_input`: HandX joint order, every frame's RIGHT wrist subtracted from all 42
  joints of that frame, flattened hand -> joint -> xyz to (N, T, 126) (z-normalisation with the
  evaluator's own mean/std happens inside the evaluator).
- :func:`r_precision`: contiguous batches of 32 in file order (remainder dropped; one batch of N
  when N < 32); Euclidean distances with TEXT rows and MOTION columns; a top-k hit when the
  matching motion is among the k nearest for that text (ties broken by column order, a
  stable argsort, as HandX's ``np.argsort``). Mean and std over all batches.
- :func:`matching_score`: mean matched text-motion distance over the same batches.
- :func:`fid`: Frechet distance between the GT embeddings and a group's (unbiased covariance).
- :func:`diversity`: ``times = min(N - 1, 300)``; one ``RandomState(42)`` draws the first and
  then the second index list, each without replacement; mean L2. The same pairs for GT and
  every group.
- :func:`multimodality`: (N, G, D); ``times = min(G - 1, 20)`` pairs drawn as above (HandX uses
  numpy's unseeded global state; here ``RandomState(42)``); 0 when G = 1.
- :func:`mpjpe_mm`: after the per-frame right-wrist subtraction, the flattened joint 0 (the LEFT
  wrist) of each frame is subtracted from both; mean L2 over 42 joints, frames, samples (mm).
  A rigid shift of the whole motion scores 0.
- +-: the std over the G groups (:func:`over_groups`), except R-Precision's: the std over all
  batches of all groups (its mean is over those batches too). HandX reports no interval.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from eval import handx_contacts as hc
from handgen.analysis.embedding_metrics import frechet_distance, pairwise_distances
from handgen.io.handx_format import to_handx_order

BATCH = 32
DIVERSITY_TIMES = 300
MULTIMODALITY_TIMES = 20
SEED = 42
DEFAULT_GENERATIONS = 4


def _joints(joints) -> np.ndarray:
    j = np.asarray(joints, dtype=np.float64)
    if j.shape[-3:] != (2, 21, 3):
        raise ValueError(f"joints must be (..., 2, 21, 3), got {j.shape}")
    return j


def evaluator_input(joints) -> np.ndarray:
    """(N, T, 2, 21, 3) handgen-order joints -> (N, T, 126): HandX order, per-frame right-wrist-relative."""
    j = to_handx_order(_joints(joints))
    j = j - j[..., 1:2, 0:1, :]  # every frame's right wrist (flattened joint 21)
    return j.reshape(*j.shape[:-3], 126)


def batches(n: int, size: int = BATCH) -> list[slice]:
    """Contiguous batches of ``size`` in order, the remainder dropped; one batch of ``n`` when n < size."""
    if n < 1:
        raise ValueError("R-Precision needs at least one item")
    if n < size:
        return [slice(0, n)]
    return [slice(a, a + size) for a in range(0, n - size + 1, size)]


def r_precision(text, motion, top_k: int = 3, size: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    """Top-1..top_k R-Precision with text rows ranking motion columns: (mean (top_k,), std over batches (top_k,))."""
    per_batch = r_precision_batches(text, motion, top_k, size)
    return per_batch.mean(0), per_batch.std(0)


def r_precision_batches(text, motion, top_k: int = 3, size: int = BATCH) -> np.ndarray:
    """(batches, top_k): the top-1..top_k hit rate of every contiguous batch."""
    t, m = np.asarray(text, dtype=np.float64), np.asarray(motion, dtype=np.float64)
    if t.shape != m.shape:
        raise ValueError(f"text {t.shape} and motion {m.shape} embeddings differ in shape")
    per_batch = []
    for b in batches(len(t), size):
        d = pairwise_distances(t[b], m[b])  # (B, B): text i vs motion j
        order = np.argsort(d, axis=1, kind="stable")
        rank = np.argmax(order == np.arange(len(d))[:, None], axis=1)  # position of the matching motion
        per_batch.append([(rank < k).mean() for k in range(1, top_k + 1)])
    return np.asarray(per_batch)


def matching_score(text, motion, size: int = BATCH) -> float:
    """Mean distance between matched text and motion embeddings over the R-Precision batches."""
    t, m = np.asarray(text, dtype=np.float64), np.asarray(motion, dtype=np.float64)
    return float(np.mean([np.linalg.norm(t[b] - m[b], axis=1).mean() for b in batches(len(t), size)]))


def fid(gt, generated) -> float:
    """Frechet distance between two embedding sets (unbiased covariances, ``np.cov``)."""
    a, b = np.asarray(gt, dtype=np.float64), np.asarray(generated, dtype=np.float64)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def diversity_pairs(n: int, times: int | None = None, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """HandX's diversity index lists: ``RandomState(seed)``, two draws of ``times`` without replacement."""
    if n < 2:
        raise ValueError("diversity needs at least 2 items")
    times = min(n - 1, DIVERSITY_TIMES) if times is None else times
    rng = np.random.RandomState(seed)
    first = rng.choice(n, times, replace=False)
    second = rng.choice(n, times, replace=False)
    return first, second


def diversity(embeddings, times: int | None = None, seed: int = SEED) -> float:
    e = np.asarray(embeddings, dtype=np.float64)
    first, second = diversity_pairs(len(e), times, seed)
    return float(np.linalg.norm(e[first] - e[second], axis=1).mean())


def multimodality(embeddings, seed: int = SEED) -> float:
    """(N, G, D) -> mean L2 over ``min(G - 1, 20)`` drawn pairs per item; 0 when G = 1."""
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 3:
        raise ValueError(f"multimodality needs (N, G, D), got {e.shape}")
    g = e.shape[1]
    times = min(g - 1, MULTIMODALITY_TIMES)
    if times < 1:
        return 0.0
    rng = np.random.RandomState(seed)
    first = rng.choice(g, times, replace=False)
    second = rng.choice(g, times, replace=False)
    return float(np.linalg.norm(e[:, first] - e[:, second], axis=-1).mean())


def mpjpe_mm(pred, gt) -> float:
    """Left-wrist-relative MPJPE (mm) after the per-frame right-wrist subtraction (see the module docstring)."""
    p, g = _joints(pred), _joints(gt)
    if p.shape != g.shape:
        raise ValueError(f"joint shapes differ: {p.shape} vs {g.shape}")
    p = evaluator_input(p).reshape(*p.shape[:-3], 42, 3)
    g = evaluator_input(g).reshape(*g.shape[:-3], 42, 3)
    p, g = p - p[..., :1, :], g - g[..., :1, :]
    return float(np.linalg.norm(p - g, axis=-1).mean() * 1e3)


def over_groups(values: Sequence[float]) -> dict[str, float]:
    """``{"mean", "std"}`` over the G groups (population std, 0 for one group)."""
    v = np.asarray(values, dtype=np.float64)
    return {"mean": float(v.mean()), "std": float(v.std())}


def protocol_report(
    gt_joints, groups, triplets: list[dict[str, str]], embed_motion: Callable[[np.ndarray], np.ndarray],
    embed_text: Callable[[list[dict[str, str]]], np.ndarray], fps: float = 30.0, batch: int = BATCH,
) -> dict[str, dict[str, float]]:
    """Every HandX figure of ``groups`` (G, N, T, 2, 21, 3) against ``gt_joints`` (N, T, 2, 21, 3).

    ``embed_motion`` maps joints (N, T, 2, 21, 3) to (N, D) embeddings (HandX's evaluator
    applies :func:`evaluator_input` itself), ``embed_text`` the N caption triplets. Keys (HandX's names; each value ``{"mean", "std"}``,
    std over groups; the ground truth's own figures under ``gt_*``).
    """
    gt = _joints(gt_joints)
    gen = _joints(groups)
    if gen.ndim != 6 or gen.shape[1:] != gt.shape:
        raise ValueError(f"groups must be (G, {', '.join(map(str, gt.shape))}), got {gen.shape}")
    text = np.asarray(embed_text(triplets), dtype=np.float64)
    gt_emb = np.asarray(embed_motion(gt), dtype=np.float64)
    embs = [np.asarray(embed_motion(g), dtype=np.float64) for g in gen]
    weights = hc.palm_weights()
    gt_intra, gt_inter = hc.intra_hand_flags(gt), hc.inter_hand_flags(gt, weights)
    per_group: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        per_group.setdefault(key, []).append(float(value))

    rp_batches = []
    for g, emb in zip(gen, embs):
        rp_batches.append(r_precision_batches(text, emb, size=batch))
        add("Matching_score", matching_score(text, emb, batch))
        add("FID", fid(gt_emb, emb))
        add("Diversity", diversity(emb))
        add("MPJPE", mpjpe_mm(g, gt))
        for name, pred, ref in (("intra", hc.intra_hand_flags(g), gt_intra),
                                ("inter", hc.inter_hand_flags(g, weights), gt_inter)):
            scores = hc.presence_counts(pred, ref)
            for key in ("precision", "recall", "f1"):
                add(f"{name}_contact_{key}", scores[key])
        for key, value in hc.contact_stats(hc.interaction_mask(g), fps).items():
            add(key, value)
        add("joint_angular_velocity", hc.joint_angular_velocity(g, fps))
    out = {k: over_groups(v) for k, v in per_group.items()}
    rp_all = np.concatenate(rp_batches)  # every batch of every group; +- is the std over them (HandX)
    for k in range(3):
        out[f"R_precision_top{k + 1}"] = {"mean": float(rp_all[:, k].mean()), "std": float(rp_all[:, k].std())}
    out["MultiModality"] = {"mean": multimodality(np.stack(embs, axis=1)), "std": 0.0}
    rp, rp_std = r_precision(text, gt_emb, size=batch)
    out.update({f"gt_R_precision_top{k + 1}": {"mean": float(rp[k]), "std": float(rp_std[k])} for k in range(3)})
    out["gt_Matching_score"] = {"mean": matching_score(text, gt_emb, batch), "std": 0.0}
    out["gt_Diversity"] = {"mean": diversity(gt_emb), "std": 0.0}
    for key, value in hc.contact_stats(hc.interaction_mask(gt), fps).items():
        out[f"gt_{key}"] = {"mean": value, "std": 0.0}
    out["gt_joint_angular_velocity"] = {"mean": hc.joint_angular_velocity(gt, fps), "std": 0.0}
    return out
