"""Training task of the FSQ motion tokenizer (reconstruction + velocity + optional acceleration loss).

Validation reports, besides the loss, the codebook usage (fraction of codes used and
perplexity of the code histogram) and the reconstruction error of both hands' 42 joints
in millimetres (MPJPE on de-normalised features) over the validation split.

``init_from`` starts from a trained tokenizer's weights (its DATA_DIR by default; the normalisation must be
the same); with ``train.freeze_encoder`` only the decoder trains, so the token ids of every clip stay what
they were and an AR model trained on the first tokenizer's tokens reads this one's alike.
``train.code_noise`` decodes training crops from codes moved by
:func:`~handgen.models.motion_tokenizer.perturb_indices` (``configs/fsq_tiny_decoder.yaml``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from handgen.errors import HandgenError
from handgen.io.data_dir import DataDir, feature_layout
from handgen.io.run_dir import load_weights, read_run_config
from handgen.models.motion_tokenizer import MotionTokenizer, build_tokenizer, codebook_usage
from handgen.repr.features import SLICES, translate_features
from handgen.repr.normalization import FeatureStats
from handgen.train.task import TrainingTask

JOINT_BLOCKS: tuple[str, ...] = ("left.joints", "right.joints")


def joint_positions(raw: torch.Tensor) -> torch.Tensor:
    """Both hands' joints (..., T, 42, 3) from raw (de-normalised) features (..., T, D)."""
    return torch.cat([raw[..., SLICES[k]].unflatten(-1, (21, 3)) for k in JOINT_BLOCKS], dim=-2)


def mpjpe_mm(recon: torch.Tensor, target: torch.Tensor, stats: FeatureStats) -> torch.Tensor:
    """Mean per-joint position error (mm) of each clip (B,) between two normalised feature batches (B, T, D)."""
    a, b = joint_positions(stats.denormalize(recon)), joint_positions(stats.denormalize(target))
    return (a - b).norm(dim=-1).mean(dim=(-1, -2)) * 1000.0


def random_crops(raw: torch.Tensor, frames: int) -> torch.Tensor:
    """A random window of ``frames`` frames of each raw clip (B, T, D), re-canonicalised like a clip.

    Each window is moved so that its right wrist at its first frame is the origin (the DATA_DIR
    canonical frame), so the crops are new clips of the training distribution.
    """
    b, t, d = raw.shape
    start = torch.randint(0, t - frames + 1, (b,))
    index = (start[:, None] + torch.arange(frames)[None])[..., None].expand(b, frames, d)
    window = raw.gather(1, index)
    return translate_features(window, -window[:, 0, SLICES["right.wrist"]])


def reconstruction_loss(recon: torch.Tensor, x: torch.Tensor, weights) -> tuple[torch.Tensor, dict[str, float]]:
    """Smooth-L1 on the features (B, T, D), their frame-to-frame velocity and acceleration, and the joint blocks.

    ``weights`` is the config's ``loss`` section: ``beta`` is the smooth-L1 threshold in normalised units
    (0 gives plain L1); ``acceleration`` weighs the second differences (0: the term is left out). Near L1,
    a tremble of amplitude a (+a, -a, +a ... frame to frame) costs a in the feature term, 2a in the velocity
    term and 4a in the acceleration term, while a smooth offset of the same size costs a in the first only.
    """
    beta = float(weights.beta)
    rec = F.smooth_l1_loss(recon, x, beta=beta)
    vel_r, vel_x = recon.diff(dim=1), x.diff(dim=1)
    vel = F.smooth_l1_loss(vel_r, vel_x, beta=beta)
    loss = float(weights.recon) * rec + float(weights.velocity) * vel
    parts = {"recon": rec.item(), "velocity": vel.item()}
    if float(weights.acceleration) > 0:
        acc = F.smooth_l1_loss(vel_r.diff(dim=1), vel_x.diff(dim=1), beta=beta)
        loss = loss + float(weights.acceleration) * acc
        parts["acceleration"] = acc.item()
    if float(weights.joints) > 0:
        idx = torch.cat([torch.arange(SLICES[k].start, SLICES[k].stop) for k in JOINT_BLOCKS]).to(x.device)
        jl = F.smooth_l1_loss(recon[..., idx], x[..., idx], beta=beta)
        loss = loss + float(weights.joints) * jl
        parts["joints"] = jl.item()
    return loss, parts


class FSQTokenizerTask(TrainingTask):
    model_type = "fsq_tokenizer"

    def __init__(self, cfg, run_dir: Path) -> None:
        super().__init__(cfg, run_dir)

        if cfg.train.freeze_encoder and not cfg.init_from:
            raise HandgenError("train.freeze_encoder needs init_from=TOKENIZER_RUN_DIR (the encoder to keep)")
        if cfg.init_from and not cfg.data:
            cfg.data = read_run_config(Path(cfg.init_from), ("fsq_tokenizer",)).data  # the first tokenizer's DATA_DIR
        if not cfg.data:
            raise HandgenError("config key 'data' (a DATA_DIR made by handgen prep) is required")
        self.data = DataDir(cfg.data)
        self.stats = self.data.stats
        if cfg.init_from:
            first = FeatureStats.load(Path(cfg.init_from) / "stats.npz")
            if first.mean.shape != self.stats.mean.shape or not (
                    np.allclose(first.mean, self.stats.mean) and np.allclose(first.std, self.stats.std)):
                raise HandgenError(f"init_from={cfg.init_from} was trained in another normalisation than "
                                   f"{cfg.data}'s: its tokens would mean something else here")
        self.features: dict[str, torch.Tensor] = {}
        self.raw_train = torch.as_tensor(self.data.split_arrays("train")[0], dtype=torch.float32)
        if len(self.raw_train) == 0:
            raise HandgenError(f"{cfg.data}: the train split has no clips")
        self.features["train"] = self._normalize(self.raw_train)
        self.features["val"] = self._normalize(torch.as_tensor(self.data.split_arrays("val")[0]))
        self.crop = cfg.train.crop_frames
        if self.crop is not None and not 2 <= int(self.crop) <= self.raw_train.shape[1]:
            raise HandgenError(f"train.crop_frames must be between 2 and the clip length "
                               f"{self.raw_train.shape[1]}, got {self.crop}")

    def _normalize(self, raw: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.stats.normalize(raw.numpy()), dtype=torch.float32)

    @property
    def feature_dim(self) -> int:
        return int(self.features["train"].shape[-1])

    def build_model(self) -> nn.Module:
        model = build_tokenizer(self.cfg, self.feature_dim)
        if self.cfg.init_from:
            try:
                load_weights(model, self.cfg.init_from)
            except RuntimeError as exc:  # tensor shapes differ
                raise HandgenError(f"init_from={self.cfg.init_from}: its weights do not fit this config's model "
                                   f"({str(exc).splitlines()[-1].strip()})") from None
        if self.cfg.train.freeze_encoder:
            model.requires_grad_(False)
            for decoder in (model.decoders if model.config.hand_split_decoder else [model.decoder]):
                decoder.requires_grad_(True)
        return model

    def num_train_items(self) -> int:
        return len(self.features["train"])

    def make_batch(self, indices: np.ndarray, split: str = "train") -> dict[str, torch.Tensor]:
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        if split == "train" and self.crop and int(self.crop) < self.raw_train.shape[1]:
            return {"x": self._normalize(random_crops(self.raw_train[idx], int(self.crop)))}
        return {"x": self.features[split][idx]}

    def compute_loss(self, model, batch, train: bool):
        recon, _ = model(batch["x"], code_noise=float(self.cfg.train.code_noise) if train else 0.0)
        return reconstruction_loss(recon, batch["x"], self.cfg.loss)

    def val_batches(self, batch_size: int) -> list[np.ndarray]:
        n = min(len(self.features["val"]), int(self.cfg.train.val_items))
        return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]

    @torch.no_grad()
    def val_metrics(self, model: nn.Module) -> dict[str, float]:
        return tokenizer_metrics(model, self.features["val"][: int(self.cfg.train.val_items)], self.stats)

    def write_artifacts(self, run_dir: Path) -> None:
        import shutil


        self.stats.save(run_dir / "stats.npz")
        shutil.copyfile(self.data.path / "meta.json", run_dir / "data_meta.json")
        (run_dir / "model_info.json").write_text(json.dumps({
            "model_type": self.model_type,
            "feature_dim": self.feature_dim,
            "clip_len": int(self.features["train"].shape[1]),
            "levels": [int(v) for v in self.cfg.model.levels],
            "downsample": int(self.cfg.model.downsample),
            "groups": int(self.cfg.model.groups or 1),
            "codebook_size": math.prod(int(v) for v in self.cfg.model.levels),
            "feature_layout": feature_layout(),
        }, indent=2) + "\n")


@torch.no_grad()
def tokenizer_metrics(model: MotionTokenizer, features: torch.Tensor, stats: FeatureStats,
                      batch_size: int = 64) -> dict[str, float]:
    """Codebook usage / perplexity and MPJPE (mm) of ``model`` over normalised clips (N, T, D)."""
    if len(features) == 0:
        return {}
    device = next(model.parameters()).device
    errors, ids = [], []
    for i in range(0, len(features), batch_size):
        x = features[i : i + batch_size].to(device)
        recon, idx = model(x)
        errors.append(mpjpe_mm(recon.float().cpu(), x.cpu(), stats))
        ids.append(idx.cpu())
    usage, perplexity = codebook_usage(torch.cat([i.reshape(-1) for i in ids]), model.codebook_size)
    return {"val_mpjpe_mm": float(torch.cat(errors).mean()), "val_code_usage": usage, "val_code_perplexity": perplexity}
