"""An evaluator-free check that a motion model follows its text: the left/right fist contrast.

Two prompts are sampled: the left hand makes a fist while the right stays relaxed, and the
mirror case. For each sample the mean finger curl (:func:`handgen.analysis.fingers.finger_curl`
of index..pinky, radians) of each hand over the second half of the clip is measured; a model that
follows the text gives a clearly positive left-minus-right curl for the first prompt and a
negative one for the second. ``contrast`` = the first minus the second (radians; 0 = ignores the text).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handgen.analysis.fingers import finger_curl, flexion
from handgen.repr.features import SLICES

FIST_PROMPTS: dict[str, dict[str, str]] = {
    "left_fist": {"left": "The left hand makes a fist.", "right": "The right hand stays relaxed.",
                  "both": "The two hands move independently."},
    "right_fist": {"left": "The left hand stays relaxed.", "right": "The right hand makes a fist.",
                   "both": "The two hands move independently."},
}


def joints_from_features(features: np.ndarray) -> np.ndarray:
    """Keypoints (..., T, 2, 21, 3) from raw features (..., T, 324)."""
    left = features[..., SLICES["left.joints"]].reshape(*features.shape[:-1], 21, 3)
    right = features[..., SLICES["right.joints"]].reshape(*features.shape[:-1], 21, 3)
    return np.stack([left, right], axis=-3)


def mean_curl(joints: np.ndarray) -> np.ndarray:
    """Mean curl of index..pinky (N, 2) over the second half of each clip, radians; joints (N, T, 2, 21, 3)."""
    half = joints[:, joints.shape[1] // 2 :]
    return np.stack([finger_curl(flexion(half[:, :, h], h))[..., 1:].mean(axis=(1, 2)) for h in (0, 1)], axis=-1)


@dataclass
class FistContrast:
    left_fist: tuple[float, float]  # mean curl (left, right) for the left-fist prompt, radians
    right_fist: tuple[float, float]

    @property
    def contrast(self) -> float:
        return (self.left_fist[0] - self.left_fist[1]) - (self.right_fist[0] - self.right_fist[1])

    def line(self) -> str:
        return (f"left-fist prompt: curl L {self.left_fist[0]:.2f} / R {self.left_fist[1]:.2f} rad; "
                f"right-fist prompt: L {self.right_fist[0]:.2f} / R {self.right_fist[1]:.2f} rad; "
                f"contrast {self.contrast:+.2f} rad")


def fist_contrast(generate, num: int = 8, frames: int = 60) -> FistContrast:
    """Run ``generate(triplets, frames) -> raw features (B, frames, 324)`` on both prompts."""
    out = {}
    for name, prompt in FIST_PROMPTS.items():
        feats = np.asarray(generate([prompt] * num, frames))
        curl = mean_curl(joints_from_features(feats)).mean(axis=0)
        out[name] = (float(curl[0]), float(curl[1]))
    return FistContrast(**out)
