"""Cut a sequence into fixed-length canonical clips and compute their arrays (any source).

Windows: clip starts lie on the grid ``0, stride, 2*stride, ...`` and a window is kept
when all of its ``clip_len`` frames are valid. A bad (NaN/inf) frame therefore drops only
the windows that overlap it, and the clips around it keep the same ids as in a clean file.

The hand model runs once per sequence (in chunks), not once per clip: canonicalisation is
a pure translation, so each clip's features and joints are the sequence's, shifted by the
clip's canonical offset (the same numbers ``motion_to_features(canonicalize(clip))`` gives,
to float32 rounding, at half the cost with the default 50 % clip overlap).
"""

from __future__ import annotations

import numpy as np
import torch

from handgen.hand.pair import HandPair
from handgen.repr.features import FEATURE_DIM, SLICES, motion_to_features
from handgen.repr.motion import BimanualMotion

CHUNK_FRAMES = 256  # frames per hand-model call
_POSITION_BLOCKS = ("left.wrist", "left.joints", "right.wrist", "right.joints")


def window_starts(valid: np.ndarray, clip_len: int, stride: int) -> list[int]:
    """Start frames of the clips to keep, for a (F,) bool mask of valid frames."""
    if clip_len < 1 or stride < 1:
        raise ValueError(f"clip_len and stride must be >= 1, got {clip_len}, {stride}")
    valid = np.asarray(valid, dtype=bool)
    bad_before = np.concatenate([[0], np.cumsum(~valid)])  # bad frames in [0, i)
    starts = np.arange(0, len(valid) - clip_len + 1, stride)
    return [int(s) for s in starts if bad_before[s + clip_len] == bad_before[s]]


def bad_frame_ranges(valid: np.ndarray) -> list[tuple[int, int]]:
    """Runs [start, end) of invalid frames."""
    bad = np.concatenate([[False], ~np.asarray(valid, dtype=bool), [False]])
    edges = np.flatnonzero(bad[1:] != bad[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _sanitized(motion: BimanualMotion, valid: np.ndarray) -> BimanualMotion:
    """Bad frames set to zeros (they are never inside a kept clip; this keeps the math finite)."""
    if valid.all():
        return motion
    keep = valid[:, None, None]
    return BimanualMotion(
        global_orient=np.where(keep, motion.global_orient, 0.0),
        hand_pose=np.where(keep, motion.hand_pose, 0.0),
        transl=np.where(keep, motion.transl, 0.0),
        betas=motion.betas,
        fps=motion.fps,
    )


def sequence_features(motion: BimanualMotion, hands: HandPair) -> np.ndarray:
    """Features (F, D) float32 of a whole sequence, the hand model called per chunk of frames."""
    out = np.empty((motion.num_frames, FEATURE_DIM), dtype=np.float32)
    for a in range(0, motion.num_frames, CHUNK_FRAMES):
        out[a : a + CHUNK_FRAMES] = motion_to_features(motion.slice(a, a + CHUNK_FRAMES), hands)
    return out


def clip_arrays(
    motion: BimanualMotion, valid: np.ndarray, starts: list[int], clip_len: int, hands: HandPair
) -> dict[str, np.ndarray]:
    """The shard arrays (handgen.io.data_dir.SHARD_ARRAYS) of the clips starting at ``starts``.

    Each clip is canonicalised with :func:`handgen.repr.motion.canonicalize` (right wrist at
    the clip's first frame at the origin, translation only). ``hands`` must be flat-hand-mean.
    """
    n = len(starts)
    if n == 0:
        raise ValueError("no clips to compute")
    motion = _sanitized(motion, np.asarray(valid, dtype=bool))
    # canonicalize()'s offsets of every clip at once: minus the right wrist at the clip's first frame
    with torch.no_grad():
        right_offset = hands.right.wrist_offset(torch.as_tensor(motion.betas[1], dtype=torch.float32)).numpy()
    offsets = -(motion.transl[np.asarray(starts), 1] + right_offset)  # (N, 3) float64
    # move the sequence near the origin first so the float32 features stay precise
    seq_offset = offsets[0]
    feats_seq = sequence_features(motion.translated(seq_offset), hands)

    index = np.asarray(starts)[:, None] + np.arange(clip_len)[None]  # (N, T)
    features = feats_seq[index]  # (N, T, D) copy
    delta = (offsets - seq_offset).astype(np.float32)[:, None, None, :]  # (N,1,1,3)
    for block in _POSITION_BLOCKS:
        sl = SLICES[block]
        features[..., sl] = (features[..., sl].reshape(n, clip_len, -1, 3) + delta).reshape(n, clip_len, -1)

    joints = np.stack(
        [features[..., SLICES[f"{side}.joints"]].reshape(n, clip_len, 21, 3) for side in ("left", "right")], axis=2
    )
    return {
        "features": features,
        "global_orient": motion.global_orient[index].astype(np.float32),
        "hand_pose": motion.hand_pose[index].astype(np.float32),
        "transl": (motion.transl[index] + offsets[:, None, None, :]).astype(np.float32),
        "betas": np.broadcast_to(motion.betas, (n, 2, 10)).astype(np.float32),
        "joints": joints,
        "canonical_offset": offsets.astype(np.float32),
        "start": np.asarray(starts, dtype=np.int64),
    }
