"""BVH export of both hands' skeletons (the MANO tree) for Blender, MotionBuilder, Maya...

Layout of the file (one skeleton, so importers that handle a single root well take it whole)::

    ROOT Hands                 6 channels, always zero (the world origin)
      JOINT left_wrist         Xposition Yposition Zposition Zrotation Xrotation Yrotation
        JOINT left_index1      Zrotation Xrotation Yrotation
          ...                  (the 15 finger joints of MANO, same tree and names)
            End Site           the fingertip
      JOINT right_wrist        ... the same for the right hand

* Units: metres times ``scale`` (1 = metres, Blender's unit; 100 = centimetres).
* Axes: the motion's own world frame (handgen: +x the person's left, +y up, +z forward), Y-up
  as BVH expects.
* Rotations: each joint's MANO local rotation (``global_orient`` at the wrist, ``hand_pose``
  at the 15 finger joints, absolute / flat-hand-mean) as Euler angles in degrees, channel
  order Z X Y: the local rotation matrix is ``Rz(z) @ Rx(x) @ Ry(y)``. MANO joint frames are
  aligned with the world at rest, so OFFSETs plus these rotations reproduce the model's
  forward kinematics exactly.
* Wrist positions: the wrist's OFFSET is zero and its position channels hold its world
  position (``transl`` + the rest wrist), so readers that add position channels to the
  OFFSET and readers that replace it agree.
* Fingertips are End Sites whose offset is the rest fingertip offset (exact for the
  procedural hand, whose tips are rigid; MANO's tips are mesh vertices, so there they are
  exact at rest and within a few millimetres when the finger bends).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from handgen.export.hand_rig import HandRig
from handgen.hand.topology import (
    HANDS, KEYPOINTS_FROM_MANO, MANO_JOINT_NAMES, MANO_PARENTS, NUM_MANO_JOINTS, TIP_PARENTS,
)
from handgen.io.atomic import atomic_write_text
from handgen.repr.motion import BimanualMotion

ROOT_NAME = "Hands"
ROTATION_ORDER = "ZXY"  # BVH channel order; Rotation.as_euler("ZXY") (upper case: intrinsic) matches it
ROTATION_CHANNELS = tuple(f"{axis}rotation" for axis in ROTATION_ORDER)
POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
_DECIMALS = 6


def bvh_joint_name(side: str, mano_joint: int) -> str:
    """BVH name of MANO joint ``mano_joint`` (0..15) of hand ``side``, e.g. ``left_index1``."""
    return f"{side}_{MANO_JOINT_NAMES[mano_joint]}"


def bvh_tip_name(side: str, tip: int) -> str:
    """Name :func:`handgen.testing.bvh_reader.read_bvh` gives fingertip ``tip`` (0 thumb .. 4 pinky):
    the End Site under its joint, ``<joint>_end``."""
    return f"{bvh_joint_name(side, TIP_PARENTS[tip])}_end"


def bvh_keypoint_names(side: str) -> list[str]:
    """BVH node names (joints and End Sites) of hand ``side`` in handgen's 21-keypoint order."""
    names = []
    for mano21 in KEYPOINTS_FROM_MANO:
        if mano21 < NUM_MANO_JOINTS:
            names.append(bvh_joint_name(side, mano21))
        else:
            names.append(bvh_tip_name(side, mano21 - NUM_MANO_JOINTS))
    return names


def _children(joint: int) -> list[int]:
    return [j for j in range(1, NUM_MANO_JOINTS) if MANO_PARENTS[j] == joint]


def _tip_of(joint: int) -> int | None:
    return TIP_PARENTS.index(joint) if joint in TIP_PARENTS else None


def _vector(values: np.ndarray, scale: float) -> str:
    return " ".join(f"{float(v) * scale:.{_DECIMALS}f}" for v in values)


def axis_angle_to_bvh_euler(axis_angle: np.ndarray) -> np.ndarray:
    """Axis-angle (T, 3) radians -> BVH Euler angles (T, 3) degrees in channel order Z, X, Y.

    The angles are unwrapped over time (no 360-degree jumps between consecutive frames).
    """
    flat = np.asarray(axis_angle, dtype=np.float64).reshape(-1, 3)
    euler = Rotation.from_rotvec(flat).as_euler(ROTATION_ORDER, degrees=True)
    return np.unwrap(euler, period=360.0, axis=0)


def _hand_hierarchy(side: str, rig: HandRig, scale: float, lines: list[str]) -> None:
    """Append the JOINT block of one hand (wrist with position channels, fingers, End Sites)."""
    offsets = rig.joint_offsets
    tips = rig.tip_offsets

    def joint(j: int, depth: int) -> None:
        pad = "\t" * depth
        channels = (POSITION_CHANNELS + ROTATION_CHANNELS) if j == 0 else ROTATION_CHANNELS
        lines.append(f"{pad}JOINT {bvh_joint_name(side, j)}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}\tOFFSET {_vector(offsets[j], scale)}")
        lines.append(f"{pad}\tCHANNELS {len(channels)} {' '.join(channels)}")
        for child in _children(j):
            joint(child, depth + 1)
        tip = _tip_of(j)
        if tip is not None:
            lines.append(f"{pad}\tEnd Site")
            lines.append(f"{pad}\t{{")
            lines.append(f"{pad}\t\tOFFSET {_vector(tips[tip], scale)}")
            lines.append(f"{pad}\t}}")
        lines.append(f"{pad}}}")

    joint(0, 1)


def _hand_channels(motion: BimanualMotion, hand: int, rig: HandRig, scale: float) -> list[np.ndarray]:
    """Per-joint channel columns of one hand, in hierarchy (depth-first) order."""
    wrist = motion.transl[:, hand] + rig.rest_joints[0]
    columns: list[np.ndarray] = []

    def joint(j: int) -> None:
        if j == 0:
            columns.append(wrist * scale)
            columns.append(axis_angle_to_bvh_euler(motion.global_orient[:, hand]))
        else:
            columns.append(axis_angle_to_bvh_euler(motion.hand_pose[:, hand, 3 * (j - 1) : 3 * j]))
        for child in _children(j):
            joint(child)

    joint(0)
    return columns


def motion_to_bvh(motion: BimanualMotion, rigs: dict[str, HandRig], scale: float = 1.0) -> str:
    """The BVH text of ``motion`` (absolute hand_pose) on the rest skeletons ``rigs`` (see the module docstring).

    Args:
        motion: both hands over T frames; ``fps`` sets the Frame Time.
        rigs: ``{"left": HandRig, "right": HandRig}`` for the motion's betas (:func:`hand_rigs`).
        scale: unit factor applied to every length (1 = metres, 100 = centimetres).

    Raises:
        ValueError: non-positive scale or fps, or a rig for the wrong side.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if not motion.fps > 0:
        raise ValueError(f"fps must be positive, got {motion.fps}")
    lines = ["HIERARCHY", f"ROOT {ROOT_NAME}", "{", "\tOFFSET 0.000000 0.000000 0.000000",
             f"\tCHANNELS 6 {' '.join(POSITION_CHANNELS + ROTATION_CHANNELS)}"]
    columns: list[np.ndarray] = [np.zeros((motion.num_frames, 6))]
    for hand, side in enumerate(HANDS):
        rig = rigs[side]
        if rig.side != side:
            raise ValueError(f"rig for {side} is a {rig.side} hand")
        _hand_hierarchy(side, rig, scale, lines)
        columns.extend(_hand_channels(motion, hand, rig, scale))
    lines += ["}", "MOTION", f"Frames: {motion.num_frames}", f"Frame Time: {1.0 / motion.fps:.8f}"]
    table = np.concatenate(columns, axis=1)
    table[np.abs(table) < 0.5 * 10.0**-_DECIMALS] = 0.0  # no "-0.000000"
    buffer = io.StringIO()
    np.savetxt(buffer, table, fmt=f"%.{_DECIMALS}f", delimiter=" ")
    return "\n".join(lines) + "\n" + buffer.getvalue()


def write_bvh(path: str | Path, motion: BimanualMotion, rigs: dict[str, HandRig], scale: float = 1.0) -> Path:
    """Write :func:`motion_to_bvh` to ``path`` atomically; returns the path."""
    path = Path(path)
    atomic_write_text(path, motion_to_bvh(motion, rigs, scale))
    return path


__all__ = [
    "ROOT_NAME", "ROTATION_ORDER", "axis_angle_to_bvh_euler", "bvh_joint_name", "bvh_keypoint_names",
    "bvh_tip_name", "motion_to_bvh", "write_bvh",
]
