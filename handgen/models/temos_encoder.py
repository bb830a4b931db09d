"""TEMOS-style sequence encoder (the architecture of HandX's released evaluator, docs/reference.md 4b).

An input sequence (B, L, in_dim) is embedded to ``latent`` per step (motion: a Linear; text:
ReLU then Linear over frozen language-model token states), two learned tokens (mu, logvar)
are prepended, sinusoidal positions added (sequence-first buffer ``pe`` (5000, 1, latent),
sin on even dims, cos on odd), dropout, then a post-norm ``nn.TransformerEncoder`` (GELU) with
a padding mask; the output at the mu token is the embedding (the posterior mean).

Parameter names follow TEMOS's modules so a checkpoint's ``motionencoder.*`` / ``textencoder.*``
entries load strictly: ``skel_embedding`` (motion) or ``projection.1`` (text), ``mu_token``,
``logvar_token``, ``sequence_pos_encoding.pe``, ``seqTransEncoder.layers.N.*``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

LATENT, FF, LAYERS, HEADS, DROPOUT, MAX_LEN = 256, 1024, 4, 4, 0.1, 5000


class SinusoidalPositions(nn.Module):
    """Adds fixed sin/cos positions to a sequence-first (L, B, d) input, then dropout."""

    def __init__(self, dim: int, dropout: float = DROPOUT, max_len: int = MAX_LEN) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        position = torch.arange(max_len, dtype=torch.float32)[:, None]
        div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        pe = torch.zeros(max_len, dim)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe[:, None, :])  # (max_len, 1, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[: x.shape[0]])


class TemosEncoder(nn.Module):
    """Sequence (B, L, in_dim) + valid mask (B, L) -> mu (B, latent); ``text=True`` uses the ReLU + Linear projection."""

    def __init__(self, in_dim: int, text: bool = False, latent: int = LATENT, ff: int = FF, layers: int = LAYERS,
                 heads: int = HEADS, dropout: float = DROPOUT) -> None:
        super().__init__()
        self.text = text
        if text:
            self.projection = nn.Sequential(nn.ReLU(), nn.Linear(in_dim, latent))
        else:
            self.skel_embedding = nn.Linear(in_dim, latent)
        self.mu_token = nn.Parameter(torch.randn(latent))
        self.logvar_token = nn.Parameter(torch.randn(latent))
        self.sequence_pos_encoding = SinusoidalPositions(latent, dropout)
        layer = nn.TransformerEncoderLayer(latent, heads, ff, dropout, activation="gelu")  # post-norm, (L, B, d)
        self.seqTransEncoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (B, L, in_dim), ``mask`` (B, L) True on valid steps (default all) -> (B, latent)."""
        b, length = x.shape[:2]
        if mask is None:
            mask = torch.ones(b, length, dtype=torch.bool, device=x.device)
        h = (self.projection(x) if self.text else self.skel_embedding(x)).permute(1, 0, 2)  # (L, B, d)
        tokens = torch.stack([self.mu_token, self.logvar_token])[:, None, :].expand(2, b, -1)
        seq = self.sequence_pos_encoding(torch.cat([tokens, h], dim=0))
        valid = torch.cat([torch.ones(b, 2, dtype=torch.bool, device=x.device), mask.bool()], dim=1)
        out = self.seqTransEncoder(seq, src_key_padding_mask=~valid)
        return out[0]
