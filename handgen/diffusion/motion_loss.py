"""Training loss of the motion denoiser: x0 MSE + velocity + acceleration (HandX's 0.5 / 0.2 / 0.1).

The velocity and acceleration terms are mean squared errors of the frame-to-frame first and
second differences of the normalised features. Measured raw, they are tiny next to the MSE:
on the README data the mean square of the data's own velocity is 2.1e-3 and of its
acceleration 9.2e-5 (the features are z-scored per channel over all frames), so an x0
prediction that trembles by +-0.01 frame to frame costs 2.9e-4 of loss, 5.8x a smooth
offset of the same size, against ~0.1 for the MSE: the model is never taught to be smooth
and samples tremble (docs/motion_eval.md, "Jitter and intensity by stage").

``loss.derivative_scale`` (s, between 0 and 1) divides BOTH terms by (the data's mean squared
velocity) ** s (:func:`loss_derivative_scales`): s = 0 keeps HandX's raw differences, s = 1 measures
them in the data's velocity units (a velocity error as large as the data's typical velocity costs 1,
the same tremble ~500x its raw cost), s = 0.5 is the geometric mean of the two (~22x). Dividing the
acceleration term by the data's own (25x smaller) mean squared acceleration was tried and fails: then
the diffusion noise left at t ~ 0 (std ~0.006) costs as much as all of a clip's motion, and a tiny model
trained so for 500 steps returned a static pose (intensity 0.08 deg/s). With s = 1 the README recipe at
500 steps is smooth (jitter 0.8x the data's) but moves at 0.12x the data's intensity; the settings tried
in between and the shipped value are in docs/motion_eval.md ("Jitter and intensity by stage").
The old switch ``loss.derivatives_in_data_units: true`` still reads as s = 1.

v-prediction (``diffusion.prediction_type: v_prediction``): the loss is HandX's taken on v instead of x0.
Since x0 = sqrt(abar_t) x_t - sqrt(1 - abar_t) v, an x0 error is sqrt(1 - abar_t) times the v error,
frame by frame, so the v loss is the x0 loss with each clip weighted by 1 / (1 - abar_t) (SNR + 1, all
three terms alike: their balance stays HandX's); :func:`prediction_weights`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch

from handgen.errors import HandgenError

if TYPE_CHECKING:
    from handgen.config_schema import MotionLossSection

log = logging.getLogger(__name__)


def derivative_scales(x0: torch.Tensor) -> tuple[float, float]:
    """Mean squares of the first and second time differences of clips (N, T, D) (normalised features)."""
    vel = x0.diff(dim=1)
    return float(vel.pow(2).mean()), float(vel.diff(dim=1).pow(2).mean())


def derivative_scale_exponent(loss_cfg: MotionLossSection) -> float:
    """The exponent s of a config's ``loss`` section: ``derivative_scale``, or 1 for the old switch
    ``derivatives_in_data_units: true``.

    Raises:
        HandgenError: the old switch on together with a ``derivative_scale`` other than 0 or 1.
    """
    s = float(loss_cfg.derivative_scale)
    if bool(loss_cfg.derivatives_in_data_units):
        if s not in (0.0, 1.0):
            raise HandgenError(f"loss.derivatives_in_data_units=true (the old switch, = loss.derivative_scale=1) "
                               f"contradicts loss.derivative_scale={s:g}: set only loss.derivative_scale")
        return 1.0
    return s


def loss_derivative_scales(exponent: float, train_features: torch.Tensor) -> tuple[float, float]:
    """``(vel_scale, acc_scale)`` for :func:`motion_x0_loss`: both (the training clips' (N, T, D) mean squared
    velocity) ** ``exponent`` (``loss.derivative_scale``; 0: (1, 1), raw differences)."""
    if exponent == 0.0:
        return 1.0, 1.0
    vel_ms, acc_ms = derivative_scales(train_features)
    scale = vel_ms**exponent
    log.info("velocity / acceleration loss divided by %.3g = (the data's mean squared velocity %.3g) ** %g "
             "(its acceleration: %.3g)", scale, vel_ms, exponent, acc_ms)
    return scale, scale


def prediction_weights(prediction_type: str, alphas_cumprod: torch.Tensor, timesteps: torch.Tensor,
                       max_weight: float | None = None, snr_weighting: bool = False) -> torch.Tensor | None:
    """Per-clip weights (B,) of the x0 loss that make it the loss on the network's output: None for "sample"
    (x0), 1 / (1 - abar_t) for "v_prediction" (the x0 error is sqrt(1 - abar_t) x the v error), capped at
    ``max_weight`` when given (``loss.max_weight``: near t = 0 the uncapped weight reaches 24000).
    ``snr_weighting`` (``loss.snr_weighting``) gives an x0 run ("sample") the v loss's weights too."""
    if prediction_type == "sample" and not snr_weighting:
        return None
    if prediction_type in ("v_prediction", "sample"):
        weights = 1.0 / (1.0 - alphas_cumprod.to(timesteps.device)[timesteps].float())
        return weights if max_weight is None else weights.clamp(max=float(max_weight))
    raise HandgenError(f"no loss weighting for diffusion.prediction_type={prediction_type!r}")


def _mean(sq: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Mean of squared errors (B, ...), each clip weighted by ``weights`` (B,) when given."""
    if weights is None:
        return sq.mean()
    return (sq.flatten(1).mean(dim=1) * weights).mean()


def motion_x0_loss(
    x0_pred: torch.Tensor, x0: torch.Tensor, w_mse: float = 0.5, w_vel: float = 0.2, w_acc: float = 0.1,
    vel_scale: float = 1.0, acc_scale: float = 1.0, weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """HandX's weighted loss on normalised features (B, T, D); returns (loss, parts).

    ``vel_scale`` / ``acc_scale`` divide the velocity / acceleration terms (1: raw differences);
    ``weights`` (B,) weight each clip's three terms (:func:`prediction_weights`; None: 1).
    """
    mse = _mean((x0_pred - x0) ** 2, weights)
    vel_p, vel = x0_pred.diff(dim=1), x0.diff(dim=1)
    vel_loss = _mean((vel_p - vel) ** 2, weights) / vel_scale
    acc_loss = _mean((vel_p.diff(dim=1) - vel.diff(dim=1)) ** 2, weights) / acc_scale
    loss = w_mse * mse + w_vel * vel_loss + w_acc * acc_loss
    return loss, {"mse": mse.item(), "vel": vel_loss.item(), "acc": acc_loss.item()}
