"""Diversity of the K grasps synthesised for one object.

Two figures, both the mean over the K (K - 1) / 2 pairs of grasps (``None`` below 2 grasps):

- ``joint_diversity_mm``: mean distance between corresponding joints of both hands (42
  keypoints, object frame), mm — how differently the hands are placed;
- ``pose_diversity_rad``: mean L2 distance between the concatenated articulations
  (both ``hand_pose`` vectors, 90 values, radians) — how differently the fingers are shaped.
"""

from __future__ import annotations

import numpy as np


def _pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(k, 1)


def joint_diversity_mm(joints) -> float | None:
    """Mean pairwise mean-joint distance (mm) of grasps' joints (K, 2, 21, 3) in metres."""
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim != 4 or j.shape[1:] != (2, 21, 3):
        raise ValueError(f"joints must be (K, 2, 21, 3), got {j.shape}")
    if len(j) < 2:
        return None
    a, b = _pairs(len(j))
    return float(np.linalg.norm(j[a] - j[b], axis=-1).mean(axis=(1, 2)).mean() * 1e3)


def pose_diversity_rad(hand_pose) -> float | None:
    """Mean pairwise L2 distance of both hands' articulations (K, 2, 45), radians."""
    p = np.asarray(hand_pose, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (2, 45):
        raise ValueError(f"hand_pose must be (K, 2, 45), got {p.shape}")
    if len(p) < 2:
        return None
    a, b = _pairs(len(p))
    return float(np.linalg.norm((p[a] - p[b]).reshape(len(a), -1), axis=1).mean())


def grasp_diversity(joints, hand_pose) -> dict[str, float | None]:
    return {"joint_diversity_mm": joint_diversity_mm(joints), "pose_diversity_rad": pose_diversity_rad(hand_pose)}
