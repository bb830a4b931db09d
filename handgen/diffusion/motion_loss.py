"""Training loss of the motion denoiser: x0 MSE + velocity + acceleration (HandX's 0.5 / 0.2 / 0.1).

The velocity and acceleration terms are mean squared errors of the frame-to-frame first and
second differences of the normalised features. Measured raw, they are tiny next to the MSE:
on the README data the mean square of the data's own velocity is 2.1e-3 and of its
acceleration 9.2e-5 (the features are z-scored per channel over all frames), so an x0
prediction that trembles by +-0.01 frame to frame costs 2.9e-4 of loss, 5.8x a smooth
offset of the same size, against ~0.1 for the MSE: the model is never taught to be smooth
and samples tremble (docs/motion_eval.md, "Jitter and intensity by stage").

With ``loss.derivatives_in_data_units`` the training task divides BOTH terms by the data's
mean squared velocity (:func:`derivative_scales`): a velocity error as large as the data's
typical velocity costs 1, the same tremble ~500x its raw cost. Dividing the acceleration
term by the data's own (25x smaller) mean squared acceleration was tried and fails: then the
diffusion noise left at t ~ 0 (std ~0.006) costs as much as all of a clip's motion, and a
tiny model trained so for 500 steps returned a static pose (intensity 0.08 deg/s). With the
velocity scale the README recipe at 500 steps is smooth (jitter 0.8x the data's) but still moves
at 0.12x the data's intensity, so the shipped configs leave the switch off (docs/motion_eval.md).
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


def derivative_scales(x0: torch.Tensor) -> tuple[float, float]:
    """Mean squares of the first and second time differences of clips (N, T, D) (normalised features)."""
    vel = x0.diff(dim=1)
    return float(vel.pow(2).mean()), float(vel.diff(dim=1).pow(2).mean())


def loss_derivative_scales(in_data_units: bool, train_features: torch.Tensor) -> tuple[float, float]:
    """``(vel_scale, acc_scale)`` for :func:`motion_x0_loss`: (1, 1), or with ``loss.derivatives_in_data_units``
    the training clips' (N, T, D) mean squared velocity for both terms (see the module docstring)."""
    if not in_data_units:
        return 1.0, 1.0
    vel_ms, acc_ms = derivative_scales(train_features)
    log.info("velocity / acceleration loss in units of the data's mean squared velocity %.3g (its acceleration: %.3g)",
             vel_ms, acc_ms)
    return vel_ms, vel_ms


def motion_x0_loss(
    x0_pred: torch.Tensor, x0: torch.Tensor, w_mse: float = 0.5, w_vel: float = 0.2, w_acc: float = 0.1,
    vel_scale: float = 1.0, acc_scale: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """HandX's weighted loss on normalised features (B, T, D); returns (loss, parts).

    ``vel_scale`` / ``acc_scale`` divide the velocity / acceleration terms (1: raw differences).
    """
    mse = torch.mean((x0_pred - x0) ** 2)
    vel_p, vel = x0_pred.diff(dim=1), x0.diff(dim=1)
    vel_loss = torch.mean((vel_p - vel) ** 2) / vel_scale
    acc_loss = torch.mean((vel_p.diff(dim=1) - vel.diff(dim=1)) ** 2) / acc_scale
    loss = w_mse * mse + w_vel * vel_loss + w_acc * acc_loss
    return loss, {"mse": mse.item(), "vel": vel_loss.item(), "acc": acc_loss.item()}
