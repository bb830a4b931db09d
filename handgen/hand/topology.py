"""MANO kinematic topology shared by every hand model.

MANO has 16 kinematic joints (0 wrist, 1-3 index, 4-6 middle, 7-9 pinky,
10-12 ring, 13-15 thumb). handgen appends the five fingertips as joints 16..20
(thumb, index, middle, ring, pinky) and reports the field's 21-keypoint order
(wrist, then thumb, index, middle, ring, pinky, each base -> tip).
"""

from __future__ import annotations

NUM_MANO_JOINTS = 16
NUM_POSE_JOINTS = 15  # hand_pose (45,) = 15 joints x axis-angle
NUM_KEYPOINTS = 21
NUM_BETAS = 10

# parent of each of the 16 MANO joints
MANO_PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)

MANO_JOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "index1", "index2", "index3",
    "middle1", "middle2", "middle3",
    "pinky1", "pinky2", "pinky3",
    "ring1", "ring2", "ring3",
    "thumb1", "thumb2", "thumb3",
)

# fingertips appended after the 16 joints, and the MANO joint each hangs from
TIP_NAMES: tuple[str, ...] = ("thumb_tip", "index_tip", "middle_tip", "ring_tip", "pinky_tip")
TIP_PARENTS: tuple[int, ...] = (15, 3, 6, 12, 9)

# 21-keypoint order from (16 joints + 5 tips); docs/reference.md section 1
KEYPOINTS_FROM_MANO: tuple[int, ...] = (
    0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20,
)
KEYPOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb1", "thumb2", "thumb3", "thumb_tip",
    "index1", "index2", "index3", "index_tip",
    "middle1", "middle2", "middle3", "middle_tip",
    "ring1", "ring2", "ring3", "ring_tip",
    "pinky1", "pinky2", "pinky3", "pinky_tip",
)

FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")
# MANO joint indices (base -> distal) of each finger
FINGER_MANO_JOINTS: dict[str, tuple[int, int, int]] = {
    "thumb": (13, 14, 15),
    "index": (1, 2, 3),
    "middle": (4, 5, 6),
    "ring": (10, 11, 12),
    "pinky": (7, 8, 9),
}
# 21-keypoint indices of each finger, base -> tip
FINGER_KEYPOINTS: dict[str, tuple[int, int, int, int]] = {
    name: (1 + 4 * i, 2 + 4 * i, 3 + 4 * i, 4 + 4 * i) for i, name in enumerate(FINGERS)
}
FINGERTIP_KEYPOINTS: tuple[int, ...] = (4, 8, 12, 16, 20)  # thumb, index, middle, ring, pinky
WRIST_KEYPOINT = 0
# keypoints spanning the palm (wrist + the four finger MCPs), used for palm centres/normals
PALM_KEYPOINTS: tuple[int, ...] = (0, 5, 9, 13, 17)

HANDS: tuple[str, ...] = ("left", "right")  # index 0 left, 1 right everywhere in handgen
TEXT_BRANCHES: tuple[str, ...] = ("left", "right", "both")  # the three texts: each hand, and the two together


def pose_slice(mano_joint: int) -> slice:
    """Slice of the 45-D ``hand_pose`` holding MANO joint ``mano_joint`` (1..15)."""
    if not 1 <= mano_joint <= 15:
        raise ValueError(f"hand_pose holds MANO joints 1..15, got {mano_joint}")
    start = 3 * (mano_joint - 1)
    return slice(start, start + 3)
