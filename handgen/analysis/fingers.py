"""Per-hand finger features from the 21 keypoints: flexion, flexion states, thumb contacts, spacing.

Flexion of a joint is the bend between consecutive bones measured in the finger's
flexion plane (signed: + towards the palm, - hyper-extension), radians:

- the MCP of a long finger bends between the palm plane (the wrist -> knuckle direction
  flattened onto it) and the proximal phalanx; PIP and DIP between consecutive phalanges;
- the thumb's three joints (CMC, MCP, IP) use the unsigned bend between its consecutive bones
  (wrist -> CMC -> MCP -> IP -> tip).

States (docs/reference.md section 4): extended <= pi/6, partially bent pi/6..pi/3, fully bent > pi/3,
hyper-extended < -pi/12. A finger's state is that of its *curl*: the flexion of the more bent
of its two main joints (MCP and PIP of a long finger, MCP and IP of the thumb); the DIP
follows the PIP and the thumb's CMC mostly moves sideways.
"""

from __future__ import annotations

import numpy as np

from handgen.hand.topology import FINGER_KEYPOINTS, FINGERS, FINGERTIP_KEYPOINTS, WRIST_KEYPOINT

from handgen.analysis.hand_frame import HandFrame, hand_frame, unit

FLEXION_STATES: tuple[str, ...] = ("hyper-extended", "extended", "partially bent", "fully bent")
EXTENDED_MAX = np.pi / 6
PARTIAL_MAX = np.pi / 3
HYPER_MIN = -np.pi / 12
# band edges between consecutive FLEXION_STATES, radians
FLEXION_EDGES: tuple[float, ...] = (HYPER_MIN, EXTENDED_MAX, PARTIAL_MAX)
THUMB_CONTACT = 0.02  # thumb tip to a fingertip, metres
LONG_FINGERS: tuple[str, ...] = FINGERS[1:]
THUMB_TIP = FINGERTIP_KEYPOINTS[0]


def _signed_angle(a: np.ndarray, b: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Angle from ``a`` to ``b`` about ``axis`` after projecting both onto the plane normal to it."""
    a = a - (a * axis).sum(-1, keepdims=True) * axis
    b = b - (b * axis).sum(-1, keepdims=True) * axis
    return np.arctan2((np.cross(a, b) * axis).sum(-1), (a * b).sum(-1))


def _unsigned_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = (unit(a) * unit(b)).sum(-1)
    return np.arccos(np.clip(cos, -1.0, 1.0))


def flexion(joints: np.ndarray, hand: int, frame: HandFrame | None = None) -> np.ndarray:
    """Joint flexion (..., 5, 3) of hand ``hand``: fingers thumb..pinky, joints base..distal, radians.

    ``frame`` is the hand's :func:`hand_frame` when the caller has it already.
    """
    frame = frame or hand_frame(joints, hand)
    wrist = joints[..., WRIST_KEYPOINT, :]
    out = np.empty(joints.shape[:-2] + (5, 3))
    for f, finger in enumerate(FINGERS):
        k = FINGER_KEYPOINTS[finger]
        bones = [joints[..., k[0], :] - wrist] + [joints[..., k[i + 1], :] - joints[..., k[i], :] for i in range(3)]
        if finger == "thumb":
            for j in range(3):
                out[..., f, j] = _unsigned_angle(bones[j], bones[j + 1])
            continue
        metacarpal = bones[0] - (bones[0] * frame.normal).sum(-1, keepdims=True) * frame.normal
        chain = [metacarpal, *bones[1:]]
        for j in range(3):
            out[..., f, j] = _signed_angle(chain[j], chain[j + 1], frame.lateral)
    return out


def flexion_state_index(values: np.ndarray) -> np.ndarray:
    """Index into :data:`FLEXION_STATES` of each flexion value (any shape), radians."""
    return np.digitize(values, FLEXION_EDGES, right=True)


def finger_curl(flex: np.ndarray) -> np.ndarray:
    """One flexion per finger (..., 5) from :func:`flexion` (..., 5, 3), radians.

    Long fingers: the larger of MCP and PIP; the thumb: the larger of MCP and IP. A finger
    hyper-extended at its base (and bent nowhere) reports that negative base flexion.
    """
    curl = np.empty(flex.shape[:-1])
    curl[..., 0] = flex[..., 0, 1:].max(axis=-1)
    curl[..., 1:] = flex[..., 1:, :2].max(axis=-1)
    base = flex[..., 1:, 0]
    hyper = (base < HYPER_MIN) & (curl[..., 1:] <= EXTENDED_MAX)
    curl[..., 1:] = np.where(hyper, base, curl[..., 1:])
    return curl


def thumb_tip_distances(joints: np.ndarray) -> np.ndarray:
    """Thumb tip to the index, middle, ring and pinky tips (..., 4), metres."""
    tips = joints[..., list(FINGERTIP_KEYPOINTS[1:]), :]
    return np.linalg.norm(tips - joints[..., THUMB_TIP, None, :], axis=-1)


def finger_spacing(joints: np.ndarray, hand: int, frame: HandFrame | None = None) -> np.ndarray:
    """Angles (..., 3) between adjacent long fingers (index-middle, middle-ring, ring-pinky), radians.

    Each finger's direction is knuckle -> fingertip projected onto the palm plane, so
    curling does not read as spreading.
    """
    normal = (frame or hand_frame(joints, hand)).normal
    dirs = []
    for finger in LONG_FINGERS:
        k = FINGER_KEYPOINTS[finger]
        d = joints[..., k[1], :] - joints[..., k[0], :]
        dirs.append(d - (d * normal).sum(-1, keepdims=True) * normal)
    return np.stack([_unsigned_angle(dirs[i], dirs[i + 1]) for i in range(3)], axis=-1)


SHAPES: tuple[str, ...] = ("relaxed", "fist", "open", "flat", "point", "pinch", "other")
SPREAD_ENTER = 0.16  # mean angle between adjacent long fingers of a spread hand, radians
SPREAD_LEAVE = 0.12


def hand_shape(finger_state: np.ndarray, thumb_contact: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Index into :data:`SHAPES` per frame from finger states and contacts.

    Args:
        finger_state: (T, 5) indices into :data:`FLEXION_STATES` (thumb..pinky).
        thumb_contact: (T, 4) bool, thumb tip touching the index..pinky tips.
        spread: (T,) bool, the long fingers held apart.

    Shapes: ``fist`` (four long fingers fully bent), ``pinch`` (thumb on the index tip),
    ``point`` (index straight, the other three fully bent), ``open`` / ``flat`` (four straight
    fingers, apart / together), ``relaxed`` (none fully bent, at least two partially bent) and
    ``other``.
    """
    long = np.asarray(finger_state)[:, 1:]
    straight = long <= FLEXION_STATES.index("extended")
    full = long == FLEXION_STATES.index("fully bent")
    partial = long == FLEXION_STATES.index("partially bent")
    out = np.full(len(long), SHAPES.index("other"))
    rules = [  # later rules win
        (~full.any(axis=1) & (partial.sum(axis=1) >= 2), "relaxed"),
        (straight.all(axis=1) & ~spread, "flat"),
        (straight.all(axis=1) & spread, "open"),
        (straight[:, 0] & full[:, 1:].all(axis=1), "point"),
        (np.asarray(thumb_contact)[:, 0] & ~full.all(axis=1), "pinch"),
        (full.all(axis=1), "fist"),
    ]
    for mask, name in rules:
        out[mask] = SHAPES.index(name)
    return out
