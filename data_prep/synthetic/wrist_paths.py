"""Per-hand wrist primitives: the wrist's position and the hand's orientation over a segment.

World frame: +x the person's LEFT, +y up, +z forward. The hand's orientation is
described by four hand-symmetric angles (radians), mirrored for the left hand so
that the same numbers give mirror-image postures:

- ``swing``: rotation about the world forward axis applied last (side-to-side tilt of a
  raised hand; + tilts the fingers outward),
- ``yaw``: about world up (+ turns the fingers inward, towards the other hand),
- ``pitch``: about world x (+ raises the fingers),
- ``supination``: about the forearm axis (+ turns the palm from down towards the other hand, then up).

All zero is the rest posture: palm down, fingers forward (right hand
``global_orient`` (0, +pi/2, 0), left (0, -pi/2, 0)). Positions are of the wrist
joint, metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from data_prep.synthetic import curves

WRIST_PRIMITIVES: tuple[str, ...] = ("still", "wave", "rotate", "left", "right", "up", "down", "forward", "back")
TRANSLATIONS: dict[str, tuple[float, float, float]] = {
    "left": (1.0, 0.0, 0.0),
    "right": (-1.0, 0.0, 0.0),
    "up": (0.0, 1.0, 0.0),
    "down": (0.0, -1.0, 0.0),
    "forward": (0.0, 0.0, 1.0),
    "back": (0.0, 0.0, -1.0),
}
# the posture (swing, yaw, pitch, supination) each primitive holds on average
WAVE_PITCH = 1.3
REST_WRIST = {"left": np.array([0.15, 1.0, 0.35]), "right": np.array([-0.15, 1.0, 0.35])}
INNER_X = 0.10  # a wrist's |x| stays above this when its hand moves sideways on its own, metres
TRANSLATION_RANGE = (0.13, 0.22)  # metres travelled by a translation primitive
POSITION_NOISE = 0.003
ANGLE_NOISE = 0.015


@dataclass
class WristPath:
    """One hand's wrist over F frames: positions (F,3) metres and hand-symmetric angles (F,4) radians."""

    position: np.ndarray
    angles: np.ndarray

    def rotvec(self, side: str) -> np.ndarray:
        """World ``global_orient`` (F, 3) axis-angle of ``side``."""
        return orientation_rotvec(self.angles, side)


def orientation_rotvec(angles: np.ndarray, side: str) -> np.ndarray:
    """Hand-symmetric angles (..., 4) (swing, yaw, pitch, supination) -> world axis-angle (..., 3)."""
    a = np.asarray(angles, dtype=np.float64)
    flat = a.reshape(-1, 4)
    s = 1.0 if side == "right" else -1.0
    rot = (
        Rotation.from_euler("z", s * flat[:, 0:1])
        * Rotation.from_euler("y", s * flat[:, 1:2])
        * Rotation.from_euler("x", -flat[:, 2:3])
        * Rotation.from_euler("z", s * flat[:, 3:4])
        * Rotation.from_euler("y", np.full((len(flat), 1), s * np.pi / 2))
    )
    return rot.as_rotvec().reshape(*a.shape[:-1], 3)


def palm_facing(wrist: str, relation_posture: str | None = None) -> str:
    """Which way the palm faces on average: "down", "forward" (raised, waving), "inward" or "up"."""
    if relation_posture is not None:
        return relation_posture
    return "forward" if wrist == "wave" else "down"


def rest_anchor(side: str, rng: np.random.Generator, jitter: float = 0.015) -> np.ndarray:
    """The hand's resting wrist position in front of the chest (3,), jittered by ``jitter`` metres."""
    return REST_WRIST[side] + rng.uniform(-jitter, jitter, 3)


def posture_jitter(rng: np.random.Generator, scale: float = 0.06) -> np.ndarray:
    """A small constant offset (4,) of the four angles, radians."""
    return rng.uniform(-scale, scale, 4)


def with_noise(path: WristPath, rng: np.random.Generator, scale: float = 1.0) -> WristPath:
    """``path`` plus smooth noise of about 3 mm and 0.015 rad (times ``scale``)."""
    frames = len(path.position)
    return WristPath(
        position=path.position + curves.smooth_noise(rng, frames, 3, scale * POSITION_NOISE),
        angles=path.angles + curves.smooth_noise(rng, frames, 4, scale * ANGLE_NOISE),
    )


def translation_start(name: str, side: str, anchor: np.ndarray, distance: float) -> np.ndarray:
    """Start (3,) of a translation of ``distance`` metres so that the path is centred on ``anchor``.

    Sideways paths are centred further out when needed so that the wrist keeps
    ``|x| >= INNER_X`` (each hand stays on its own side of the body).
    """
    direction = np.asarray(TRANSLATIONS[name])
    centre = anchor.copy()
    if direction[0] != 0.0:
        sign = 1.0 if side == "left" else -1.0
        centre[0] = sign * max(abs(anchor[0]), INNER_X + 0.5 * distance)
    return centre - 0.5 * distance * direction


def wrist_primitive(
    name: str, side: str, frames: int, anchor: np.ndarray, rng: np.random.Generator, noise: bool = True
) -> WristPath:
    """The wrist path of primitive ``name`` for ``side`` around ``anchor`` (3,), with smooth noise.

    - ``still``: holds the rest posture.
    - ``wave``: fingers raised (palm forward), tilting side to side by 0.4-0.5 rad every 30-34 frames.
    - ``rotate``: palm rolls about the forearm by 0.7-0.9 rad each way every 32-40 frames.
    - translations: 13-22 cm along the named direction with :func:`curves.progress` (always moving).
    """
    if name not in WRIST_PRIMITIVES:
        raise ValueError(f"unknown wrist primitive {name!r}; expected one of {WRIST_PRIMITIVES}")
    angles = np.zeros((frames, 4)) + posture_jitter(rng)
    position = np.repeat(anchor[None], frames, axis=0)
    if name == "wave":
        angles[:, 2] += WAVE_PITCH
        amplitude, period = rng.uniform(0.4, 0.5), rng.uniform(30.0, 34.0)
        angles[:, 0] += amplitude * curves.oscillation(frames, period, rng.uniform(0, 2 * np.pi))
    elif name == "rotate":
        amplitude, period = rng.uniform(0.7, 0.9), rng.uniform(32.0, 40.0)
        angles[:, 3] += amplitude * curves.oscillation(frames, period, rng.uniform(0, 2 * np.pi))
    elif name in TRANSLATIONS:
        distance = rng.uniform(*TRANSLATION_RANGE)
        start = translation_start(name, side, anchor, distance)
        step = distance * np.asarray(TRANSLATIONS[name])
        position = start[None] + curves.progress(frames)[:, None] * step[None]
    path = WristPath(position=position, angles=angles)
    return with_noise(path, rng) if noise else path


def mirrored(path: WristPath) -> WristPath:
    """The other hand's mirror-image path: x negated; the hand-symmetric angles stay the same."""
    position = path.position.copy()
    position[:, 0] *= -1.0
    return WristPath(position=position, angles=path.angles.copy())
