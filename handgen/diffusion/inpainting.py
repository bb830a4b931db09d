"""Conditioning by inpainting (RePaint-style, soft mask) for any diffusers scheduler.

At every step the x0 estimate is blended with the known values,
``x0 <- m * known + (1 - m) * x0``, and after the scheduler step the known region of
x_{t-1} is replaced by the known values noised to the next level. ``m`` in [0, 1] may be
soft (feathered at the borders of the given region) so that no seam appears.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class InpaintingCondition:
    """Known normalised features and where they hold."""

    known: torch.Tensor  # (B, T, D) normalised features (anything where mask == 0)
    mask: torch.Tensor  # (B, T, D) in [0, 1]; 1 = given

    def to(self, device) -> "InpaintingCondition":
        return InpaintingCondition(self.known.to(device), self.mask.to(device))

    def apply_x0(self, x0: torch.Tensor) -> torch.Tensor:
        return self.mask * self.known + (1.0 - self.mask) * x0

    def apply_xt(self, x_t: torch.Tensor, noised_known: torch.Tensor) -> torch.Tensor:
        return self.mask * noised_known + (1.0 - self.mask) * x_t


def frame_mask(frames: int, given, feather: int = 0) -> torch.Tensor:
    """(T,) weights: 1 on the given frames, 0 elsewhere.

    With ``feather > 0`` the given frames nearest to a non-given frame ramp down
    (1/(feather+1), 2/(feather+1), ...) so the generated part can blend into them.
    """
    given_set = {int(f) for f in given if 0 <= int(f) < frames}
    weights = torch.zeros(frames)
    for f in given_set:
        if feather <= 0:
            weights[f] = 1.0
            continue
        free = [abs(f - g) for g in range(frames) if g not in given_set]
        dist = min(free) if free else feather + 1
        weights[f] = min(1.0, dist / (feather + 1))
    return weights
