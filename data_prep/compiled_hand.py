"""The procedural hand with a compiled skeleton, for prep: the same numbers as torch's, ~10x faster per call.

:class:`CompiledSkeletonHand` is :class:`~handgen.hand.procedural.ProceduralHand` whose forward kinematics,
fingertips and keypoint order (its ``_kinematics``) run as one numba loop, :func:`posed_skeleton`, and whose
axis-angle to rotation matrices (``_local_rotations``) run as :func:`rodrigues` around torch's own square root and
cosine, when autograd does not track the pose (float32 on the CPU); otherwise torch's. Torch multiplies these 3x3 matrices (batched,
float32) with its small-matrix loop, each element ``((0 + a0 b0) + a1 b1) + a2 b2`` rounded to float32 at every
step; the loop does the same operations in the same order (numba forms no fused multiply-adds without
``fastmath``), so the numbers are the same bit for bit (tests/test_procedural_hand.py). Torch spends ~0.6 ms on
the dozen small ops of a 90-frame batch, the loop ~0.05 ms: prep poses each hand's skeleton once or twice per
sequence (features, and the contact with an object).

It lives in data_prep so that only prep pays numba: importing it costs ~0.2 CPU-s and the first call in a
process ~0.3-0.5 CPU-s (numba's start-up and its cached machine code; compiled once per machine, ~2 CPU-s, beside
this file in ``__pycache__`` or in numba's user cache), which prep spends in its setup (the pipeline's first call
of each hand) while a sampling or training process would lose more than it gains. :func:`with_compiled_skeleton`
swaps the procedural hands of a pair; MANO hands stay as they are.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

from data_prep.compiled_skinning import CompiledSkinning
from handgen.hand.pair import HandPair
from handgen.hand.procedural import ProceduralHand
from handgen.hand.topology import KEYPOINTS_FROM_MANO, MANO_PARENTS, TIP_PARENTS
from handgen.repr.rotations import MIN_ANGLE

# parents, the fingertips' joints and the 21-keypoint order, as posed_skeleton reads them
_TREE = tuple(np.asarray(ids, dtype=np.int64) for ids in (MANO_PARENTS, TIP_PARENTS, KEYPOINTS_FROM_MANO))


@numba.njit(cache=True, nogil=True)
def posed_skeleton(rotmats, joints_rest, tips_rest, parents, tip_parents, keypoint_order):
    """World rotations (B, J, 3, 3), posed joints (B, J, 3) and keypoints (B, K, 3), float32, metres.

    ``rotmats`` (B, J, 3, 3) local rotations (joint 0 the global orientation), ``joints_rest`` (B, J, 3) and
    ``tips_rest`` (B, 5, 3) rest positions, float32; ``parents`` (J,) each joint's parent (parents first),
    ``tip_parents`` (5,) the joint each tip is attached to, ``keypoint_order`` (K,) indices into joints + tips.
    The wrist keeps its rest place (as handgen.hand.skinning.forward_kinematics).
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


@numba.njit(cache=True, nogil=True)
def _squared_angles(rotvecs, floor):
    """``(x x + y y) + z z`` (n,) float32 of axis-angles (n, 3), raised to ``floor`` (torch's clamp_min; NaN stays)."""
    out = np.empty(rotvecs.shape[0], dtype=np.float32)
    for i in range(rotvecs.shape[0]):
        x, y, z = rotvecs[i, 0], rotvecs[i, 1], rotvecs[i, 2]
        s = (x * x + y * y) + z * z
        out[i] = floor if s < floor else s  # noqa: FURB136 - max() would drop a NaN, torch keeps it
    return out


@numba.njit(cache=True, nogil=True)
def _sinc(u):
    """torch.sinc of a float32: ``sin(pi u) / (pi u)`` with pi as a float32, the C library's sinf; 1 at 0."""
    if u == 0:
        return np.float32(1.0)
    product = np.float32(np.pi) * u
    return np.sin(product) / product


@numba.njit(cache=True, nogil=True)
def rodrigues(rotvecs, angle, cosine, inv_pi, half_inv_pi):
    """:func:`handgen.repr.rotations.rotvec_to_rotmat` (n, 3, 3) float32 from the axis-angles (n, 3), their angles
    (n,) and cosines (n,) as torch computed them: the same float32 operations in the same order."""
    out = np.empty((rotvecs.shape[0], 3, 3), dtype=np.float32)
    half = np.float32(0.5)
    for i in range(rotvecs.shape[0]):
        x, y, z = rotvecs[i, 0], rotvecs[i, 1], rotvecs[i, 2]
        a = _sinc(angle[i] * inv_pi)  # sin(t)/t
        h = _sinc(angle[i] * half_inv_pi)
        b = half * (h * h)  # (1 - cos t)/t^2
        c = cosine[i]
        bx, by, bz = b * x, b * y, b * z
        ax, ay, az = a * x, a * y, a * z
        bxy, bxz, byz = bx * y, bx * z, by * z
        out[i, 0, 0], out[i, 0, 1], out[i, 0, 2] = c + bx * x, bxy - az, bxz + ay
        out[i, 1, 0], out[i, 1, 1], out[i, 1, 2] = bxy + az, c + by * y, byz - ax
        out[i, 2, 0], out[i, 2, 1], out[i, 2, 2] = bxz - ay, byz + ax, c + bz * z
    return out


_ANGLE_FLOOR = np.float32(MIN_ANGLE**2)
_INV_PI, _HALF_INV_PI = np.float32(1.0 / math.pi), np.float32(0.5 / math.pi)


def _compiled(*tensors: torch.Tensor) -> bool:
    """Whether the compiled loops may stand in for torch: float32 CPU tensors that autograd does not track."""
    return all(t.dtype == torch.float32 and t.device.type == "cpu" and not t.requires_grad for t in tensors)


class CompiledSkeletonHand(ProceduralHand):
    """:class:`ProceduralHand` whose local rotations, skeleton and skinning are compiled loops when autograd does not
    track them (skinning: :mod:`data_prep.compiled_skinning`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skin = CompiledSkinning(self.skin)

    def _local_rotations(self, global_orient, full_hand_pose):
        """``axis_angle_pose_to_rotmats``'s bytes: the squared angles, then :func:`rodrigues` here; the angles'
        square root and cosine by torch, on the same (B, 16) layout (its vectorised float32 sqrt and cos are not
        the C library's, and an element's result depends on its place in the vectorised loop)."""
        if not _compiled(global_orient, full_hand_pose):
            return super()._local_rotations(global_orient, full_hand_pose)
        rotvecs = torch.cat([global_orient, full_hand_pose], dim=-1).reshape(-1, 3).numpy()
        angle = torch.sqrt(torch.from_numpy(_squared_angles(rotvecs, _ANGLE_FLOOR)).view(-1, 16))
        cosine = torch.cos(angle)
        rotations = rodrigues(rotvecs, angle.view(-1).numpy(), cosine.view(-1).numpy(), _INV_PI, _HALF_INV_PI)
        return torch.from_numpy(rotations).view(-1, 16, 3, 3)

    def _kinematics(self, rotmats, joints_rest, tips_rest):
        if not _compiled(rotmats, joints_rest, tips_rest):
            return super()._kinematics(rotmats, joints_rest, tips_rest)
        rotations, positions, keypoints = posed_skeleton(
            rotmats.contiguous().numpy(), joints_rest.contiguous().numpy(), tips_rest.contiguous().numpy(), *_TREE)
        return torch.from_numpy(rotations), torch.from_numpy(positions), torch.from_numpy(keypoints)


def with_compiled_skeleton(hands: HandPair) -> HandPair:
    """``hands`` with each procedural hand (exactly that class) made a :class:`CompiledSkeletonHand` of the same side
    and convention (the same numbers); other hand models (MANO) as they are."""

    def compiled(hand):
        if type(hand) is not ProceduralHand:
            return hand
        return CompiledSkeletonHand(hand.side, hand.flat_hand_mean, hand.hands_mean.dtype)

    return HandPair(compiled(hands.left), compiled(hands.right))
