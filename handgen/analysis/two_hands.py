"""Two-hand features: distances between the hands, relative palm position, mirror symmetry.

Joints are ``(T, 2, 21, 3)`` metres, hand 0 left, 1 right. Palm points lie on the palm skin
(:func:`hand_frame.palm_points`). The keypoint palm centres stay 4.5-6.5 cm apart when two
palms press flat together (each centre sits ~1.35 cm inside its palm and the hands are offset
sideways), so palm-to-palm contact is read on the centres with :data:`PALM_CONTACT`.
"""

from __future__ import annotations

import numpy as np

from handgen.hand.topology import FINGERTIP_KEYPOINTS

from handgen.analysis.hand_frame import hand_frame

TIP_CONTACT = 0.025  # fingertip to fingertip / fingertip to palm, metres (HandX)
TIP_NEAR = 0.035  # 2.5-3.5 cm: near; beyond: far
PALM_CONTACT = 0.065  # palm centre to palm centre when the palms touch, metres
PALM_BANDS: tuple[float, ...] = (PALM_CONTACT, 0.15, 0.30)  # touching | close | apart | far
PALM_BAND_NAMES: tuple[str, ...] = ("touching", "close", "apart", "far")
ALIGNED = 0.02  # relative palm position within 2 cm along an axis counts as aligned, metres
MIRROR = np.diag([-1.0, 1.0, 1.0])  # x-mirror of a world vector


def tip_to_tip_distances(joints: np.ndarray) -> np.ndarray:
    """(T, 5, 5) metres: left fingertip i (thumb..pinky) to right fingertip j."""
    tips = joints[:, :, list(FINGERTIP_KEYPOINTS)]
    return np.linalg.norm(tips[:, 0, :, None] - tips[:, 1, None, :], axis=-1)


def palm_centres(joints: np.ndarray) -> np.ndarray:
    """(T, 2, 3) palm centres of both hands, metres."""
    return np.stack([hand_frame(joints[:, h], h).centre for h in (0, 1)], axis=1)


def palms_facing(centres: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(T,) in [-1, 1]: how much the two palms face each other (1 = face to face along the line between them).

    ``centres`` and ``normals`` are (T, 2, 3): palm centres and unit normals out of the palms.
    """
    c = centres
    n_left, n_right = normals[:, 0], normals[:, 1]
    between = c[:, 1] - c[:, 0]
    between = between / np.maximum(np.linalg.norm(between, axis=-1, keepdims=True), 1e-9)
    return 0.5 * ((n_left * between).sum(-1) - (n_right * between).sum(-1))


def mirror_similarity(velocity: np.ndarray, rates: np.ndarray, floor: float = 0.05) -> np.ndarray:
    """(T,) in [-1, 1]: how much the two hands move as mirror images, frame by frame.

    ``velocity`` (T, 2, 3) m/s world wrist velocities; ``rates`` (T, 2, 3) rad/s mirror-signed
    rotation rates (:func:`wrist.rotation_rates`). The left hand's motion is compared with
    the x-mirror of the right's (rotation rates are already mirror-signed; 0.1 m of reach per
    radian puts them on the velocity's scale). Frames where either hand barely moves
    (``floor`` in m/s) score 0.
    """
    left = np.concatenate([velocity[:, 0], 0.1 * rates[:, 0]], axis=-1)
    right = np.concatenate([velocity[:, 1] @ MIRROR, 0.1 * rates[:, 1]], axis=-1)
    nl, nr = np.linalg.norm(left, axis=-1), np.linalg.norm(right, axis=-1)
    cos = (left * right).sum(-1) / np.maximum(nl * nr, 1e-12)
    # equal magnitudes count too: 2 |a||b| / (|a|^2 + |b|^2) is 1 only for equal speeds
    balance = 2 * nl * nr / np.maximum(nl**2 + nr**2, 1e-12)
    moving = (nl > floor) & (nr > floor)
    return np.where(moving, cos * balance, 0.0)


def closing_speeds(points: np.ndarray, velocity: np.ndarray) -> np.ndarray:
    """(T, 2) m/s: how fast each hand's point moves towards the other hand's (negative: away).

    ``points`` and ``velocity`` are (T, 2, 3) (e.g. the wrists); the two speeds sum to minus
    the rate of change of the distance between the points.
    """
    between = points[:, 1] - points[:, 0]
    between = between / np.maximum(np.linalg.norm(between, axis=-1, keepdims=True), 1e-9)
    return np.stack([(velocity[:, 0] * between).sum(-1), -(velocity[:, 1] * between).sum(-1)], axis=-1)
