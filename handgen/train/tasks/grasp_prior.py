"""Training task of the bimanual grid diffusion prior (``model_type: grasp_prior``).

x0 = [object latent (normalised, from the frozen autoencoder of ``object_encoder``),
right-hand field, left-hand field] on the 16^3 grid of the right hand's frame; the UNet
predicts the noise (DDPM, linear betas, eps). Text: "grasp {category} with both hands"
(the manifest's ``text``), dropped with probability ``train.cond_drop_prob`` for CFG.
Object latents are computed once at start (the autoencoder is frozen). With
``model.gaussian_skip`` the per-channel mean and variance of the training grids are fitted
here and stored in the model (see :mod:`handgen.models.grid_unet`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from handgen.diffusion.schedulers import training_scheduler
from handgen.errors import HandgenError
from handgen.grasp.prior_run import LatentStats, assemble_grid, copy_encoder_run, load_object_encoder
from handgen.models.grid_unet import GridUNet, grid_unet_config
from handgen.text.cache import TextEmbeddingCache
from handgen.text.encoder import load_text_encoder
from handgen.train.task import TrainingTask
from handgen.train.tasks.grasp_vqvae import open_grasp_data

log = logging.getLogger(__name__)


@torch.no_grad()
def encode_objects(data, encoder, batch_size: int = 16) -> torch.Tensor:
    """Pre-quantisation latents (N, z, 16, 16, 16) of every item's object SDF."""
    from tqdm.auto import tqdm

    out = []
    for s in tqdm(range(0, len(data), batch_size), desc="encode objects", leave=False, dynamic_ncols=True):
        idx = np.arange(s, min(s + batch_size, len(data)))
        out.append(encoder.encode(data.object_grids(idx)))
    return torch.cat(out) if out else torch.zeros(0)


@torch.no_grad()
def grid_channel_stats(
    latents: torch.Tensor, joints: torch.Tensor, batch_size: int = 64
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and variance (C,) of the clean grids from latents (N,z,16,16,16) and joints (N,2,21,3)."""
    total = total_sq = None
    count = 0
    for s in range(0, len(latents), batch_size):
        x = assemble_grid(latents[s : s + batch_size], joints[s : s + batch_size]).double()  # (b, C, 16, 16, 16)
        part, part_sq = x.sum((0, 2, 3, 4)), (x * x).sum((0, 2, 3, 4))
        total, total_sq = (part, part_sq) if total is None else (total + part, total_sq + part_sq)
        count += x.numel() // x.shape[1]
    mean = total / count
    return mean.float(), (total_sq / count - mean * mean).clamp_min(0).float()


class GraspPriorTask(TrainingTask):
    model_type = "grasp_prior"

    def __init__(self, cfg, run_dir: Path) -> None:
        super().__init__(cfg, run_dir)
        if str(cfg.diffusion.prediction_type) != "epsilon":
            raise HandgenError("the grid prior predicts noise: diffusion.prediction_type must be 'epsilon'")
        if not cfg.object_encoder:
            raise HandgenError("set object_encoder=RUN_DIR of a trained grasp_vqvae (the object autoencoder)")
        self.encoder_dir = Path(cfg.object_encoder)
        self.encoder = load_object_encoder(self.encoder_dir)
        self.train_data, self.val_data = open_grasp_data(cfg)
        d = cfg.diffusion
        self.scheduler = training_scheduler(int(d.num_train_timesteps), str(d.beta_schedule), str(d.prediction_type))
        texts = sorted({self.train_data.text(i) for i in range(len(self.train_data))}
                       | {self.val_data.text(i) for i in range(len(self.val_data))})
        self.text_encoder_name = str(cfg.text.encoder)
        encoder = load_text_encoder(self.text_encoder_name, int(cfg.text.max_tokens))
        cache_dir = cfg.text.cache_dir or str(Path(cfg.data) / "text_cache")
        self.cache = TextEmbeddingCache.build(encoder, texts, cache_dir)
        self.text_dim = int(encoder.hidden_size)
        del encoder
        z_train = encode_objects(self.train_data, self.encoder)
        self.stats = LatentStats.fit(z_train)
        self.latents = {"train": self.stats.normalize(z_train), "val": self.stats.normalize(encode_objects(self.val_data, self.encoder))}
        self.joints = {s: torch.from_numpy(d.joints_normalized(range(len(d)))) if len(d) else torch.zeros(0, 2, 21, 3)
                       for s, d in (("train", self.train_data), ("val", self.val_data))}
        self.text_rows = {s: self.cache.rows([d.text(i) for i in range(len(d))]) for s, d in (("train", self.train_data), ("val", self.val_data))}
        self.in_channels = int(z_train.shape[1]) + 40

    def build_model(self) -> GridUNet:
        n_t = int(self.cfg.diffusion.num_train_timesteps)
        model = GridUNet(grid_unet_config(self.cfg.model, self.in_channels, self.text_dim, n_t))
        if model.cfg.gaussian_skip:
            mean, var = grid_channel_stats(self.latents["train"], self.joints["train"])
            model.set_gaussian_skip(mean, var, self.scheduler.alphas_cumprod)
        return model

    def num_train_items(self) -> int:
        return len(self.train_data)

    def make_batch(self, indices: np.ndarray, split: str = "train") -> dict[str, torch.Tensor]:
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return {"latent": self.latents[split][idx], "joints": self.joints[split][idx], "text_row": self.text_rows[split][idx]}

    def compute_loss(self, model, batch, train: bool):
        x0 = assemble_grid(batch["latent"], batch["joints"])
        b = x0.shape[0]
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (b,), device=x0.device)
        noise = torch.randn_like(x0)
        x_t = self.scheduler.add_noise(x0, noise, t)
        rows = batch["text_row"].clone()
        if train:
            drop = torch.rand(b, device=rows.device) < float(self.cfg.train.cond_drop_prob)
            rows[drop] = self.cache.row[""]
        states, mask = self.cache.lookup(rows.cpu())
        states, mask = states.to(x0.device), mask.to(x0.device)
        pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
        eps = model(x_t, t, states, mask, pooled)
        err = (eps - noise) ** 2
        zc = batch["latent"].shape[1]
        parts = {"obj": err[:, :zc].mean().item(), "right": err[:, zc : zc + 20].mean().item(), "left": err[:, zc + 20 :].mean().item()}
        return err.mean(), parts

    def val_batches(self, batch_size: int) -> list[np.ndarray]:
        n = min(len(self.val_data), int(self.cfg.train.val_items))
        return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]

    def write_artifacts(self, run_dir: Path) -> None:
        copy_encoder_run(self.encoder_dir, run_dir)
        (run_dir / "latent_stats.json").write_text(json.dumps(self.stats.to_json(), indent=2) + "\n")
        models = self.train_data.hand_models
        (run_dir / "model_info.json").write_text(json.dumps({
            "model_type": self.model_type, "in_channels": self.in_channels, "text_dim": self.text_dim,
            "text_encoder": self.text_encoder_name, "text_max_tokens": int(self.cfg.text.max_tokens),
            "categories": sorted(set(self.train_data.categories())), "hand_model": models[0] if len(models) == 1 else models,
            "grasp_dir": str(self.cfg.data), "train_items": len(self.train_data),
        }, indent=2) + "\n")
