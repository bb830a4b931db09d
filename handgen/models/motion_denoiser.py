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

v-prediction (``diffusion.prediction_type: v_prediction``, Salimans & Ho 2022): the same network's output
is read as v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0 and :class:`VPredictionDenoiser` returns
x0 = sqrt(abar_t) x_t - sqrt(1 - abar_t) v, so everything downstream (sampling, guidance, inpainting,
the consistency student) still receives x0. Near t = 0 that x0 is the input itself (sqrt(1 - abar_0) =
0.006), which a tiny x0-predicting network does not represent: it keeps only ~0.2x of a clean input's
frame-to-frame motion (docs/motion_eval.md, "What moves intensity").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from handgen.diffusion.schedulers import diffusion_scheduler
from handgen.errors import HandgenError
from handgen.models.layers import TimestepEmbedding, sinusoidal_embedding
from handgen.models.time_band_limit import TimeBandLimit
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
    band_limit: float | None = None  # fraction of the DCT-II coefficients over time x0 keeps (None: all)
    principal_components: int | None = None  # x0 projected onto the training features' top K directions (None: off)

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
        self.band_limit = TimeBandLimit(config.band_limit) if config.band_limit is not None else None
        if config.principal_components is not None:  # (D, K) orthonormal columns, saved with the weights
            self.register_buffer("principal_basis", torch.zeros(config.feature_dim, config.principal_components))
        else:
            self.principal_basis = None

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
        """Predict x0 (B, T, D), projected onto the principal basis and band-limited over time when set.

        Args:
            x_t: (B, T, D) noisy normalised features.
            timesteps: (B,) integer diffusion steps.
            texts: branch -> (states (B, L, H), mask (B, L) bool) for "left", "right", "both".
            keep: branch -> (B,) bool; False drops that branch's text (default: keep all).
        """
        x0 = self.x0_from_output(x_t, self.network_output(x_t, timesteps, texts, keep), timesteps)
        if self.principal_basis is not None:
            x0 = (x0 @ self.principal_basis) @ self.principal_basis.T
        return self.band_limit(x0) if self.band_limit is not None else x0

    def set_principal_basis(self, train_features: torch.Tensor) -> None:
        """Fill the principal basis (``principal_components`` set) from normalised training clips (N, T, D)."""
        k = self.config.principal_components
        _, _, vh = torch.linalg.svd(train_features.reshape(-1, train_features.shape[-1]).double(), full_matrices=False)
        self.principal_basis.copy_(vh[:k].T.to(self.principal_basis.dtype))

    def x0_from_output(self, x_t: torch.Tensor, output: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """x0 (B, T, D) from the network's output: the output itself (``prediction_type`` "sample")."""
        return output

    def network_output(
        self,
        x_t: torch.Tensor,
        timesteps: torch.Tensor,
        texts: dict[str, tuple[torch.Tensor, torch.Tensor]],
        keep: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """The network's raw output (B, T, D) (x0 or v); arguments as :meth:`forward`."""
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
        out = self.output(self.out_norm(h + left + right + both))
        if self.branch_heads is not None:
            for head, branch_out in zip(self.branch_heads, (left, right, both)):
                out = out + head(branch_out)
        return out

    def _routed_output(self, h: torch.Tensor, left: torch.Tensor, right: torch.Tensor,
                       both: torch.Tensor) -> torch.Tensor:
        """The output (B,T,D) with each hand's channels from its own text branch and the two-hand one (hand routing)."""
        out_left = self.output(self.out_norm(h + left + both))  # (B,T,D) x0 or v, its left-hand channels used
        out_right = self.output(self.out_norm(h + right + both))
        if self.branch_heads is not None:
            head_l, head_r, head_b = self.branch_heads
            shared = head_b(both)
            out_left = out_left + head_l(left) + shared
            out_right = out_right + head_r(right) + shared
        return torch.where(self.right_channels, out_right, out_left)


class VPredictionDenoiser(MotionDenoiser):
    """The network's output read as v; returns x0 = sqrt(abar_t) x_t - sqrt(1 - abar_t) v (B, T, D).

    Same parameters (and weight file keys) as :class:`MotionDenoiser`; the schedule is a non-saved buffer.
    """

    def __init__(self, config: DenoiserConfig, alphas_cumprod: torch.Tensor) -> None:
        super().__init__(config)
        self.register_buffer("sqrt_abar", alphas_cumprod.float().sqrt(), persistent=False)  # (num_train_timesteps,)
        self.register_buffer("sqrt_one_minus_abar", (1 - alphas_cumprod.float()).sqrt(), persistent=False)

    def x0_from_output(self, x_t: torch.Tensor, output: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """x0 (B, T, D) from x_t and v = the output (B, T, D) at integer ``timesteps`` (B,)."""
        a = self.sqrt_abar[timesteps].view(-1, 1, 1)
        s = self.sqrt_one_minus_abar[timesteps].view(-1, 1, 1)
        return a * x_t - s * output


PREDICTION_TYPES: tuple[str, ...] = ("sample", "v_prediction")


def build_denoiser(cfg, feature_dim: int, text_dim: int) -> MotionDenoiser:
    """The denoiser a run config's ``model`` section describes, for ``feature_dim`` features and ``text_dim`` text
    states; a :class:`VPredictionDenoiser` on the ``diffusion`` section's schedule for ``prediction_type:
    v_prediction``. Either returns x0.

    Raises:
        HandgenError: a ``diffusion.prediction_type`` other than those of :data:`PREDICTION_TYPES`.
    """
    m = cfg.model
    config = DenoiserConfig(
        feature_dim=feature_dim, text_dim=text_dim, preset=str(m.preset), layers=m.layers,
        width=m.width, heads=m.heads, ff=m.ff, dropout=float(m.dropout),
        max_frames=int(m.max_frames), branch_heads=bool(m.branch_heads),
        hand_routing=bool(m.hand_routing),
        band_limit=None if m.band_limit is None else float(m.band_limit),
        principal_components=None if m.principal_components is None else int(m.principal_components),
    )
    prediction = str(cfg.diffusion.prediction_type)
    if prediction == "sample":
        return MotionDenoiser(config)
    if prediction == "v_prediction":
        return VPredictionDenoiser(config, diffusion_scheduler(cfg).alphas_cumprod)
    raise HandgenError(f"diffusion.prediction_type must be one of {', '.join(PREDICTION_TYPES)} for the motion "
                       f"denoiser, got {prediction!r}")
