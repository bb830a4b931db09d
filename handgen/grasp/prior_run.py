"""Loading trained grasp models from their run dirs: the object autoencoder and the grid prior.

A ``grasp_prior`` RUN_DIR is self-contained: ``config.yaml``, ``model.safetensors`` (EMA
UNet), ``latent_stats.json``, ``model_info.json`` and a copy of the autoencoder run in
``object_encoder/``. :class:`GraspPrior` bundles what sampling and SDS need: the
denoiser, the autoencoder, latent normalisation, the text conditioning and the noise
schedule, with helpers to assemble an interaction grid and to predict noise with CFG.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from handgen.diffusion.schedulers import training_scheduler
from handgen.errors import HandgenError
from handgen.grasp.hand_field import field_to_unit, joint_field
from handgen.io.run_dir import ENCODER_DIR, WEIGHTS_FILE, load_weights, read_json, read_run_config
from handgen.models.grid_unet import GridUNet, grid_unet_config
from handgen.models.object_autoencoder import ObjectAutoencoder, autoencoder_config
from handgen.text.encoder import load_text_encoder


def load_object_encoder(run_dir: str | Path) -> ObjectAutoencoder:
    """The frozen autoencoder of a ``grasp_vqvae`` run (eval mode, no gradients to its weights)."""
    cfg = read_run_config(run_dir, expected=("grasp_vqvae",))
    model = load_weights(ObjectAutoencoder(autoencoder_config(cfg.model)), run_dir)
    return model.eval().requires_grad_(False)


def copy_encoder_run(src: str | Path, dst_run: Path) -> None:
    """Copy the autoencoder's config and weights into ``dst_run/object_encoder/``."""
    out = Path(dst_run) / ENCODER_DIR
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.yaml", WEIGHTS_FILE, "model_info.json"):
        if (Path(src) / name).is_file():
            shutil.copy2(Path(src) / name, out / name)


class LatentStats:
    """Per-channel mean/std of the object latents: the prior sees (z - mean) / std."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mean = mean.reshape(1, -1, 1, 1, 1)
        self.std = std.reshape(1, -1, 1, 1, 1).clamp_min(1e-4)

    @classmethod
    def fit(cls, latents: torch.Tensor) -> "LatentStats":
        return cls(latents.mean((0, 2, 3, 4)), latents.std((0, 2, 3, 4)))

    def normalize(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mean.to(z)) / self.std.to(z)

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std.to(z) + self.mean.to(z)

    def to_json(self) -> dict:
        return {"mean": self.mean.flatten().tolist(), "std": self.std.flatten().tolist()}

    @classmethod
    def from_json(cls, d: dict) -> "LatentStats":
        return cls(torch.tensor(d["mean"], dtype=torch.float32), torch.tensor(d["std"], dtype=torch.float32))


def assemble_grid(latent_norm: torch.Tensor, joints: torch.Tensor) -> torch.Tensor:
    """Interaction grid (B, z+40, 16, 16, 16): normalised object latent, right field, left field.

    ``joints`` (B, 2, 21, 3) in the right hand's normalised frame (index 0 left, 1 right).
    """
    right = field_to_unit(joint_field(joints[:, 1]))
    left = field_to_unit(joint_field(joints[:, 0]))
    return torch.cat([latent_norm, right, left], dim=1)


class GraspPrior:
    """A trained grid prior ready for sampling and score distillation."""

    def __init__(self, run_dir: str | Path, device: str | torch.device = "cpu") -> None:
        self.run_dir = Path(run_dir)
        self.cfg = read_run_config(self.run_dir, expected=("grasp_prior",))
        info = read_json(self.run_dir, "model_info.json")
        self.info = info
        self.stats = LatentStats.from_json(read_json(self.run_dir, "latent_stats.json"))
        enc_dir = self.run_dir / ENCODER_DIR
        if not enc_dir.is_dir():
            raise HandgenError(f"{self.run_dir}: no {ENCODER_DIR}/ (copy of the autoencoder run); retrain the prior")
        self.autoencoder = load_object_encoder(enc_dir)  # small: stays on the CPU with the geometry
        d = self.cfg.diffusion
        unet_cfg = grid_unet_config(self.cfg.model, int(info["in_channels"]), int(info["text_dim"]),
                                    int(d.num_train_timesteps))
        self.unet = load_weights(GridUNet(unet_cfg), self.run_dir).to(device).requires_grad_(False)
        self.scheduler = training_scheduler(int(d.num_train_timesteps), str(d.beta_schedule), str(d.prediction_type))
        self.text_encoder = load_text_encoder(str(info["text_encoder"]), int(info["text_max_tokens"]))
        self.device = torch.device(device)
        self.hand_model = str(info.get("hand_model", "procedural"))

    def text_condition(self, text: str, batch: int) -> dict[str, torch.Tensor]:
        """Conditional and unconditional (empty text) inputs, each repeated ``batch`` times."""
        enc = self.text_encoder.encode([text, ""])
        pooled = enc.pooled()
        pooled[1] = 0.0  # a dropped caption is all zeros, as in training
        return {
            "cond": (enc.states[:1].expand(batch, -1, -1), enc.mask[:1].expand(batch, -1), pooled[:1].expand(batch, -1)),
            "uncond": (enc.states[1:].expand(batch, -1, -1), enc.mask[1:].expand(batch, -1), pooled[1:].expand(batch, -1)),
        }

    @torch.no_grad()
    def eps(self, x_t: torch.Tensor, t: torch.Tensor, cond: dict, guidance: float) -> torch.Tensor:
        """Classifier-free guided noise prediction (one batched forward for both branches).

        The UNet runs on ``self.device``; inputs come from and the result goes back to ``x_t``'s device.
        """
        if x_t.device != self.device:
            moved = {k: tuple(v.to(self.device) for v in pair) for k, pair in cond.items()}
            return self.eps(x_t.to(self.device), t.to(self.device), moved, guidance).to(x_t.device)
        b = x_t.shape[0]
        if guidance == 1.0:
            s, m, p = cond["cond"]
            return self.unet(x_t, t, s[:b], m[:b], p[:b])
        s = torch.cat([cond["cond"][0][:b], cond["uncond"][0][:b]])
        m = torch.cat([cond["cond"][1][:b], cond["uncond"][1][:b]])
        p = torch.cat([cond["cond"][2][:b], cond["uncond"][2][:b]])
        out = self.unet(torch.cat([x_t, x_t]), t.expand(b).repeat(2) if t.numel() == 1 else t.repeat(2), s, m, p)
        e_c, e_u = out[:b], out[b:]
        return e_u + guidance * (e_c - e_u)
