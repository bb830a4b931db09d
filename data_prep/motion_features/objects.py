"""Optional hand-object contact input: validated per-frame arrays from a clip's shards.

Prep may store, per clip, ``object_contact (T, 2)`` (the fraction of each hand's surface in
contact with the object, 0..1) and ``object_tips (T, 2, 5)`` (whether each fingertip,
thumb..pinky, touches it). Either may be missing; a hand is in contact with the object on a
frame when its fraction exceeds :data:`CONTACT_FRACTION` or any of its fingertips touches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONTACT_FRACTION = 0.0  # any contact at all


@dataclass
class ObjectContact:
    """Per-frame object contact of both hands; ``fraction`` (T, 2) and ``tips`` (T, 2, 5) may be None."""

    fraction: np.ndarray | None
    tips: np.ndarray | None

    @property
    def num_frames(self) -> int:
        return len(self.fraction if self.fraction is not None else self.tips)

    def in_contact(self) -> np.ndarray:
        """(T, 2) bool: each hand touches the object."""
        out = np.zeros((self.num_frames, 2), dtype=bool)
        if self.fraction is not None:
            out |= self.fraction > CONTACT_FRACTION
        if self.tips is not None:
            out |= self.tips.any(axis=-1)
        return out


def object_contact_from_arrays(
    num_frames: int, contact: np.ndarray | None = None, tips: np.ndarray | None = None
) -> ObjectContact | None:
    """Check and wrap the optional arrays; None when both are absent. Raises ValueError on bad shapes/values."""
    if contact is None and tips is None:
        return None
    fraction = None
    if contact is not None:
        fraction = np.asarray(contact, dtype=np.float64)
        if fraction.shape != (num_frames, 2):
            raise ValueError(f"object_contact has shape {fraction.shape}, expected ({num_frames}, 2)")
        if not np.isfinite(fraction).all():
            raise ValueError("object_contact holds NaN or inf")
    tip_flags = None
    if tips is not None:
        tip_flags = np.asarray(tips)
        if tip_flags.shape != (num_frames, 2, 5):
            raise ValueError(f"object_tips has shape {tip_flags.shape}, expected ({num_frames}, 2, 5)")
        tip_flags = tip_flags.astype(bool) if tip_flags.dtype == bool else np.asarray(tip_flags, dtype=np.float64) > 0.5
    return ObjectContact(fraction=fraction, tips=tip_flags)
