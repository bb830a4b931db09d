"""A trained FSQ tokenizer run dir, ready to turn raw features into tokens and back."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from handgen.errors import HandgenError, InputFileError
from handgen.io.data_dir import DataDir
from handgen.io.run_dir import load_weights, read_json, read_run_config
from handgen.models.motion_tokenizer import build_tokenizer
from handgen.repr.normalization import FeatureStats

log = logging.getLogger(__name__)


def layout_difference(mine: dict, theirs: dict) -> str | None:
    """A short description of how two ``feature_layout`` dicts differ, or None when they agree."""
    if mine.get("dim") != theirs.get("dim"):
        return f"{mine.get('dim')} feature dims vs {theirs.get('dim')}"
    a, b = mine.get("slices") or {}, theirs.get("slices") or {}
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            return f"block {name!r} at {a.get(name)} vs {b.get(name)}"
    if mine.get("hands") != theirs.get("hands"):
        return f"hands {mine.get('hands')} vs {theirs.get('hands')}"
    return None


class TokenizerRun:
    """Tokenizer weights + the normalisation its tokens were trained in.

    Raises:
        HandgenError / InputFileError: not a tokenizer run dir, or missing/unreadable files.
    """

    def __init__(self, run_dir: str | Path, device: str | torch.device = "cpu") -> None:
        self.run_dir = Path(run_dir)
        self.cfg = read_run_config(self.run_dir, ("fsq_tokenizer",))
        self.info = read_json(self.run_dir, "model_info.json")
        self.data_meta = read_json(self.run_dir, "data_meta.json")
        try:
            self.stats = FeatureStats.load(self.run_dir / "stats.npz")
        except (FileNotFoundError, ValueError, OSError) as exc:
            raise InputFileError(self.run_dir / "stats.npz", f"bad normalisation statistics ({exc})") from None
        self.device = torch.device(device)
        self.model = load_weights(build_tokenizer(self.cfg, int(self.info["feature_dim"])), self.run_dir).to(self.device)
        self.model.requires_grad_(False)

    @property
    def codebook_size(self) -> int:
        return self.model.codebook_size

    @property
    def downsample(self) -> int:
        return self.model.downsample

    @property
    def feature_dim(self) -> int:
        return int(self.info["feature_dim"])

    @property
    def feature_layout(self) -> dict:
        return self.info.get("feature_layout") or self.data_meta.get("feature_layout") or {}

    def check_data(self, data_dir: str | Path) -> None:
        """Raise HandgenError when ``data_dir``'s feature layout differs from the tokenizer's."""
        data = DataDir(data_dir)
        problem = layout_difference(self.feature_layout, data.meta.get("feature_layout") or {})
        if problem:
            raise HandgenError(f"tokenizer {self.run_dir} was trained on another feature layout than "
                               f"{data_dir} ({problem}); train a tokenizer on this data (configs/fsq*.yaml)")
        if data.meta.get("hand_model") != self.data_meta.get("hand_model"):
            log.warning("tokenizer trained on %s-hand features, data uses the %s hand",
                        self.data_meta.get("hand_model"), data.meta.get("hand_model"))

    def normalize(self, raw) -> torch.Tensor:
        return torch.as_tensor(self.stats.normalize(np.asarray(raw, dtype=np.float32)))

    def denormalize(self, normalised: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.stats.denormalize(normalised.detach().cpu().float().numpy()))

    @torch.no_grad()
    def encode_raw(self, raw, batch_size: int = 256) -> torch.Tensor:
        """Token ids (N, ceil(T / downsample)) long of raw features (N, T, D) (numpy or torch)."""
        x = self.normalize(raw.numpy() if isinstance(raw, torch.Tensor) else raw)
        if x.shape[-1] != self.feature_dim:
            raise HandgenError(f"features have {x.shape[-1]} dims, the tokenizer expects {self.feature_dim}")
        out = [self.model.encode(x[i : i + batch_size].to(self.device)).cpu() for i in range(0, len(x), batch_size)]
        return torch.cat(out) if out else torch.zeros(0, 0, dtype=torch.long)

    @torch.no_grad()
    def decode_raw(self, tokens: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        """Raw features (N, frames, D) float32 of token ids (N, n)."""
        return self.denormalize(self.model.decode(tokens.to(self.device), frames))
