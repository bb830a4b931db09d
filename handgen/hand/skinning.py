"""Forward kinematics and linear blend skinning over the MANO tree (torch, differentiable)."""

from __future__ import annotations

import roma
import torch

from handgen.hand.topology import MANO_PARENTS


def forward_kinematics(rotmats: torch.Tensor, rest_joints: torch.Tensor) -> torch.Tensor:
    """World transforms of the 16 MANO joints.

    Args:
        rotmats: (B, 16, 3, 3) local rotations (joint 0 = global orientation).
        rest_joints: (B, 16, 3) rest joint positions, metres.

    Returns:
        (B, 16, 4, 4) rigid transforms mapping rest-space points attached to each
        joint to posed space (already composed with the inverse rest offset, the
        usual LBS "A" matrices).
    """
    batch = rotmats.shape[0]
    offsets = rest_joints.clone()
    parents = list(MANO_PARENTS)
    offsets[:, 1:] = rest_joints[:, 1:] - rest_joints[:, parents[1:]]
    local = torch.zeros(batch, 16, 4, 4, dtype=rotmats.dtype, device=rotmats.device)
    local[:, :, :3, :3] = rotmats
    local[:, :, :3, 3] = offsets
    local[:, :, 3, 3] = 1.0
    world = [local[:, 0]]
    for j in range(1, 16):
        world.append(world[parents[j]] @ local[:, j])
    world_t = torch.stack(world, dim=1)
    # subtract R_world @ rest_joint so the transform acts on rest-space points
    rest_h = torch.einsum("bjik,bjk->bji", world_t[:, :, :3, :3], rest_joints)
    skin = world_t.clone()
    skin[:, :, :3, 3] = world_t[:, :, :3, 3] - rest_h
    return skin


def axis_angle_pose_to_rotmats(global_orient: torch.Tensor, hand_pose: torch.Tensor) -> torch.Tensor:
    """(B,3) + (B,45) axis-angle -> (B,16,3,3) rotation matrices."""
    full = torch.cat([global_orient, hand_pose], dim=-1).reshape(-1, 16, 3)
    return roma.rotvec_to_rotmat(full)


def blend_skin(points: torch.Tensor, weights: torch.Tensor, transforms: torch.Tensor) -> torch.Tensor:
    """Linear blend skinning of rest points.

    Args:
        points: (B, N, 3) rest-space points, metres.
        weights: (N, 16) skinning weights.
        transforms: (B, 16, 4, 4) from :func:`forward_kinematics`.

    Returns:
        (B, N, 3) posed points.
    """
    batch = transforms.shape[0]
    # (N,16) @ (B,16,12): one BLAS call (about 3x faster than the equivalent einsum)
    blended = torch.matmul(weights, transforms[:, :, :3, :].reshape(batch, -1, 12)).reshape(batch, -1, 3, 4)
    return (blended[..., :3] @ points.unsqueeze(-1)).squeeze(-1) + blended[..., 3]


def rigid_skin(points: torch.Tensor, joint_ids: list[int] | tuple[int, ...], transforms: torch.Tensor) -> torch.Tensor:
    """Points (B, K, 3) each rigidly attached to one joint -> posed (B, K, 3)."""
    tr = transforms[:, list(joint_ids)]  # (B,K,4,4)
    return torch.einsum("bkrc,bkc->bkr", tr[..., :3, :3], points) + tr[..., :3, 3]
