"""The palm's local frame, computed from the 21 keypoints of either hand.

Everything here works on joints ``(..., 21, 3)`` in metres (any leading shape),
so the same code reads recorded clips and generated motions. The handedness
decides the sign of the palm normal: the left hand is the x-mirror of the right.

Axes of a hand (unit vectors, world frame):

- ``normal``: out of the palm (the side the fingers curl towards),
- ``forward``: wrist -> middle-finger knuckle, made orthogonal to ``normal``
  (the forearm / roll axis of the hand),
- ``lateral``: ``forward x normal`` — the flexion axis: a finger bending
  towards the palm turns positively about it, for both hands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handgen.hand.topology import FINGER_KEYPOINTS, PALM_KEYPOINTS, WRIST_KEYPOINT

INDEX_MCP = FINGER_KEYPOINTS["index"][0]
MIDDLE_MCP = FINGER_KEYPOINTS["middle"][0]
PINKY_MCP = FINGER_KEYPOINTS["pinky"][0]
# the palm skin lies ~1.35 cm from the keypoint palm centre along the normal (procedural/MANO hands)
PALM_SURFACE_OFFSET = 0.0135
_EPS = 1e-9


def unit(v: np.ndarray) -> np.ndarray:
    """``v / |v|`` along the last axis (zero vectors stay zero)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, _EPS)


def handedness_sign(hand: int) -> float:
    """+1 for the right hand (index 1), -1 for the left (index 0)."""
    if hand not in (0, 1):
        raise ValueError(f"hand index must be 0 (left) or 1 (right), got {hand}")
    return 1.0 if hand == 1 else -1.0


@dataclass
class HandFrame:
    """Palm centre and axes of one hand, each (..., 3)."""

    centre: np.ndarray
    normal: np.ndarray
    forward: np.ndarray
    lateral: np.ndarray

    def rotation(self) -> np.ndarray:
        """(..., 3, 3) matrices whose columns are (forward, normal, lateral)."""
        return np.stack([self.forward, self.normal, self.lateral], axis=-1)


def palm_centre(joints: np.ndarray) -> np.ndarray:
    """Mean of the wrist and the four finger knuckles (..., 3)."""
    return joints[..., list(PALM_KEYPOINTS), :].mean(axis=-2)


def palm_normal(joints: np.ndarray, hand: int) -> np.ndarray:
    """Unit normal out of the palm (..., 3) of hand ``hand`` (0 left, 1 right)."""
    wrist = joints[..., WRIST_KEYPOINT, :]
    across = np.cross(joints[..., INDEX_MCP, :] - wrist, joints[..., PINKY_MCP, :] - wrist)
    return handedness_sign(hand) * unit(across)


def hand_frame(joints: np.ndarray, hand: int) -> HandFrame:
    """The palm frame of ``joints`` (..., 21, 3) for hand ``hand`` (0 left, 1 right)."""
    normal = palm_normal(joints, hand)
    axis = joints[..., MIDDLE_MCP, :] - joints[..., WRIST_KEYPOINT, :]
    forward = unit(axis - (axis * normal).sum(-1, keepdims=True) * normal)
    lateral = np.cross(forward, normal)
    return HandFrame(centre=palm_centre(joints), normal=normal, forward=forward, lateral=lateral)


def palm_points(joints: np.ndarray, hand: int, surface: bool = True) -> np.ndarray:
    """Points spread over the palm (..., 11, 3): centre, the 5 palm keypoints, and midpoints.

    With ``surface`` they are moved ``PALM_SURFACE_OFFSET`` out along the palm normal, onto
    the palm skin, which is what a fingertip touches.
    """
    corners = joints[..., list(PALM_KEYPOINTS), :]
    centre = corners.mean(axis=-2, keepdims=True)
    points = np.concatenate([centre, corners, 0.5 * (corners + centre)], axis=-2)
    if surface:
        points = points + PALM_SURFACE_OFFSET * palm_normal(joints, hand)[..., None, :]
    return points
