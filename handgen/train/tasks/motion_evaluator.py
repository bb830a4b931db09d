"""Training task of the text-motion evaluator (``model_type: motion_evaluator``).

Reuses :func:`handgen.train.motion_captions.load_captioned_clips` (clips + caption triplets
+ the on-disk MiniLM cache): the motion side turns each clip's raw joints into evaluator
frame features, normalised with statistics of the train split that are saved in the run
dir (``evaluator_stats.npz``). Validation logs R-Precision top-1/2/3 on the val split.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from handgen.analysis.embedding_metrics import r_precision
from handgen.io.run_dir import EVALUATOR_INPUT_STATS
from handgen.models.evaluator_input import FRAME_DIM, joints_from_features, motion_input
from handgen.models.motion_evaluator import BRANCHES, build_evaluator, info_nce
from handgen.repr.normalization import FeatureStats
from handgen.train.motion_captions import CaptionedClips, load_captioned_clips
from handgen.train.task import TrainingTask

VAL_REPLICATIONS = 5


def same_triplet(rows: torch.Tensor) -> torch.Tensor:
    """(B, B) bool: items whose (left, right, both) cache rows are all equal. ``rows``: (B, 3)."""
    return (rows[:, None, :] == rows[None, :, :]).all(-1)


class MotionEvaluatorTask(TrainingTask):
    model_type = "motion_evaluator"

    def __init__(self, cfg, run_dir: Path) -> None:
        super().__init__(cfg, run_dir)
        self.clips: CaptionedClips = load_captioned_clips(cfg)
        self.fps = float(self.clips.data_dir.meta.get("fps", 30.0))
        raw = {name: self.clips.stats.denormalize(self.clips.split(name).features) for name in ("train", "val")}
        inputs = {name: motion_input(joints_from_features(x), self.fps) for name, x in raw.items()}
        self.input_stats = FeatureStats.from_features(inputs["train"].numpy())
        self.inputs = {name: self.input_stats.normalize(x) for name, x in inputs.items()}

    def build_model(self) -> nn.Module:
        return build_evaluator(self.cfg, self.clips.text_dim)

    def num_train_items(self) -> int:
        return len(self.clips.train)

    def make_batch(self, indices: np.ndarray, split: str = "train") -> dict[str, torch.Tensor]:
        batch = self.clips.batch(split, indices)
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        motion = self.inputs[split][idx]
        noise = float(self.cfg.train.input_noise)
        if split == "train" and noise > 0:
            motion = motion + noise * torch.randn_like(motion)
        return {"motion": motion, **{f"text_{k}": batch[f"text_{k}"] for k in BRANCHES}}

    def _texts(self, batch: dict[str, torch.Tensor], device) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        return {k: self.clips.text_states(batch[f"text_{k}"], device) for k in BRANCHES}

    def compute_loss(self, model, batch, train: bool):
        motion_emb, text_emb = model(batch["motion"], self._texts(batch, batch["motion"].device))
        rows = torch.stack([batch[f"text_{k}"] for k in BRANCHES], dim=1)
        loss = info_nce(motion_emb, text_emb, float(self.cfg.loss.temperature), same_triplet(rows))
        return loss, {}

    def val_batches(self, batch_size: int) -> list[np.ndarray]:
        n = min(len(self.clips.val), int(self.cfg.train.val_items))
        return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]

    @torch.no_grad()
    def val_metrics(self, model: nn.Module) -> dict[str, float]:
        """R-Precision top-1/2/3 of the val split (first caption of each clip), mean of a few fixed shuffles."""
        n = len(self.clips.val)
        if n < 2:
            return {}
        device = next(model.parameters()).device
        motion, text = [], []
        for start in range(0, n, 64):
            idx = np.arange(start, min(start + 64, n))
            batch = {k: v.to(device) for k, v in self.make_batch(idx, "val").items()}
            m, t = model(batch["motion"], self._texts(batch, device))
            motion.append(m.cpu().numpy())
            text.append(t.cpu().numpy())
        motion, text = np.concatenate(motion), np.concatenate(text)
        size = min(32, n)
        rp = np.mean([r_precision(motion, text, seed=s, batch_size=size) for s in range(VAL_REPLICATIONS)], axis=0)
        return {f"val_R@{k + 1}": float(v) for k, v in enumerate(rp)}

    def write_artifacts(self, run_dir: Path) -> None:
        self.clips.write_artifacts(run_dir)
        self.input_stats.save(run_dir / EVALUATOR_INPUT_STATS)
        (run_dir / "model_info.json").write_text(json.dumps({
            "model_type": self.model_type,
            "motion_dim": FRAME_DIM,
            "text_dim": self.clips.text_dim,
            "clip_len": self.clips.clip_len,
            "fps": self.fps,
        }, indent=2) + "\n")
