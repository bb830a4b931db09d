"""Training task of the text-prefix AR model over a trained tokenizer's motion tokens.

``cfg.tokenizer`` is the run dir of an ``fsq_tokenizer`` training (``tokenizer=PATH`` on the
command line). Every clip of ``cfg.data`` (default: the tokenizer's own DATA_DIR) is
tokenised once at start-up; the AR run dir receives a copy of the tokenizer (config,
weights, stats) under ``tokenizer/`` so that sampling needs nothing else.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import torch
from torch import nn

from handgen.errors import HandgenError
from handgen.io.run_dir import TOKENIZER_DIR, TOKENIZER_FILES
from handgen.models.motion_ar import BRANCHES, build_ar, count_parameters, token_loss
from handgen.sample.tokenizer_run import TokenizerRun
from handgen.train.motion_captions import CaptionedClips, load_captioned_clips
from handgen.train.task import TrainingTask

log = logging.getLogger(__name__)


def prefix_limit(max_tokens: int) -> int:
    """Longest text prefix: three texts of ``max_tokens`` plus three separators and ``<bom>``."""
    return 3 * int(max_tokens) + len(BRANCHES) + 1


class MotionARTask(TrainingTask):
    model_type = "motion_ar"

    def __init__(self, cfg, run_dir: Path) -> None:
        super().__init__(cfg, run_dir)

        if not cfg.tokenizer:
            raise HandgenError("config key 'tokenizer' (the run dir of an fsq_tokenizer training) is required; "
                               "pass tokenizer=PATH")
        self.tokenizer = TokenizerRun(cfg.tokenizer)
        if not cfg.data:
            cfg.data = self.tokenizer.cfg.data  # the tokenizer's own DATA_DIR
        self.tokenizer.check_data(cfg.data)
        for key in ("hand_text", "hand_attention"):
            if getattr(cfg.model, key) and not int(self.tokenizer.model.config.hand_split_at):
                raise HandgenError(f"model.{key} needs a per-hand tokenizer (model.hand_split: true in its config); "
                                   f"{cfg.tokenizer} codes both hands together: set model.{key}=false")
        self.clips: CaptionedClips = load_captioned_clips(cfg)
        self.tokens = {name: self._tokenize(self.clips.split(name).features) for name in ("train", "val")}
        self.tokens_per_clip = int(self.tokens["train"].shape[1])
        need = prefix_limit(self.clips.max_tokens) + self.tokens_per_clip + 1
        if need > int(cfg.model.max_positions):
            raise HandgenError(f"model.max_positions={cfg.model.max_positions} is too short: a text prefix of up to "
                               f"{prefix_limit(self.clips.max_tokens)} entries plus {self.tokens_per_clip} motion "
                               f"tokens and the end token need {need}")

    def _tokenize(self, normalised: torch.Tensor) -> torch.Tensor:
        """Token ids (N, clip_len / downsample) of clips normalised with the DATA_DIR's stats."""
        raw = self.clips.stats.denormalize(normalised)
        return self.tokenizer.encode_raw(raw)

    @property
    def codebook_size(self) -> int:
        return self.tokenizer.codebook_size

    def build_model(self) -> nn.Module:
        model = build_ar(self.cfg, self.codebook_size, self.clips.text_dim, self.tokenizer.model.groups)
        log.info("motion AR: %.2f M parameters, %d codes, %d tokens per clip",
                 count_parameters(model) / 1e6, self.codebook_size, self.tokens_per_clip)
        return model

    def num_train_items(self) -> int:
        return len(self.clips.train)

    def make_batch(self, indices: np.ndarray, split: str = "train") -> dict[str, torch.Tensor]:
        batch = self.clips.batch(split, indices)
        batch.pop("x0")
        batch["tokens"] = self.tokens[split][torch.as_tensor(np.asarray(indices), dtype=torch.long)]
        return batch

    def compute_loss(self, model, batch, train: bool):
        tokens = batch["tokens"]
        b, device = tokens.shape[0], tokens.device
        texts = {}
        for branch in BRANCHES:
            states, mask = self.clips.text_states(batch[f"text_{branch}"], device)
            if train and float(self.cfg.train.branch_drop_prob) > 0:
                mask = mask & (torch.rand(b, device=device) >= float(self.cfg.train.branch_drop_prob))[:, None]
            texts[branch] = (states, mask)
        keep = None
        if train and float(self.cfg.train.cond_drop_prob) > 0:
            keep = torch.rand(b, device=device) >= float(self.cfg.train.cond_drop_prob)
        return token_loss(model(texts, tokens, keep), tokens, self.codebook_size)  # forward: DDP-safe

    def val_batches(self, batch_size: int) -> list[np.ndarray]:
        n = min(len(self.clips.val), int(self.cfg.train.val_items))
        return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]

    def write_artifacts(self, run_dir: Path) -> None:
        self.clips.write_artifacts(run_dir)
        target = run_dir / TOKENIZER_DIR
        target.mkdir(exist_ok=True)
        for name in TOKENIZER_FILES:
            shutil.copyfile(self.tokenizer.run_dir / name, target / name)
        shutil.copyfile(self.tokenizer.run_dir / "stats.npz", run_dir / "stats.npz")  # tokens live in its space
        (run_dir / "model_info.json").write_text(json.dumps({
            "model_type": self.model_type,
            "feature_dim": self.tokenizer.feature_dim,
            "text_dim": self.clips.text_dim,
            "clip_len": self.clips.clip_len,
            "codebook_size": self.codebook_size,
            "downsample": self.tokenizer.downsample,
            "groups": self.tokenizer.model.groups,
            "tokens_per_clip": self.tokens_per_clip,
            "max_text_tokens": self.clips.max_tokens,
        }, indent=2) + "\n")
