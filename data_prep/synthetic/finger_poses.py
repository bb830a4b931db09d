"""Per-hand finger primitives: target poses and their trajectories over a segment.

Poses are ABSOLUTE (flat-hand-mean) axis-angle ``hand_pose`` (45,), radians,
designed on the right hand (flexion = +z rotation of the four fingers, MANO's
convention) and mirrored to the left one. They are made unambiguous under the
flexion states of the feature extractor (extended <= pi/6, partially bent
pi/6..pi/3, fully bent > pi/3) and its thumb contact test (< 2 cm):

- ``relaxed``: MANO's mean pose (fingers partially bent), thumb tip ~3 cm from the index tip.
- ``fist``: four fingers fully bent (MCP 1.45, PIP 1.6, DIP 1.15 rad), the thumb folded
  across them, its tip > 4 cm from every fingertip.
- ``open``: all fingers straight (< 0.1 rad) and abducted apart, thumb swung out.
- ``pinch``: thumb tip meets the index tip (~6 mm apart), other fingers relaxed.
- ``point``: index straight, the other three fully bent, the thumb tucked over the middle finger.

The thumb (and, for the pinch, index) angles were solved once with
:mod:`data_prep.synthetic.thumb_solver` on the mean hand and are cached here as
constants (so the data do not depend on an optimiser's last bits);
:func:`solve_thumb_constants` re-derives them and the tests verify them on every
subject's hand shape.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from data_prep.synthetic import curves, thumb_solver
from handgen.hand.anatomy import mirror_axis_angle, right_hands_mean
from handgen.hand.topology import FINGER_MANO_JOINTS, pose_slice

FINGER_PRIMITIVES: tuple[str, ...] = ("relaxed", "fist", "open", "pinch", "point")
LONG_FINGERS: tuple[str, ...] = ("index", "middle", "ring", "pinky")

FULLY_BENT = (1.45, 1.6, 1.15)  # MCP, PIP, DIP flexion of a curled finger, radians
STRAIGHT = (0.0, 0.05, 0.03)
# abduction (rotation about y; + swings the tip towards the thumb) of the spread hand
SPREAD = {"index": 0.2, "middle": 0.03, "ring": -0.15, "pinky": -0.32, "thumb": 0.2}

# solved thumb joints (thumb1, thumb2, thumb3 axis-angle), see solve_thumb_constants()
THUMB_FOLDED_OVER_FIST = ((1.2230, -0.1341, 0.4270), (-0.0981, -0.2781, -0.1724), (0.8137, -0.6726, 0.1974))
THUMB_TUCKED_FOR_POINT = ((0.9489, -0.3499, 0.0902), (-0.2608, -0.2633, 0.0285), (0.8890, -0.3630, 0.5343))
THUMB_PINCH = ((0.9055, -0.3231, 0.1544), (-0.4592, -0.0519, -0.0124), (0.5463, -0.0654, 0.2781))
INDEX_PINCH_FLEX = (0.6568, 0.8731, 0.4333)


def _set_flexion(pose: np.ndarray, finger: str, flex: tuple[float, float, float]) -> None:
    for joint, angle in zip(FINGER_MANO_JOINTS[finger], flex):
        pose[pose_slice(joint)] = (0.0, 0.0, angle)


def _set_thumb(pose: np.ndarray, thumb) -> None:
    for joint, rotvec in zip(FINGER_MANO_JOINTS["thumb"], thumb):
        pose[pose_slice(joint)] = rotvec


def fist_fingers() -> np.ndarray:
    """Four long fingers fully bent over the relaxed thumb (the solver's starting point)."""
    pose = right_hands_mean().copy()
    for finger in LONG_FINGERS:
        _set_flexion(pose, finger, FULLY_BENT)
    return pose


def point_fingers() -> np.ndarray:
    """Index straight, the other three fully bent, relaxed thumb (the solver's starting point)."""
    pose = fist_fingers()
    _set_flexion(pose, "index", (0.05, 0.05, 0.05))
    return pose


@lru_cache(maxsize=None)
def _right_pose(name: str) -> np.ndarray:
    if name == "relaxed":
        return right_hands_mean()
    if name == "fist":
        pose = fist_fingers()
        _set_thumb(pose, THUMB_FOLDED_OVER_FIST)
        return pose
    if name == "point":
        pose = point_fingers()
        _set_thumb(pose, THUMB_TUCKED_FOR_POINT)
        return pose
    if name == "pinch":
        pose = right_hands_mean().copy()
        _set_flexion(pose, "index", INDEX_PINCH_FLEX)
        _set_thumb(pose, THUMB_PINCH)
        return pose
    if name == "open":
        pose = np.zeros(45)
        for finger in LONG_FINGERS:
            _set_flexion(pose, finger, STRAIGHT)
        for finger, angle in SPREAD.items():
            pose[pose_slice(FINGER_MANO_JOINTS[finger][0])][1] = angle
        return pose
    raise ValueError(f"unknown finger primitive {name!r}; expected one of {FINGER_PRIMITIVES}")


def finger_pose(name: str, side: str) -> np.ndarray:
    """Absolute target pose (45,) of primitive ``name`` for ``side`` ("left" mirrors the right), radians."""
    pose = _right_pose(name).copy()
    return mirror_axis_angle(pose) if side == "left" else pose


def finger_trajectory(
    name: str, side: str, start: np.ndarray, frames: int, rng: np.random.Generator
) -> np.ndarray:
    """Absolute finger poses (F, 45): ease from ``start`` (45,) into the primitive, hold it, breathe.

    The change takes 14-22 frames (0.47-0.73 s) from frame 0; afterwards the pose holds
    with a small static jitter plus smooth noise (0.02 rad, 0.006 rad on the thumb and
    index of a pinch so that the tips stay together).
    """
    target = finger_pose(name, side)
    amplitude = np.full(45, 0.02)
    if name == "pinch":
        amplitude[pose_slice(1).start : pose_slice(3).stop] = 0.006
        amplitude[pose_slice(13).start : pose_slice(15).stop] = 0.006
    if name == "relaxed":
        amplitude[: pose_slice(12).stop] *= 1.5  # loose fingers drift a little more; the thumb stays clear
        amplitude[pose_slice(1)] = 0.01  # of the index tip
    target = target + rng.normal(0.0, 1.0, 45) * amplitude * 0.5
    weight = curves.ramp(frames, rng.uniform(14.0, 22.0))[:, None]
    noise = curves.smooth_noise(rng, frames, 45, 1.0) * amplitude
    return (1.0 - weight) * start[None] + weight * target[None] + weight * noise


def solve_thumb_constants(betas: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Re-solve the cached thumb/index constants on the hand ``betas`` (mean hand by default).

    Returns absolute right-hand poses (45,) for "fist", "point" and "pinch". Slow (~10 s each).
    """
    b = np.zeros(10) if betas is None else np.asarray(betas, dtype=np.float64)
    return {
        "fist": thumb_solver.fold_thumb(fist_fingers(), b),
        "point": thumb_solver.fold_thumb(point_fingers(), b),
        "pinch": thumb_solver.pinch_thumb_index(right_hands_mean(), b),
    }
