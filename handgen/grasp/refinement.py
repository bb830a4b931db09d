"""Bimanual contact refinement against an object SDF (HOMan / Hasson et al. style terms).

BG-HOP left this step unimplemented; it is what makes synthesised grasps touch without
sinking in. Both hands' full parameters (orientation, translation, articulation) in the
object frame are optimised with Adam for a few hundred steps, a batch of candidate grasps
at once, under:

- **penetration**: hand vertices inside the object, ``sum relu(margin - sdf(v))^2``;
- **fingertip contact**: each fingertip pulled to the surface (HOMan's local contact
  attraction, applied to the tips, which is what a grasp needs): the nearest tips with
  full weight, all tips with a small one;
- **surface contact** (Hasson): vertices already within 1 cm of the surface pulled onto it;
- **hand-hand**: no interpenetration between the hands (capsule-sphere proxies of the bones);
- **pose prior**: articulation close to the mean pose and the start, inside joint limits;
- **opposition** (:mod:`handgen.grasp.opposition`): the contacts' inward normals balance
  force and torque (a differentiable force-closure proxy), and each hand touches at all.

The object SDF is a precomputed grid (:class:`handgen.grasp.grid_sampling.GridSDF`),
queried by trilinear interpolation; no mesh code runs inside the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from handgen.grasp.grid_sampling import GridSDF
from handgen.grasp.opposition import opposition_terms
from handgen.hand.pair import HandPair
from handgen.hand.topology import FINGERTIP_KEYPOINTS, HANDS

# bones of the 21-keypoint skeleton (parent, child) for the hand-hand proxies
_BONES = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
          (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20)]
_FINGER_RADIUS = 0.008
_PALM_RADIUS = 0.018


@dataclass
class RefineConfig:
    """Weights and optimiser settings of :func:`refine_grasps` (losses in metres)."""

    steps: int = 300
    lr_pose: float = 0.04
    lr_orient: float = 0.02
    lr_transl: float = 0.004
    penetration: float = 3e4
    penetration_margin: float = 0.0
    tip_contact: float = 1e4
    tip_contact_all: float = 1e3
    tips_required: int = 3  # per hand, the nearest tips pulled with full weight
    tip_target: float = 0.001  # metres outside the surface
    surface_contact: float = 2e2
    surface_band: float = 0.01
    hand_hand: float = 3e4
    pose_prior: float = 0.2
    pose_anchor: float = 0.2
    joint_limits: float = 50.0
    opposition: float = 30.0  # weight of the wrench imbalance (0: the refinement before issue 21)
    hand_contact: float = 30.0  # weight of each hand's contact deficiency
    opposition_band: float = 0.01  # metres: vertices closer than this to the surface are soft contacts


def _proxy_spheres(joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sphere centres (..., 61, 3) and radii (61,) along the bones of 21-keypoint hands (..., 21, 3)."""
    a = joints[..., [p for p, _ in _BONES], :]
    b = joints[..., [c for _, c in _BONES], :]
    centers = torch.cat([joints, 0.5 * (a + b), a + 0.25 * (b - a)], dim=-2)
    radii = torch.full((centers.shape[-2],), _FINGER_RADIUS, dtype=joints.dtype, device=joints.device)
    palm = [0, 5, 9, 13, 17]
    radii[palm] = _PALM_RADIUS
    radii[21 + torch.tensor([4, 8, 12, 16])] = _PALM_RADIUS  # palm bone midpoints (wrist -> MCPs)
    radii[41 + torch.tensor([4, 8, 12, 16])] = _PALM_RADIUS
    return centers, radii


def hand_hand_penetration(joints: torch.Tensor) -> torch.Tensor:
    """Sum of squared sphere overlaps (B,) between the left and right hands' proxies (joints (B,2,21,3))."""
    centers, radii = _proxy_spheres(joints)
    d = torch.cdist(centers[:, 0], centers[:, 1])
    overlap = (radii[:, None] + radii[None, :] - d).clamp_min(0.0)
    return (overlap**2).sum((-1, -2))


def joint_limit_violation(pose: torch.Tensor, side: str) -> torch.Tensor:
    """Squared excess (...,) of the articulation (..., 45) beyond per-component limits (radians)."""
    p = pose.reshape(*pose.shape[:-1], 15, 3)
    if side == "left":  # mirror to right-hand axes: (x, y, z) -> (x, -y, -z)
        p = p * torch.tensor([1.0, -1.0, -1.0], dtype=p.dtype, device=p.device)
    lo, hi = _limits(p.dtype, p.device)
    return ((lo - p).clamp_min(0) ** 2 + (p - hi).clamp_min(0) ** 2).sum((-1, -2))


def _limits(dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    lo = torch.zeros(15, 3)
    hi = torch.zeros(15, 3)
    for j in range(12):  # index, middle, pinky, ring: (twist x, spread y, flex z)
        mcp = j % 3 == 0
        lo[j] = torch.tensor([-0.6, -0.35 if mcp else -0.12, -0.25])
        hi[j] = torch.tensor([0.3, 0.35 if mcp else 0.12, 1.7 if mcp else 1.9])
    lo[12:] = torch.tensor([[-0.3, -1.2, -0.6], [-1.2, -0.6, -0.5], [-0.4, -0.6, -0.3]])
    hi[12:] = torch.tensor([[1.6, 0.6, 0.8], [0.4, 0.5, 0.7], [1.4, 0.5, 1.2]])
    return lo.to(dtype=dtype, device=device), hi.to(dtype=dtype, device=device)


class BimanualGrasp(torch.nn.Module):
    """Both hands' parameters (B, 2, .) in the object frame, as optimisable tensors."""

    def __init__(self, orient: torch.Tensor, transl: torch.Tensor, pose: torch.Tensor, betas: torch.Tensor | None = None) -> None:
        super().__init__()
        self.orient = torch.nn.Parameter(orient.detach().clone())  # (B,2,3)
        self.transl = torch.nn.Parameter(transl.detach().clone())  # (B,2,3)
        self.pose = torch.nn.Parameter(pose.detach().clone())  # (B,2,45) absolute
        b = orient.shape[0]
        self.register_buffer("betas", torch.zeros(b, 2, 10, dtype=orient.dtype) if betas is None else betas.detach().clone())

    def forward(self, hands: HandPair) -> tuple[torch.Tensor, torch.Tensor]:
        """Vertices (B, 2, V, 3) and joints (B, 2, 21, 3), metres."""
        outs = [hands[h](self.orient[:, i], self.pose[:, i], self.betas[:, i], self.transl[:, i]) for i, h in enumerate(HANDS)]
        return torch.stack([o.vertices for o in outs], 1), torch.stack([o.joints for o in outs], 1)


def grasp_losses(
    grasp: BimanualGrasp, hands: HandPair, sdf: GridSDF, cfg: RefineConfig, pose_start: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Each refinement term per candidate (B,), weighted."""
    verts, joints = grasp(hands)
    phi = sdf(verts)  # (B,2,V)
    tips = sdf(joints[:, :, list(FINGERTIP_KEYPOINTS)])  # (B,2,5)
    pen = ((cfg.penetration_margin - phi).clamp_min(0.0) ** 2).sum(-1).sum(-1)
    tip_err = (tips - cfg.tip_target) ** 2
    nearest = tip_err.sort(-1).values[..., : cfg.tips_required].sum(-1).sum(-1)
    band = ((phi > 0) & (phi < cfg.surface_band)).to(phi.dtype)
    surface = (band * phi**2).sum(-1).sum(-1) / 100.0
    means = torch.stack([hands.left.hands_mean, hands.right.hands_mean]).to(grasp.pose)
    prior = ((grasp.pose - means) ** 2).sum((-1, -2))
    anchor = ((grasp.pose - pose_start) ** 2).sum((-1, -2))
    limits = joint_limit_violation(grasp.pose[:, 0], "left") + joint_limit_violation(grasp.pose[:, 1], "right")
    terms = {}
    if cfg.opposition > 0 or cfg.hand_contact > 0:
        centre = 0.5 * (sdf.origin + sdf.upper)
        size = float((sdf.upper - sdf.origin).max()) / 2
        imbalance, deficiency = opposition_terms(verts, phi, sdf, centre, size, cfg.opposition_band)
        terms = {"opposition": cfg.opposition * imbalance, "hand_contact": cfg.hand_contact * deficiency}
    return terms | {
        "penetration": cfg.penetration * pen,
        "tip_contact": cfg.tip_contact * nearest + cfg.tip_contact_all * tip_err.sum((-1, -2)),
        "surface_contact": cfg.surface_contact * surface,
        "hand_hand": cfg.hand_hand * hand_hand_penetration(joints),
        "pose_prior": cfg.pose_prior * prior + cfg.pose_anchor * anchor,
        "joint_limits": cfg.joint_limits * limits,
    }


def refine_grasps(
    hands: HandPair, sdf: GridSDF, orient: torch.Tensor, transl: torch.Tensor, pose: torch.Tensor,
    cfg: RefineConfig | None = None, progress: bool = False, betas: torch.Tensor | None = None,
) -> tuple[BimanualGrasp, dict[str, torch.Tensor]]:
    """Refine a batch of bimanual grasps (orient, transl (B,2,3), pose (B,2,45), object frame).

    Returns the optimised :class:`BimanualGrasp` and the final terms per candidate (B,).
    """
    from tqdm.auto import tqdm

    cfg = cfg or RefineConfig()
    grasp = BimanualGrasp(orient, transl, pose, betas)
    pose_start = pose.detach().clone()
    opt = torch.optim.Adam([
        {"params": [grasp.pose], "lr": cfg.lr_pose},
        {"params": [grasp.orient], "lr": cfg.lr_orient},
        {"params": [grasp.transl], "lr": cfg.lr_transl},
    ])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.steps, 1), eta_min=0.1 * cfg.lr_transl)
    bar = tqdm(range(cfg.steps), desc="refine", disable=not progress, dynamic_ncols=True, leave=False)
    for _ in bar:
        terms = grasp_losses(grasp, hands, sdf, cfg, pose_start)
        loss = sum(t.sum() for t in terms.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item() / orient.shape[0]:.3g}")
    with torch.no_grad():
        terms = grasp_losses(grasp, hands, sdf, cfg, pose_start)
    return grasp, {k: v.detach() for k, v in terms.items()}
