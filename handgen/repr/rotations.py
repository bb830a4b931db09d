"""Rotation conversions (axis-angle <-> 6D) on top of roma; torch, differentiable, batched."""

from __future__ import annotations

import math

import roma
import torch

# below this angle (radians) the angle used for the Rodrigues coefficients is clamped:
# keeps the gradient finite at a zero rotation (error ~1e-13)
MIN_ANGLE = 1e-6  # public: data_prep/compiled_hand.py floors its angles at the same value


def rotvec_to_rotmat(rotvec: torch.Tensor) -> torch.Tensor:
    """Axis-angle (..., 3) radians -> rotation matrix (..., 3, 3) (Rodrigues, branch-free).

    ``R = cos(t) I + sinc(t) [v]x + (1 - cos t)/t^2 v v^T`` with ``t = |v|``; the coefficients are
    written with ``torch.sinc`` so no small-angle branch is needed. Same values as
    ``roma.rotvec_to_rotmat`` to float rounding, with about a third of its operations.
    """
    x, y, z = rotvec.unbind(-1)
    angle = torch.sqrt((x * x + y * y + z * z).clamp_min(MIN_ANGLE**2))
    a = torch.sinc(angle * (1.0 / math.pi))  # sin(t)/t
    b = 0.5 * torch.sinc(angle * (0.5 / math.pi)).square()  # (1 - cos t)/t^2
    c = torch.cos(angle)
    bx, by, bz = b * x, b * y, b * z
    ax, ay, az = a * x, a * y, a * z
    bxy, bxz, byz = bx * y, bx * z, by * z
    rows = (c + bx * x, bxy - az, bxz + ay,
            bxy + az, c + by * y, byz - ax,
            bxz - ay, byz + ax, c + bz * z)
    return torch.stack(rows, dim=-1).unflatten(-1, (3, 3))


def rotvec_to_6d(rotvec: torch.Tensor) -> torch.Tensor:
    """Axis-angle (..., 3) -> 6D (..., 6): the first two columns of the rotation matrix."""
    return rotmat_to_6d(rotvec_to_rotmat(rotvec))


def rotmat_to_6d(mat: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) -> 6D (..., 6): the first two columns."""
    return mat[..., :, :2].transpose(-1, -2).reshape(*mat.shape[:-2], 6)


def sixd_to_rotmat(sixd: torch.Tensor) -> torch.Tensor:
    """6D (..., 6) -> rotation matrix (..., 3, 3) by Gram-Schmidt."""
    cols = sixd.reshape(*sixd.shape[:-1], 2, 3).transpose(-1, -2)  # (...,3,2)
    return roma.special_gramschmidt(cols)


def sixd_to_rotvec(sixd: torch.Tensor) -> torch.Tensor:
    """6D (..., 6) -> axis-angle (..., 3), angle in [0, pi]."""
    return roma.rotmat_to_rotvec(sixd_to_rotmat(sixd))
