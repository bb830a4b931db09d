"""HandX's hand-specific metrics exactly as docs/reference.md 4b states them.

Joints are ``(N, T, 2, 21, 3)`` metres in handgen's keypoint order (hand 0 left); ``fps`` 30
for HandX clips.

- Contact presence P/R/F1 (:func:`presence_counts`): a label is present in a clip when it is in
  contact on any frame; TP/FP/FN are pooled over clips and labels; P = TP/(TP+FP),
  R = TP/(TP+FN), 0 when the denominator is 0 (so empty vs empty gives 0, as HandX).
  - intra-hand (:func:`intra_hand_flags`): thumb tip to the index/middle/ring/pinky tip
    < 0.020 m, 4 labels per hand;
  - inter-hand (:func:`inter_hand_flags`): each fingertip of hand A to the nearest of 100
    points on hand B's palm < 0.025 m, both directions (10 labels). The palm points are 25
    uniform barycentric samples in each of the triangles (wrist, thumb CMC, index MCP),
    (wrist, index MCP, middle MCP), (wrist, middle MCP, ring MCP), (wrist, ring MCP, pinky MCP)
    of hand B's JOINTS (no skin offset), the same weights every frame. HandX draws the weights
    unseeded; here they come from ``np.random.default_rng(PALM_SEED)`` (seed 0), so the numbers
    are reproducible but can differ from a HandX run by the sampling of the palm.
- Dataset contact statistics (:func:`interaction_mask`, :func:`contact_stats`): a frame
  interacts when any cross-hand tip-tip distance < 0.020 m or any tip is < 0.025 m from any
  of the other hand's 16 non-tip joints (one pooled mask; intra-hand pinches do not count);
  per clip: ratio = interacting frames / T, duration = mean run length / fps, frequency =
  runs / (T / fps); averaged over clips (duration over the clips with at least one run).
- Joint angular velocity (:func:`joint_angular_velocity`, HandX's "motion intensity"): per
  finger chain (wrist, base, middle, distal, tip) the unsigned angle between consecutive bones
  at chain joints 1, 2, 3; ``|d angle| * fps`` in deg/s, weighted 9 / 3 / 1 (base / middle /
  distal) and averaged over joints, fingers, hands, frames and clips. Wrist rotation and
  translation do not count.
"""

from __future__ import annotations

import numpy as np

from handgen.hand.topology import FINGER_KEYPOINTS, FINGERS, FINGERTIP_KEYPOINTS, WRIST_KEYPOINT

INTRA_THRESHOLD = 0.020
INTER_THRESHOLD = 0.025
TIP_TIP_THRESHOLD = 0.020
TIP_JOINT_THRESHOLD = 0.025
PALM_SAMPLES = 25
PALM_SEED = 0
THUMB_TIP = FINGERTIP_KEYPOINTS[0]
OTHER_TIPS = FINGERTIP_KEYPOINTS[1:]
NON_TIP_JOINTS: tuple[int, ...] = tuple(k for k in range(21) if k not in FINGERTIP_KEYPOINTS)
# (wrist, thumb CMC, index MCP), (wrist, index MCP, middle MCP), (wrist, middle MCP, ring MCP), (wrist, ring MCP, pinky MCP)
_BASE = {f: FINGER_KEYPOINTS[f][0] for f in FINGERS}
PALM_TRIANGLES: tuple[tuple[int, int, int], ...] = (
    (WRIST_KEYPOINT, _BASE["thumb"], _BASE["index"]),
    (WRIST_KEYPOINT, _BASE["index"], _BASE["middle"]),
    (WRIST_KEYPOINT, _BASE["middle"], _BASE["ring"]),
    (WRIST_KEYPOINT, _BASE["ring"], _BASE["pinky"]),
)
ANGLE_WEIGHTS = (9.0, 3.0, 1.0)


def _joints(joints) -> np.ndarray:
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim != 5 or j.shape[2:] != (2, 21, 3):
        raise ValueError(f"joints must be (N, T, 2, 21, 3), got {j.shape}")
    return j


def palm_weights(seed: int = PALM_SEED, per_triangle: int = PALM_SAMPLES) -> np.ndarray:
    """Barycentric weights (4 * per_triangle, 3), uniform over each triangle (the sqrt construction)."""
    rng = np.random.default_rng(seed)
    r1, r2 = rng.random((2, len(PALM_TRIANGLES) * per_triangle))
    s = np.sqrt(r1)
    return np.stack([1.0 - s, s * (1.0 - r2), s * r2], axis=1)


def palm_points(hand_joints: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Points (..., P, 3) on the palm triangles of ``hand_joints`` (..., 21, 3)."""
    w = palm_weights() if weights is None else np.asarray(weights)
    per = len(w) // len(PALM_TRIANGLES)
    out = []
    for k, tri in enumerate(PALM_TRIANGLES):
        corners = hand_joints[..., list(tri), :]  # (..., 3, 3)
        out.append(np.einsum("pc,...cx->...px", w[k * per : (k + 1) * per], corners))
    return np.concatenate(out, axis=-2)


def intra_hand_flags(joints) -> np.ndarray:
    """(N, T, 2, 4) bool: thumb tip within 2 cm of the index, middle, ring, pinky tip of the same hand."""
    j = _joints(joints)
    d = np.linalg.norm(j[..., list(OTHER_TIPS), :] - j[..., THUMB_TIP : THUMB_TIP + 1, :], axis=-1)
    return d < INTRA_THRESHOLD


def inter_hand_flags(joints, weights: np.ndarray | None = None) -> np.ndarray:
    """(N, T, 2, 5) bool: fingertip (thumb..pinky) of hand h within 2.5 cm of the other hand's palm points."""
    j = _joints(joints)
    out = []
    for h in (0, 1):
        points = palm_points(j[:, :, 1 - h], weights)  # (N, T, P, 3)
        tips = j[:, :, h, list(FINGERTIP_KEYPOINTS)]  # (N, T, 5, 3)
        d = np.linalg.norm(tips[..., :, None, :] - points[..., None, :, :], axis=-1).min(-1)
        out.append(d < INTER_THRESHOLD)
    return np.stack(out, axis=2)


def presence_counts(pred_flags, gt_flags) -> dict[str, float]:
    """HandX's per-clip presence scores of flags (N, T, ...): precision, recall, f1 and the pooled counts."""
    pred = np.asarray(pred_flags, dtype=bool)
    gt = np.asarray(gt_flags, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f"flag shapes differ: {pred.shape} vs {gt.shape}")
    pred, gt = pred.any(axis=1), gt.any(axis=1)
    tp, fp, fn = int((pred & gt).sum()), int((pred & ~gt).sum()), int((~pred & gt).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def interaction_mask(joints) -> np.ndarray:
    """(N, T) bool: HandX's pooled hand-hand interaction per frame (see the module docstring)."""
    j = _joints(joints)
    tips = list(FINGERTIP_KEYPOINTS)
    left_tips, right_tips = j[:, :, 0, tips], j[:, :, 1, tips]
    tip_tip = np.linalg.norm(left_tips[..., :, None, :] - right_tips[..., None, :, :], axis=-1)
    mask = (tip_tip < TIP_TIP_THRESHOLD).any(axis=(-1, -2))
    for h in (0, 1):
        own = j[:, :, h, tips]
        other = j[:, :, 1 - h, list(NON_TIP_JOINTS)]
        d = np.linalg.norm(own[..., :, None, :] - other[..., None, :, :], axis=-1)
        mask |= (d < TIP_JOINT_THRESHOLD).any(axis=(-1, -2))
    return mask


def _runs(flags: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True in a 1-D bool array."""
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges[1::2] - edges[::2]


def contact_stats(mask, fps: float) -> dict[str, float]:
    """``contact_ratio``, ``contact_duration_s``, ``contact_frequency_hz`` of a (N, T) mask, averaged over clips."""
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be (N, T), got {m.shape}")
    t = m.shape[1]
    ratios, durations, freqs = [], [], []
    for clip in m:
        runs = _runs(clip)
        ratios.append(clip.sum() / t)
        freqs.append(len(runs) / (t / fps))
        if len(runs):
            durations.append(runs.mean() / fps)
    return {"contact_ratio": float(np.mean(ratios)),
            "contact_duration_s": float(np.mean(durations)) if durations else 0.0,
            "contact_frequency_hz": float(np.mean(freqs))}


def chain_angles(joints) -> np.ndarray:
    """(N, T, 2, 5, 3) radians: the unsigned bend at chain joints 1, 2, 3 of each finger."""
    j = _joints(joints)
    out = []
    for finger in FINGERS:
        chain = j[..., [WRIST_KEYPOINT, *FINGER_KEYPOINTS[finger]], :]  # (N, T, 2, 5, 3)
        bones = np.diff(chain, axis=-2)  # (N, T, 2, 4, 3)
        bones = bones / np.maximum(np.linalg.norm(bones, axis=-1, keepdims=True), 1e-12)
        cos = np.clip((bones[..., :-1, :] * bones[..., 1:, :]).sum(-1), -1.0, 1.0)
        out.append(np.arccos(cos))  # (N, T, 2, 3)
    return np.stack(out, axis=-2)


def joint_angular_velocity(joints, fps: float) -> float:
    """HandX's motion intensity (deg/s): weighted mean |d bend| * fps (see the module docstring)."""
    angles = np.degrees(chain_angles(joints))
    if angles.shape[1] < 2:
        raise ValueError("joint angular velocity needs at least 2 frames")
    speed = np.abs(np.diff(angles, axis=1)) * fps  # (N, T-1, 2, 5, 3)
    w = np.asarray(ANGLE_WEIGHTS)
    return float((speed * w).sum(-1).mean() / w.sum())
