"""What the exporters need from a hand model: rest bone offsets and posed meshes over a motion.

Every MANO joint frame is aligned with the world axes at rest (docs/reference.md 1b), so a
joint's local rotation in a BVH file is exactly its MANO axis-angle rotation, and the
rest offsets below are the whole skeleton.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from handgen.hand.base import HandModel
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS, KEYPOINTS_FROM_MANO, MANO_PARENTS, NUM_MANO_JOINTS, TIP_PARENTS
from handgen.repr.motion import BimanualMotion


@dataclass
class HandRig:
    """One hand's rest skeleton for given betas (metres, the hand model's own frame)."""

    side: str
    rest_joints: np.ndarray  # (16, 3) MANO joints at rest
    rest_tips: np.ndarray  # (5, 3) fingertips at rest (thumb, index, middle, ring, pinky)

    @property
    def joint_offsets(self) -> np.ndarray:
        """(16, 3) each joint minus its parent's rest position (row 0: zeros, the wrist is placed by the motion)."""
        offsets = np.zeros_like(self.rest_joints)
        parents = list(MANO_PARENTS[1:])
        offsets[1:] = self.rest_joints[1:] - self.rest_joints[parents]
        return offsets

    @property
    def tip_offsets(self) -> np.ndarray:
        """(5, 3) each fingertip minus the rest position of the joint it hangs from (TIP_PARENTS)."""
        return self.rest_tips - self.rest_joints[list(TIP_PARENTS)]


def _rest_pose(hand: HandModel) -> torch.Tensor:
    """The ``hand_pose`` (45,) that puts ``hand`` in its flat rest pose, whatever its convention."""
    zero = torch.zeros(45, dtype=hand.hands_mean.dtype)
    return zero if hand.flat_hand_mean else -hand.hands_mean.detach().cpu()


def hand_rig(hand: HandModel, betas: np.ndarray) -> HandRig:
    """The rest skeleton of ``hand`` for ``betas`` (10,): joints and fingertips at the zero (flat) pose.

    The fingertips come from the model's own keypoints at rest: for the procedural hand they
    are rigidly attached to their distal joint; for MANO they are mesh vertices, so their
    rest offset is exact at rest and approximate once the finger bends (skinning).
    """
    with torch.no_grad():
        dtype = hand.hands_mean.dtype
        keypoints = hand.joints(
            torch.zeros(3, dtype=dtype), _rest_pose(hand), torch.as_tensor(betas, dtype=dtype), torch.zeros(3, dtype=dtype)
        ).double().numpy()
    mano21 = np.empty_like(keypoints)
    mano21[list(KEYPOINTS_FROM_MANO)] = keypoints
    return HandRig(hand.side, mano21[:NUM_MANO_JOINTS].copy(), mano21[NUM_MANO_JOINTS:].copy())


def hand_rigs(hands: HandPair, motion: BimanualMotion) -> dict[str, HandRig]:
    """Rest skeletons of both hands for the motion's betas."""
    return {side: hand_rig(hands[side], motion.betas[i]) for i, side in enumerate(HANDS)}


def posed_vertices(
    hands: HandPair, motion: BimanualMotion, frames: np.ndarray | None = None, chunk: int = 128
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Hand meshes of the chosen frames (default all), in chunks: yields (frame ids, {side: (n, V, 3)}) metres.

    ``hands`` may use either ``flat_hand_mean`` convention; the motion's poses are absolute.
    """
    frames = np.arange(motion.num_frames) if frames is None else np.asarray(frames, dtype=np.int64)
    for start in range(0, len(frames), chunk):
        ids = frames[start : start + chunk]
        out = {}
        for i, side in enumerate(HANDS):
            hand = hands[side]
            dtype = hand.hands_mean.dtype
            pose = torch.as_tensor(motion.hand_pose[ids, i], dtype=dtype)
            if not hand.flat_hand_mean:
                pose = pose - hand.hands_mean
            with torch.no_grad():
                result = hand(
                    torch.as_tensor(motion.global_orient[ids, i], dtype=dtype), pose,
                    torch.as_tensor(motion.betas[i], dtype=dtype), torch.as_tensor(motion.transl[ids, i], dtype=dtype),
                )
            out[side] = result.vertices.double().numpy()
        yield ids, out


def hand_faces(hands: HandPair) -> dict[str, np.ndarray]:
    """Triangles (F, 3) int64 of each hand (counter-clockwise seen from outside)."""
    return {side: hands[side].faces.detach().cpu().numpy().astype(np.int64) for side in HANDS}
