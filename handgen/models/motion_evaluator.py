"""The text-motion evaluator: a motion encoder and a text encoder into one 256-D space.

TMR/TEMOS-style contrastive pair, deterministic (no VAE). Both sides end in a CLS token
of a small transformer encoder, projected to ``latent`` dims and L2-normalised, so the
distance between embeddings is Euclidean on the unit sphere (0..2).

- Motion side: the joint features of both hands (:mod:`handgen.models.evaluator_input`),
  normalised with the training split's statistics; ``frames_per_token`` consecutive frames
  are concatenated into one token (2 halves the sequence), plus sinusoidal positions.
- Text side: the frozen states of the three texts (cached MiniLM states) read as ONE
  sequence ``[CLS] <sep0> left <sep1> right <sep2> both`` with learned separator and
  segment embeddings; a trainable transformer head on top (the frozen encoder + head
  choice keeps training CPU-friendly). ``text_pooling="sentence"`` represents each text
  by its masked mean token state (MiniLM's own sentence embedding: 7 tokens in all, the
  CPU default); ``"tokens"`` keeps every token state.

Trained with a symmetric InfoNCE loss (:func:`info_nce`) where items of a batch that share
their caption triplet are not used as each other's negatives.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from handgen.models.layers import sinusoidal_embedding
from handgen.models.evaluator_input import FRAME_DIM
from handgen.hand.topology import TEXT_BRANCHES

BRANCHES = TEXT_BRANCHES


@dataclass
class EvaluatorConfig:
    motion_dim: int
    text_dim: int
    width: int = 128
    layers: int = 2
    heads: int = 4
    ff: int = 256
    latent: int = 256
    dropout: float = 0.1
    frames_per_token: int = 2
    text_pooling: str = "sentence"  # or "tokens"

    def __post_init__(self) -> None:
        if self.text_pooling not in ("sentence", "tokens"):
            raise ValueError(f"text_pooling must be 'sentence' or 'tokens', got {self.text_pooling!r}")
        if self.frames_per_token < 1:
            raise ValueError("frames_per_token must be >= 1")

    def to_dict(self) -> dict:
        return asdict(self)


def _encoder(cfg: EvaluatorConfig) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        d_model=cfg.width, nhead=cfg.heads, dim_feedforward=cfg.ff, dropout=cfg.dropout,
        activation="gelu", batch_first=True, norm_first=True,
    )
    return nn.TransformerEncoder(layer, num_layers=cfg.layers, enable_nested_tensor=False)


class MotionEncoder(nn.Module):
    """Normalised evaluator frame features (B, T, motion_dim) -> unit embeddings (B, latent)."""

    def __init__(self, cfg: EvaluatorConfig) -> None:
        super().__init__()
        self.width = cfg.width
        self.patch = cfg.frames_per_token
        self.input = nn.Linear(cfg.motion_dim * cfg.frames_per_token, cfg.width)
        self.cls = nn.Parameter(torch.randn(1, 1, cfg.width) * 0.02)
        self.encoder = _encoder(cfg)
        self.norm = nn.LayerNorm(cfg.width)
        self.head = nn.Linear(cfg.width, cfg.latent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        extra = (-x.shape[1]) % self.patch
        if extra:  # repeat the last frame to fill the last token
            x = torch.cat([x, x[:, -1:].expand(-1, extra, -1)], dim=1)
        x = x.reshape(x.shape[0], x.shape[1] // self.patch, -1)
        pos = sinusoidal_embedding(torch.arange(x.shape[1], device=x.device), self.width)
        h = torch.cat([self.cls.expand(x.shape[0], -1, -1), self.input(x) + pos], dim=1)
        h = self.encoder(h)
        return F.normalize(self.head(self.norm(h[:, 0])), dim=-1)


class TripletTextEncoder(nn.Module):
    """Token states of the (left, right, both) texts -> unit embeddings (B, latent)."""

    def __init__(self, cfg: EvaluatorConfig) -> None:
        super().__init__()
        self.width = cfg.width
        self.pooling = cfg.text_pooling
        self.proj = nn.Linear(cfg.text_dim, cfg.width)
        self.cls = nn.Parameter(torch.randn(1, 1, cfg.width) * 0.02)
        self.separators = nn.Parameter(torch.randn(len(BRANCHES), cfg.width) * 0.02)
        self.segments = nn.Parameter(torch.randn(len(BRANCHES), cfg.width) * 0.02)
        self.encoder = _encoder(cfg)
        self.norm = nn.LayerNorm(cfg.width)
        self.head = nn.Linear(cfg.width, cfg.latent)

    def forward(self, texts: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """``texts``: branch -> (states (B, L, text_dim), mask (B, L) bool, True = real token)."""
        batch = texts[BRANCHES[0]][0].shape[0]
        device = texts[BRANCHES[0]][0].device
        parts = [self.cls.expand(batch, -1, -1)]
        valid = [torch.ones(batch, 1, dtype=torch.bool, device=device)]
        for b, name in enumerate(BRANCHES):
            states, mask = texts[name]
            mask = mask.bool()
            if self.pooling == "sentence":
                m = mask.unsqueeze(-1).to(states.dtype)
                states = (states * m).sum(1, keepdim=True) / m.sum(1, keepdim=True).clamp(min=1.0)
                mask = mask.any(1, keepdim=True)
            else:  # drop padding columns no item of the batch uses
                keep = mask.any(0)
                states, mask = states[:, keep], mask[:, keep]
            sep = self.separators[b].expand(batch, 1, -1)
            parts.append(torch.cat([sep, self.proj(states.float())], dim=1) + self.segments[b])
            valid += [torch.ones(batch, 1, dtype=torch.bool, device=device), mask]
        h = torch.cat(parts, dim=1)
        h = h + sinusoidal_embedding(torch.arange(h.shape[1], device=device), self.width)
        h = self.encoder(h, src_key_padding_mask=~torch.cat(valid, dim=1))
        return F.normalize(self.head(self.norm(h[:, 0])), dim=-1)


class TextMotionEvaluator(nn.Module):
    """Both encoders; ``forward`` returns (motion embeddings, text embeddings), each (B, latent)."""

    def __init__(self, cfg: EvaluatorConfig) -> None:
        super().__init__()
        self.config = cfg
        self.motion = MotionEncoder(cfg)
        self.text = TripletTextEncoder(cfg)

    def forward(self, motion: torch.Tensor, texts: dict[str, tuple[torch.Tensor, torch.Tensor]]):
        return self.motion(motion), self.text(texts)


def info_nce(motion: torch.Tensor, text: torch.Tensor, temperature: float,
             same_text: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE of matched unit embeddings (B, latent).

    ``same_text`` (B, B) bool marks pairs that share their caption: off the diagonal they are
    removed from the negatives (they are not wrong matches).
    """
    logits = motion @ text.T / temperature
    if same_text is not None:
        off_diag = same_text & ~torch.eye(len(motion), dtype=torch.bool, device=motion.device)
        logits = logits.masked_fill(off_diag, float("-inf"))
    target = torch.arange(len(motion), device=motion.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def build_evaluator(cfg, text_dim: int) -> "TextMotionEvaluator":
    """The evaluator a run config's ``model`` section describes."""
    m = cfg.model
    return TextMotionEvaluator(EvaluatorConfig(
        motion_dim=FRAME_DIM, text_dim=text_dim, width=int(m.width), layers=int(m.layers), heads=int(m.heads),
        ff=int(m.ff), latent=int(m.latent), dropout=float(m.dropout),
        frames_per_token=int(m.frames_per_token), text_pooling=str(m.text_pooling),
    ))
