"""Opposition between the two hands' contacts: a differentiable force-closure proxy.

A grasp can hold its object against any load only when the contact normals, with friction
cones around them, can balance every wrench. The classic grasp-quality measures (Ferrari and
Canny's epsilon) are not differentiable; DexGraspNet's force-closure energy is: with unit
pushes along the inward contact normals, the net force and torque should vanish. Here the
contacts are soft: every hand vertex near the surface (``|sdf| < band``) counts with a weight
that falls off with its distance, its normal is the object SDF's gradient (central
differences on the grid), and the loss is

``|sum_i w_i n_i|^2 / W^2 + |sum_i w_i (p_i - c) x n_i|^2 / (W L)^2``

with ``W = sum_i w_i``, ``c`` the object's centre and ``L`` its size (metres). Contacts on
one side only (a hand resting on top) leave a net force and are penalised; two palms
squeezing opposite faces, or fingers wrapped around, cancel. A second term asks each hand to
touch at all (``min_contact`` weighted vertices), so the balance is not met by letting go.
"""

from __future__ import annotations

import torch

from handgen.grasp.grid_sampling import GridSDF


def sdf_normals(sdf: GridSDF, points: torch.Tensor, step: float = 0.002) -> torch.Tensor:
    """Unit outward normals (..., 3) of the object SDF at points (..., 3), central differences (metres)."""
    grads = []
    for k in range(3):
        e = torch.zeros(3, dtype=points.dtype, device=points.device)
        e[k] = step
        grads.append(sdf(points + e) - sdf(points - e))
    g = torch.stack(grads, -1)
    return g / g.norm(dim=-1, keepdim=True).clamp_min(1e-9)


def contact_weights(phi: torch.Tensor, band: float) -> torch.Tensor:
    """Soft contact weight in [0, 1] of points at signed distance ``phi`` (metres): 1 on the surface,
    0 beyond ``band`` outside (points inside count fully: they push too)."""
    return (1.0 - phi.clamp_min(0.0) / band).clamp_min(0.0)


def opposition_terms(verts: torch.Tensor, phi: torch.Tensor, sdf: GridSDF, centre: torch.Tensor, size: float,
                     band: float = 0.005, subsample: int = 4, min_contact: float = 20.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Wrench imbalance (B,) and each hand's contact deficiency (B,) of grasps.

    Args:
        verts: (B, 2, V, 3) hand vertices in the object frame, metres. phi: (B, 2, V) their SDF.
        centre: (3,) object centre; size: object size (metres) scaling the torque.
        subsample: every n-th vertex is a contact candidate (cost).
        min_contact: weighted contact vertices (of the subsample) each hand should have.
    """
    p = verts[:, :, ::subsample]
    w = contact_weights(phi[:, :, ::subsample], band)  # (B,2,Vs)
    n = sdf_normals(sdf, p)  # (B,2,Vs,3)
    b = p.shape[0]
    p, w, n = p.reshape(b, -1, 3), w.reshape(b, -1), n.reshape(b, -1, 3)
    total = w.sum(-1).clamp_min(1e-6)
    force = (w[..., None] * n).sum(1) / total[:, None]
    torque = (w[..., None] * torch.cross(p - centre.to(p), n, dim=-1)).sum(1) / (total[:, None] * size)
    imbalance = (force**2).sum(-1) + (torque**2).sum(-1)
    per_hand = contact_weights(phi[:, :, ::subsample], band).sum(-1)  # (B,2)
    deficiency = ((min_contact - per_hand).clamp_min(0.0) / min_contact).pow(2).sum(-1)
    return imbalance, deficiency
