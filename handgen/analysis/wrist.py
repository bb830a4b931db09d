"""Per-hand wrist features: translation velocity per world axis, rotation rates, palm and finger directions.

World frame (handgen): +x the person's LEFT, +y UP, +z FORWARD. Velocities are
Savitzky-Golay derivatives (a 7-frame quadratic fit) so that millimetre jitter does
not read as motion; units m/s and rad/s.

Rotation rates are the hand's angular velocity expressed in its palm frame and signed so
that mirror-image motions of the two hands give the same numbers:

- ``supination``: about the forearm axis; + turns the palm towards the thumb side and up;
- ``flexion``: about the flexion axis; + tips the fingers towards the palm side;
- ``deviation``: about the palm normal; + swings the fingers towards the thumb side.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.spatial.transform import Rotation

from handgen.hand.topology import WRIST_KEYPOINT

from handgen.analysis.hand_frame import HandFrame, hand_frame, handedness_sign

AXES: tuple[str, ...] = ("left_right", "down_up", "back_front")  # world x, y, z
# direction words for -/+ along each axis
AXIS_DIRECTIONS: dict[str, tuple[str, str]] = {
    "left_right": ("right", "left"),
    "down_up": ("down", "up"),
    "back_front": ("back", "forward"),
}
ROTATIONS: tuple[str, ...] = ("supination", "flexion", "deviation")
FACING: tuple[str, ...] = ("inward", "outward", "up", "down", "forward", "back")
SMOOTH_WINDOW = 7


@lru_cache(maxsize=64)
def savgol_matrix(frames: int, window: int, order: int, deriv: int) -> np.ndarray:
    """(T, T) linear operator of a Savitzky-Golay filter along time (``deriv``-th derivative per frame).

    Each frame fits a polynomial of ``order`` to the ``window`` frames around it (the first or
    last ``window`` frames near the ends, like scipy's ``mode="interp"``) and evaluates it, or
    its derivative, there. One small matmul instead of a filter call per signal.
    """
    w = min(window, frames if frames % 2 else frames - 1)
    out = np.zeros((frames, frames))
    if w <= order:
        return np.eye(frames) if deriv == 0 else np.zeros((frames, frames))
    half = w // 2
    for t in range(frames):
        start = min(max(t - half, 0), frames - w)
        u = np.arange(start, start + w) - t
        weights = np.linalg.pinv(np.vander(u, order + 1, increasing=True))[deriv] * math.factorial(deriv)
        out[t, start : start + w] = weights
    return out


def smooth_derivative(x: np.ndarray, fps: float, window: int = SMOOTH_WINDOW) -> np.ndarray:
    """d/dt of ``x`` (T, ...) along time, smoothed (quadratic Savitzky-Golay); units per second."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] < 3:
        return np.gradient(x, axis=0) * fps if x.shape[0] == 2 else np.zeros_like(x)
    matrix = savgol_matrix(x.shape[0], window, 2, 1)
    return np.tensordot(matrix, x, axes=(1, 0)) * fps


def wrist_position(joints: np.ndarray) -> np.ndarray:
    """Wrist keypoint (T, 3), metres."""
    return joints[:, WRIST_KEYPOINT]


def wrist_velocity(joints: np.ndarray, fps: float) -> np.ndarray:
    """Wrist velocity (T, 3) in m/s along world (x left, y up, z forward)."""
    return smooth_derivative(wrist_position(joints).astype(np.float64), fps)


def angular_velocity(matrices: np.ndarray, fps: float) -> np.ndarray:
    """World angular velocity (T, 3) rad/s of rotations (T, 3, 3), lightly smoothed.

    Between consecutive frames at the midpoints (the rotation vector of R[t+1] R[t]^T), then
    back onto the frames and through a 5-frame moving average.
    """
    t = len(matrices)
    if t < 2:
        return np.zeros((t, 3))
    rot = Rotation.from_matrix(matrices)
    step = (rot[1:] * rot[:-1].inv()).as_rotvec() * fps  # (T-1, 3)
    omega = np.empty((t, 3))
    omega[0], omega[-1] = step[0], step[-1]
    omega[1:-1] = 0.5 * (step[1:] + step[:-1])
    return savgol_matrix(t, 5, 1, 0) @ omega if t >= 3 else omega


def rotation_rates(
    joints: np.ndarray, hand: int, fps: float, frame: HandFrame | None = None, omega: np.ndarray | None = None
) -> np.ndarray:
    """(T, 3) rad/s: (supination, flexion, deviation) of hand ``hand``, see the module docstring.

    ``omega`` is the palm frame's :func:`angular_velocity` when the caller has it already.
    """
    frame = frame or hand_frame(joints.astype(np.float64), hand)
    if omega is None:
        omega = angular_velocity(frame.rotation(), fps)  # frame columns: forward, normal, lateral
    if len(omega) < 2:
        return np.zeros((len(omega), 3))
    s = handedness_sign(hand)
    roll = (omega * frame.forward).sum(-1)
    pitch = (omega * frame.lateral).sum(-1)
    yaw = (omega * frame.normal).sum(-1)
    # + roll turns the normal towards the lateral axis: the thumb side for the right hand
    return np.stack([s * roll, pitch, -s * yaw], axis=-1)


def facing_scores(directions: np.ndarray, hand: int) -> np.ndarray:
    """Cosines (..., 6) of unit vectors (..., 3) with the :data:`FACING` world directions.

    ``inward`` is towards the other hand's side: -x for the left hand, +x for the right.
    """
    s = handedness_sign(hand)  # right hand: inward is +x
    basis = np.array([
        [s, 0.0, 0.0], [-s, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0],
    ])
    return directions @ basis.T
