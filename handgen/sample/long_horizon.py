"""Long-horizon sampling: chain windows, each conditioned on the end of the previous one.

Every new window is generated in the canonical frame of its own first frame (right wrist at
the origin, as in training), with its first ``context`` frames given (inpainted) from the
previous window, then moved back. The context is given exactly; where the model's own
last x0 differs from it, the difference is faded into the new frames after the seam
(:meth:`~handgen.diffusion.inpainting.InpaintingCondition.finish`), so the seam blends.
"""

from __future__ import annotations

from typing import Callable

import torch

from handgen.diffusion.inpainting import InpaintingCondition, frame_mask
from handgen.repr.features import SLICES, translate_features

LONG_CONTEXT = 10

# (frames, condition or None) -> raw (denormalised) features (B, frames, D)
WindowSampler = Callable[[int, "InpaintingCondition | None"], torch.Tensor]


def chain_windows(
    sample_window: WindowSampler,
    normalize: Callable[[torch.Tensor], torch.Tensor],
    total_frames: int,
    window: int,
    context: int = LONG_CONTEXT,
    first: torch.Tensor | None = None,
) -> torch.Tensor:
    """Raw features (B, total_frames, D) from windows of ``window`` frames overlapping by ``context``.

    ``first`` (B, window, D) raw features of the first window, if already sampled.
    """
    if window <= context:
        raise ValueError("the window must be longer than the context")
    out = first if first is not None else sample_window(window, None)
    weights = frame_mask(window, range(context))  # (W,) 1 on the context frames
    while out.shape[1] < total_frames:
        ctx = out[:, -context:]
        shift = -ctx[:, 0, SLICES["right.wrist"]]  # (B,3) moves the right wrist at the seam to the origin
        known_raw = torch.zeros(out.shape[0], window, out.shape[2], dtype=out.dtype)
        known_raw[:, :context] = translate_features(ctx, shift)
        known = normalize(known_raw)
        mask = weights[None, :, None].expand_as(known).clone()
        new = translate_features(sample_window(window, InpaintingCondition(known, mask)), -shift)
        out = torch.cat([out, new[:, context:]], dim=1)
    return out[:, :total_frames]
