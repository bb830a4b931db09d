"""Per-frame contact flags and contact statistics, as the captioner reads them.

The thresholds are HandX's annotation thresholds, but the inter-hand flags measure to points on
the palm SKIN (moved 1.35 cm off the joints), so they are not HandX's evaluation metric: the
evaluation uses HandX's exact definitions in ``eval/handx_contacts.py`` (palm triangles of the
joints, one pooled hand-hand mask for the statistics). Joints are
``(..., 2, 21, 3)`` metres (any leading shape, usually (T,) or (B, T)), hand 0 left, 1 right.

- intra-hand: thumb tip to each other fingertip < 2 cm -> ``(..., 2, 4)``
  (index, middle, ring, pinky), 4 pairs x 2 hands;
- inter-hand: each fingertip to points on the other hand's palm < 2.5 cm -> ``(..., 2, 5)``
  (hand h's thumb..pinky on the other palm), 5 x 2 labels; :func:`inter_hand_bands` adds
  HandX's near (2.5-3.5 cm) and far bands.

:func:`contact_statistics` reads any boolean ``(T, ...)`` flags: the ratio of frames in contact,
the mean contact duration (s) and the frequency (events/s), one event per channel (HandX's own
statistics pool hand-hand contact into one mask instead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handgen.hand.topology import FINGERTIP_KEYPOINTS

from handgen.analysis.fingers import THUMB_CONTACT, thumb_tip_distances
from handgen.analysis.hand_frame import palm_points
from handgen.analysis.two_hands import TIP_CONTACT, TIP_NEAR


def _check(joints: np.ndarray) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.shape[-3:] != (2, 21, 3):
        raise ValueError(f"joints must be (..., 2, 21, 3), got {joints.shape}")
    return joints


def intra_hand_distances(joints: np.ndarray) -> np.ndarray:
    """(..., 2, 4) metres: thumb tip to the index, middle, ring and pinky tips of each hand."""
    return thumb_tip_distances(_check(joints))


def intra_hand_contacts(joints: np.ndarray, threshold: float = THUMB_CONTACT) -> np.ndarray:
    """(..., 2, 4) bool: thumb tip within ``threshold`` metres of each other fingertip."""
    return intra_hand_distances(joints) < threshold


def inter_hand_distances(joints: np.ndarray) -> np.ndarray:
    """(..., 2, 5) metres: each fingertip of hand h to the nearest point on the other hand's palm skin."""
    joints = _check(joints)
    out = []
    for h in (0, 1):
        other = 1 - h
        points = palm_points(joints[..., other, :, :], other)  # (..., P, 3)
        tips = joints[..., h, list(FINGERTIP_KEYPOINTS), :]  # (..., 5, 3)
        out.append(np.linalg.norm(tips[..., :, None, :] - points[..., None, :, :], axis=-1).min(axis=-1))
    return np.stack(out, axis=-2)


def inter_hand_contacts(joints: np.ndarray, threshold: float = TIP_CONTACT) -> np.ndarray:
    """(..., 2, 5) bool: fingertip of hand h within ``threshold`` metres of the other hand's palm."""
    return inter_hand_distances(joints) < threshold


def inter_hand_bands(joints: np.ndarray) -> np.ndarray:
    """(..., 2, 5) int: HandX's fingertip-to-other-palm bands, 0 contact (< 2.5 cm), 1 near (2.5-3.5 cm), 2 far."""
    return np.digitize(inter_hand_distances(joints), (TIP_CONTACT, TIP_NEAR))


def contact_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Half-open frame ranges [start, end) where the 1-D boolean ``flags`` (T,) is true."""
    f = np.asarray(flags, dtype=bool).reshape(-1)
    edges = np.diff(np.concatenate([[0], f.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


@dataclass
class ContactStatistics:
    """HandX-style contact statistics of one clip (or the mean over channels)."""

    ratio: float  # fraction of frames in contact
    mean_duration: float  # seconds per contact event (0 when none)
    frequency: float  # contact events (onsets) per second
    events: int


def contact_statistics(flags: np.ndarray, fps: float) -> ContactStatistics:
    """Statistics of boolean contact flags ``(T,)`` or ``(T, C)`` (C channels, pooled), frames at ``fps``.

    A frame counts as in contact when any channel is; events are the runs of each channel.
    """
    f = np.asarray(flags, dtype=bool)
    if f.ndim == 0 or f.shape[0] == 0:
        raise ValueError("contact flags need at least one frame")
    channels = f.reshape(f.shape[0], -1)
    runs = [run for c in range(channels.shape[1]) for run in contact_runs(channels[:, c])]
    seconds = f.shape[0] / float(fps)
    durations = [(b - a) / float(fps) for a, b in runs]
    return ContactStatistics(
        ratio=float(channels.any(axis=1).mean()),
        mean_duration=float(np.mean(durations)) if durations else 0.0,
        frequency=len(runs) / seconds,
        events=len(runs),
    )
