"""HandX's hand-specific motion metrics and plausibility checks.

Joints are ``(N, T, 2, 21, 3)`` metres (hand 0 left), frames at ``fps``. Where a figure
carries HandX's name it follows HandX's definition (:mod:`eval.handx_contacts`):

- per-clip contact presence precision / recall / F1 against the ground-truth clip with the
  same caption, pooled over clips and channels: intra-hand (thumb tip to each other
  fingertip < 2 cm, 4 pairs x 2 hands) and inter-hand (each fingertip to the nearest of 100
  points on the four palm triangles of the other hand's JOINTS < 2.5 cm, 5 x 2 labels).
  A channel is present in a clip when it is in contact on any frame. With nothing predicted
  and nothing to find, precision and recall are 1 here (HandX gives 0 there:
  :func:`eval.handx_contacts.presence_counts`); otherwise an empty denominator gives 0.
- contact ratio (fraction of frames with hand-hand interaction), mean contact duration (s)
  and contact frequency (events per second) from HandX's one pooled mask (cross-hand tip-tip
  < 2 cm or a tip within 2.5 cm of the other hand's 16 non-tip joints; pinches excluded),
  per clip, averaged over clips; ``contact_ratio_intra`` / ``contact_ratio_inter`` are
  handgen's own per-kind ratios of the presence channels.
- joint angular velocity (deg/s): HandX's motion intensity
  (:func:`eval.handx_contacts.joint_angular_velocity`).
- motion intensity (deg/s), handgen's own quantity: the angular speed of the 20 bone directions (wrist -> base joint,
  then phalanx by phalanx), weighted by how many keypoints each bone carries (the bone's
  child and everything beyond it: 4 for a wrist -> knuckle bone, 1 for a distal phalanx),
  averaged over frames and both hands. Finger curling, wrist rotation and spreading all count;
  wrist translation and twist about a bone do not.
- jitter: mean jerk (third time difference of the joint positions), m/s^3.
- joint-limit violations (MANO parameters, absolute ``hand_pose``): the long fingers' 12 joints
  (thumb excluded: its joint frames are not aligned with the hand's) are read as
  bend (flexion about +z for the right hand, the left hand mirrored first) and spread
  (swing about y) of the bone direction (-x at rest; twist is not limited). Limits
  (docs/reference.md 1b): bend 0..90 deg, spread +-5 deg at the MCPs and 0 at PIP/DIP, each widened
  by ``tolerance_deg`` (default 5). Reported: the fraction of (frame, joint) values outside and
  the mean excess (deg) over the violating ones.
- hand-hand interpenetration: per frame, the deepest vertex of either hand's mesh inside the
  other (:mod:`eval.mesh_penetration`), mm; reported as the mean over clips of the per-clip
  maximum and the fraction of frames with any penetration deeper than 1 mm, on every
  ``frame_stride``-th frame (the command's ``--penetration-stride``, 0 skips it).
"""

from __future__ import annotations

import numpy as np

from eval import handx_contacts as hc
from eval.mesh_penetration import mutual_penetration
from handgen.hand.topology import FINGER_KEYPOINTS, FINGER_MANO_JOINTS, FINGERS, WRIST_KEYPOINT

PENETRATION_FRAME_MM = 1.0
# bones as (parent keypoint, child keypoint, weight = keypoints carried)
BONES: tuple[tuple[int, int, int], ...] = tuple(
    (parent, child, 4 - i)
    for finger in FINGERS
    for i, (parent, child) in enumerate(zip((WRIST_KEYPOINT, *FINGER_KEYPOINTS[finger][:3]), FINGER_KEYPOINTS[finger]))
)
LIMITED_JOINTS: tuple[int, ...] = tuple(j for f in FINGERS[1:] for j in FINGER_MANO_JOINTS[f])  # MANO 1..12
MCP_JOINTS: frozenset[int] = frozenset(FINGER_MANO_JOINTS[f][0] for f in FINGERS[1:])


def _joints(joints) -> np.ndarray:
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim != 5 or j.shape[2:] != (2, 21, 3):
        raise ValueError(f"joints must be (N, T, 2, 21, 3), got {j.shape}")
    return j


def contact_flags(joints) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame flags (N, T, 8) intra-hand and (N, T, 10) inter-hand (HandX's definitions, seeded palm points)."""
    j = _joints(joints)
    n, t = j.shape[:2]
    return hc.intra_hand_flags(j).reshape(n, t, 8), hc.inter_hand_flags(j).reshape(n, t, 10)


def presence_scores(pred_flags, gt_flags) -> dict[str, float]:
    """Precision / recall / F1 of per-clip contact presence; flags (N, T, C) bool."""
    pred = np.asarray(pred_flags, dtype=bool).any(axis=1)
    gt = np.asarray(gt_flags, dtype=bool).any(axis=1)
    if pred.shape != gt.shape:
        raise ValueError(f"flag shapes differ: {pred.shape} vs {gt.shape}")
    tp = float((pred & gt).sum())
    npred, ngt = float(pred.sum()), float(gt.sum())
    if npred == 0 and ngt == 0:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    precision = tp / npred if npred else 0.0
    recall = tp / ngt if ngt else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def contact_dataset_stats(joints, intra, inter, fps: float) -> dict[str, float]:
    """HandX's pooled contact ratio, duration (s), frequency (events/s), and handgen's per-kind ratios."""
    intra, inter = np.asarray(intra, dtype=bool), np.asarray(inter, dtype=bool)
    return {
        "contact_ratio_intra": float(intra.any(-1).mean()),
        "contact_ratio_inter": float(inter.any(-1).mean()),
        **hc.contact_stats(hc.interaction_mask(_joints(joints)), fps),
    }


def motion_intensity(joints, fps: float) -> float:
    """Weighted mean angular speed of the bone directions, deg/s (see the module docstring)."""
    j = _joints(joints)
    parents = [b[0] for b in BONES]
    children = [b[1] for b in BONES]
    weights = np.array([b[2] for b in BONES], dtype=np.float64)
    d = j[..., children, :] - j[..., parents, :]
    d = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
    cos = np.clip((d[:, 1:] * d[:, :-1]).sum(-1), -1.0, 1.0)
    speed = np.degrees(np.arccos(cos)) * fps  # (N, T-1, 2, 20)
    return float((speed * weights).sum(-1).mean() / weights.sum())


def jitter(joints, fps: float) -> float:
    """Mean jerk magnitude of all joints, m/s^3 (needs at least 4 frames)."""
    j = _joints(joints)
    if j.shape[1] < 4:
        raise ValueError("jitter needs at least 4 frames")
    jerk = np.diff(j, n=3, axis=1) * fps**3
    return float(np.linalg.norm(jerk, axis=-1).mean())


def bend_spread(hand_pose) -> tuple[np.ndarray, np.ndarray]:
    """Bend and spread (..., 2, 12) in degrees of the long fingers' joints (MANO 1..12).

    ``hand_pose`` (..., 2, 45): absolute axis-angle, hand 0 left (mirrored to the right-hand
    convention), hand 1 right.
    """
    from scipy.spatial.transform import Rotation

    pose = np.asarray(hand_pose, dtype=np.float64)
    if pose.shape[-2:] != (2, 45):
        raise ValueError(f"hand_pose must be (..., 2, 45), got {pose.shape}")
    rv = pose.reshape(*pose.shape[:-1], 15, 3).copy()
    rv[..., 0, :, 1:] *= -1.0  # left -> right convention: (x, y, z) -> (x, -y, -z)
    rv = rv[..., [j - 1 for j in LIMITED_JOINTS], :]
    d = Rotation.from_rotvec(rv.reshape(-1, 3)).apply(np.array([-1.0, 0.0, 0.0])).reshape(rv.shape)
    bend = np.degrees(np.arctan2(-d[..., 1], -d[..., 0]))
    spread = np.degrees(np.arcsin(np.clip(d[..., 2], -1.0, 1.0)))
    return bend, spread


def joint_limit_violations(hand_pose, tolerance_deg: float = 5.0) -> dict[str, float]:
    """Fraction of (frame, joint) values beyond the limits and their mean excess (deg); see module docstring."""
    bend, spread = bend_spread(hand_pose)
    spread_limit = np.array([5.0 if j in MCP_JOINTS else 0.0 for j in LIMITED_JOINTS]) + tolerance_deg
    excess = np.maximum.reduce([
        -tolerance_deg - bend, bend - 90.0 - tolerance_deg, np.abs(spread) - spread_limit, np.zeros_like(bend),
    ])
    bad = excess > 0
    return {
        "joint_limit_violation_rate": float(bad.mean()),
        "joint_limit_excess_deg": float(excess[bad].mean()) if bad.any() else 0.0,
    }


def interpenetration(vertices, faces: tuple[np.ndarray, np.ndarray], frame_stride: int = 1) -> dict[str, float]:
    """Hand-hand interpenetration of clips' meshes ``vertices`` (N, T, 2, V, 3); see the module docstring."""
    v = np.asarray(vertices)
    per_clip, frames_hit, frames = [], 0, 0
    for clip in v:
        depths = [mutual_penetration(frame[0], faces[0], frame[1], faces[1]) for frame in clip[::frame_stride]]
        per_clip.append(max(depths) * 1e3)
        frames_hit += int(np.sum(np.asarray(depths) * 1e3 > PENETRATION_FRAME_MM))
        frames += len(depths)
    return {"interpenetration_mm": float(np.mean(per_clip)), "interpenetration_frames": frames_hit / max(frames, 1)}
