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

    Only the voxels inside the object grid's box are sampled; the rest are +1, which is
    exact when the object grid's margin exceeds the truncation distance (0.04 m), as
    :func:`handgen.grasp.object_sdf.compute_sdf_grid`'s default margin does.
    """
    b = rot.shape[0]
    step = 2.0 * extent / resolution
    centers = cell_centers(resolution, extent, dtype=rot.dtype, device=rot.device)
    center = center.to(rot).expand(b, 3)
    corners = torch.stack(torch.meshgrid(*[torch.stack([sdf.origin[a], sdf.upper[a]]) for a in range(3)], indexing="ij"), -1)
    corners = corners.reshape(8, 3).to(rot)
    out = torch.ones(b, 1, resolution, resolution, resolution, dtype=rot.dtype, device=rot.device)
    for i in range(b):
        with torch.no_grad():
            n = ((corners @ rot[i].T + transl[i]) - center[i]) / FRAME_SCALE
            lo = torch.clamp(torch.floor((n.min(0).values + extent) / step - 0.5).long(), 0, resolution)
            hi = torch.clamp(torch.ceil((n.max(0).values + extent) / step - 0.5).long() + 1, 0, resolution)
        (x0, y0, z0), (x1, y1, z1) = lo.tolist(), hi.tolist()
        if x1 <= x0 or y1 <= y0 or z1 <= z0:
            continue
        local = centers[z0:z1, y0:y1, x0:x1] * FRAME_SCALE + center[i]
        obj = (local - transl[i]) @ rot[i]  # rot^T (p - t), row-vector form
        values = (sdf(obj) / FRAME_SCALE).clamp(-SDF_TRUNCATION, SDF_TRUNCATION) / SDF_TRUNCATION
        out[i, 0, z0:z1, y0:y1, x0:x1] = values
    return out
