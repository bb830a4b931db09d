"""One entry point: every per-frame motion feature of a bimanual clip.

:func:`extract_clip_features` takes joints ``(T, 2, 21, 3)`` in metres in handgen's
world frame (+x the person's left, +y up, +z forward), hand 0 left and 1 right, and returns
:class:`ClipFeatures`: raw per-frame measurements (angles in radians, distances in metres,
speeds in m/s and rad/s), vectorised over frames. Turning them into states and events is
:mod:`data_prep.events`'s job. The MANO parameters are accepted for future use but the
features come from the joints alone, so generated motions are measured exactly like data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from handgen.analysis import fingers, two_hands, wrist
from handgen.analysis.contacts import inter_hand_distances
from handgen.analysis.hand_frame import hand_frame
from handgen.analysis.objects import (
    ObjectContact,
    ObjectTrack,
    object_contact_from_arrays,
    object_track_from_arrays,
)


@dataclass
class HandFeatures:
    """Per-frame features of one hand (T frames)."""

    flexion: np.ndarray  # (T, 5, 3) rad, fingers thumb..pinky, joints base..distal, + = towards the palm
    curl: np.ndarray  # (T, 5) rad, one flexion per finger (fingers.finger_curl)
    thumb_tip_distance: np.ndarray  # (T, 4) m, thumb tip to index..pinky tips
    spacing: np.ndarray  # (T, 3) rad between adjacent long fingers
    wrist_position: np.ndarray  # (T, 3) m
    wrist_velocity: np.ndarray  # (T, 3) m/s, world x (left) y (up) z (forward)
    rotation_rates: np.ndarray  # (T, 3) rad/s, (supination, flexion, deviation), mirror-signed
    angular_velocity: np.ndarray  # (T, 3) rad/s of the palm frame, world axes
    palm_normal: np.ndarray  # (T, 3) unit, out of the palm
    finger_direction: np.ndarray  # (T, 3) unit, wrist -> middle knuckle in the palm plane
    palm_centre: np.ndarray  # (T, 3) m, mean of the wrist and the four knuckles

    @property
    def thumb_contact(self) -> np.ndarray:
        """(T, 4) bool: thumb tip within 2 cm of the index..pinky tips."""
        return self.thumb_tip_distance < fingers.THUMB_CONTACT


@dataclass
class PairFeatures:
    """Per-frame features of the two hands together (T frames)."""

    tip_to_tip: np.ndarray  # (T, 5, 5) m, left tip i to right tip j
    tip_to_palm: np.ndarray  # (T, 2, 5) m, hand h's tips to the other palm's skin
    palm_centres: np.ndarray  # (T, 2, 3) m
    palm_distance: np.ndarray  # (T,) m between palm centres
    # approaching/separating is read on the wrists: a tilting hand moves its palm, not its wrist
    wrist_distance: np.ndarray  # (T,) m between the wrists
    wrist_distance_rate: np.ndarray  # (T,) m/s, + = moving apart
    closing_speed: np.ndarray  # (T, 2) m/s, each wrist towards the other
    palms_facing: np.ndarray  # (T,) in [-1, 1]
    relative_position: np.ndarray  # (T, 3) m, left palm centre - right palm centre
    mirror: np.ndarray  # (T,) in [-1, 1], mirror-image motion score


@dataclass
class ClipFeatures:
    """Everything measured on one clip."""

    fps: float
    hands: tuple[HandFeatures, HandFeatures]  # (left, right)
    pair: PairFeatures
    object_contact: ObjectContact | None = None
    object_track: ObjectTrack | None = None

    @property
    def num_frames(self) -> int:
        return len(self.pair.palm_distance)


def _check_joints(joints: np.ndarray) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 4 or joints.shape[1:] != (2, 21, 3):
        raise ValueError(f"joints must be (T, 2, 21, 3), got {joints.shape}")
    if len(joints) < 2:
        raise ValueError(f"a clip needs at least 2 frames, got {len(joints)}")
    if not np.isfinite(joints).all():
        raise ValueError("joints hold NaN or inf")
    return joints


def hand_features(joints: np.ndarray, hand: int, fps: float) -> HandFeatures:
    """Features of hand ``hand`` (0 left, 1 right) from its joints (T, 21, 3)."""
    frame = hand_frame(joints, hand)
    flex = fingers.flexion(joints, hand, frame)
    omega = wrist.angular_velocity(frame.rotation(), fps)
    return HandFeatures(
        flexion=flex,
        curl=fingers.finger_curl(flex),
        thumb_tip_distance=fingers.thumb_tip_distances(joints),
        spacing=fingers.finger_spacing(joints, hand, frame),
        wrist_position=wrist.wrist_position(joints),
        wrist_velocity=wrist.wrist_velocity(joints, fps),
        rotation_rates=wrist.rotation_rates(joints, hand, fps, frame, omega),
        angular_velocity=omega,
        palm_normal=frame.normal,
        finger_direction=frame.forward,
        palm_centre=frame.centre,
    )


def pair_features(joints: np.ndarray, hands: tuple[HandFeatures, HandFeatures], fps: float) -> PairFeatures:
    """Two-hand features from joints (T, 2, 21, 3) and both hands' features."""
    centres = np.stack([h.palm_centre for h in hands], axis=1)
    wrists = np.stack([h.wrist_position for h in hands], axis=1)
    wrist_distance = np.linalg.norm(wrists[:, 0] - wrists[:, 1], axis=-1)
    velocity = np.stack([h.wrist_velocity for h in hands], axis=1)
    rates = np.stack([h.rotation_rates for h in hands], axis=1)
    return PairFeatures(
        tip_to_tip=two_hands.tip_to_tip_distances(joints),
        tip_to_palm=inter_hand_distances(joints),
        palm_centres=centres,
        palm_distance=np.linalg.norm(centres[:, 0] - centres[:, 1], axis=-1),
        wrist_distance=wrist_distance,
        wrist_distance_rate=wrist.smooth_derivative(wrist_distance, fps),
        closing_speed=two_hands.closing_speeds(wrists, velocity),
        palms_facing=two_hands.palms_facing(centres, np.stack([h.palm_normal for h in hands], axis=1)),
        relative_position=centres[:, 0] - centres[:, 1],
        mirror=two_hands.mirror_similarity(velocity, rates),
    )


def extract_clip_features(
    joints: np.ndarray,
    params: Mapping[str, Any] | None = None,
    fps: float = 30.0,
    object_contact: np.ndarray | None = None,
    object_tips: np.ndarray | None = None,
    object_rot: np.ndarray | None = None,
    object_transl: np.ndarray | None = None,
    articulation: np.ndarray | None = None,
    object_centre: np.ndarray | None = None,
) -> ClipFeatures:
    """All per-frame features of a clip.

    Args:
        joints: (T, 2, 21, 3) metres, world frame, hand 0 left.
        params: the clip's MANO parameters (unused by the current features; accepted so callers
            can pass what they have).
        fps: frames per second.
        object_contact: optional (T, 2) per-hand contact fraction with an object, 0..1.
        object_tips: optional (T, 2, 5) per-fingertip object contact flags.
        object_rot, object_transl: optional (T, 3) object pose (axis-angle, metres; both or neither),
            in the joints' frame: ``x = R(object_rot) x_canonical + object_transl``.
        articulation: optional (T,) radians of the object's moving part.
        object_centre: optional (3,) canonical point followed as the object's position (its
            template's bounding-box centre; the canonical origin when None).

    Raises:
        ValueError: wrong shapes, fewer than 2 frames, NaN/inf, fps <= 0, only one of object_rot/object_transl.
    """
    del params
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    joints = _check_joints(joints)
    if (object_rot is None) != (object_transl is None):
        raise ValueError("object_rot and object_transl come together")
    hands = (hand_features(joints[:, 0], 0, fps), hand_features(joints[:, 1], 1, fps))
    return ClipFeatures(
        fps=float(fps),
        hands=hands,
        pair=pair_features(joints, hands, fps),
        object_contact=object_contact_from_arrays(len(joints), object_contact, object_tips),
        object_track=object_track_from_arrays(len(joints), fps, object_rot, object_transl, articulation,
                                              object_centre),
    )
