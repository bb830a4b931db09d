"""Distribution matching for a few-step student (DMD-style; Yin et al. 2024, "One-step Diffusion with
Distribution Matching Distillation", and its two-time-scale follow-up DMD2).

A regression onto the teacher's ODE ends returns, while the student cannot yet tell which end a noise leads
to, the average of the possible ends: a blur (docs/few_step.md, "Eleven ways"). Distribution matching asks
instead that the student's samples, noised to any level, look to the teacher's denoiser as they look to a
denoiser fitted to the student's own samples (the "fake" denoiser, trained alongside): the difference of
the two x0 estimates points from the student's distribution toward the teacher's, and pulls each sample
toward a mode instead of between modes.

All tensors are normalised features (B, T, D); timesteps are integer diffusion steps (B,).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def distribution_matching_loss(x0: torch.Tensor, real_x0: torch.Tensor, fake_x0: torch.Tensor) -> torch.Tensor:
    """The surrogate loss whose gradient w.r.t. the student's samples ``x0`` (B, T, D) is DMD's update.

    ``real_x0`` / ``fake_x0`` (B, T, D) are the teacher's (guided) and the fake denoiser's x0 estimates at the
    student's samples noised to one level. The direction ``fake - real`` is divided, per sample, by the mean
    absolute distance of the sample to the teacher's estimate (DMD's normalisation), so its scale does not
    depend on the noise level. A scalar; its value is half the mean squared direction.
    """
    with torch.no_grad():
        scale = (x0 - real_x0).abs().mean(dim=tuple(range(1, x0.ndim)), keepdim=True).clamp_min(1e-6)
        direction = (fake_x0 - real_x0) / scale
    return 0.5 * F.mse_loss(x0, (x0 - direction).detach())


def matching_timesteps(batch: int, num_train_timesteps: int, device: torch.device | str,
                       low: float = 0.02, high: float = 0.98) -> torch.Tensor:
    """Noise levels (B,) for matching, uniform over [low, high] of the schedule (DMD's 0.02-0.98)."""
    lo, hi = int(low * num_train_timesteps), int(high * num_train_timesteps)
    return torch.randint(lo, hi, (batch,), device=device)
