"""G-HOP's first stage: a 3D conv (VQ-)autoencoder of object SDFs, 1x64^3 -> 3x16^3 -> 1x64^3.

The encoder's pre-quantisation output is the object part of the interaction grid (the
diffusion model runs on it, and SDS differentiates through the encoder); the decoder
turns a (diffused) latent back into a truncated SDF. With ``codebook_size > 0`` a vector
quantiser (``vector_quantize_pytorch``) sits between them during training and decoding,
as in G-HOP's VQ-VAE; ``codebook_size: 0`` makes it a plain autoencoder.

The stem may downsample (``stem_stride`` 1, 2 or 4) so that CPU-sized variants do not
convolve at 64^3; ``stem_stride * 2**(len(mult) - 1)`` must be 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from handgen.models.conv3d_blocks import Downsample3D, ResBlock3D, Upsample3D, group_norm


@dataclass
class AutoencoderConfig:
    channels: int = 64
    mult: tuple[int, ...] = (1, 2, 4)
    res_blocks: int = 1
    z_channels: int = 3
    stem_stride: int = 1
    codebook_size: int = 8192
    commitment: float = 0.25
    resolution: int = 64

    def __post_init__(self) -> None:
        self.mult = tuple(int(m) for m in self.mult)
        if self.stem_stride * 2 ** (len(self.mult) - 1) != self.resolution // 16:
            raise ValueError(
                f"stem_stride {self.stem_stride} x 2^(levels-1) must map {self.resolution}^3 to 16^3 (mult {self.mult})"
            )


class ObjectAutoencoder(nn.Module):
    """SDF (B,1,64,64,64) in [-1,1] <-> latent (B,3,16,16,16)."""

    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        chans = [cfg.channels * m for m in cfg.mult]
        s = cfg.stem_stride
        self.stem = nn.Conv3d(1, chans[0], 3, padding=1) if s == 1 else nn.Conv3d(1, chans[0], s, stride=s)
        enc: list[nn.Module] = []
        ch = chans[0]
        for i, c in enumerate(chans):
            for _ in range(cfg.res_blocks):
                enc.append(ResBlock3D(ch, c))
                ch = c
            if i < len(chans) - 1:
                enc.append(Downsample3D(ch))
        self.encoder = nn.ModuleList(enc)
        self.enc_out = nn.Sequential(group_norm(ch), nn.SiLU(), nn.Conv3d(ch, cfg.z_channels, 3, padding=1))
        self.dec_in = nn.Conv3d(cfg.z_channels, ch, 3, padding=1)
        dec: list[nn.Module] = []
        for i, c in reversed(list(enumerate(chans))):
            for _ in range(cfg.res_blocks):
                dec.append(ResBlock3D(ch, c))
                ch = c
            if i > 0:
                dec.append(Upsample3D(ch))
        self.decoder = nn.ModuleList(dec)
        self.dec_norm = nn.Sequential(group_norm(ch), nn.SiLU())
        self.dec_out = nn.Conv3d(ch, 1, 3, padding=1) if s == 1 else nn.ConvTranspose3d(ch, 1, s, stride=s)
        self.quantizer = None
        if cfg.codebook_size > 0:
            from vector_quantize_pytorch import VectorQuantize

            self.quantizer = VectorQuantize(
                dim=cfg.z_channels, codebook_size=cfg.codebook_size, commitment_weight=cfg.commitment,
                decay=0.99, kmeans_init=True, threshold_ema_dead_code=1,
            )

    def encode(self, sdf: torch.Tensor) -> torch.Tensor:
        """Pre-quantisation latent (B, z, 16, 16, 16) of SDFs (B, 1, 64, 64, 64)."""
        h = self.stem(sdf)
        for block in self.encoder:
            h = block(h)
        return self.enc_out(h)

    def quantize(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(quantised latent, commitment loss); identity without a codebook."""
        if self.quantizer is None:
            return z, z.new_zeros(())
        b, c, d, h, w = z.shape
        tokens = z.permute(0, 2, 3, 4, 1).reshape(b, d * h * w, c)
        zq, _, loss = self.quantizer(tokens)
        return zq.reshape(b, d, h, w, c).permute(0, 4, 1, 2, 3), loss.sum()

    def decode(self, z: torch.Tensor, quantize: bool = True) -> torch.Tensor:
        """SDF (B,1,64,64,64) in [-1,1] from a latent (quantised first unless ``quantize=False``)."""
        if quantize:
            z, _ = self.quantize(z)
        h = self.dec_in(z)
        for block in self.decoder:
            h = block(h)
        return torch.tanh(self.dec_out(self.dec_norm(h)))

    def forward(self, sdf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction, pre-quantisation latent, commitment loss)."""
        z = self.encode(sdf)
        zq, commit = self.quantize(z)
        return self.decode(zq, quantize=False), z, commit


def autoencoder_config(model_cfg) -> AutoencoderConfig:
    """AutoencoderConfig from a config's ``model`` section."""
    return AutoencoderConfig(
        channels=int(model_cfg.channels), mult=tuple(model_cfg.mult), res_blocks=int(model_cfg.res_blocks),
        z_channels=int(model_cfg.z_channels), stem_stride=int(model_cfg.stem_stride),
        codebook_size=int(model_cfg.codebook_size), commitment=float(model_cfg.commitment),
    )
