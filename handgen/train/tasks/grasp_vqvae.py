"""Training task of the object SDF (VQ-)autoencoder (``model_type: grasp_vqvae``).

Items are GRASP_DIR frames; each gives its object's truncated SDF on the 64^3 grid of the
right hand's frame. The object is turned by a random rotation about the frame centre and
jittered (``augment``) so the autoencoder sees the arbitrary poses SDS will show it.
Loss: L1 reconstruction (voxels near the surface weighted up, ``loss.far_weight`` for
truncated ones) + the quantiser's commitment loss.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from handgen.errors import HandgenError
from handgen.grasp.grasp_data import GraspDataset, require_items
from handgen.models.object_autoencoder import ObjectAutoencoder, autoencoder_config
from handgen.train.task import TrainingTask


def open_grasp_data(cfg) -> tuple[GraspDataset, GraspDataset]:
    """(train, val) datasets of ``cfg.data`` with the config's SDF settings."""
    if not cfg.data:
        raise HandgenError("set data=GRASP_DIR (the output of `handgen prep grasps`)")
    opts = {"cache_dir": cfg.sdf_cache, "sdf_cells": int(cfg.sdf.cells), "articulation_step": float(cfg.sdf.articulation_step)}
    train = GraspDataset(cfg.data, ("train",), **opts)
    require_items(train, "train")
    return train, GraspDataset(cfg.data, ("val",), **opts)


def reconstruction_loss(recon: torch.Tensor, target: torch.Tensor, far_weight: float) -> torch.Tensor:
    """Weighted L1: full weight where |target| < 1 (within the truncation band), ``far_weight`` elsewhere."""
    w = torch.where(target.abs() < 0.999, torch.ones_like(target), torch.full_like(target, far_weight))
    return (w * (recon - target).abs()).sum() / w.sum()


class GraspVQVAETask(TrainingTask):
    model_type = "grasp_vqvae"

    def __init__(self, cfg, run_dir: Path) -> None:
        super().__init__(cfg, run_dir)
        self.train_data, self.val_data = open_grasp_data(cfg)

    def build_model(self) -> ObjectAutoencoder:
        return ObjectAutoencoder(autoencoder_config(self.cfg.model))

    def num_train_items(self) -> int:
        return len(self.train_data)

    def make_batch(self, indices: np.ndarray, split: str = "train") -> dict[str, torch.Tensor]:
        data = self.train_data if split == "train" else self.val_data
        aug = self.cfg.augment
        train = split == "train"
        sdf = data.object_grids(
            indices, rotate=train and bool(aug.rotate), jitter=float(aug.jitter) if train else 0.0,
            generator=None if train else torch.Generator().manual_seed(0),
        )
        return {"sdf": sdf}

    def compute_loss(self, model, batch, train: bool):
        sdf = batch["sdf"]
        recon, _, commit = model(sdf)
        rec = reconstruction_loss(recon, sdf, float(self.cfg.loss.far_weight))
        iou = ((recon < 0) & (sdf < 0)).sum() / ((recon < 0) | (sdf < 0)).sum().clamp_min(1)
        return rec + commit, {"recon": rec.item(), "commit": float(commit), "iou": iou.item()}

    def val_batches(self, batch_size: int) -> list[np.ndarray]:
        n = min(len(self.val_data), int(self.cfg.train.val_items))
        return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]

    def write_artifacts(self, run_dir: Path) -> None:
        (run_dir / "model_info.json").write_text(json.dumps({
            "model_type": self.model_type, "sdf_resolution": 64, "latent_channels": int(self.cfg.model.z_channels),
            "latent_resolution": 16, "grasp_dir": str(self.cfg.data),
        }, indent=2) + "\n")
