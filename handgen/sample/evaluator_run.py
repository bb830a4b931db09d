"""A trained evaluator run dir, ready to embed motions (joints) and caption triplets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from handgen.errors import InputFileError
from handgen.io.run_dir import EVALUATOR_INPUT_STATS, load_weights, read_json, read_run_config
from handgen.models.evaluator_input import motion_input
from handgen.models.motion_evaluator import BRANCHES, build_evaluator
from handgen.repr.normalization import FeatureStats
from handgen.text.cache import TextEmbeddingCache
from handgen.text.encoder import load_text_encoder


class Evaluator:
    """``embed_motions(joints, fps)`` and ``embed_texts(triplets)`` -> unit embeddings (N, 256)."""

    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        self.run_dir = Path(run_dir)
        self.cfg = read_run_config(self.run_dir, ("motion_evaluator",))
        self.info = read_json(self.run_dir, "model_info.json")
        self.text_info = read_json(self.run_dir, "text_encoder.json")
        try:
            self.input_stats = FeatureStats.load(self.run_dir / EVALUATOR_INPUT_STATS)
        except (FileNotFoundError, ValueError) as exc:
            raise InputFileError(self.run_dir / EVALUATOR_INPUT_STATS, f"bad evaluator input statistics ({exc})") from None
        self.device = torch.device(device)
        self.model = load_weights(build_evaluator(self.cfg, int(self.info["text_dim"])), self.run_dir).to(self.device)
        self._encoder = None

    @property
    def fps(self) -> float:
        return float(self.info.get("fps", 30.0))

    @torch.no_grad()
    def embed_motions(self, joints: np.ndarray | torch.Tensor, fps: float | None = None,
                      batch: int = 256) -> np.ndarray:
        """Embeddings (N, latent) of joints (N, T, 2, 21, 3) in metres."""
        x = motion_input(joints, self.fps if fps is None else fps)
        x = self.input_stats.normalize(x)
        out = [self.model.motion(x[i : i + batch].to(self.device)).cpu() for i in range(0, len(x), batch)]
        return torch.cat(out).numpy().astype(np.float64)

    @torch.no_grad()
    def embed_texts(self, triplets: list[dict[str, str]], batch: int = 256) -> np.ndarray:
        """Embeddings (N, latent) of ``{left, right, both}`` caption triplets."""
        if self._encoder is None:
            self._encoder = load_text_encoder(self.text_info["name"], int(self.text_info["max_tokens"]))
        texts = [[(t.get(b) or "") for b in BRANCHES] for t in triplets]
        cache = TextEmbeddingCache.build(self._encoder, sorted({s for row in texts for s in row}), None)
        rows = torch.tensor([[cache.row[s] for s in row] for row in texts], dtype=torch.long).reshape(-1, 3)
        out = []
        for i in range(0, len(rows), batch):
            part = rows[i : i + batch]
            states = {b: tuple(x.to(self.device) for x in cache.lookup(part[:, k])) for k, b in enumerate(BRANCHES)}
            out.append(self.model.text(states).cpu())
        return torch.cat(out).numpy().astype(np.float64) if out else np.zeros((0, int(self.cfg.model.latent)))
