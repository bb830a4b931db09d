"""The right hand's normalised frame (G-HOP / BG-HOP, docs/reference.md section 5).

Three frames appear in grasp code:

- **world** (or object) frame: where a hand has ``global_orient`` R and ``transl`` t;
- **right-local** frame: the right hand's MANO template frame (global_orient 0, transl 0):
  ``p_local = R^T (p - wrist_world) + wrist_rest`` with ``wrist_world = wrist_rest + t``;
- **normalised** frame: ``n = (p_local - c) / 0.2`` with c = the right index MCP at rest
  minus 0.08 m along y (a point ~8 cm in front of the palm, where a grasped object sits).

The interaction grids span ``[-1.5, 1.5]^3`` of the normalised frame (~0.6 m). All
functions are torch, batched over leading dims and differentiable.
"""

from __future__ import annotations

import roma
import torch

from handgen.hand.base import HandModel

FRAME_SCALE = 0.2  # metres per normalised unit
FRAME_DROP = 0.08  # metres from the index MCP along -y to the frame centre
GRID_EXTENT = 1.5  # the grids span [-GRID_EXTENT, GRID_EXTENT]^3 normalised units
INDEX_MCP_MANO = 1  # MANO joint index of the index-finger MCP


def frame_center(right: HandModel, betas: torch.Tensor | None = None) -> torch.Tensor:
    """c (..., 3): the normalised frame's origin in the right-local frame, metres."""
    rest = right.rest_joints(betas)[..., INDEX_MCP_MANO, :]
    drop = torch.zeros(3, dtype=rest.dtype, device=rest.device)
    drop[1] = FRAME_DROP
    return rest - drop


def local_to_normalized(points: torch.Tensor, center: torch.Tensor) -> torch.Tensor:
    """Right-local metres (..., 3) -> normalised units; ``center`` (..., 3) broadcasts."""
    return (points - center) / FRAME_SCALE


def world_to_local(points: torch.Tensor, right_orient: torch.Tensor, right_transl: torch.Tensor, wrist_rest: torch.Tensor) -> torch.Tensor:
    """World points (..., N, 3) -> right-local frame given the right hand's (..., 3) orient and transl."""
    rot = roma.rotvec_to_rotmat(right_orient)
    wrist_world = wrist_rest + right_transl
    return torch.einsum("...ji,...nj->...ni", rot, points - wrist_world[..., None, :]) + wrist_rest[..., None, :]


def hand_frame_matrix(
    right: HandModel, right_orient: torch.Tensor, right_transl: torch.Tensor, betas: torch.Tensor | None = None
) -> torch.Tensor:
    """4x4 affine map (..., 4, 4) world metres -> normalised units (GRASP_DIR ``hand_frame``)."""
    rot = roma.rotvec_to_rotmat(right_orient)
    rest = right.rest_joints(betas)
    wrist_rest = rest[..., 0, :]
    center = frame_center(right, betas)
    lin = rot.transpose(-1, -2) / FRAME_SCALE
    offset = (-(rot.transpose(-1, -2) @ (wrist_rest + right_transl)[..., None])[..., 0] + wrist_rest - center) / FRAME_SCALE
    out = torch.zeros(*lin.shape[:-2], 4, 4, dtype=lin.dtype, device=lin.device)
    out[..., :3, :3] = lin
    out[..., :3, 3] = offset
    out[..., 3, 3] = 1.0
    return out


def apply_affine(matrix: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(..., 4, 4) affine applied to points (..., N, 3)."""
    return torch.einsum("...ij,...nj->...ni", matrix[..., :3, :3], points) + matrix[..., None, :3, 3]


def transform_hand_params(
    orient: torch.Tensor, transl: torch.Tensor, rot: torch.Tensor, shift: torch.Tensor, wrist_rest: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Re-express a posed hand after the rigid map x -> rot x + shift.

    MANO rotates about the wrist: ``v = R (v_rest - w) + w + transl``. Mapping every posed
    point by ``(rot, shift)`` gives the same hand with ``R' = rot R`` and
    ``transl' = rot (w + transl) + shift - w``.

    Args:
        orient, transl: (..., 3) the hand's axis-angle and translation.
        rot: (..., 3, 3), shift: (..., 3) the rigid map; wrist_rest: (..., 3) metres.

    Returns:
        (orient', transl') (..., 3) each.
    """
    new_rot = rot @ roma.rotvec_to_rotmat(orient)
    new_transl = (rot @ (wrist_rest + transl)[..., None])[..., 0] + shift - wrist_rest
    return roma.rotmat_to_rotvec(new_rot), new_transl
