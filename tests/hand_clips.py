"""Hand-made bimanual joint sequences posed with the procedural hands (for feature and caption tests)."""

from __future__ import annotations

import numpy as np
import torch

from data_prep.synthetic.finger_poses import finger_pose

T = 60
PALM_DOWN = {"right": (0.0, np.pi / 2, 0.0), "left": (0.0, -np.pi / 2, 0.0)}  # fingers forward (+z)


def pose(hand_pair, side: str, orient, fingers, transl) -> np.ndarray:
    """Joints (T, 21, 3) of one procedural hand; orient (T,3) or (3,), fingers (T,45) or (45,), transl (T,3)."""
    go = torch.as_tensor(np.broadcast_to(np.asarray(orient, dtype=np.float32), (T, 3)).copy())
    hp = torch.as_tensor(np.broadcast_to(np.asarray(fingers, dtype=np.float32), (T, 45)).copy())
    tr = torch.as_tensor(np.broadcast_to(np.asarray(transl, dtype=np.float32), (T, 3)).copy())
    with torch.no_grad():
        return hand_pair[side].joints(go, hp, None, tr).numpy().astype(np.float64)


def still_pair(hand_pair, left_fingers=None, right_fingers=None) -> np.ndarray:
    """Both hands palm down, 30 cm apart, not moving: joints (T, 2, 21, 3)."""
    relaxed = {s: finger_pose("relaxed", s) for s in ("left", "right")}
    left = pose(hand_pair, "left", PALM_DOWN["left"], relaxed["left"] if left_fingers is None else left_fingers,
                (0.15, 0.0, 0.0))
    right = pose(hand_pair, "right", PALM_DOWN["right"], relaxed["right"] if right_fingers is None else right_fingers,
                 (-0.15, 0.0, 0.0))
    return np.stack([left, right], axis=1)
