"""BimanualMotion: MANO parameters of both hands over time (the unit handgen passes around)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS, NUM_BETAS


@dataclass
class BimanualMotion:
    """Both hands' MANO parameters; axis 1 (or 0 for betas) is the hand: 0 left, 1 right.

    ``hand_pose`` is absolute (flat-hand-mean convention): the finger rotations
    relative to a flat hand, i.e. MANO's ``hand_pose + hands_mean``.
    """

    global_orient: np.ndarray  # (T, 2, 3) axis-angle, radians
    hand_pose: np.ndarray  # (T, 2, 45) axis-angle, radians, flat-hand-mean
    transl: np.ndarray  # (T, 2, 3) metres
    betas: np.ndarray  # (2, 10)
    fps: float = 30.0

    def __post_init__(self) -> None:
        t = self.global_orient.shape[0]
        expected = {
            "global_orient": (t, 2, 3),
            "hand_pose": (t, 2, 45),
            "transl": (t, 2, 3),
            "betas": (2, NUM_BETAS),
        }
        for key, shape in expected.items():
            value = getattr(self, key)
            if tuple(value.shape) != shape:
                raise ValueError(f"BimanualMotion.{key} must have shape {shape}, got {tuple(value.shape)}")

    @property
    def num_frames(self) -> int:
        return int(self.global_orient.shape[0])

    def slice(self, start: int, end: int) -> "BimanualMotion":
        """Frames [start, end)."""
        return replace(
            self,
            global_orient=self.global_orient[start:end],
            hand_pose=self.hand_pose[start:end],
            transl=self.transl[start:end],
        )

    def translated(self, offset: np.ndarray) -> "BimanualMotion":
        """The same motion moved by ``offset`` (3,) metres."""
        return replace(self, transl=self.transl + np.asarray(offset, dtype=self.transl.dtype))

    def torch_params(self, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
        """Per-hand parameter tensors ``{h}_global_orient (T,3)`` etc. for :class:`HandPair`."""
        out: dict[str, torch.Tensor] = {}
        for i, side in enumerate(HANDS):
            out[f"{side}_global_orient"] = torch.as_tensor(self.global_orient[:, i], dtype=dtype)
            out[f"{side}_hand_pose"] = torch.as_tensor(self.hand_pose[:, i], dtype=dtype)
            out[f"{side}_transl"] = torch.as_tensor(self.transl[:, i], dtype=dtype)
            out[f"{side}_betas"] = torch.as_tensor(self.betas[i], dtype=dtype)
        return out

    def joints(self, hands: HandPair) -> np.ndarray:
        """21 keypoints of both hands (T, 2, 21, 3), metres. ``hands`` must be flat-hand-mean."""
        if not hands.flat_hand_mean:
            raise ValueError("BimanualMotion stores absolute finger poses: use a flat_hand_mean=True HandPair")
        with torch.no_grad():
            return hands.joints(self.torch_params()).numpy()


def canonicalize(motion: BimanualMotion, hands: HandPair) -> tuple[BimanualMotion, np.ndarray]:
    """Translate so the right wrist at frame 0 is the origin (no rotation).

    Returns:
        The moved motion and the offset (3,) that was added to every position, metres.
    """
    with torch.no_grad():
        right_offset = hands.right.wrist_offset(torch.as_tensor(motion.betas[1], dtype=torch.float32)).numpy()
    wrist0 = motion.transl[0, 1] + right_offset
    offset = -wrist0
    return motion.translated(offset), offset
