"""Rotation conversions (axis-angle <-> 6D) on top of roma; torch, differentiable, batched."""

from __future__ import annotations

import roma
import torch


def rotvec_to_6d(rotvec: torch.Tensor) -> torch.Tensor:
    """Axis-angle (..., 3) -> 6D (..., 6): the first two columns of the rotation matrix."""
    mat = roma.rotvec_to_rotmat(rotvec)
    return mat[..., :, :2].transpose(-1, -2).reshape(*rotvec.shape[:-1], 6)


def sixd_to_rotmat(sixd: torch.Tensor) -> torch.Tensor:
    """6D (..., 6) -> rotation matrix (..., 3, 3) by Gram-Schmidt."""
    cols = sixd.reshape(*sixd.shape[:-1], 2, 3).transpose(-1, -2)  # (...,3,2)
    return roma.special_gramschmidt(cols)


def sixd_to_rotvec(sixd: torch.Tensor) -> torch.Tensor:
    """6D (..., 6) -> axis-angle (..., 3), angle in [0, pi]."""
    return roma.rotmat_to_rotvec(sixd_to_rotmat(sixd))
