"""What the text-motion evaluator sees of a motion: the 21 joints of both hands.

Built from joints alone so that it scores any generator (diffusion, AR, data) the same
way. Per frame, ``FRAME_DIM = 252`` values:

- both wrists (2 x 3), relative to the right wrist at frame 0 (the canonical origin),
- the other 20 keypoints of each hand relative to its own wrist (2 x 20 x 3),
- the velocity of all 42 keypoints (2 x 21 x 3), metres per second (first frame: the
  second frame's velocity).
"""

from __future__ import annotations

import numpy as np
import torch

from handgen.repr.features import SLICES

FRAME_DIM = 2 * 3 + 2 * 20 * 3 + 2 * 21 * 3


def joints_from_features(features: np.ndarray | torch.Tensor) -> torch.Tensor:
    """The joints block of raw (denormalised) features (..., T, 324) -> (..., T, 2, 21, 3)."""
    f = features if isinstance(features, torch.Tensor) else torch.as_tensor(np.ascontiguousarray(features))
    f = f.float()
    left = f[..., SLICES["left.joints"]].unflatten(-1, (21, 3))
    right = f[..., SLICES["right.joints"]].unflatten(-1, (21, 3))
    return torch.stack([left, right], dim=-3)


def motion_input(joints: np.ndarray | torch.Tensor, fps: float) -> torch.Tensor:
    """Evaluator frame features (..., T, FRAME_DIM) of joints (..., T, 2, 21, 3) in metres.

    Raises:
        ValueError: wrong shape or fewer than 2 frames.
    """
    j = joints.float() if isinstance(joints, torch.Tensor) else torch.as_tensor(np.ascontiguousarray(joints)).float()
    if j.shape[-3:] != (2, 21, 3) or j.dim() < 4 or j.shape[-4] < 2:
        raise ValueError(f"joints must be (..., T>=2, 2, 21, 3), got {tuple(j.shape)}")
    origin = j[..., :1, 1:2, :1, :]  # right wrist at frame 0, (..., 1, 1, 1, 3)
    wrists = (j[..., :, :, 0:1, :] - origin).flatten(-3)  # (..., T, 6)
    local = (j[..., :, :, 1:, :] - j[..., :, :, 0:1, :]).flatten(-3)  # (..., T, 120)
    vel = (j[..., 1:, :, :, :] - j[..., :-1, :, :, :]) * float(fps)
    vel = torch.cat([vel[..., :1, :, :, :], vel], dim=-4).flatten(-3)  # (..., T, 126)
    return torch.cat([wrists, local, vel], dim=-1)
