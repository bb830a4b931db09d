"""Fit a hand's overall size (``betas[0]``) to 3D keypoints from their bone lengths.

SMPL-X body betas do not transfer to MANO, so handgen's AssemblyHands-X reader uses
zero betas unless asked to fit this one number. Bone lengths (joint to child, in the
21-keypoint tree) do not depend on the pose, so the fit compares the median observed
length of each of the 20 bones with the model's rest lengths at ``betas[0] = 0`` and 1,
treating length as linear in ``betas[0]`` (exact for the procedural hand, whose
``betas[0]`` scales the hand about the wrist; close to it for MANO), and solves the
one-parameter least-squares problem. The other nine betas stay zero.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from handgen.hand.base import HandModel
from handgen.hand.topology import FINGER_KEYPOINTS, NUM_BETAS

# (parent, child) keypoint pairs of the 21-keypoint tree
BONES: tuple[tuple[int, int], ...] = tuple(
    pair for chain in FINGER_KEYPOINTS.values() for pair in zip((0, *chain[:-1]), chain)
)


def bone_lengths(keypoints: np.ndarray) -> np.ndarray:
    """Lengths (..., 20) of the bones of 21-keypoint hands (..., 21, 3)."""
    kp = np.asarray(keypoints, dtype=np.float64)
    parents, children = zip(*BONES)
    return np.linalg.norm(kp[..., list(children), :] - kp[..., list(parents), :], axis=-1)


def _model_lengths(hand: HandModel, beta0: float) -> np.ndarray:
    betas = torch.zeros(NUM_BETAS)
    betas[0] = beta0
    with torch.no_grad():
        joints = hand(torch.zeros(1, 3), torch.zeros(1, 45), betas[None]).joints[0].double().numpy()
    return bone_lengths(joints)


def fit_scale_betas(keypoints: np.ndarray, hand: HandModel, limit: float = 5.0) -> np.ndarray:
    """Betas (10,) with only ``betas[0]`` fitted to one hand's keypoints (F, 21, 3) in metres.

    NaN frames/joints are ignored; with no finite bone the result is zeros. The fitted
    value is clipped to ``[-limit, limit]``.
    """
    observed = bone_lengths(keypoints).reshape(-1, len(BONES))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bones stay NaN
        median = np.nanmedian(observed, axis=0)
    betas = np.zeros(NUM_BETAS)
    ok = np.isfinite(median)
    if not ok.any():
        return betas
    base, unit = _model_lengths(hand, 0.0), _model_lengths(hand, 1.0)
    slope = (unit - base)[ok]
    denom = float(slope @ slope)
    if denom <= 0.0:
        return betas
    betas[0] = float(np.clip(slope @ (median[ok] - base[ok]) / denom, -limit, limit))
    return betas
