"""Physical-plausibility metrics of a bimanual grasp (GraspTTA / HOMan conventions).

One function per metric; :func:`grasp_metrics` gathers them for one grasp. Inputs are
numpy arrays in metres in one frame (the object's): both hands' vertices ``(2, V, 3)``
(index 0 left, 1 right), joints ``(2, 21, 3)``, the hand faces, and the object as a
:class:`handgen.grasp.object_sdf.MeshSDF` (exact distances, winding-number sign, so
non-watertight objects are fine).

- penetration depth: deepest hand vertex inside the object (mm, 0 when none);
- intersection volume: the object voxelised at 5 mm, voxels inside a hand (cm^3);
- contact per hand: fingertips (keypoints 4, 8, 12, 16, 20) within 5 mm of the surface
  (inside counts as contact), and the fraction of hand vertices within 5 mm.
"""

from __future__ import annotations

import numpy as np

from handgen.geometry.ray_parity import grid_inside_votes
from handgen.geometry.winding import WindingNumber
from handgen.grasp.object_sdf import MeshSDF
from handgen.hand.topology import FINGERTIP_KEYPOINTS, HANDS

CONTACT_DIST = 0.005  # metres
VOXEL = 0.005  # metres, object voxelisation for the intersection volume


def penetration_depth(hand_vertices: np.ndarray, obj: MeshSDF) -> np.ndarray:
    """Deepest penetration (...,) in metres of each hand's vertices (..., V, 3) into the object."""
    v = np.asarray(hand_vertices, dtype=np.float64)
    sdf = obj(v.reshape(-1, 3)).reshape(v.shape[:-1])
    return np.maximum(-sdf, 0.0).max(-1)


def object_voxels(obj: MeshSDF, voxel: float = VOXEL) -> np.ndarray:
    """Centres (N, 3) of the object's voxels (a grid of ``voxel`` metres, winding-number inside test)."""
    lo, hi = obj.vertices.min(0), obj.vertices.max(0)
    counts = np.maximum(np.ceil((hi - lo) / voxel).astype(int), 1)
    origin = 0.5 * (lo + hi) - 0.5 * voxel * (counts - 1)
    votes = grid_inside_votes(obj.vertices, obj.faces, origin, voxel, tuple(int(c) for c in counts))
    sure = origin + voxel * np.argwhere(votes == 6)[:, ::-1]
    unsure = origin + voxel * np.argwhere((votes > 0) & (votes < 6))[:, ::-1]
    # settle split parity votes with the winding number (robust to holes)
    return np.concatenate([sure, unsure[obj.inside(unsure)] if len(unsure) else unsure])


def intersection_volume(
    hand_vertices: np.ndarray, hand_faces: list[np.ndarray], obj: MeshSDF, voxel: float = VOXEL,
    voxels: np.ndarray | None = None,
) -> float:
    """Volume (m^3) of the object's voxels that lie inside any of the hands.

    Args:
        hand_vertices: (H, V, 3) hands; hand_faces: the faces of each hand.
        voxels: precomputed :func:`object_voxels` (reuse across grasps of one object).
    """
    pts = object_voxels(obj, voxel) if voxels is None else voxels
    if len(pts) == 0:
        return 0.0
    hit = np.zeros(len(pts), dtype=bool)
    for verts, faces in zip(hand_vertices, hand_faces):
        lo, hi = verts.min(0) - voxel, verts.max(0) + voxel
        near = np.all((pts >= lo) & (pts <= hi), axis=1) & ~hit
        if near.any():
            hit[near] = WindingNumber(verts, faces)(pts[near]) > 0.5
    return float(hit.sum()) * voxel**3


def fingertip_contacts(joints: np.ndarray, obj: MeshSDF, threshold: float = CONTACT_DIST) -> np.ndarray:
    """Boolean (..., 5): fingertips (thumb..pinky) with object SDF below ``threshold`` metres."""
    tips = np.asarray(joints, dtype=np.float64)[..., list(FINGERTIP_KEYPOINTS), :]
    return (obj(tips.reshape(-1, 3)) <= threshold).reshape(tips.shape[:-1])


def fingertip_distances(joints: np.ndarray, obj: MeshSDF) -> np.ndarray:
    """Signed distance (..., 5) of the fingertips to the object surface, metres (negative inside)."""
    tips = np.asarray(joints, dtype=np.float64)[..., list(FINGERTIP_KEYPOINTS), :]
    return obj(tips.reshape(-1, 3)).reshape(tips.shape[:-1])


def vertex_contact_ratio(hand_vertices: np.ndarray, obj: MeshSDF, threshold: float = CONTACT_DIST) -> np.ndarray:
    """Fraction (...,) of each hand's vertices (..., V, 3) with object SDF below ``threshold``."""
    v = np.asarray(hand_vertices, dtype=np.float64)
    sdf = obj(v.reshape(-1, 3)).reshape(v.shape[:-1])
    return (sdf <= threshold).mean(-1)


def grasp_metrics(
    hand_vertices: np.ndarray, hand_faces: list[np.ndarray], joints: np.ndarray, obj: MeshSDF,
    voxels: np.ndarray | None = None,
) -> dict[str, float]:
    """All metrics of one bimanual grasp as a flat dict (mm, cm^3, counts and fractions).

    Keys: ``penetration_depth_mm`` (both hands), ``penetration_depth_mm_{h}``,
    ``intersection_volume_cm3``, ``tips_in_contact_{h}`` (0..5), ``min_tip_distance_mm_{h}``,
    ``vertex_contact_{h}`` for h in left, right.
    """
    v = np.asarray(hand_vertices, dtype=np.float64)
    v_sdf = obj(v.reshape(-1, 3)).reshape(v.shape[:-1])  # one SDF pass for depth and contact
    depth = np.maximum(-v_sdf, 0.0).max(-1)
    contact = (v_sdf <= CONTACT_DIST).mean(-1)
    tips = fingertip_distances(joints, obj)
    out: dict[str, float] = {
        "penetration_depth_mm": float(depth.max()) * 1e3,
        "intersection_volume_cm3": intersection_volume(hand_vertices, hand_faces, obj, voxels=voxels) * 1e6,
    }
    for i, h in enumerate(HANDS):
        out[f"penetration_depth_mm_{h}"] = float(depth[i]) * 1e3
        out[f"tips_in_contact_{h}"] = int((tips[i] <= CONTACT_DIST).sum())
        out[f"min_tip_distance_mm_{h}"] = float(tips[i].min()) * 1e3
        out[f"vertex_contact_{h}"] = float(contact[i])
    return out
