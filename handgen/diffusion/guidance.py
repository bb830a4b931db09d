"""Classifier-free guidance done right: conditional and unconditional passes in one batch."""

from __future__ import annotations

import torch
from torch import nn

from handgen.models.motion_denoiser import BRANCHES


def guided_x0(
    model: nn.Module,
    x_t: torch.Tensor,
    timesteps: torch.Tensor,
    texts: dict[str, tuple[torch.Tensor, torch.Tensor]],
    guidance: float,
    keep: dict[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """x0 = uncond + guidance * (cond - uncond); guidance 1 runs only the conditional pass.

    Args:
        x_t: (B, T, D); timesteps (B,); texts: branch -> (states (B,L,H), mask (B,L)).
        keep: branch -> (B,) bool, the texts the conditional pass sees (default all); a dropped
            branch is then guided toward nothing (consistency distillation's teacher uses this).
    """
    batch = x_t.shape[0]
    if guidance == 1.0:
        return model(x_t, timesteps, texts, keep)
    doubled = {k: (torch.cat([s, s]), torch.cat([m, m])) for k, (s, m) in texts.items()}
    none = torch.zeros(batch, dtype=torch.bool, device=x_t.device)
    cond_keep = keep if keep is not None else {k: ~none for k in BRANCHES}
    keep2 = {k: torch.cat([cond_keep[k], none]) for k in BRANCHES}
    out = model(torch.cat([x_t, x_t]), torch.cat([timesteps, timesteps]), doubled, keep2)
    cond, uncond = out.split(batch)
    return uncond + guidance * (cond - uncond)
