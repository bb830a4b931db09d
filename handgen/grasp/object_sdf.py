"""SDF grids of an object in its own frame, the form grasp synthesis optimises against.

Distances come from :class:`handgen.geometry.mesh_distance.MeshDistance` (exact point-triangle
distance to candidate faces found through a k-d tree over surface samples; winding-number
sign, so real, non-watertight meshes get the right sign). ``MeshSDF`` is its name here.

:class:`SDFGrid` is the form the optimisation uses: computed once per mesh on a regular
grid in the object frame, then queried differentiably with trilinear interpolation
(:func:`handgen.grasp.grid_sampling.query_sdf`); trimesh is never called inside an
optimisation loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import distance_transform_edt

from handgen.geometry.mesh_distance import MeshDistance
from handgen.geometry.ray_parity import grid_inside_votes

MeshSDF = MeshDistance  # the grasp code's name for the exact signed distance of one mesh


@dataclass
class SDFGrid:
    """Signed distances on a regular grid, metres.

    ``values[k, j, i]`` is the SDF at ``origin + spacing * (i, j, k)`` (x fastest, the
    (D,H,W) = (z,y,x) layout ``torch.nn.functional.grid_sample`` expects).
    """

    values: np.ndarray  # (nz, ny, nx) float32
    origin: np.ndarray  # (3,) xyz of voxel [0,0,0]
    spacing: float

    @property
    def shape_xyz(self) -> np.ndarray:
        return np.array(self.values.shape[::-1])

    @property
    def upper(self) -> np.ndarray:
        """xyz of the last voxel centre."""
        return self.origin + self.spacing * (self.shape_xyz - 1)

    def points(self) -> np.ndarray:
        """Voxel centres (nz, ny, nx, 3) xyz."""
        nx, ny, nz = self.shape_xyz
        z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
        return self.origin + self.spacing * np.stack([x, y, z], axis=-1)

    def tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.as_tensor(self.values, dtype=torch.float32, device=device)

    def to_npz_dict(self) -> dict[str, np.ndarray]:
        return {"values": self.values, "origin": self.origin, "spacing": np.float64(self.spacing)}

    @classmethod
    def from_npz_dict(cls, d) -> "SDFGrid":
        return cls(np.asarray(d["values"], dtype=np.float32), np.asarray(d["origin"], dtype=np.float64), float(d["spacing"]))


def grid_layout(lower: np.ndarray, upper: np.ndarray, margin: float, max_cells: int) -> tuple[np.ndarray, float, tuple[int, int, int]]:
    """Origin, cubic voxel size and (nx, ny, nz) of a grid covering [lower, upper] + margin.

    The voxel size is the smallest that keeps the longest side at ``max_cells`` voxels.
    """
    lo = np.asarray(lower, dtype=np.float64) - margin
    hi = np.asarray(upper, dtype=np.float64) + margin
    spacing = float((hi - lo).max()) / (max_cells - 1)
    counts = np.maximum(np.ceil((hi - lo) / spacing).astype(int) + 1, 2)
    center = 0.5 * (lo + hi)
    origin = center - 0.5 * spacing * (counts - 1)
    return origin, spacing, (int(counts[0]), int(counts[1]), int(counts[2]))


def compute_sdf_grid(
    vertices: np.ndarray, faces: np.ndarray, margin: float = 0.045, max_cells: int = 80, exact_band: float = 0.02,
    mesh_sdf: MeshDistance | None = None,
) -> SDFGrid:
    """SDF grid of a mesh over its bounding box plus ``margin`` (metres).

    ``margin`` defaults to just above the interaction grid's truncation distance (0.04 m),
    so every point outside the grid is truncated anyway; ``max_cells`` voxels along the
    longest side (80 gives ~3.5 mm voxels for a 20 cm box). Distances are exact within
    ``exact_band`` of the surface and within ~1 mm beyond; the sign comes from six-way
    ray-parity votes, with the winding number settling 3:3 ties.
    """
    v = np.asarray(vertices, dtype=np.float64)
    origin, spacing, shape_xyz = grid_layout(v.min(0), v.max(0), margin, max_cells)
    nx, ny, nz = shape_xyz
    grid = SDFGrid(np.zeros((nz, ny, nx), dtype=np.float32), origin, spacing)
    sdf = mesh_sdf if mesh_sdf is not None else MeshDistance(v, faces)
    pts = grid.points().reshape(-1, 3)
    # voxels within the band: distance transform from the voxels that hold surface samples
    vox = np.round((sdf.surface_samples() - origin) / spacing).astype(np.int64)
    keep = np.all((vox >= 0) & (vox < np.array(shape_xyz)), axis=1)
    marked = np.zeros((nz, ny, nx), dtype=bool)
    marked[vox[keep, 2], vox[keep, 1], vox[keep, 0]] = True
    near = (distance_transform_edt(~marked).reshape(-1) - 1.0) * spacing < exact_band
    dist = np.zeros(len(pts))
    dist[near] = sdf.unsigned(pts[near])
    if near.all():
        pass
    elif near.any():
        # beyond the band: distance through the nearest band voxel (an upper bound, good to ~a voxel)
        _, nearest = distance_transform_edt(~near.reshape(nz, ny, nx), return_indices=True)
        flat = np.ravel_multi_index(tuple(nearest.reshape(3, -1)), (nz, ny, nx))
        far = ~near
        dist[far] = dist[flat[far]] + np.linalg.norm(pts[far] - pts[flat[far]], axis=1)
    else:
        dist = sdf.unsigned(pts)
    votes = grid_inside_votes(v, faces, origin, spacing, shape_xyz).reshape(-1)
    inside = votes >= 4
    tie = votes == 3
    if tie.any():
        inside[tie] = sdf.inside(pts[tie])
    grid.values = np.where(inside, -dist, dist).reshape(nz, ny, nx).astype(np.float32)
    return grid
