"""A precision pinch: the object between the thumb tip and the index tip, closed until both touch.

Works against a signed distance function of world points like :mod:`data_prep.synthetic.grasp_solver`:

1. the pre-shape is the ``pinch`` primitive opened :data:`APERTURE` of the way towards the open
   hand (thumb and index tips ~7 cm apart, the other fingers half relaxed);
2. the hand is turned as :func:`~data_prep.synthetic.grasp_solver.hand_rotation` asks (fingers,
   palm normal), then by the smallest rotation that lays its index-to-thumb line along ``axis``;
3. it is moved so that the midpoint of the two tips is ``pinch_point`` (inside a thin object),
   and backed off along the tips-to-palm direction while any vertex is closer than ``GAP``;
4. the fingers close towards the ``pinch`` primitive (:func:`grasp_solver.close_fingers` with that
   target): thumb and index stop when they touch, from opposite sides of the object.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from data_prep.synthetic.finger_poses import finger_pose
from data_prep.synthetic.grasp_solver import GAP, HandGrasp, SignedDistance, close_fingers, hand_rotation, open_hand
from data_prep.synthetic.hand_geometry import pose_hand
from handgen.hand.topology import FINGERTIP_KEYPOINTS, PALM_KEYPOINTS

APERTURE = 0.65  # pre-shape = pinch + APERTURE * (open - pinch): tips ~7 cm apart
THUMB_TIP, INDEX_TIP = FINGERTIP_KEYPOINTS[0], FINGERTIP_KEYPOINTS[1]


def pinch_preshape(side: str) -> np.ndarray:
    """The opened pinch (45,), absolute pose."""
    pinch = finger_pose("pinch", side)
    return pinch + APERTURE * (open_hand(side) - pinch)


def pinch_grasp(
    side: str, finger_dir: np.ndarray, palm_normal: np.ndarray, pinch_point: np.ndarray, axis: np.ndarray,
    betas: np.ndarray, sdf: SignedDistance,
) -> HandGrasp:
    """One hand pinching the object at ``pinch_point`` (world, metres), thumb at ``+axis`` from the index.

    ``axis`` (3,) is the direction from the index tip to the thumb tip (e.g. towards the person when
    the thumb goes behind a bar and the index in front of it).
    """
    open_pose = pinch_preshape(side)
    start = Rotation.from_rotvec(hand_rotation(side, finger_dir, palm_normal))
    local = pose_hand(side, np.zeros((1, 3)), open_pose[None], betas).joints[0]  # (21,3)
    turn, _ = Rotation.align_vectors([np.asarray(axis, dtype=np.float64)],
                                     [start.apply(local[THUMB_TIP] - local[INDEX_TIP])])
    rotvec = (turn * start).as_rotvec()
    posed = pose_hand(side, rotvec[None], open_pose[None], betas)
    joints, verts = posed.joints[0], posed.vertices[0]
    mid = 0.5 * (joints[THUMB_TIP] + joints[INDEX_TIP])
    back = joints[list(PALM_KEYPOINTS)].mean(axis=0) - mid
    back = back / np.linalg.norm(back)
    wrist = np.asarray(pinch_point, dtype=np.float64) - mid
    for _ in range(60):  # back off while the open hand is closer than GAP (sphere tracing, outward)
        clearance = float(sdf(verts + wrist).min())
        if clearance >= GAP - 2e-4:
            break
        wrist = wrist + (GAP - clearance) * back
    pose, touching = close_fingers(side, rotvec, wrist, open_pose, betas, sdf, target=finger_pose("pinch", side))
    return HandGrasp(side, rotvec, wrist, open_pose, pose, touching)
