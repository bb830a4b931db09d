"""On-disk cache of caption token states, keyed by encoder and text.

One file per encoder key, ``<cache_dir>/<key>.pt``: ``{"texts": [...], "states": (N, L, H) float16,
"mask": (N, L) bool}``. Training looks texts up by row, so an epoch never runs the encoder.
"""

from __future__ import annotations

from pathlib import Path

import torch

from handgen.io.atomic import atomic_path
from handgen.text.encoder import TextEncoder


class TextEmbeddingCache:
    """Token states for a fixed vocabulary of texts, computed once and stored on disk."""

    def __init__(self, texts: list[str], states: torch.Tensor, mask: torch.Tensor) -> None:
        self.texts = list(texts)
        self.row = {t: i for i, t in enumerate(self.texts)}
        self.states = states  # (N, L, H) float16
        self.mask = mask  # (N, L) bool

    @classmethod
    def build(cls, encoder: TextEncoder, texts: list[str], cache_dir: str | Path | None) -> "TextEmbeddingCache":
        """Load the cache for ``encoder`` and add any missing ``texts`` (saving it atomically).

        The empty string is always present (row 0 of a fresh cache): unconditional branches use it.
        """
        wanted = [""] + sorted(set(texts) - {""})
        texts_have: list[str] = []
        states = torch.zeros(0, encoder.max_tokens, encoder.hidden_size, dtype=torch.float16)
        mask = torch.zeros(0, encoder.max_tokens, dtype=torch.bool)
        path = Path(cache_dir) / f"{encoder.key}.pt" if cache_dir else None
        if path is not None and path.exists():
            blob = torch.load(path, map_location="cpu", weights_only=True)
            texts_have, states, mask = list(blob["texts"]), blob["states"], blob["mask"]
        have = set(texts_have)
        missing = [t for t in wanted if t not in have]
        if missing:
            enc = encoder.encode(missing)
            texts_have += missing
            states = torch.cat([states, enc.states.half()])
            mask = torch.cat([mask, enc.mask])
            if path is not None:
                with atomic_path(path, suffix=".pt") as tmp:
                    torch.save({"texts": texts_have, "states": states, "mask": mask}, tmp)
        return cls(texts_have, states, mask)

    def rows(self, texts: list[str]) -> torch.Tensor:
        """Row index (B,) of each text. Raises KeyError for a text not in the cache."""
        return torch.tensor([self.row[t] for t in texts], dtype=torch.long)

    def lookup(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(states (B, L, H) float32, mask (B, L) bool) of the given rows."""
        return self.states[rows].float(), self.mask[rows]
