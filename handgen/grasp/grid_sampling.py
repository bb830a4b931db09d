"""Differentiable trilinear sampling of SDF grids, and the object SDF in the hand frame.

Grids use the (D,H,W) = (z,y,x) layout of :class:`handgen.grasp.object_sdf.SDFGrid`.
Points outside a grid get the border value plus their distance to the grid's box, so
far-away points still see a distance that grows and a gradient that points back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from handgen.grasp.hand_frame import FRAME_SCALE, GRID_EXTENT

SDF_TRUNCATION = 0.2  # normalised units (0.04 m); the grid stores clamp(sdf, +-0.2) / 0.2


def cell_centers(resolution: int, extent: float = GRID_EXTENT, dtype=torch.float32, device=None) -> torch.Tensor:
    """Voxel centres (r, r, r, 3) xyz of a cell-centred grid over [-extent, extent]^3, (z,y,x) layout."""
    step = 2.0 * extent / resolution
    axis = -extent + step * (torch.arange(resolution, dtype=dtype, device=device) + 0.5)
    z, y, x = torch.meshgrid(axis, axis, axis, indexing="ij")
    return torch.stack([x, y, z], dim=-1)


class GridSDF:
    """An :class:`SDFGrid` as torch tensors, for differentiable queries at arbitrary points."""

    def __init__(self, values: torch.Tensor, origin: torch.Tensor, spacing: float) -> None:
        self.values = values  # (nz, ny, nx)
        self.origin = origin  # (3,)
        self.spacing = float(spacing)
        shape_xyz = torch.tensor(values.shape[::-1], dtype=values.dtype, device=values.device)
        self.upper = origin + self.spacing * (shape_xyz - 1)

    @classmethod
    def from_grid(cls, grid, dtype=torch.float32, device=None) -> "GridSDF":
        return cls(
            torch.as_tensor(grid.values, dtype=dtype, device=device),
            torch.as_tensor(grid.origin, dtype=dtype, device=device),
            grid.spacing,
        )

    def to(self, dtype=None, device=None) -> "GridSDF":
        return GridSDF(self.values.to(dtype=dtype, device=device), self.origin.to(dtype=dtype, device=device), self.spacing)

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        """SDF (...,) at points (..., 3) in the grid's frame, metres (differentiable in points)."""
        return query_sdf(self.values, self.origin, self.upper, points)


def query_sdf(values: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Trilinear SDF (...,) at points (..., 3) of a grid whose first/last voxel centres are lower/upper."""
    lead = points.shape[:-1]
    pts = points.reshape(-1, 3)
    inner = torch.maximum(torch.minimum(pts, upper), lower)
    outside = (pts - inner).norm(dim=-1)
    norm = 2.0 * (inner - lower) / (upper - lower) - 1.0
    grid = norm.reshape(1, 1, 1, -1, 3).to(values.dtype)
    sampled = F.grid_sample(values[None, None], grid, mode="bilinear", padding_mode="border", align_corners=True)
    return (sampled.reshape(-1) + outside.to(values.dtype)).reshape(lead)


def object_sdf_in_hand_frame(
    sdf: GridSDF, rot: torch.Tensor, transl: torch.Tensor, center: torch.Tensor, resolution: int = 64,
    extent: float = GRID_EXTENT,
) -> torch.Tensor:
    """The object's truncated, scaled SDF on the hand-frame grid, (B, 1, r, r, r).

    The object sits at ``p_local = rot @ x_object + transl`` in the right-local frame
    (rot (B,3,3), transl (B,3), metres); ``center`` (B,3) or (3,) is the normalised frame's
    origin (see :func:`handgen.grasp.hand_frame.frame_center`). Values:
    ``clamp(sdf / 0.2, -0.2, 0.2) / 0.2`` in [-1, 1]. Differentiable in rot and transl.
    """
    n = cell_centers(resolution, extent, dtype=rot.dtype, device=rot.device).reshape(1, -1, 3)
    local = n * FRAME_SCALE + center.reshape(-1, 1, 3)
    obj = torch.einsum("bji,bnj->bni", rot, local - transl[:, None, :])  # rot^T (p - t)
    values = sdf(obj) / FRAME_SCALE
    values = values.clamp(-SDF_TRUNCATION, SDF_TRUNCATION) / SDF_TRUNCATION
    return values.reshape(-1, 1, resolution, resolution, resolution)
