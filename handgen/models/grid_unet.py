"""The grid diffusion denoiser: a 3D UNet over the 43 x 16^3 interaction grid (BG-HOP).

Input channels: object latent (3) + right-hand field (20) + left-hand field (20). Levels at
16^3, 8^3, 4^3 (``mult``), ``res_blocks`` residual blocks per level, and at the levels in
``attn_levels`` a transformer block: self-attention over the voxels, cross-attention to
the text tokens (plus a learned null token, so a dropped caption still attends to
something), feed-forward. The timestep and the pooled text embedding modulate every
residual block. Predicts the noise (eps).

With ``gaussian_skip`` the UNet predicts only a residual over the closed-form noise estimate
of a per-channel Gaussian model of the clean grids (x0 ~ N(mean_c, var_c), fitted on the
training grids; :meth:`GridUNet.set_gaussian_skip`)::

    eps = sqrt(1 - abar) (x_t - sqrt(abar) mean) / (abar var + 1 - abar) + UNet(x_t)

Without it, every one of the 43 iid noise channels per voxel has to be carried through the
network: a UNet narrower than its input (``channels`` < 43) can never predict them (its loss
floor is about (43 - channels) / 43), and a wider one needs long training to learn that
near-identity map before it learns anything about grasps. The skip's buffers (mean, var,
the schedule's abar) are saved with the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from handgen.models.conv3d_blocks import Downsample3D, ResBlock3D, Upsample3D, group_norm
from handgen.models.layers import sinusoidal_embedding


@dataclass
class GridUNetConfig:
    in_channels: int = 43
    channels: int = 64
    mult: tuple[int, ...] = (1, 2, 3)
    res_blocks: int = 3
    attn_levels: tuple[int, ...] = (1, 2)
    heads: int = 4
    text_dim: int = 384
    dropout: float = 0.0
    io_kernel: int = 3  # kernel of the input and output convolutions (1 saves ~1/3 of a small UNet's work)
    gaussian_skip: bool = False  # predict a residual over the per-channel Gaussian noise estimate
    num_train_timesteps: int = 1000  # length of the skip's abar buffer

    def __post_init__(self) -> None:
        self.mult = tuple(int(m) for m in self.mult)
        self.attn_levels = tuple(int(a) for a in self.attn_levels)


class GridAttention(nn.Module):
    """Self-attention over voxels, cross-attention to text tokens, feed-forward (pre-norm)."""

    def __init__(self, ch: int, heads: int, text_dim: int) -> None:
        super().__init__()
        heads = max(1, min(heads, ch // 8))
        self.norm_in = group_norm(ch)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(ch), nn.LayerNorm(ch), nn.LayerNorm(ch)
        self.self_attn = nn.MultiheadAttention(ch, heads, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(ch, heads, kdim=text_dim, vdim=text_dim, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(ch, 4 * ch), nn.GELU(), nn.Linear(4 * ch, ch))
        self.out = nn.Linear(ch, ch)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, context: torch.Tensor, context_pad: torch.Tensor) -> torch.Tensor:
        b, c, d, h, w = x.shape
        t = self.norm_in(x).reshape(b, c, d * h * w).transpose(1, 2)
        y = self.norm1(t)
        t = t + self.self_attn(y, y, y, need_weights=False)[0]
        t = t + self.cross_attn(self.norm2(t), context, context, key_padding_mask=context_pad, need_weights=False)[0]
        t = t + self.ff(self.norm3(t))
        return x + self.out(t).transpose(1, 2).reshape(b, c, d, h, w)


class GridUNet(nn.Module):
    """eps_theta(x_t (B,C,16,16,16), t (B,), text tokens (B,L,H), text mask (B,L), pooled text (B,H))."""

    def __init__(self, cfg: GridUNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        base = cfg.channels
        emb = 4 * base
        self.time_mlp = nn.Sequential(nn.Linear(base, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.text_mlp = nn.Sequential(nn.Linear(cfg.text_dim, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.null_token = nn.Parameter(torch.zeros(1, 1, cfg.text_dim))
        self.conv_in = nn.Conv3d(cfg.in_channels, base, cfg.io_kernel, padding=cfg.io_kernel // 2)
        chans = [base * m for m in cfg.mult]
        self.down = nn.ModuleList()
        skips = [base]
        ch = base
        for level, c in enumerate(chans):
            for _ in range(cfg.res_blocks):
                attn = GridAttention(c, cfg.heads, cfg.text_dim) if level in cfg.attn_levels else None
                self.down.append(nn.ModuleList([ResBlock3D(ch, c, emb, cfg.dropout), attn or nn.Identity()]))
                ch = c
                skips.append(ch)
            if level < len(chans) - 1:
                self.down.append(nn.ModuleList([Downsample3D(ch)]))
                skips.append(ch)
        self.mid1 = ResBlock3D(ch, ch, emb, cfg.dropout)
        self.mid_attn = GridAttention(ch, cfg.heads, cfg.text_dim)
        self.mid2 = ResBlock3D(ch, ch, emb, cfg.dropout)
        self.up = nn.ModuleList()
        for level, c in reversed(list(enumerate(chans))):
            for _ in range(cfg.res_blocks + 1):
                attn = GridAttention(c, cfg.heads, cfg.text_dim) if level in cfg.attn_levels else None
                self.up.append(nn.ModuleList([ResBlock3D(ch + skips.pop(), c, emb, cfg.dropout), attn or nn.Identity()]))
                ch = c
            if level > 0:
                self.up.append(nn.ModuleList([Upsample3D(ch)]))
        self.out = nn.Sequential(group_norm(ch), nn.SiLU(), nn.Conv3d(ch, cfg.in_channels, cfg.io_kernel, padding=cfg.io_kernel // 2))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)
        if cfg.gaussian_skip:
            self.register_buffer("skip_mean", torch.zeros(cfg.in_channels))
            self.register_buffer("skip_var", torch.ones(cfg.in_channels))
            self.register_buffer("skip_abar", torch.zeros(cfg.num_train_timesteps))

    def set_gaussian_skip(self, mean: torch.Tensor, var: torch.Tensor, alphas_cumprod: torch.Tensor) -> None:
        """Per-channel mean and variance (C,) of the clean training grids; the schedule's abar (T,)."""
        if not self.cfg.gaussian_skip:
            raise ValueError("this GridUNet was built without gaussian_skip")
        self.skip_mean.copy_(mean.reshape(-1))
        self.skip_var.copy_(var.reshape(-1).clamp_min(1e-6))
        self.skip_abar.copy_(alphas_cumprod.reshape(-1))

    def gaussian_eps(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """E[eps | x_t] (B,C,D,H,W) when each channel of x0 is N(skip_mean, skip_var), i.i.d. over voxels."""
        b = x_t.shape[0]
        abar = self.skip_abar[t.to(x_t.device).long().expand(b)].to(x_t).reshape(b, 1, 1, 1, 1)
        mean, var = self.skip_mean.to(x_t).reshape(1, -1, 1, 1, 1), self.skip_var.to(x_t).reshape(1, -1, 1, 1, 1)
        return (1 - abar).sqrt() * (x_t - abar.sqrt() * mean) / (abar * var + 1 - abar)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor, pooled: torch.Tensor
    ) -> torch.Tensor:
        b = x.shape[0]
        emb = self.time_mlp(sinusoidal_embedding(t.to(x.device).expand(b), self.cfg.channels)) + self.text_mlp(pooled)
        context = torch.cat([self.null_token.expand(b, 1, -1).to(text), text], dim=1)
        pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=x.device), ~text_mask.bool()], dim=1)
        h = self.conv_in(x)
        hs = [h]
        for block in self.down:
            if len(block) == 1:
                h = block[0](h)
            else:
                h = block[0](h, emb)
                if not isinstance(block[1], nn.Identity):
                    h = block[1](h, context, pad)
            hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb), context, pad), emb)
        for block in self.up:
            if len(block) == 1:
                h = block[0](h)
            else:
                h = block[0](torch.cat([h, hs.pop()], dim=1), emb)
                if not isinstance(block[1], nn.Identity):
                    h = block[1](h, context, pad)
        out = self.out(h)
        return out + self.gaussian_eps(x, t) if self.cfg.gaussian_skip else out


def grid_unet_config(model_cfg, in_channels: int, text_dim: int, num_train_timesteps: int = 1000) -> GridUNetConfig:
    """GridUNetConfig from a config's ``model`` section (and the schedule's length)."""
    return GridUNetConfig(
        in_channels=in_channels, channels=int(model_cfg.channels), mult=tuple(model_cfg.mult),
        res_blocks=int(model_cfg.res_blocks), attn_levels=tuple(model_cfg.attn_levels), heads=int(model_cfg.heads),
        text_dim=text_dim, dropout=float(model_cfg.dropout), io_kernel=int(model_cfg.io_kernel),
        gaussian_skip=bool(model_cfg.gaussian_skip), num_train_timesteps=num_train_timesteps,
    )
