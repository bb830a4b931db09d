"""Per-frame motion features of both hands and their exact inverse.

Layout (D = 324), for each hand in the order left, right:

    wrist   (3)   wrist joint position, canonical frame, metres
    root6d  (6)   global orientation as 6D (first two rotation-matrix columns)
    pose6d  (90)  15 finger joints x 6D, absolute (flat-hand-mean) local rotations
    joints  (63)  21 keypoints, canonical frame, metres (redundant; used by losses,
                  evaluators and contact features; ignored by the inverse)

The inverse uses only wrist/root6d/pose6d: ``transl = wrist - wrist_offset(betas)``.
"""

from __future__ import annotations

import numpy as np
import torch

from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS
from handgen.repr.motion import BimanualMotion
from handgen.repr.rotations import rotmat_to_6d, sixd_to_rotvec

HAND_BLOCKS: tuple[tuple[str, int], ...] = (("wrist", 3), ("root6d", 6), ("pose6d", 90), ("joints", 63))
HAND_DIM = sum(size for _, size in HAND_BLOCKS)
FEATURE_DIM = 2 * HAND_DIM


def feature_slices() -> dict[str, slice]:
    """Named slices ``"{hand}.{block}"`` into the D=324 feature vector."""
    out: dict[str, slice] = {}
    offset = 0
    for side in HANDS:
        for block, size in HAND_BLOCKS:
            out[f"{side}.{block}"] = slice(offset, offset + size)
            offset += size
    return out


SLICES = feature_slices()


def params_to_features(params: dict[str, torch.Tensor], hands: HandPair) -> torch.Tensor:
    """MANO parameters of both hands -> features (..., T, D).

    ``params`` holds ``{h}_global_orient (...,T,3)``, ``{h}_hand_pose (...,T,45)`` (absolute),
    ``{h}_transl (...,T,3)``, ``{h}_betas (...,10)`` for h in left, right.
    """
    if not hands.flat_hand_mean:
        raise ValueError("features use absolute finger poses: pass a flat_hand_mean=True HandPair")
    blocks = []
    for side in HANDS:
        go, hp, tr = params[f"{side}_global_orient"], params[f"{side}_hand_pose"], params[f"{side}_transl"]
        betas = params[f"{side}_betas"].unsqueeze(-2).expand(*go.shape[:-1], params[f"{side}_betas"].shape[-1])
        joints, rotations = hands[side].joints_and_rotations(go, hp, betas, tr)  # the skeleton's own rotations
        sixd = rotmat_to_6d(rotations).flatten(-2)  # root + 15 joints
        blocks += [joints[..., 0, :], sixd, joints.flatten(-2)]
    return torch.cat(blocks, dim=-1)


def features_to_params(
    features: torch.Tensor, hands: HandPair, betas: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Features (..., T, D) -> MANO parameters (absolute finger poses), the exact inverse.

    ``betas`` (..., 2, 10) default to zeros (mean shape).
    """
    if features.shape[-1] != FEATURE_DIM:
        raise ValueError(f"features must have {FEATURE_DIM} dims per frame, got {features.shape[-1]}")
    lead = features.shape[:-2]
    if betas is None:
        betas = features.new_zeros(*lead, 2, 10)
    out: dict[str, torch.Tensor] = {}
    for i, side in enumerate(HANDS):
        b = betas[..., i, :]
        wrist = features[..., SLICES[f"{side}.wrist"]]
        root = features[..., SLICES[f"{side}.root6d"]]
        pose = features[..., SLICES[f"{side}.pose6d"]]
        out[f"{side}_global_orient"] = sixd_to_rotvec(root)
        out[f"{side}_hand_pose"] = sixd_to_rotvec(pose.reshape(*pose.shape[:-1], 15, 6)).flatten(-2)
        out[f"{side}_transl"] = wrist - hands[side].wrist_offset(b).to(wrist).unsqueeze(-2)
        out[f"{side}_betas"] = b
    return out


def motion_to_features(motion: BimanualMotion, hands: HandPair) -> np.ndarray:
    """Features (T, D) float32 of a motion (numpy convenience)."""
    with torch.no_grad():
        return params_to_features(motion.torch_params(), hands).numpy().astype(np.float32)


def features_to_motion(
    features: np.ndarray | torch.Tensor, hands: HandPair, betas: np.ndarray | None = None, fps: float = 30.0
) -> BimanualMotion:
    """Features (T, D) -> :class:`BimanualMotion` (numpy convenience)."""
    feats = torch.as_tensor(np.asarray(features), dtype=torch.float32)
    b = None if betas is None else torch.as_tensor(betas, dtype=torch.float32)
    with torch.no_grad():
        p = features_to_params(feats, hands, b)
    stack = lambda key: np.stack([p[f"{s}_{key}"].numpy() for s in HANDS], axis=1)  # noqa: E731
    return BimanualMotion(
        global_orient=stack("global_orient"),
        hand_pose=stack("hand_pose"),
        transl=stack("transl"),
        betas=np.zeros((2, 10)) if betas is None else np.asarray(betas, dtype=np.float64),
        fps=fps,
    )


def translate_features(features: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Move both hands by ``offset`` (..., 3) metres: shifts the wrist and joint blocks of (..., T, D)."""
    out = features.clone()
    shift = offset.to(features).unsqueeze(-2)  # (...,1,3)
    for side in HANDS:
        out[..., SLICES[f"{side}.wrist"]] += shift
        joints = out[..., SLICES[f"{side}.joints"]]
        out[..., SLICES[f"{side}.joints"]] = (joints.unflatten(-1, (21, 3)) + shift.unsqueeze(-2)).flatten(-2)
    return out
