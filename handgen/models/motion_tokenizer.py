"""FSQ motion tokenizer: a 1D convolutional autoencoder over the per-frame motion features.

The encoder maps normalised features (B, T, D) to one latent vector per ``downsample``
frames (x2 by default, x4 as an option), bounded and rounded by finite scalar quantization
(``vector_quantize_pytorch.FSQ``, levels e.g. [7,5,5,5,5] = 4375 codes). One token stream
covers both hands. The decoder mirrors the encoder (x2 temporal upsampling + convolutions per stage).

``upsample`` picks the decoder's x2 temporal upsampling: ``nearest`` (each token's activations
repeated over its frames, the original decoder) or ``linear`` (interpolated between neighbouring
steps, ``align_corners=False``: frame 2k = 0.75 z[k] + 0.25 z[k-1]; clip ends replicate). Nearest
upsampling hands the convolutions a staircase that they must smooth on their own; what they leave of it
is a tremble at the token rate, which jerk (the third difference) magnifies (docs/motion_eval.md, "AR").

``groups`` > 1 gives each time step several codes (the latent has ``groups * len(levels)``
channels, each group quantised by the same FSQ grid, like FSQ's ``num_codebooks``); the
token stream is then flattened step-major, ``groups`` consecutive ids per step, so that
sequence models see one vocabulary of ``codebook_size`` ids either way.

``hand_split_at`` > 0 factors the codes by hand: features ``[:hand_split_at]`` (the left hand's block in
the DATA_DIR layout) and ``[hand_split_at:]`` (the right hand's) get an encoder each, and the first
half of each step's ``groups`` codes comes from the left encoder only, the second half from
the right. A sequence model then finds the left hand's motion in the left slots alone, which
is what it needs to follow "the left hand makes a fist" without curling the right hand.
``hand_split_decoder`` factors the decoder the same way: the left hand's features are decoded from the
left slots alone, the right's from the right slots (two decoders of the same width, which buys
more capacity per operation than one decoder twice as wide); otherwise one decoder reads all
codes of a step.

Clips whose length is not a multiple of ``downsample`` are padded at the end with their
last frame and cropped back after decoding.

``forward(x, code_noise=p)`` (training) decodes from codes of which a share ``p`` was moved one FSQ level
up or down in one random digit (:func:`perturb_indices`), with the clean clip as the target: the decoder learns
to turn the token-to-token slips of a sampled sequence into smooth motion instead of a tremble
(docs/motion_eval.md, "Code noise").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from handgen.repr.features import SLICES

# name -> (width, residual blocks per stage)
PRESETS: dict[str, tuple[int, int]] = {
    "tiny": (128, 2),
    "small": (256, 2),
    "base": (512, 3),
}
DOWNSAMPLE_CHOICES: tuple[int, ...] = (1, 2, 4)
UPSAMPLE_MODES: tuple[str, ...] = ("nearest", "linear")
PAD = "replicate"  # clip ends are padded with their edge values (zeros would be the mean pose)


@dataclass
class TokenizerConfig:
    feature_dim: int
    levels: list[int] = field(default_factory=lambda: [7, 5, 5, 5, 5])
    downsample: int = 2
    groups: int = 1  # codes per time step (flattened step-major into the token stream)
    preset: str = "base"
    width: int | None = None
    blocks: int | None = None
    attention: int = 0  # self-attention layers at the token rate (encoder and decoder each)
    dropout: float = 0.0
    # > 0: per-hand encoders over features [:hand_split_at] and [hand_split_at:] (the YAML's model.hand_split: true
    # sets it to the end of the left hand's feature block; see the module docstring)
    hand_split_at: int = 0
    hand_split_decoder: bool = False  # with hand_split_at: per-hand decoders too, each reading its own hand's slots
    upsample: str = "nearest"  # the decoder's x2 temporal upsampling: nearest (repeat) or linear (interpolate)

    def resolved(self) -> tuple[int, int]:
        if self.preset not in PRESETS:
            raise ValueError(f"unknown tokenizer preset {self.preset!r}; choose from {sorted(PRESETS)}")
        if self.downsample not in DOWNSAMPLE_CHOICES:
            raise ValueError(f"tokenizer downsample must be one of {DOWNSAMPLE_CHOICES}, got {self.downsample}")
        if len(self.levels) < 1 or any(int(v) < 3 for v in self.levels):
            raise ValueError(f"FSQ levels must be integers >= 3, got {list(self.levels)}")
        if int(self.groups) < 1:
            raise ValueError(f"tokenizer groups (codes per step) must be >= 1, got {self.groups}")
        if self.hand_split_at and (int(self.groups) % 2 or not 0 < int(self.hand_split_at) < int(self.feature_dim)):
            raise ValueError(f"a per-hand tokenizer needs an even number of groups and 0 < hand_split_at < "
                             f"{self.feature_dim}; got groups={self.groups}, hand_split_at={self.hand_split_at}")
        if self.upsample not in UPSAMPLE_MODES:
            raise ValueError(f"tokenizer upsample must be one of {UPSAMPLE_MODES}, got {self.upsample!r}")
        if self.hand_split_decoder and not self.hand_split_at:
            raise ValueError("hand_split_decoder (per-hand decoders) needs per-hand encoders (hand_split_at > 0)")
        width, blocks = PRESETS[self.preset]
        return self.width or width, self.blocks or blocks


class _ResBlock(nn.Module):
    """Pre-norm residual block: GroupNorm, dilated 3-tap conv, 1x1 conv (zero-initialised: starts as identity)."""

    def __init__(self, width: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(_groups(width), width)
        self.conv = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation, padding_mode=PAD)
        self.mix = nn.Conv1d(width, width, 1)
        nn.init.zeros_(self.mix.weight)
        nn.init.zeros_(self.mix.bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.mix(F.silu(self.conv(F.silu(self.norm(x))))))


def _groups(width: int) -> int:
    return next(g for g in (8, 4, 2, 1) if width % g == 0)


class _TokenAttention(nn.Module):
    """Pre-norm transformer layers over the token axis of a channels-first tensor (B, C, N)."""

    def __init__(self, width: int, layers: int, dropout: float) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(width, max(1, width // 32), 2 * width, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.transpose(1, 2)).transpose(1, 2)


def _res_stack(width: int, blocks: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(*[_ResBlock(width, 3**i, dropout) for i in range(blocks)])


def _encoder(in_dim: int, width: int, blocks: int, stages: int, config: "TokenizerConfig", out_dim: int) -> nn.Sequential:
    """(B, in_dim, T) -> (B, out_dim, T / 2**stages): 1x1 input conv, residual stacks, strided downsampling."""
    enc: list[nn.Module] = [nn.Conv1d(in_dim, width, 1)]
    for _ in range(stages):
        enc += [_res_stack(width, blocks, config.dropout), nn.Conv1d(width, width, 4, stride=2, padding=1, padding_mode=PAD)]
    enc.append(_res_stack(width, blocks, config.dropout))
    if config.attention:
        enc.append(_TokenAttention(width, config.attention, config.dropout))
    enc += [nn.GroupNorm(_groups(width), width), nn.SiLU(), nn.Conv1d(width, out_dim, 3, padding=1, padding_mode=PAD)]
    return nn.Sequential(*enc)


def _decoder(latent_dim: int, width: int, blocks: int, stages: int, config: "TokenizerConfig", out_dim: int) -> nn.Sequential:
    """(B, latent_dim, N) -> (B, out_dim, N * 2**stages): the encoder's mirror (``config.upsample`` + convolutions)."""
    dec: list[nn.Module] = [nn.Conv1d(latent_dim, width, 3, padding=1, padding_mode=PAD),
                            _res_stack(width, blocks, config.dropout)]
    if config.attention:
        dec.append(_TokenAttention(width, config.attention, config.dropout))
    for _ in range(stages):
        dec += [upsample_x2(config.upsample), nn.Conv1d(width, width, 3, padding=1, padding_mode=PAD),
                _res_stack(width, blocks, config.dropout)]
    dec += [nn.GroupNorm(_groups(width), width), nn.SiLU(), nn.Conv1d(width, out_dim, 1)]
    return nn.Sequential(*dec)


def upsample_x2(mode: str) -> nn.Upsample:
    """x2 temporal upsampling of (B, C, N) -> (B, C, 2N); ``linear`` interpolates (ends replicate), ``nearest`` repeats."""
    return nn.Upsample(scale_factor=2, mode=mode) if mode == "nearest" else nn.Upsample(
        scale_factor=2, mode=mode, align_corners=False)


def perturb_indices(indices: torch.Tensor, levels: list[int], share: float) -> torch.Tensor:
    """Token ids (...,) with a random ``share`` of them moved one level up or down in one random FSQ digit.

    A digit already at its end of the grid stays there (the id is unchanged). Ids are ``sum(digit_i * basis_i)``
    with ``basis = cumprod([1] + levels[:-1])``, as ``vector_quantize_pytorch.FSQ`` numbers them.
    """
    lv = torch.as_tensor([int(v) for v in levels], device=indices.device)
    basis = torch.cumprod(torch.cat([torch.ones_like(lv[:1]), lv[:-1]]), 0)
    digits = (indices[..., None] // basis) % lv  # (..., C)
    hit = torch.rand(indices.shape, device=indices.device) < share
    which = torch.randint(0, len(lv), indices.shape, device=indices.device)
    step = (torch.randint(0, 2, indices.shape, device=indices.device) * 2 - 1) * hit  # -1 / +1 where hit, else 0
    moved = digits.scatter_add(-1, which[..., None], step[..., None])
    moved = torch.minimum(moved.clamp(min=0), lv - 1)
    return (moved * basis).sum(-1)


class MotionTokenizer(nn.Module):
    """Features (B, T, D) <-> token ids (B, groups * ceil(T / downsample)) in ``[0, codebook_size)``."""

    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        from vector_quantize_pytorch import FSQ

        self.config = config
        width, blocks = config.resolved()
        levels = [int(v) for v in config.levels]
        stages = int(math.log2(config.downsample))
        code_dim = len(levels)
        latent_dim = code_dim * int(config.groups)
        split = int(config.hand_split_at)
        if split:
            self.encoders = nn.ModuleList([
                _encoder(split, width, blocks, stages, config, latent_dim // 2),
                _encoder(config.feature_dim - split, width, blocks, stages, config, latent_dim // 2),
            ])
        else:
            self.encoder = _encoder(config.feature_dim, width, blocks, stages, config, latent_dim)
        if config.hand_split_decoder:
            self.decoders = nn.ModuleList([
                _decoder(latent_dim // 2, width, blocks, stages, config, split),
                _decoder(latent_dim // 2, width, blocks, stages, config, config.feature_dim - split),
            ])
        else:
            self.decoder = _decoder(latent_dim, width, blocks, stages, config, config.feature_dim)
        # each group's latent has exactly len(levels) channels, so FSQ adds no projections of its own
        self.fsq = FSQ(levels=levels, dim=code_dim)

    @property
    def downsample(self) -> int:
        return int(self.config.downsample)

    @property
    def groups(self) -> int:
        """Codes (tokens) per time step."""
        return int(self.config.groups)

    @property
    def codebook_size(self) -> int:
        return int(self.fsq.codebook_size)

    def num_tokens(self, frames: int) -> int:
        """Tokens that encode ``frames`` frames."""
        return -(-int(frames) // self.downsample) * self.groups

    def num_frames(self, tokens: int) -> int:
        """Frames decoded from ``tokens`` tokens (a multiple of ``groups``)."""
        return int(tokens) // self.groups * self.downsample

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        extra = -(-x.shape[1] // self.downsample) * self.downsample - x.shape[1]
        if extra:
            x = torch.cat([x, x[:, -1:].expand(-1, extra, -1)], dim=1)
        return x

    def quantize(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised features (B, T, D) -> (codes (B, N, C) on the FSQ grid, ids (B, N) long).

        N = ``num_tokens(T)``: ``groups`` tokens per step, step-major.
        """
        x = self._pad(x).transpose(1, 2)  # (B, D, T)
        split = int(self.config.hand_split_at)
        if split:  # channels [left groups..., right groups...] per step
            z = torch.cat([self.encoders[0](x[:, :split]), self.encoders[1](x[:, split:])], dim=1)
        else:
            z = self.encoder(x)
        z = z.transpose(1, 2)  # (B, steps, groups * C)
        codes, indices = self.fsq(z.reshape(z.shape[0], -1, len(self.config.levels)))
        return codes, indices.long()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids (B, groups * ceil(T / downsample)) of normalised features (B, T, D)."""
        return self.quantize(x)[1]

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, N, C) -> normalised features (B, num_frames(N), D)."""
        z = codes.reshape(codes.shape[0], -1, self.groups * codes.shape[-1]).transpose(1, 2)  # (B, groups * C, steps)
        if self.config.hand_split_decoder:  # channels [left groups..., right groups...], as the encoders wrote them
            half = z.shape[1] // 2
            out = torch.cat([self.decoders[0](z[:, :half]), self.decoders[1](z[:, half:])], dim=1)
        else:
            out = self.decoder(z)
        return out.transpose(1, 2)

    def decode(self, indices: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        """Token ids (B, N) -> normalised features (B, frames or num_frames(N), D).

        Raises:
            ValueError: an id outside ``[0, codebook_size)``, or N not a multiple of ``groups``.
        """
        if indices.shape[-1] % self.groups:
            raise ValueError(f"this tokenizer reads {self.groups} tokens per step; got {indices.shape[-1]} tokens")
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= self.codebook_size):
            raise ValueError(f"token ids must lie in [0, {self.codebook_size}), got "
                             f"{int(indices.min())}..{int(indices.max())}")
        out = self.decode_codes(self.indices_to_codes(indices))
        return out if frames is None else out[:, :frames]

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        """Token ids (...,) -> FSQ grid codes (..., C), each coordinate in [-1, 1]."""
        return self.fsq.indices_to_codes(indices)

    def codes_to_indices(self, codes: torch.Tensor) -> torch.Tensor:
        """FSQ grid codes (..., C) -> token ids (...,) long (the inverse of :meth:`indices_to_codes`)."""
        return self.fsq.codes_to_indices(codes).long()

    def forward(self, x: torch.Tensor, code_noise: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction (B, T, D) of normalised features and the token ids (B, N).

        ``code_noise`` > 0 (training): the decoder reads codes of which that share was moved by
        :func:`perturb_indices` (the gradient still reaches the encoder straight through); the ids returned are clean.
        """
        codes, indices = self.quantize(x)
        if code_noise > 0:
            moved = self.indices_to_codes(perturb_indices(indices, list(self.config.levels), code_noise))
            codes = codes + (moved.to(codes.dtype) - codes).detach()
        return self.decode_codes(codes)[:, : x.shape[1]], indices


def codebook_usage(indices: torch.Tensor, codebook_size: int) -> tuple[float, float]:
    """(fraction of the codebook used, perplexity = exp(entropy of the code histogram)) of ids (...,)."""
    counts = torch.bincount(indices.reshape(-1).long(), minlength=codebook_size).double()
    if counts.sum() == 0:
        return 0.0, 0.0
    p = counts / counts.sum()
    nz = p[p > 0]
    return float((counts > 0).double().mean()), float(torch.exp(-(nz * nz.log()).sum()))


def build_tokenizer(cfg, feature_dim: int) -> "MotionTokenizer":
    """The tokenizer a run config's ``model`` section describes, over ``feature_dim`` features."""
    m = cfg.model
    return MotionTokenizer(TokenizerConfig(
        feature_dim=feature_dim, levels=[int(v) for v in m.levels], downsample=int(m.downsample),
        groups=int(m.groups or 1), preset=str(m.preset), width=m.width, blocks=m.blocks, attention=int(m.attention or 0),
        dropout=float(m.dropout),
        hand_split_at=SLICES["left.joints"].stop if m.hand_split else 0,  # the left hand's block ends there
        hand_split_decoder=bool(m.hand_split_decoder), upsample=str(m.upsample),
    ))
