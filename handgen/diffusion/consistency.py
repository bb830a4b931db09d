"""Consistency distillation of an x0-predicting motion denoiser (latent-consistency style).

The student ``f(x_t, t) = c_skip(t) x_t + c_out(t) net(x_t, t)`` maps any point of the
teacher's probability-flow ODE to its end x0. The scalings are diffusers' ``LCMScheduler``
ones (``sigma_data = 0.5``, ``timestep_scaling``), so ``c_skip(0) = 1, c_out(0) = 0``: at t = 0
the student returns its input (the boundary condition), and the same scheduler samples it.

Training walks the teacher's ODE on a DDIM grid of ``solver_steps`` points
(t_n = (n+1) k - 1, k = T / solver_steps, LCM's grid): from x_{t_{n+1}} (the data noised)
one DDIM step of the teacher, with classifier-free guidance at a fixed scale, gives
x_{t_n}; the student at (x_{t_{n+1}}, t_{n+1}) is pulled to an EMA target network at
(x_{t_n}, t_n) (t_n = 0 below the grid's first point).
"""

from __future__ import annotations

import torch
from diffusers import DDPMScheduler, LCMScheduler
from torch import nn

from handgen.errors import HandgenError


def consistency_scheduler(train_scheduler: DDPMScheduler, solver_steps: int, timestep_scaling: float,
                          steps: int | None = None) -> LCMScheduler:
    """diffusers' LCMScheduler on the teacher's noise schedule, ``set_timesteps(steps)`` applied when given.

    Its timesteps are taken from the distillation grid of ``solver_steps`` points.

    Raises:
        HandgenError: ``steps`` outside 1..solver_steps.
    """
    scheduler = LCMScheduler.from_config(train_scheduler.config, original_inference_steps=int(solver_steps),
                                         timestep_scaling=float(timestep_scaling), clip_sample=False,
                                         set_alpha_to_one=True)
    if steps is not None:
        if not 1 <= int(steps) <= int(solver_steps):
            raise HandgenError(f"--steps must be in 1..{solver_steps} for a consistency student (1-4 is its range), "
                               f"got {steps}")
        scheduler.set_timesteps(int(steps), original_inference_steps=int(solver_steps))
    return scheduler


def boundary_scalings(scheduler: LCMScheduler, timesteps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(c_skip, c_out), each (B, 1, 1), for integer ``timesteps`` (B,)."""
    c_skip, c_out = scheduler.get_scalings_for_boundary_condition_discrete(timesteps.float())
    return c_skip.view(-1, 1, 1), c_out.view(-1, 1, 1)


def consistency_output(net_x0: torch.Tensor, x_t: torch.Tensor, timesteps: torch.Tensor,
                       scheduler: LCMScheduler) -> torch.Tensor:
    """f(x_t, t) = c_skip x_t + c_out net_x0; (B, T, D)."""
    c_skip, c_out = boundary_scalings(scheduler, timesteps)
    return c_skip * x_t + c_out * net_x0


def solver_grid(num_train_timesteps: int, solver_steps: int, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(t_{n+1}, t_n) for grid indices ``index`` (B,) in 0..solver_steps-1; t_n is clamped at 0."""
    k = num_train_timesteps // solver_steps
    start = index * k + k - 1
    return start, (start - k).clamp(min=0)


def ddim_step(x_t: torch.Tensor, x0: torch.Tensor, t: torch.Tensor, t_prev: torch.Tensor,
              alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """Deterministic DDIM step x_t -> x_{t_prev} given the x0 estimate; all (B, T, D), t (B,)."""
    a_t = alphas_cumprod.to(x_t.device)[t].view(-1, 1, 1)
    a_prev = alphas_cumprod.to(x_t.device)[t_prev].view(-1, 1, 1)
    eps = (x_t - a_t.sqrt() * x0) / (1.0 - a_t).sqrt()
    return a_prev.sqrt() * x0 + (1.0 - a_prev).sqrt() * eps


@torch.no_grad()
def update_target(target: nn.Module, online: nn.Module, decay: float) -> None:
    """target <- decay * target + (1 - decay) * online (parameters; buffers copied)."""
    for p_t, p_o in zip(target.parameters(), online.parameters()):
        p_t.mul_(decay).add_(p_o.detach(), alpha=1.0 - decay)
    for b_t, b_o in zip(target.buffers(), online.buffers()):
        b_t.copy_(b_o)
