"""Training task of the HandX-style text-to-motion diffusion model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from handgen.diffusion.guidance import training_keep
from handgen.diffusion.motion_loss import (derivative_scale_exponent, loss_derivative_scales, motion_x0_loss,
                                           prediction_weights)
from handgen.diffusion.schedulers import diffusion_scheduler
from handgen.models.motion_denoiser import BRANCHES, build_denoiser
from handgen.train.motion_captions import CaptionedClips, load_captioned_clips
from handgen.train.task import TrainingTask


class MotionDiffusionTask(TrainingTask):
    model_type = "motion_diffusion"

    def __init__(self, cfg, run_dir: Path) -> None:
        super().__init__(cfg, run_dir)
        self.clips: CaptionedClips = load_captioned_clips(cfg)
        self.scheduler = diffusion_scheduler(cfg)
        self.prediction_type = str(cfg.diffusion.prediction_type)  # the model returns x0 either way
        self.derivative_scales = loss_derivative_scales(derivative_scale_exponent(cfg.loss),
                                                        self.clips.train.features)

    def build_model(self) -> nn.Module:
        model = build_denoiser(self.cfg, self.clips.feature_dim, self.clips.text_dim)
        if model.principal_basis is not None:
            model.set_principal_basis(self.clips.train.features)
        return model

    def num_train_items(self) -> int:
        return len(self.clips.train)

    def make_batch(self, indices: np.ndarray, split: str = "train") -> dict[str, torch.Tensor]:
        return self.clips.batch(split, indices)

    def compute_loss(self, model, batch, train: bool):
        x0 = batch["x0"]
        b = x0.shape[0]
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (b,), device=x0.device)
        noise = torch.randn_like(x0)
        x_t = self.scheduler.add_noise(x0, noise, t)
        texts = {k: self.clips.text_states(batch[f"text_{k}"], x0.device) for k in BRANCHES}
        tc = self.cfg.train
        keep = training_keep(b, x0.device, float(tc.cond_drop_prob) if train else 0.0,
                             float(tc.uncond_prob) if train else 0.0)
        x0_pred = model(x_t, t, texts, keep)
        lw = self.cfg.loss
        weights = prediction_weights(self.prediction_type, self.scheduler.alphas_cumprod, t, lw.max_weight,
                                     bool(lw.snr_weighting))  # v: on v
        return motion_x0_loss(x0_pred, x0, float(lw.mse), float(lw.velocity), float(lw.acceleration),
                              *self.derivative_scales, weights=weights)

    def val_batches(self, batch_size: int) -> list[np.ndarray]:
        return self.clips.val_batches(batch_size, self.cfg.train.val_items)

    def write_artifacts(self, run_dir: Path) -> None:
        self.clips.write_motion_run_files(run_dir, self.model_type)
