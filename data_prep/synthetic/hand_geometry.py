"""Posed procedural-hand geometry relative to the wrist, for placing two hands against each other.

Relations (clap, approach, touch the palm) need to know, frame by frame, how far
a posed hand reaches in some direction and where its palm and fingertips are.
These helpers pose :class:`ProceduralHand` (absolute finger poses, wrist joint
at the origin) and measure that, in metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from handgen.hand import ProceduralHand
from handgen.hand.anatomy import palm_outline
from handgen.hand.topology import PALM_KEYPOINTS

PALM_SURFACE_OFFSET = sum(palm_outline()[1:])  # palm skin to the palm's mid-plane (13.5 mm), metres


@lru_cache(maxsize=2)
def procedural_hand(side: str) -> ProceduralHand:
    """The flat-hand-mean procedural hand of ``side`` (shared, read-only; float32 is ample for placement)."""
    return ProceduralHand(side, flat_hand_mean=True)


@dataclass
class PosedHand:
    """One hand over F frames with its wrist joint at the origin."""

    vertices: np.ndarray  # (F, V, 3)
    joints: np.ndarray  # (F, 21, 3)
    faces: np.ndarray  # (Fc, 3)

    def extent(self, direction: np.ndarray) -> np.ndarray:
        """How far (F,) the hand reaches along the unit ``direction`` (3,) from the wrist."""
        return (self.vertices @ np.asarray(direction, dtype=np.float64)).max(axis=1)

    def palm_centre(self) -> np.ndarray:
        """Centre (F, 3) of the palm (mean of the wrist and four knuckles), on its mid-plane."""
        return self.joints[:, list(PALM_KEYPOINTS)].mean(axis=1)


def palm_normal(rotvec: np.ndarray) -> np.ndarray:
    """Unit normals (F, 3) out of the palm for world orientations (F, 3); the palm faces template -y."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(rotvec).apply(np.array([0.0, -1.0, 0.0]))


def pose_hand(side: str, rotvec: np.ndarray, fingers: np.ndarray, betas: np.ndarray) -> PosedHand:
    """Pose ``side`` with world orientations (F,3) and absolute finger poses (F,45); wrist at 0."""
    hand = procedural_hand(side)
    b = torch.as_tensor(np.asarray(betas, dtype=np.float32))
    with torch.no_grad():
        out = hand(torch.as_tensor(rotvec, dtype=torch.float32), torch.as_tensor(fingers, dtype=torch.float32), b)
        wrist = hand.wrist_offset(b)
    return PosedHand(
        vertices=(out.vertices - wrist).numpy().astype(np.float64),
        joints=(out.joints - wrist).numpy().astype(np.float64),
        faces=hand.faces.numpy(),
    )
