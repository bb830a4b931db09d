"""Hands and object from a (sampled) interaction grid.

- Right hand: its pose in the grid's frame is fixed by construction (the right-local
  frame), so only the articulation is fitted: ``1e4 * MSE(field(pose), pred) + 0.1 * MSE(pose,
  mean)`` by Adam from the mean pose (G-HOP).
- Left hand: BG-HOP's Procrustes step (:func:`handgen.grasp.procrustes.left_pose_from_field`)
  gives its rigid pose relative to the right hand, then its articulation is fitted the same way.
- Object: the latent is decoded to a truncated SDF on the 64^3 grid and meshed by marching cubes.

Everything is returned in the right-local frame (metres).
"""

from __future__ import annotations

import numpy as np
import torch

from handgen.grasp.grid_sampling import GridSDF, SDF_TRUNCATION
from handgen.grasp.hand_field import joint_field
from handgen.grasp.hand_frame import FRAME_SCALE, GRID_EXTENT, frame_center, local_to_normalized, transform_hand_params
from handgen.grasp.interaction import rigid_from_normalized
from handgen.grasp.procrustes import left_pose_from_field
from handgen.hand.base import HandModel
from handgen.hand.pair import HandPair


def fit_articulation(
    hand: HandModel, target: torch.Tensor, orient: torch.Tensor, transl: torch.Tensor, center: torch.Tensor,
    steps: int = 200, lr: float = 0.02, field_weight: float = 1e4, prior_weight: float = 0.1,
) -> torch.Tensor:
    """Articulation (B, 45) whose field matches ``target`` (B, 20, r, r, r) with the global pose fixed."""
    mean = hand.hands_mean.to(target)
    pose = mean.expand(target.shape[0], 45).clone().requires_grad_(True)
    opt = torch.optim.Adam([pose], lr=lr)
    for _ in range(steps):
        joints = hand(orient, pose, None, transl).joints
        field = joint_field(local_to_normalized(joints, center), target.shape[-1])
        loss = field_weight * ((field - target) ** 2).mean() + prior_weight * ((pose - mean) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return pose.detach()


def left_rigid_from_field(hands: HandPair, left_field: torch.Tensor, subvoxel: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Left hand (orient, transl) (B, 3) in the right-local frame by Procrustes on its field (B, 20, r, r, r)."""
    b = left_field.shape[0]
    center = frame_center(hands.right).to(left_field)
    with torch.no_grad():
        neutral = hands.left(torch.zeros(1, 3), hands.left.hands_mean[None]).joints[0]
    neutral_n = local_to_normalized(neutral.to(left_field), center)[1:]
    rot, shift = left_pose_from_field(left_field, neutral_n.expand(b, 20, 3), subvoxel)
    rot_m, shift_m = rigid_from_normalized(rot, shift, center)
    zeros = torch.zeros(b, 3, dtype=left_field.dtype)
    return transform_hand_params(zeros, zeros, rot_m, shift_m, hands.left.rest_joints()[0].to(left_field).expand(b, 3))


def recover_hands(hands: HandPair, right_field: torch.Tensor, left_field: torch.Tensor, steps: int = 200):
    """(orient, transl, pose) (B, 2, .) in the right-local frame from predicted fields (B, 20, r, r, r)."""
    b = right_field.shape[0]
    center = frame_center(hands.right).to(right_field)
    zeros = torch.zeros(b, 3, dtype=right_field.dtype)
    right_pose = fit_articulation(hands.right, right_field, zeros, zeros, center, steps)
    lo, lt = left_rigid_from_field(hands, left_field)
    left_pose = fit_articulation(hands.left, left_field, lo, lt, center, steps)
    return torch.stack([lo, zeros], 1), torch.stack([lt, zeros], 1), torch.stack([left_pose, right_pose], 1)


def decode_object(prior, latent_norm: torch.Tensor) -> torch.Tensor:
    """Truncated SDF (B, 64, 64, 64) in metres on the hand-frame grid from normalised latents."""
    with torch.no_grad():
        unit = prior.autoencoder.decode(prior.stats.denormalize(latent_norm))[:, 0]
    return unit * SDF_TRUNCATION * FRAME_SCALE


def hand_frame_sdf(sdf: torch.Tensor, center: torch.Tensor) -> GridSDF:
    """A decoded hand-frame SDF volume (64, 64, 64) metres as a queryable grid in right-local metres."""
    res = sdf.shape[-1]
    step = 2.0 * GRID_EXTENT / res * FRAME_SCALE
    origin = center + FRAME_SCALE * (-GRID_EXTENT + 0.5 * 2.0 * GRID_EXTENT / res)
    return GridSDF(sdf, origin.to(sdf), step)


def _largest_component(faces: np.ndarray) -> np.ndarray:
    """Faces of the largest face-connected component (decoded SDFs of a weak prior carry specks)."""
    import trimesh

    labels = trimesh.graph.connected_component_labels(trimesh.graph.face_adjacency(faces), node_count=len(faces))
    return faces[labels == np.bincount(labels).argmax()]


def marching_cubes_mesh(sdf: np.ndarray, center: np.ndarray, max_faces: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """Largest piece of the zero level set of a hand-frame SDF volume (64,64,64): (vertices right-local m, faces)."""
    from skimage.measure import marching_cubes

    if sdf.min() >= 0 or sdf.max() <= 0:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    res = sdf.shape[-1]
    step = 2.0 * GRID_EXTENT / res
    verts, faces, _, _ = marching_cubes(sdf, level=0.0)  # (z, y, x) index coordinates
    n = -GRID_EXTENT + step * (verts[:, ::-1] + 0.5)
    verts = n * FRAME_SCALE + center
    faces = _largest_component(faces.astype(np.int64))
    used, faces = np.unique(faces, return_inverse=True)
    verts, faces = verts[used], faces.reshape(-1, 3)
    if len(faces) > max_faces:  # a noisy decode: keep the mesh light for metrics and rendering
        import fast_simplification

        verts, faces = fast_simplification.simplify(verts, faces, target_reduction=1.0 - max_faces / len(faces))
        faces = np.asarray(faces, dtype=np.int64)
    tri = verts[faces]
    if np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() < 0:  # make normals point outwards
        faces = faces[:, ::-1].copy()
    return verts, faces
