"""Band-limiting motion over time: projection onto the lowest DCT-II coefficients (HumanMAC-style).

``keep`` is the fraction of a window's DCT-II coefficients kept (K = ceil(keep * frames)): the
projection removes every temporal frequency above K / (2 frames) cycles per frame. On the README
data (60-frame clips at 30 fps) keeping 8 of 60 coefficients keeps 1.01x the test clips' motion
intensity (6 of 60: 0.95x); docs/motion_eval.md ("Jitter and intensity by stage").
"""

from __future__ import annotations

import math

import torch
from torch import nn


def dct_basis(frames: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The orthonormal DCT-II matrix (frames, frames): row k is the k-th cosine over the frames."""
    n = torch.arange(frames, dtype=torch.float64, device=device)
    k = n[:, None]
    basis = torch.cos(math.pi * (n[None, :] + 0.5) * k / frames) * math.sqrt(2.0 / frames)
    basis[0] /= math.sqrt(2.0)
    return basis.float()


def kept_coefficients(keep: float, frames: int) -> int:
    """K = ceil(keep * frames), at least 1 and at most ``frames``."""
    return min(frames, max(1, math.ceil(keep * frames - 1e-9)))


class TimeBandLimit(nn.Module):
    """x (B, T, D) -> its projection onto the first ceil(keep * T) DCT-II coefficients over T."""

    def __init__(self, keep: float) -> None:
        super().__init__()
        if not 0.0 < keep <= 1.0:
            raise ValueError(f"the kept fraction of DCT coefficients must be in (0, 1], got {keep}")
        self.keep = keep
        self._projections: dict[tuple[int, str], torch.Tensor] = {}

    def projection(self, frames: int, device: torch.device) -> torch.Tensor:
        """The (frames, frames) projection B_K^T B_K, cached per length and device."""
        key = (frames, str(device))
        if key not in self._projections:
            basis = dct_basis(frames, device)[: kept_coefficients(self.keep, frames)]
            self._projections[key] = basis.T @ basis
        return self._projections[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("st,btd->bsd", self.projection(x.shape[1], x.device).to(x.dtype), x)
