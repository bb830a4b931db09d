"""Classifier-free guidance done right: conditional and unconditional passes in one batch, and a
guidance scale that may be stronger on the noisy steps, where a motion's coarse shape forms."""

from __future__ import annotations

from dataclasses import dataclass

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


def training_keep(batch: int, device: torch.device | str, per_branch: float, together: float = 0.0,
                  ) -> dict[str, torch.Tensor]:
    """Which texts each training item keeps, branch -> (B,) bool, for classifier-free guidance.

    Each branch is dropped on its own with probability ``per_branch`` (HandX) and all three together with
    ``together``. With independent drops alone the unconditional input, which guidance subtracts at every
    step, is seen with probability ``per_branch ** 3`` (0.1 % at 0.1).
    """
    keep = {k: torch.rand(batch, device=device) >= per_branch for k in BRANCHES}
    if together > 0:  # no extra draw otherwise: runs without it train as before, bit for bit
        some = torch.rand(batch, device=device) >= together
        keep = {k: kept & some for k, kept in keep.items()}
    return keep


@dataclass(frozen=True)
class GuidanceSchedule:
    """The guidance scale per denoising step: ``noisy`` at timesteps t >= ``noisy_from``, ``scale`` below.

    Guidance on the noisy steps decides what the motion is (which hand closes, where the wrists go);
    on the last steps it mostly smooths and slows the motion down. A stronger ``noisy`` scale with the
    run's own ``scale`` after it follows the text better at the same FID (docs/motion_eval.md,
    "Stronger guidance on the noisy steps"). ``noisy=None`` is the constant ``scale``.
    """

    scale: float
    noisy: float | None = None
    noisy_from: int = 400

    def at(self, t: int) -> float:
        """The scale at training timestep ``t`` (0 = clean)."""
        return self.noisy if self.noisy is not None and t >= self.noisy_from else self.scale

    def label(self) -> str:
        """``3`` or ``3 (5 at t >= 400)``."""
        own = f"{self.scale:g}"
        return own if self.noisy is None else f"{own} ({self.noisy:g} at t >= {self.noisy_from})"

    def __str__(self) -> str:
        return self.label()

    @classmethod
    def of(cls, guidance: float | GuidanceSchedule) -> GuidanceSchedule:
        """A schedule for a plain scale (constant) or the schedule itself."""
        return guidance if isinstance(guidance, GuidanceSchedule) else cls(float(guidance))
