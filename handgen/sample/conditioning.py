"""HandX's conditioning modes as inpainting masks over the motion features.

Modes (all frames of the window unless stated):

- ``reaction``: one hand given (``given="left"|"right"``), the other generated;
- ``wrist``: both wrist trajectories (positions) given, fingers and orientations generated;
- ``inbetween``: the first and last ``context`` frames given;
- ``keyframe``: the listed frames given (all features).

The condition motion is canonicalised like the training clips (right wrist at frame 0
at the origin); samples are moved back into the condition's own coordinates afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from handgen.diffusion.inpainting import frame_mask
from handgen.errors import HandgenError
from handgen.hand.pair import HandPair
from handgen.repr.features import FEATURE_DIM, HAND_DIM, SLICES, motion_to_features
from handgen.repr.motion import BimanualMotion, canonicalize

MODES: tuple[str, ...] = ("text", "reaction", "wrist", "inbetween", "keyframe")
INBETWEEN_CONTEXT = 10


@dataclass
class MotionCondition:
    """Known raw features (T, D) in the canonical frame, a mask (T, D), and the way back."""

    features: np.ndarray  # (T, D) denormalised, canonical frame
    mask: np.ndarray  # (T, D) in [0, 1]
    offset: np.ndarray  # (3,) added by canonicalisation; subtract it to return
    betas: np.ndarray  # (2, 10) of the condition motion
    mode: str = "text"  # the conditioning mode that made the mask


def feature_mask(mode: str, frames: int, given: str | None = None, frames_given: list[int] | None = None,
                 context: int = INBETWEEN_CONTEXT) -> np.ndarray:
    """Mask (T, D) of the given features for ``mode``.

    Raises:
        HandgenError: unknown mode or missing/invalid mode options.
    """
    mask = np.zeros((frames, FEATURE_DIM), dtype=np.float32)
    if mode == "reaction":
        if given not in ("left", "right"):
            raise HandgenError("--mode reaction needs --given left or --given right")
        start = 0 if given == "left" else HAND_DIM
        mask[:, start : start + HAND_DIM] = 1.0
    elif mode == "wrist":
        for side in ("left", "right"):
            mask[:, SLICES[f"{side}.wrist"]] = 1.0
    elif mode == "inbetween":
        if frames <= 2 * context:
            raise HandgenError(f"--mode inbetween needs more than {2 * context} frames, got {frames}")
        given_frames = list(range(context)) + list(range(frames - context, frames))
        mask[:] = frame_mask(frames, given_frames).numpy()[:, None]
    elif mode == "keyframe":
        if not frames_given:
            raise HandgenError("--mode keyframe needs --frames-given, e.g. --frames-given 0,30,59")
        bad = [f for f in frames_given if not 0 <= f < frames]
        if bad:
            raise HandgenError(f"--frames-given {bad} outside 0..{frames - 1}")
        mask[:] = frame_mask(frames, frames_given).numpy()[:, None]
    else:
        raise HandgenError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    return mask


def build_condition(motion: BimanualMotion, hands: HandPair, mode: str, frames: int, given: str | None = None,
                    frames_given: list[int] | None = None, source: str = "condition") -> MotionCondition:
    """Canonicalise ``motion`` and mask it for ``mode``.

    Raises:
        HandgenError: the condition's frame count differs from ``frames``.
    """
    if motion.num_frames != frames:
        raise HandgenError(f"{source}: has {motion.num_frames} frames but --frames is {frames}")
    canon, offset = canonicalize(motion, hands)
    feats = motion_to_features(canon, hands)
    return MotionCondition(feats, feature_mask(mode, frames, given, frames_given), offset, motion.betas, mode)


def condition_tensors(cond: MotionCondition, normalize, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(known (B,T,D), mask (B,T,D)) in normalised feature space for a batch of samples."""
    known = normalize(cond.features).float()
    mask = torch.as_tensor(cond.mask)
    return known.expand(batch, *known.shape).clone(), mask.expand(batch, *mask.shape).clone()
