"""Compiled (numba) forward kinematics of the MANO tree: the procedural hand's skeleton when no gradient is needed.

:func:`posed_skeleton` gives the numbers of :func:`handgen.hand.skinning.forward_kinematics`, then
:func:`~handgen.hand.skinning.rigid_skin` of the fingertips and the 21-keypoint order, bit for bit, in one pass:
torch multiplies these 3x3 matrices (batched, float32) with its small-matrix loop, each element
``((0 + a0 b0) + a1 b1) + a2 b2`` rounded to float32 at every step, and numba does the same operations in the
same order (it forms no fused multiply-adds without ``fastmath``). Torch spends ~0.6 ms on the dozen small
ops of a 90-frame batch, this loop ~0.05 ms (tests/test_procedural_hand.py compares the two paths).

Compiled once per machine (``cache=True``, beside this file in ``__pycache__`` or numba's user cache);
the first call in a process loads it (~0.1-0.3 CPU-s with numba's start-up).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def posed_skeleton(rotmats, joints_rest, tips_rest, parents, tip_parents, keypoint_order):
    """World rotations (B, J, 3, 3), posed joints (B, J, 3) and keypoints (B, K, 3), float32, metres.

    ``rotmats`` (B, J, 3, 3) local rotations (joint 0 the global orientation), ``joints_rest`` (B, J, 3) and
    ``tips_rest`` (B, 5, 3) rest positions, float32; ``parents`` (J,) each joint's parent (parents first),
    ``tip_parents`` (5,) the joint each tip is attached to, ``keypoint_order`` (K,) indices into joints + tips.
    The wrist keeps its rest place (as forward_kinematics).
    """
    batch, num_joints = rotmats.shape[0], rotmats.shape[1]
    num_tips = tips_rest.shape[1]
    rotations = np.empty((batch, num_joints, 3, 3), dtype=np.float32)
    positions = np.empty((batch, num_joints, 3), dtype=np.float32)
    keypoints = np.empty((batch, len(keypoint_order), 3), dtype=np.float32)
    points = np.empty((num_joints + num_tips, 3), dtype=np.float32)  # joints then tips, one frame
    zero = np.float32(0.0)
    for b in range(batch):
        for i in range(3):
            positions[b, 0, i] = joints_rest[b, 0, i]
            for j in range(3):
                rotations[b, 0, i, j] = rotmats[b, 0, i, j]
        for joint in range(1, num_joints):
            parent = parents[joint]
            o0 = joints_rest[b, joint, 0] - joints_rest[b, parent, 0]  # the bone in the rest pose
            o1 = joints_rest[b, joint, 1] - joints_rest[b, parent, 1]
            o2 = joints_rest[b, joint, 2] - joints_rest[b, parent, 2]
            for i in range(3):
                r0, r1, r2 = rotations[b, parent, i, 0], rotations[b, parent, i, 1], rotations[b, parent, i, 2]
                positions[b, joint, i] = positions[b, parent, i] + (((zero + r0 * o0) + r1 * o1) + r2 * o2)
                for j in range(3):
                    rotations[b, joint, i, j] = (((zero + r0 * rotmats[b, joint, 0, j]) + r1 * rotmats[b, joint, 1, j])
                                                 + r2 * rotmats[b, joint, 2, j])
        for joint in range(num_joints):
            for i in range(3):
                points[joint, i] = positions[b, joint, i]
        for t in range(num_tips):
            p = tip_parents[t]
            l0 = tips_rest[b, t, 0] - joints_rest[b, p, 0]
            l1 = tips_rest[b, t, 1] - joints_rest[b, p, 1]
            l2 = tips_rest[b, t, 2] - joints_rest[b, p, 2]
            for i in range(3):
                points[num_joints + t, i] = positions[b, p, i] + (
                    ((zero + rotations[b, p, i, 0] * l0) + rotations[b, p, i, 1] * l1) + rotations[b, p, i, 2] * l2)
        for k in range(len(keypoint_order)):
            for i in range(3):
                keypoints[b, k, i] = points[keypoint_order[k], i]
    return rotations, positions, keypoints
