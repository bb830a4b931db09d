"""Optional hand-object input: validated per-frame arrays from a clip's shards.

Contact (:class:`ObjectContact`): prep may store, per clip, ``object_contact (T, 2)`` (the
fraction of each hand's surface in contact with the object, 0..1) and ``object_tips (T, 2, 5)``
(whether each fingertip, thumb..pinky, touches it). Either may be missing; a hand is in contact
with the object on a frame when its fraction exceeds :data:`CONTACT_FRACTION` or any of its
fingertips touches.

Motion (:class:`ObjectTrack`): from the object's pose per frame (``object_rot``,
``object_transl``, ``articulation``), the path and velocity of its centre, its world angular
velocity and how fast its moving part (a lid) turns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handgen.analysis.wrist import angular_velocity, smooth_derivative

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


@dataclass
class ObjectTrack:
    """How the object itself moves over the clip (T frames), world frame (+x left, +y up, +z forward)."""

    centre: np.ndarray  # (T, 3) m, the template's bounding-box centre, posed
    velocity: np.ndarray  # (T, 3) m/s of the centre
    angular_velocity: np.ndarray  # (T, 3) rad/s, world axes
    rotation: np.ndarray  # (T, 3, 3) world rotation of the object
    articulation: np.ndarray  # (T,) rad, the moving part's angle (0 for rigid objects)
    articulation_rate: np.ndarray  # (T,) rad/s

    @property
    def num_frames(self) -> int:
        return len(self.centre)


def object_track_from_arrays(
    num_frames: int, fps: float, rot: np.ndarray | None, transl: np.ndarray | None,
    articulation: np.ndarray | None = None, centre: np.ndarray | None = None,
) -> ObjectTrack | None:
    """The object's motion from its pose per frame; None when ``rot`` or ``transl`` is missing.

    Args:
        rot: (T, 3) axis-angle, canonical -> world (``x = R x_canonical + transl``).
        transl: (T, 3) metres.
        articulation: optional (T,) radians.
        centre: optional (3,) point of the canonical template followed as the object's position
            (its bounding-box centre); the canonical origin when None.

    Raises:
        ValueError: wrong shapes or NaN/inf.
    """
    from scipy.spatial.transform import Rotation


    if rot is None or transl is None:
        return None
    arrays = {"object_rot": (rot, (num_frames, 3)), "object_transl": (transl, (num_frames, 3))}
    if articulation is not None:
        arrays["articulation"] = (articulation, (num_frames,))
    checked = {}
    for name, (value, shape) in arrays.items():
        value = np.asarray(value, dtype=np.float64)
        if value.shape != shape:
            raise ValueError(f"{name} has shape {value.shape}, expected {shape}")
        if not np.isfinite(value).all():
            raise ValueError(f"{name} holds NaN or inf")
        checked[name] = value
    point = np.zeros(3) if centre is None else np.asarray(centre, dtype=np.float64).reshape(3)
    matrices = Rotation.from_rotvec(checked["object_rot"]).as_matrix()
    position = matrices @ point + checked["object_transl"]
    angle = checked.get("articulation", np.zeros(num_frames))
    return ObjectTrack(
        centre=position, velocity=smooth_derivative(position, fps), angular_velocity=angular_velocity(matrices, fps),
        rotation=matrices, articulation=angle, articulation_rate=smooth_derivative(angle, fps),
    )
