"""HandX-style treble-residual transformer denoiser for bimanual motion (predicts x0).

The left-hand, right-hand and two-hand texts each serve as the cross-attention memory
of ONE shared transformer decoder; each branch's memory is
``[branch CLS token, timestep token, projected text token states]``. The three branch
outputs are added to the input embedding (``x + left + right + both``) and projected back
to the feature space. A learned null embedding per branch replaces the text when it is
dropped (classifier-free guidance) or empty.

Branch heads (``branch_heads=True``, on in the shipped configs): the shared decoder sees
the left and right texts alike, so with only the sum above a "fist" in the left text and
a "fist" in the right text land on the same residual, and a small model never learns
which hand a text is about (measured: identical x0 for the swapped prompts after 1500
steps). Each branch therefore also gets its own zero-initialised output head, added in
feature space: ``out = W(norm(x + l + r + b)) + W_l(norm(l)) + W_r(norm(r)) + W_b(norm(b))``.
A left-text feature can then write the left hand's channels directly.

Hand routing (``hand_routing=True``): the heads above bind finger shape to the named hand, but
the shared path still carries every branch into both hands, and wrist motion stayed unbound
(measured on the README recipe: "the left hand moves downward" lowered both wrists by 7.4 and
7.5 cm). With routing, each hand's channels are read from its own sum: the left hand's from
``W(norm(x + l + b))`` and its head ``W_l``, the right hand's from ``W(norm(x + r + b))`` and
``W_r``; the two-hand text (``b``, ``W_b``) writes both. A hand's text can then move only that
hand directly; the other hand follows only through the shared motion tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from handgen.models.layers import TimestepEmbedding, sinusoidal_embedding
from handgen.models.sizes import resolve_size
from handgen.hand.topology import TEXT_BRANCHES
from handgen.repr.features import HAND_DIM

BRANCHES = TEXT_BRANCHES

# name -> (layers, width, heads, feed-forward); HandX's ladder plus a CPU-sized "tiny"
PRESETS: dict[str, tuple[int, int, int, int]] = {
    "tiny": (2, 128, 4, 256),
    "small": (4, 256, 4, 1024),
    "base": (8, 512, 4, 1024),
    "large": (12, 512, 4, 1024),
}


@dataclass
class DenoiserConfig:
    feature_dim: int
    text_dim: int
    preset: str = "tiny"
    layers: int | None = None
    width: int | None = None
    heads: int | None = None
    ff: int | None = None
    dropout: float = 0.1
    max_frames: int = 512
    branch_heads: bool = False
    hand_routing: bool = False

    def resolved(self) -> tuple[int, int, int, int]:
        return resolve_size(PRESETS, "denoiser", self.preset, self.layers, self.width, self.heads, self.ff)

    def to_dict(self) -> dict:
        return asdict(self)


class MotionDenoiser(nn.Module):
    """x_t (B,T,D) + t (B,) + three texts -> x0 estimate (B,T,D)."""

    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        self.config = config
        layers, width, heads, ff = config.resolved()
        self.width = width
        self.input = nn.Linear(config.feature_dim, width)
        self.timestep = TimestepEmbedding(width)
        self.text_proj = nn.Linear(config.text_dim, width)
        self.cls = nn.Parameter(torch.randn(len(BRANCHES), width) * 0.02)
        self.null_text = nn.Parameter(torch.randn(len(BRANCHES), width) * 0.02)
        layer = nn.TransformerDecoderLayer(
            d_model=width, nhead=heads, dim_feedforward=ff, dropout=config.dropout,
            activation="gelu", batch_first=True, norm_first=True,
        )
        self.decoder = nn.TransformerDecoder(layer, num_layers=layers)
        self.out_norm = nn.LayerNorm(width)
        self.output = nn.Linear(width, config.feature_dim)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)
        self.branch_heads = None
        if config.branch_heads:
            self.branch_heads = nn.ModuleList(
                nn.Sequential(nn.LayerNorm(width), nn.Linear(width, config.feature_dim, bias=False)) for _ in BRANCHES
            )
            for head in self.branch_heads:
                nn.init.zeros_(head[1].weight)
        if config.hand_routing and config.feature_dim < 2 * HAND_DIM:
            raise ValueError(f"hand_routing needs the two hands' {2 * HAND_DIM} feature channels, got {config.feature_dim}")
        # (D,) channel owner: 0 left hand, 1 right hand (the rest, if any, is read from the left's sum)
        owner = torch.zeros(config.feature_dim, dtype=torch.bool)
        owner[HAND_DIM:2 * HAND_DIM] = True
        self.register_buffer("right_channels", owner, persistent=False)

    def branch_memory(
        self, t_token: torch.Tensor, states: torch.Tensor, mask: torch.Tensor, keep: torch.Tensor, branch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Memory (B, 3+L, W) = [CLS, timestep, null, text tokens] and its padding mask (True = ignore).

        ``keep`` (B,) bool: where False (or where the text is empty) the text tokens are masked
        out and the branch's learned null token is attended to instead.
        """
        batch = states.shape[0]
        use_text = keep & mask.any(dim=1)  # (B,)
        head = torch.stack(
            [self.cls[branch].expand(batch, -1), t_token, self.null_text[branch].expand(batch, -1)], dim=1
        )
        memory = torch.cat([head, self.text_proj(states)], dim=1)
        valid = torch.cat(
            [torch.ones(batch, 2, dtype=torch.bool, device=states.device), ~use_text[:, None], mask & use_text[:, None]],
            dim=1,
        )
        return memory, ~valid

    def forward(
        self,
        x_t: torch.Tensor,
        timesteps: torch.Tensor,
        texts: dict[str, tuple[torch.Tensor, torch.Tensor]],
        keep: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Predict x0.

        Args:
            x_t: (B, T, D) noisy normalised features.
            timesteps: (B,) integer diffusion steps.
            texts: branch -> (states (B, L, H), mask (B, L) bool) for "left", "right", "both".
            keep: branch -> (B,) bool; False drops that branch's text (default: keep all).
        """
        batch, frames, _ = x_t.shape
        if frames > self.config.max_frames:
            raise ValueError(f"{frames} frames exceed the model's max_frames={self.config.max_frames}")
        t_token = self.timestep(timesteps)  # (B,W)
        pos = sinusoidal_embedding(torch.arange(frames, device=x_t.device), self.width)
        h = self.input(x_t) + pos + t_token[:, None]
        memories, pads = [], []
        for b, name in enumerate(BRANCHES):
            states, mask = texts[name]
            used = int(mask.any(dim=0).nonzero().max()) + 1 if bool(mask.any()) else 0
            states, mask = states[:, :used], mask[:, :used]  # drop padding columns no row uses (long budgets)
            k = keep[name] if keep is not None else torch.ones(batch, dtype=torch.bool, device=x_t.device)
            mem, pad = self.branch_memory(t_token, states, mask, k, b)
            memories.append(mem)
            pads.append(pad)
        # run the three branches through the shared decoder as one batch of 3B
        length = max(m.shape[1] for m in memories)
        memories = [nn.functional.pad(m, (0, 0, 0, length - m.shape[1])) for m in memories]
        pads = [nn.functional.pad(p, (0, length - p.shape[1]), value=True) for p in pads]
        out = self.decoder(h.repeat(3, 1, 1), torch.cat(memories), memory_key_padding_mask=torch.cat(pads))
        left, right, both = out.split(batch)
        if self.config.hand_routing:
            return self._routed_output(h, left, right, both)
        x0 = self.output(self.out_norm(h + left + right + both))
        if self.branch_heads is not None:
            for head, branch_out in zip(self.branch_heads, (left, right, both)):
                x0 = x0 + head(branch_out)
        return x0

    def _routed_output(self, h: torch.Tensor, left: torch.Tensor, right: torch.Tensor,
                       both: torch.Tensor) -> torch.Tensor:
        """x0 (B,T,D) with each hand's channels from its own text branch and the two-hand one (hand routing)."""
        x0_left = self.output(self.out_norm(h + left + both))  # (B,T,D), its left-hand channels used
        x0_right = self.output(self.out_norm(h + right + both))
        if self.branch_heads is not None:
            head_l, head_r, head_b = self.branch_heads
            shared = head_b(both)
            x0_left = x0_left + head_l(left) + shared
            x0_right = x0_right + head_r(right) + shared
        return torch.where(self.right_channels, x0_right, x0_left)


def build_denoiser(cfg, feature_dim: int, text_dim: int) -> "MotionDenoiser":
    """The denoiser a run config's ``model`` section describes, for ``feature_dim`` features and ``text_dim`` text states."""
    m = cfg.model
    return MotionDenoiser(DenoiserConfig(
        feature_dim=feature_dim, text_dim=text_dim, preset=str(m.preset), layers=m.layers,
        width=m.width, heads=m.heads, ff=m.ff, dropout=float(m.dropout),
        max_frames=int(m.max_frames), branch_heads=bool(m.branch_heads),
        hand_routing=bool(m.hand_routing),
    ))
