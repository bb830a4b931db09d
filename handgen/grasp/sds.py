"""Score distillation against the grid prior (G-HOP / BG-HOP grasp synthesis).

The grasp is parameterised as in BG-HOP: both articulations, the object -> right-hand
transform and the left -> right-hand transform (6D rotations; translations in normalised
units, 0.2 m). One step: build the interaction grid x, noise it at t ~ U[t_lo, t_hi] of the
schedule respaced to ``respaced`` (100) steps as in BG-HOP (t in {250, 260, ..., 740} of 1000),
predict the noise with classifier-free guidance, and push x along
``w(t) (eps_hat - eps)`` with ``w(t) = sqrt(1 - abar) sqrt(abar)`` (docs/reference.md section 5).
The gradient reaches the parameters through the fields, the SDF resampling and the
object encoder; the denoiser itself is never differentiated.
"""

from __future__ import annotations

from dataclasses import dataclass

import roma
import torch
from torch import nn

from handgen.grasp.grid_sampling import GridSDF
from handgen.grasp.hand_frame import FRAME_SCALE
from handgen.grasp.interaction import interaction_grid
from handgen.grasp.prior_run import GraspPrior
from handgen.hand.pair import HandPair
from handgen.repr.rotations import sixd_to_rotmat


@dataclass
class SDSConfig:
    steps: int = 120
    t_range: tuple[float, float] = (0.25, 0.75)
    guidance: float = 4.0
    lr: float = 0.03
    eval_draws: int = 4
    respaced: int = 100  # t is drawn from this many evenly spaced timesteps (BG-HOP); 0: every timestep


class SDSGraspParams(nn.Module):
    """The optimised grasp: (B,) candidates, relative parameterisation (see the module docstring)."""

    def __init__(self, obj_rot: torch.Tensor, obj_transl: torch.Tensor, left_orient: torch.Tensor,
                 left_transl: torch.Tensor, left_pose: torch.Tensor, right_pose: torch.Tensor) -> None:
        super().__init__()
        self.obj_rot6 = nn.Parameter(obj_rot[..., :, :2].transpose(-1, -2).reshape(-1, 6).clone())
        self.obj_transl = nn.Parameter(obj_transl.detach().clone() / FRAME_SCALE)
        left_rot = roma.rotvec_to_rotmat(left_orient)
        self.left_rot6 = nn.Parameter(left_rot[..., :, :2].transpose(-1, -2).reshape(-1, 6).clone())
        self.left_transl = nn.Parameter(left_transl.detach().clone() / FRAME_SCALE)
        self.left_pose = nn.Parameter(left_pose.detach().clone())
        self.right_pose = nn.Parameter(right_pose.detach().clone())

    def relative(self) -> dict[str, torch.Tensor]:
        """obj_rot (B,3,3), obj_transl (B,3) m, left_orient (B,3), left_transl (B,3) m, poses (B,45)."""
        return {
            "obj_rot": sixd_to_rotmat(self.obj_rot6),
            "obj_transl": self.obj_transl * FRAME_SCALE,
            "left_orient": roma.rotmat_to_rotvec(sixd_to_rotmat(self.left_rot6)),
            "left_transl": self.left_transl * FRAME_SCALE,
            "left_pose": self.left_pose,
            "right_pose": self.right_pose,
        }


def sds_weight(prior: GraspPrior, t: torch.Tensor) -> torch.Tensor:
    abar = prior.scheduler.alphas_cumprod.to(t.device)[t]
    return (1 - abar).sqrt() * abar.sqrt()


def sds_step(
    prior: GraspPrior, x: torch.Tensor, cond: dict, cfg: SDSConfig, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One score-distillation step on grids x (B, C, 16, 16, 16) that carry gradients.

    Returns (surrogate loss whose gradient w.r.t. x is ``w(t) (eps_hat - eps)`` summed over the
    batch, per-candidate SDS loss ``mean(w^2 |eps_hat - eps|^2)`` (B,), no grad).
    """
    b = x.shape[0]
    n_t = prior.scheduler.config.num_train_timesteps
    stride = max(n_t // cfg.respaced, 1) if cfg.respaced else 1
    lo, hi = int(cfg.t_range[0] * n_t) // stride, int(cfg.t_range[1] * n_t) // stride
    t = torch.randint(lo, max(hi, lo + 1), (b,), generator=generator) * stride
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    x_t = prior.scheduler.add_noise(x.detach(), noise, t)
    eps = prior.eps(x_t, t, cond, cfg.guidance)
    w = sds_weight(prior, t).to(x)[:, None, None, None, None]
    grad = w * (eps - noise)
    target = (x - grad).detach()
    surrogate = 0.5 * ((x - target) ** 2).sum()
    return surrogate, (grad**2).mean((1, 2, 3, 4)).detach()


@torch.no_grad()
def sds_loss(prior: GraspPrior, x: torch.Tensor, cond: dict, cfg: SDSConfig, seed: int = 1234) -> torch.Tensor:
    """Deterministic SDS loss (B,): the weighted noise error averaged over ``cfg.eval_draws`` fixed
    (t, noise) draws spread over the timestep range (the ranking score; lower is better)."""
    gen = torch.Generator().manual_seed(seed)
    n_t = prior.scheduler.config.num_train_timesteps
    draws = max(int(cfg.eval_draws), 1)
    ts = torch.linspace(cfg.t_range[0] * n_t, cfg.t_range[1] * n_t - 1, draws).long()
    total = torch.zeros(x.shape[0])
    for t_val in ts:
        t = t_val.expand(x.shape[0])
        noise = torch.randn(x.shape, generator=gen, dtype=x.dtype)
        eps = prior.eps(prior.scheduler.add_noise(x, noise, t), t, cond, cfg.guidance)
        w = sds_weight(prior, t).to(x)[:, None, None, None, None]
        total += ((w * (eps - noise)) ** 2).mean((1, 2, 3, 4))
    return total / draws


def run_sds(
    prior: GraspPrior, hands: HandPair, sdf: GridSDF, params: SDSGraspParams, text: str, cfg: SDSConfig,
    generator: torch.Generator | None = None, progress: bool = True,
) -> list[float]:
    """Optimise ``params`` in place by SDS (AdamW, cosine decay); returns the mean SDS loss per step."""
    from tqdm.auto import tqdm

    cond = prior.text_condition(text, params.right_pose.shape[0])
    opt = torch.optim.AdamW(params.parameters(), lr=cfg.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.steps, 1))
    history = []
    bar = tqdm(range(cfg.steps), desc="sds", disable=not progress, dynamic_ncols=True, leave=False)
    for _ in bar:
        x = interaction_grid(prior, hands, sdf, **params.relative())
        surrogate, per = sds_step(prior, x, cond, cfg, generator)
        opt.zero_grad(set_to_none=True)
        surrogate.backward()
        opt.step()
        sched.step()
        history.append(float(per.mean()))
        bar.set_postfix(sds=f"{history[-1]:.4f}")
    return history
