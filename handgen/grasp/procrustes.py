"""Kabsch alignment and BG-HOP's Procrustes recovery of the left hand's rigid pose from its field.

The left hand's field, expressed in the right hand's frame, encodes both its articulation
and its pose relative to the right hand. BG-HOP decouples the two: take the voxel where
each channel is smallest (the joint's location), do the same for a neutral left hand
(mean articulation, identity pose), and fit the rigid map between the 20 point pairs.
We add an optional sub-voxel step: near its minimum a squared-distance channel is a
quadratic, so a least-squares fit of ``a|x|^2 + b.x + e`` over the 3x3x3 neighbourhood
locates the joint well inside a voxel.
"""

from __future__ import annotations

import roma
import torch

from handgen.grasp.grid_sampling import cell_centers
from handgen.grasp.hand_field import FIELD_CLAMP
from handgen.grasp.hand_frame import GRID_EXTENT


def kabsch(src: torch.Tensor, dst: torch.Tensor, weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotation (..., 3, 3) and translation (..., 3) minimising sum w |R src + t - dst|^2.

    Args:
        src, dst: (..., N, 3) corresponding points, N >= 3 not all collinear.
        weights: optional (..., N) non-negative weights.
    """
    if weights is None:
        weights = torch.ones(src.shape[:-1], dtype=src.dtype, device=src.device)
    w = weights / weights.sum(-1, keepdim=True)
    mu_s = (w[..., None] * src).sum(-2)
    mu_d = (w[..., None] * dst).sum(-2)
    cov = torch.einsum("...n,...ni,...nj->...ij", w, dst - mu_d[..., None, :], src - mu_s[..., None, :])
    rot = roma.special_procrustes(cov)  # closest rotation (det +1) to the cross-covariance
    return rot, mu_d - (rot @ mu_s[..., None])[..., 0]


def field_minima(field: torch.Tensor, subvoxel: bool = True, extent: float = GRID_EXTENT) -> tuple[torch.Tensor, torch.Tensor]:
    """Location of each channel's minimum (normalised units) and a confidence.

    Args:
        field: (..., C, r, r, r) clamped squared-distance channels.
        subvoxel: refine the argmin voxel by a quadratic fit over its neighbourhood.

    Returns:
        points (..., C, 3) and weights (..., C): 1 for a clear minimum, 0 when the channel
        never drops below the clamp (joint outside the grid).
    """
    lead, res = field.shape[:-3], field.shape[-1]
    flat = field.reshape(-1, res**3)
    centers = cell_centers(res, extent, dtype=field.dtype, device=field.device).reshape(-1, 3)
    best = flat.argmin(-1)
    points = centers[best]
    weights = (flat.gather(1, best[:, None])[:, 0] < 0.9 * FIELD_CLAMP).to(field.dtype)
    if subvoxel:
        points = _quadratic_refine(flat.reshape(-1, res, res, res), best, centers, points, res)
    return points.reshape(*lead, 3), weights.reshape(lead)


def _quadratic_refine(vol: torch.Tensor, best: torch.Tensor, centers: torch.Tensor, points: torch.Tensor, res: int) -> torch.Tensor:
    """Fit f(x) = a|x|^2 + b.x + e on the unclamped voxels around each argmin; x* = -b / 2a."""
    k, j, i = best // (res * res), (best // res) % res, best % res
    offs = torch.stack(torch.meshgrid(*(torch.arange(-1, 2),) * 3, indexing="ij"), -1).reshape(-1, 3).to(best.device)
    kk = (k[:, None] + offs[:, 0]).clamp(0, res - 1)
    jj = (j[:, None] + offs[:, 1]).clamp(0, res - 1)
    ii = (i[:, None] + offs[:, 2]).clamp(0, res - 1)
    lin = kk * res * res + jj * res + ii  # (C,27), duplicates at borders only reweight
    x = centers[lin]  # (C,27,3)
    f = vol.reshape(vol.shape[0], -1).gather(1, lin)
    ok = (f < 0.95 * FIELD_CLAMP).to(vol.dtype)
    rel = x - points[:, None]  # centre the fit for conditioning
    design = torch.cat([(rel * rel).sum(-1, keepdim=True), rel, torch.ones_like(f)[..., None]], -1)  # (C,27,5)
    dw = design * ok[..., None]
    lhs = (dw.transpose(1, 2) @ design).double() + 1e-8 * torch.eye(5, dtype=torch.float64, device=vol.device)
    rhs = (dw.transpose(1, 2) @ f[..., None]).double()
    coef = torch.linalg.solve(lhs, rhs)[..., 0].to(vol.dtype)  # channels without enough samples fall back below
    a, b = coef[:, 0], coef[:, 1:4]
    step = 2.0 * GRID_EXTENT / res
    shift = -b / (2.0 * a.clamp_min(1e-6))[:, None]
    good = (a > 1e-3) & (ok.sum(1) >= 10) & (shift.abs() <= step).all(-1)
    return torch.where(good[:, None], points + shift, points)


def left_pose_from_field(
    left_field: torch.Tensor, neutral_points: torch.Tensor, subvoxel: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rigid map (R (...,3,3), t (...,3)) in normalised units taking a neutral left hand onto the field.

    Args:
        left_field: (..., 20, r, r, r) predicted left-hand field in the right hand's frame.
        neutral_points: (..., 20, 3) the neutral left hand's field joints (normalised units;
            exact joints, or :func:`field_minima` of its own field as BG-HOP does).
    """
    target, weights = field_minima(left_field, subvoxel)
    weights = weights + 1e-3  # never all zero
    return kabsch(neutral_points, target, weights)
