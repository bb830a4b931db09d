"""Rest anatomy of the procedural right hand, in MANO's template frame.

Numbers follow docs/reference.md section 1b (approximate adult MANO mean hand):
fingers point along -x, the palm faces -y, the thumb sits on +z, and the wrist
is ~96 mm along +x from the template origin. Every joint frame is aligned with
the template axes at rest, so right-hand finger flexion is a positive rotation
about +z. The left hand is the exact x-mirror (see :func:`mirror_points`).

All public arrays are in metres (float64 numpy).
"""

from __future__ import annotations

import numpy as np

from handgen.hand.topology import NUM_MANO_JOINTS

MM = 1e-3

# MANO right template: wrist joint position (m) relative to the template origin
WRIST_IN_TEMPLATE = np.array([0.0957, 0.0064, 0.0062])

# finger base (MCP, or thumb CMC) relative to the wrist, mm
_FINGER_BASE_MM = {
    "index": (-88.0, -5.0, 21.0),
    "middle": (-95.0, -2.0, -3.0),
    "ring": (-82.0, -4.0, -27.0),
    "pinky": (-69.0, -10.0, -43.0),
    "thumb": (-24.0, -16.0, 26.0),
}
# pointing direction of each finger at rest (normalised below): along -x,
# fanning towards -z for ring/pinky; the thumb runs diagonally in x-z
_FINGER_DIR = {
    "index": (-1.0, -0.02, 0.05),
    "middle": (-1.0, -0.02, -0.02),
    "ring": (-1.0, -0.02, -0.10),
    "pinky": (-1.0, -0.03, -0.20),
    "thumb": (-69.0, -9.0, 59.0),
}
# segment lengths base->2nd joint, 2nd->3rd, 3rd->tip, mm
_FINGER_SEGMENTS_MM = {
    "index": (33.0, 22.0, 24.0),
    "middle": (32.0, 23.0, 27.0),
    "ring": (29.0, 25.0, 24.0),
    "pinky": (21.0, 19.0, 19.0),
    "thumb": (31.0, 27.0, 35.0),
}
# flesh radius around each segment, mm (tapering towards the tip)
_FINGER_RADII_MM = {
    "index": (9.5, 8.5, 7.8),
    "middle": (9.8, 8.8, 8.0),
    "ring": (9.2, 8.3, 7.6),
    "pinky": (8.2, 7.4, 6.8),
    "thumb": (12.5, 10.0, 8.8),
}
_FINGER_MANO = {
    "index": (1, 2, 3),
    "middle": (4, 5, 6),
    "pinky": (7, 8, 9),
    "ring": (10, 11, 12),
    "thumb": (13, 14, 15),
}
_TIP_ORDER = ("thumb", "index", "middle", "ring", "pinky")


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def rest_skeleton() -> tuple[np.ndarray, np.ndarray]:
    """Rest joints of the right hand in the MANO template frame.

    Returns:
        joints: (16, 3) MANO joints, metres.
        tips: (5, 3) fingertip surface points (thumb, index, middle, ring, pinky), metres.
    """
    joints = np.zeros((NUM_MANO_JOINTS, 3))
    tips = np.zeros((5, 3))
    joints[0] = 0.0
    for finger, (j1, j2, j3) in _FINGER_MANO.items():
        base = np.array(_FINGER_BASE_MM[finger])
        d = _unit(_FINGER_DIR[finger])
        s1, s2, s3 = _FINGER_SEGMENTS_MM[finger]
        joints[j1] = base
        joints[j2] = base + s1 * d
        joints[j3] = base + (s1 + s2) * d
        tips[_TIP_ORDER.index(finger)] = base + (s1 + s2 + s3) * d
    joints = joints * MM + WRIST_IN_TEMPLATE
    tips = tips * MM + WRIST_IN_TEMPLATE
    return joints, tips


def bone_capsules() -> list[tuple[int, np.ndarray, np.ndarray, float]]:
    """Finger segments as capsules ``(mano_joint, start, end, radius)`` in metres.

    The segment of joint j runs from j to its child (or fingertip); the
    fingertip point is the far end of the distal capsule's axis, and the
    distal capsule is shortened by its radius so that the tip lies on the
    surface.
    """
    joints, tips = rest_skeleton()
    caps = []
    for finger, chain in _FINGER_MANO.items():
        ends = [joints[chain[1]], joints[chain[2]], tips[_TIP_ORDER.index(finger)]]
        radii = _FINGER_RADII_MM[finger]
        for k, j in enumerate(chain):
            start, end = joints[j], ends[k]
            r = radii[k] * MM
            if k == 2:  # keep the fingertip on the surface
                end = end - r * _unit(end - start)
            caps.append((j, start.copy(), end.copy(), r))
    return caps


def palm_outline() -> tuple[np.ndarray, float, float]:
    """The palm as a rounded slab: a convex x-z polygon, half-thickness and rounding radius.

    Returns:
        polygon: (P, 2) x-z corners in the template frame, metres, counter-clockwise
            when seen from +y.
        half_thickness, rounding: metres. The slab is centred at the palm plane y.
    """
    w = WRIST_IN_TEMPLATE
    # corners relative to the wrist, mm (x, z), inset by the rounding radius
    corners_mm = np.array([
        (-6.0, 14.0),    # wrist, thumb side
        (-80.0, 17.0),   # index knuckle
        (-88.0, -4.0),   # middle knuckle
        (-76.0, -26.0),  # ring knuckle
        (-63.0, -38.0),  # pinky knuckle
        (-8.0, -20.0),   # wrist, pinky side
    ])
    poly = corners_mm * MM + w[[0, 2]]
    return poly, 3.5 * MM, 10.0 * MM


def palm_plane_y() -> float:
    """y of the palm slab's mid-plane in the template frame, metres."""
    return float(WRIST_IN_TEMPLATE[1] - 5.0 * MM)


def thenar_capsules() -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Capsules filling the thenar eminence (wrist -> thumb CMC -> thumb MCP), metres."""
    joints, _ = rest_skeleton()
    w = joints[0]
    return [
        (w + np.array([-8.0, -6.0, 5.0]) * MM, joints[13], 12.0 * MM),
        (joints[13], 0.5 * (joints[13] + joints[14]), 13.0 * MM),
    ]


def right_hands_mean() -> np.ndarray:
    """Mean finger pose (45,) of the right hand: a relaxed, slightly curled hand (radians).

    Flexion is about +z for the four fingers; values from docs/reference.md section 1b.
    """
    mean = np.zeros((15, 3))
    flex = {
        "index": (0.42, 0.76, 0.19),
        "middle": (0.53, 0.70, 0.34),
        "ring": (0.64, 0.63, 0.37),
        "pinky": (0.63, 0.51, 0.08),
    }
    for finger, values in flex.items():
        for j, v in zip(_FINGER_MANO[finger], values):
            mean[j - 1, 2] = v
    mean[7 - 1, 0] = -0.46  # pinky MCP twist
    mean[13 - 1] = (0.85, -0.28, 0.09)
    mean[14 - 1] = (-0.50, -0.03, -0.05)
    mean[15 - 1] = (0.54, -0.05, 0.28)
    return mean.reshape(45)


def mirror_points(points: np.ndarray) -> np.ndarray:
    """x-mirror of points (..., 3): right-hand geometry -> left-hand geometry."""
    out = np.array(points, dtype=np.float64, copy=True)
    out[..., 0] *= -1.0
    return out


def mirror_axis_angle(rotvec: np.ndarray) -> np.ndarray:
    """Map right-hand axis-angle (..., 3k) to the left hand: (x, y, z) -> (x, -y, -z)."""
    r = np.array(rotvec, dtype=np.float64, copy=True)
    shape = r.shape
    r = r.reshape(*shape[:-1], -1, 3)
    r[..., 1:] *= -1.0
    return r.reshape(shape)
