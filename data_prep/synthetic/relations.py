"""Two-hand relations: wrist paths of both hands that together show a relation.

- ``none``: each hand follows its own wrist primitive (nothing coordinated).
- ``approach`` / ``separate``: palms down, the hands slide towards each other from 26-34 cm
  apart until a 3-4 cm gap is left / start 3-4 cm apart and slide 26-34 cm apart.
- ``clap``: palms turned to face each other (tilted ~7 deg up, so that palm meets palm
  rather than thumb meets thumb); the hands meet (a 3 mm gap between the meshes) every
  20-26 frames, so any 60-frame window holds at least two claps.
- ``touch_palm``: one hand turns its open palm up and holds still; the other, pointing,
  comes down 11-15 cm until its index fingertip rests on the centre of that palm.
- ``mirror``: both hands do the mirror image of one wrist primitive, in sync.

Hand-to-hand distances are measured on the posed procedural meshes frame by
frame (:mod:`hand_geometry`): approach, separate and clap keep the two hands in
disjoint slabs along x, so they meet but never pass through each other.
"""

from __future__ import annotations

import numpy as np

from handgen.hand.topology import FINGER_KEYPOINTS, HANDS

from data_prep.synthetic import curves
from data_prep.synthetic.hand_geometry import PALM_SURFACE_OFFSET, palm_normal, pose_hand
from data_prep.synthetic.wrist_paths import (
    REST_WRIST,
    WristPath,
    mirrored,
    orientation_rotvec,
    posture_jitter,
    rest_anchor,
    with_noise,
    wrist_primitive,
)

RELATIONS: tuple[str, ...] = ("none", "approach", "separate", "clap", "touch_palm", "mirror")
MIRROR_WRISTS: tuple[str, ...] = ("wave", "rotate", "up", "down", "forward", "back")
CLAP_GAP = 0.003  # metres between the two meshes at each clap
TOUCH_DEPTH = PALM_SURFACE_OFFSET + 0.0015  # index fingertip above the palm mid-plane at contact, metres
_X = np.array([1.0, 0.0, 0.0])
INDEX_TIP = FINGER_KEYPOINTS["index"][3]


def _centre(rng: np.random.Generator) -> np.ndarray:
    """A point midway between the rest wrists, jittered (3,)."""
    return 0.5 * (REST_WRIST["left"] + REST_WRIST["right"]) + rng.uniform(-0.015, 0.015, 3)


def _side_by_side(
    angles: dict[str, np.ndarray],
    fingers: dict[str, np.ndarray],
    betas: np.ndarray,
    gap: np.ndarray,
    centre: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, WristPath]:
    """Place the wrists so that the meshes are ``gap`` (F,) metres apart along x, frame by frame.

    The left hand (at +x) keeps all its vertices at x >= the right hand's largest x + gap.
    """
    frames = len(gap)
    reach = {}
    for side, direction in (("left", -_X), ("right", _X)):
        posed = pose_hand(side, orientation_rotvec(angles[side], side), fingers[side], betas)
        reach[side] = posed.extent(direction)
    separation = gap + reach["left"] + reach["right"]  # wrist x distance
    paths = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        position = np.repeat(centre[None], frames, axis=0)
        position[:, 0] += sign * 0.5 * separation
        position[:, 1:] += curves.smooth_noise(rng, frames, 2, 0.003)
        paths[side] = WristPath(position=position, angles=angles[side])
    return paths


def _noisy_angles(
    base: np.ndarray, frames: int, rng: np.random.Generator, noise: float = 0.015, jitter: float = 0.05
) -> np.ndarray:
    """Angles (F,4): ``base`` (4,) plus a constant jitter and smooth noise, radians."""
    return base[None] + posture_jitter(rng, jitter)[None] + curves.smooth_noise(rng, frames, 4, noise)


def approach_or_separate(
    relation: str, fingers: dict[str, np.ndarray], betas: np.ndarray, rng: np.random.Generator
) -> dict[str, WristPath]:
    frames = len(fingers["left"])
    angles = {side: _noisy_angles(np.zeros(4), frames, rng) for side in ("left", "right")}
    far, near = rng.uniform(0.26, 0.34), rng.uniform(0.03, 0.04)
    s = curves.progress(frames)
    gap = far + (near - far) * s if relation == "approach" else near + (far - near) * s
    return _side_by_side(angles, fingers, betas, gap, _centre(rng), rng)


def clap(fingers: dict[str, np.ndarray], betas: np.ndarray, rng: np.random.Generator) -> dict[str, WristPath]:
    frames = len(fingers["left"])
    # one shared (mirror-symmetric) posture so that the palms stay parallel and meet flat
    posture = np.array([0.0, -rng.uniform(0.0, 0.1), rng.uniform(0.2, 0.45), np.pi / 2 + 0.13])
    posture += posture_jitter(rng, 0.04)
    angles = {side: _noisy_angles(posture, frames, rng, noise=0.008, jitter=0.01) for side in ("left", "right")}
    period, widest = rng.uniform(20.0, 26.0), rng.uniform(0.10, 0.16)
    opening = 0.5 * (1.0 - curves.oscillation(frames, period, rng.uniform(0, 2 * np.pi) + np.pi / 2))
    gap = CLAP_GAP + (widest - CLAP_GAP) * opening
    return _side_by_side(angles, fingers, betas, gap, _centre(rng), rng)


def touch_palm(
    toucher: str, fingers: dict[str, np.ndarray], betas: np.ndarray, rng: np.random.Generator
) -> dict[str, WristPath]:
    """``toucher`` points and lowers its index tip onto the other hand's upturned palm."""
    receiver = "right" if toucher == "left" else "left"
    frames = len(fingers["left"])
    anchor = rest_anchor(receiver, rng, 0.01)
    anchor[0] = np.sign(anchor[0]) * rng.uniform(0.06, 0.09)
    anchor[1] -= 0.05
    palm_up = np.array([0.0, 0.0, rng.uniform(0.0, 0.15), np.pi])
    held = WristPath(position=np.repeat(anchor[None], frames, axis=0), angles=_noisy_angles(palm_up, frames, rng, 0.01))
    held.position = held.position + curves.smooth_noise(rng, frames, 3, 0.002)
    rot = held.rotvec(receiver)
    palm = pose_hand(receiver, rot, fingers[receiver], betas).palm_centre() + held.position
    target = palm + TOUCH_DEPTH * palm_normal(rot)

    posture = np.array([0.0, rng.uniform(0.3, 0.5), -rng.uniform(0.7, 0.9), 0.0])
    angles = _noisy_angles(posture, frames, rng, noise=0.01)
    tip = pose_hand(toucher, orientation_rotvec(angles, toucher), fingers[toucher], betas).joints[:, INDEX_TIP]
    # the descent ends at 45-55 % of the segment, so that every 60-frame clip sees some of it and the touch
    lift = rng.uniform(0.11, 0.15) * (1.0 - curves.ramp(frames, rng.uniform(0.45, 0.55) * frames))
    position = target - tip
    position[:, 1] += lift
    return {receiver: held, toucher: WristPath(position=position, angles=angles)}


def mirror(wrist: str, frames: int, rng: np.random.Generator) -> dict[str, WristPath]:
    """Both hands do wrist primitive ``wrist`` in mirror image (left path mirrored onto the right)."""
    left = wrist_primitive(wrist, "left", frames, rest_anchor("left", rng), rng, noise=False)
    paths = {"left": left, "right": mirrored(left)}
    return {side: with_noise(path, rng) for side, path in paths.items()}


def independent(wrists: dict[str, str], frames: int, rng: np.random.Generator) -> dict[str, WristPath]:
    """Relation ``none``: each hand its own wrist primitive around its own rest position."""
    return {side: wrist_primitive(wrists[side], side, frames, rest_anchor(side, rng), rng) for side in HANDS}
