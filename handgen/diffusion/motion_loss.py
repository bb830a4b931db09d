"""Training loss of the motion denoiser: x0 MSE + velocity + acceleration (+ optional joint positions)."""

from __future__ import annotations

import torch


def motion_x0_loss(
    x0_pred: torch.Tensor, x0: torch.Tensor, w_mse: float = 0.5, w_vel: float = 0.2, w_acc: float = 0.1
) -> tuple[torch.Tensor, dict[str, float]]:
    """HandX's weighted loss on normalised features (B, T, D); returns (loss, parts)."""
    mse = torch.mean((x0_pred - x0) ** 2)
    vel_p, vel = x0_pred.diff(dim=1), x0.diff(dim=1)
    vel_loss = torch.mean((vel_p - vel) ** 2)
    acc_loss = torch.mean((vel_p.diff(dim=1) - vel.diff(dim=1)) ** 2)
    loss = w_mse * mse + w_vel * vel_loss + w_acc * acc_loss
    return loss, {"mse": mse.item(), "vel": vel_loss.item(), "acc": acc_loss.item()}
