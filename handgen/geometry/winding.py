"""Generalised winding numbers of triangle meshes: an inside test that needs no closure.

The winding number ``w(q) = (1/4pi) sum_f Omega_f(q)`` (Omega_f the signed solid angle
of face f seen from q) is 1 inside a closed, outward-oriented surface and 0 outside;
for open or non-manifold meshes (holes, cracks, duplicated seams, as in real scans)
it degrades smoothly, so ``w > 0.5`` is a robust inside test (Jacobson et al. 2013).
Inverted normals give ``w ~ -1`` inside, which :mod:`handgen.grasp.mesh_input`
detects and fixes.

Speed: faces are grouped into spatially compact clusters; a cluster far from a query
(distance > ``beta`` x its radius) contributes through its dipole (area-weighted
normal at its centroid; the first-order far field of Barill et al. 2018) and near
clusters exactly (van Oosterom-Strackee). ~0.3 M queries against a 16 k-face mesh
take a few seconds on 2 CPU cores.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def solid_angles(triangles: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Signed solid angle of each triangle seen from each point.

    Args:
        triangles: (..., 3, 3) vertices (the leading dims broadcast with ``points``'s).
        points: (..., 3).

    Returns:
        (...,) steradians, positive when the triangle's counter-clockwise side faces away
        from the point (i.e. the point is behind an outward-facing face).
    """
    a = triangles[..., 0, :] - points
    b = triangles[..., 1, :] - points
    c = triangles[..., 2, :] - points
    la, lb, lc = a.norm(dim=-1), b.norm(dim=-1), c.norm(dim=-1)
    num = (a * torch.cross(b, c, dim=-1)).sum(-1)
    den = la * lb * lc + (a * b).sum(-1) * lc + (b * c).sum(-1) * la + (c * a).sum(-1) * lb
    return 2.0 * torch.atan2(num, den)


def dense_winding_numbers(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Exact generalised winding numbers (P,) float64 of ``points`` (P, 3) against every face (float32 maths).

    For small point sets; many points against a large mesh: :class:`WindingNumber`.
    """
    tri = torch.as_tensor(np.asarray(vertices, dtype=np.float32)[np.asarray(faces)])  # (F,3,3)
    pts = torch.as_tensor(np.asarray(points, dtype=np.float32)).reshape(-1, 3)
    out = torch.empty(len(pts), dtype=torch.float32)
    for s in range(0, len(pts), chunk):
        out[s : s + chunk] = solid_angles(tri[None], pts[s : s + chunk, None, :]).sum(-1) / (4.0 * math.pi)
    return out.numpy().astype(np.float64)


def _cluster_faces(centroids: np.ndarray, leaf_size: int) -> list[np.ndarray]:
    """Median splits along the longest axis until each cluster has <= leaf_size faces."""
    leaves: list[np.ndarray] = []
    stack = [np.arange(len(centroids))]
    while stack:
        idx = stack.pop()
        if len(idx) <= leaf_size:
            leaves.append(idx)
            continue
        pts = centroids[idx]
        axis = int(np.argmax(pts.max(0) - pts.min(0)))
        order = idx[np.argsort(pts[:, axis], kind="stable")]
        half = len(order) // 2
        stack += [order[:half], order[half:]]
    return leaves


class WindingNumber:
    """Fast generalised winding numbers of one triangle mesh (vertices (V,3), faces (F,3))."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, leaf_size: int = 32, beta: float = 2.0) -> None:
        verts = np.asarray(vertices, dtype=np.float64)
        faces = np.asarray(faces, dtype=np.int64)
        if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
            raise ValueError("WindingNumber needs at least one triangle (faces (F,3))")
        tri = verts[faces]  # (F,3,3)
        leaves = _cluster_faces(tri.mean(1), leaf_size)
        size = max(len(leaf) for leaf in leaves)
        n_leaves = len(leaves)
        padded = np.zeros((n_leaves, size, 3, 3))
        valid = np.zeros((n_leaves, size), dtype=bool)
        centers = np.zeros((n_leaves, 3))
        dipoles = np.zeros((n_leaves, 3))
        radii = np.zeros(n_leaves)
        for k, leaf in enumerate(leaves):
            t = tri[leaf]
            cross = 0.5 * np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
            area = np.linalg.norm(cross, axis=1)
            cen = t.mean(1)
            center = (cen * area[:, None]).sum(0) / area.sum() if area.sum() > 0 else cen.mean(0)
            padded[k, : len(leaf)] = t
            padded[k, len(leaf):] = center  # degenerate padding, masked out anyway
            valid[k, : len(leaf)] = True
            centers[k] = center
            dipoles[k] = cross.sum(0)
            radii[k] = np.linalg.norm(t.reshape(-1, 3) - center, axis=1).max()
        self.triangles = torch.from_numpy(padded)
        self.valid = torch.from_numpy(valid)
        self.centers = torch.from_numpy(centers)
        self.dipoles = torch.from_numpy(dipoles)
        self.radii = torch.from_numpy(radii)
        self.beta = float(beta)

    def __call__(self, points: np.ndarray | torch.Tensor, chunk: int = 4096) -> np.ndarray:
        """Winding numbers (N,) of query points (N,3) (float64 numpy)."""
        q_all = torch.as_tensor(np.asarray(points, dtype=np.float64)).reshape(-1, 3)
        out = torch.zeros(len(q_all), dtype=torch.float64)
        near_radius = self.beta * self.radii
        for start in range(0, len(q_all), chunk):
            q = q_all[start : start + chunk]
            diff = self.centers[None] - q[:, None]  # (Q,L,3)
            dist = diff.norm(dim=-1)
            near = dist <= near_radius[None]
            far_term = (diff * self.dipoles[None]).sum(-1) / dist.clamp_min(1e-12) ** 3
            total = torch.where(near, torch.zeros_like(far_term), far_term).sum(1)
            qi, li = torch.nonzero(near, as_tuple=True)
            step = max(1, 200_000 // self.triangles.shape[1])
            for s in range(0, len(qi), step):
                qs, ls = qi[s : s + step], li[s : s + step]
                omega = solid_angles(self.triangles[ls], q[qs][:, None, :])  # (P,S)
                omega = torch.where(self.valid[ls], omega, torch.zeros_like(omega)).sum(1)
                total.index_add_(0, qs, omega)
            out[start : start + len(q)] = total
        return (out / (4.0 * math.pi)).numpy()
