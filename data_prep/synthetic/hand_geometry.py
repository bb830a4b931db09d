"""Posed procedural-hand geometry relative to the wrist, for placing two hands against each other.

Relations (clap, approach, touch the palm) need to know, frame by frame, how far
a posed hand reaches in some direction and where its palm and fingertips are.
These helpers pose :class:`ProceduralHand` (absolute finger poses, wrist joint
at the origin) and measure that, in metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from handgen.hand import ProceduralHand
from handgen.hand.anatomy import palm_outline
from handgen.hand.topology import MANO_PARENTS, PALM_KEYPOINTS

PALM_SURFACE_OFFSET = sum(palm_outline()[1:])  # palm skin to the palm's mid-plane (13.5 mm), metres


@lru_cache(maxsize=2)
def procedural_hand(side: str) -> ProceduralHand:
    """The flat-hand-mean procedural hand of ``side`` (shared, read-only; float32 is ample for placement)."""
    return ProceduralHand(side, flat_hand_mean=True)


@dataclass
class PosedHand:
    """One hand over F frames with its wrist joint at the origin."""

    vertices: np.ndarray  # (F, V, 3)
    joints: np.ndarray  # (F, 21, 3)
    faces: np.ndarray  # (Fc, 3)

    def extent(self, direction: np.ndarray) -> np.ndarray:
        """How far (F,) the hand reaches along the unit ``direction`` (3,) from the wrist."""
        return (self.vertices @ np.asarray(direction, dtype=np.float64)).max(axis=1)

    def palm_centre(self) -> np.ndarray:
        """Centre (F, 3) of the palm (mean of the wrist and four knuckles), on its mid-plane."""
        return self.joints[:, list(PALM_KEYPOINTS)].mean(axis=1)


def palm_normal(rotvec: np.ndarray) -> np.ndarray:
    """Unit normals (F, 3) out of the palm for world orientations (F, 3); the palm faces template -y."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(rotvec).apply(np.array([0.0, -1.0, 0.0]))


def pose_hand(side: str, rotvec: np.ndarray, fingers: np.ndarray, betas: np.ndarray) -> PosedHand:
    """Pose ``side`` with world orientations (F,3) and absolute finger poses (F,45); wrist at 0."""
    hand = procedural_hand(side)
    b = torch.as_tensor(np.asarray(betas, dtype=np.float32))
    with torch.no_grad():
        out = hand(torch.as_tensor(rotvec, dtype=torch.float32), torch.as_tensor(fingers, dtype=torch.float32), b)
        wrist = hand.wrist_offset(b)
    return PosedHand(
        vertices=(out.vertices - wrist).numpy().astype(np.float64),
        joints=(out.joints - wrist).numpy().astype(np.float64),
        faces=hand.faces.numpy(),
    )


class SkinnedPoints:
    """Fast posing of a few vertices of one procedural hand with fixed betas (numpy, float64).

    The same linear blend skinning as :func:`pose_hand` (the hand's float32 buffers, evaluated in
    float64), for one pose at a time and only the vertices ``ids``: a solver that poses the hand
    hundreds of times (closing the fingers step by step) skips torch's per-call overhead and the
    vertices it does not look at. Positions are relative to the wrist joint, like :func:`pose_hand`.
    """

    def __init__(self, side: str, betas: np.ndarray, ids: np.ndarray) -> None:
        hand = procedural_hand(side)
        b = np.asarray(betas, dtype=np.float64)
        j_template, j_dirs = hand.j_template.double().numpy(), hand.j_shapedirs.double().numpy()
        ids = np.asarray(ids, dtype=np.int64)
        v_template, v_dirs = hand.v_template.double().numpy()[ids], hand.shapedirs.double().numpy()[ids]
        self.rest_joints = j_template + j_dirs @ b  # (16, 3)
        self.rest_points = v_template + v_dirs @ b  # (n, 3)
        self.weights = hand.weights.double().numpy()[ids]  # (n, 16)
        self.parents = list(MANO_PARENTS)
        self.offsets = self.rest_joints - self.rest_joints[self.parents]
        self.offsets[0] = self.rest_joints[0]

    def __call__(self, rotvec: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """Points (n, 3) for a global orientation (3,) and an absolute finger pose (45,), wrist at 0;
        or (K, n, 3) for K finger poses (K, 45) under the same orientation."""
        from scipy.spatial.transform import Rotation

        poses = np.atleast_2d(pose)
        k = len(poses)
        full = np.concatenate([np.broadcast_to(rotvec, (k, 3)), poses], axis=1).reshape(k * 16, 3)
        local = Rotation.from_rotvec(full).as_matrix().reshape(k, 16, 3, 3)
        rot = np.empty((k, 16, 3, 3))
        pos = np.empty((k, 16, 3))
        rot[:, 0], pos[:, 0] = local[:, 0], self.offsets[0]
        for j in range(1, 16):
            p = self.parents[j]
            rot[:, j] = rot[:, p] @ local[:, j]
            pos[:, j] = (rot[:, p] @ self.offsets[j]) + pos[:, p]
        shift = pos - np.einsum("kjil,jl->kji", rot, self.rest_joints)
        skin = np.concatenate([rot, shift[..., None]], axis=3).reshape(k, 16, 12)
        blended = (self.weights @ skin).reshape(k, -1, 3, 4)  # (K, n, 3, 4)
        posed = np.einsum("knil,nl->kni", blended[..., :3], self.rest_points) + blended[..., 3]
        posed = posed - self.rest_joints[0]
        return posed if np.ndim(pose) > 1 else posed[0]
