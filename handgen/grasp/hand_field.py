"""The 20-channel hand "interaction grid" of G-HOP / BG-HOP.

Channel k (k = 0..19 for the 21-keypoint joints 1..20, the wrist left out) holds, at
each voxel centre of the 16^3 grid over [-1.5, 1.5]^3 (normalised units), the squared
distance to that joint, clamped at 0.12 (distance ~0.35 units = 6.9 cm). Fields are
differentiable in the joint positions, hence in the hand parameters.

The diffusion model sees fields mapped to [-1, 1] by :func:`field_to_unit`.
"""

from __future__ import annotations

import torch

from handgen.grasp.grid_sampling import cell_centers
from handgen.grasp.hand_frame import GRID_EXTENT

FIELD_CLAMP = 0.12
FIELD_RESOLUTION = 16
FIELD_JOINTS = tuple(range(1, 21))  # 21-keypoint indices in the field, wrist excluded


def joint_field(joints: torch.Tensor, resolution: int = FIELD_RESOLUTION, extent: float = GRID_EXTENT) -> torch.Tensor:
    """Clamped squared distances (B, 20, r, r, r) from voxel centres to joints (B, 21, 3) (normalised units)."""
    centers = cell_centers(resolution, extent, dtype=joints.dtype, device=joints.device)  # (r,r,r,3)
    j = joints[:, list(FIELD_JOINTS)]  # (B,20,3)
    diff = centers[None, None] - j[:, :, None, None, None, :]
    return (diff * diff).sum(-1).clamp(max=FIELD_CLAMP)


def field_to_unit(field: torch.Tensor) -> torch.Tensor:
    """[0, 0.12] -> [-1, 1] (what the diffusion model sees)."""
    return field / (0.5 * FIELD_CLAMP) - 1.0


def unit_to_field(unit: torch.Tensor) -> torch.Tensor:
    return (unit + 1.0) * (0.5 * FIELD_CLAMP)
