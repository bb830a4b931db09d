"""SMPL-X body parameters -> the MANO parameters of both hands (rotations and finger poses).

SMPL-X's hands are MANO hands hung on the body's kinematic tree:

- **Wrist rotation.** SMPL-X joints 20 (left wrist) and 21 (right wrist) carry the
  hands. A hand's global rotation is the product of the local rotations along its
  chain (:data:`SMPLX_PARENTS`, docs/reference.md section 3):
  left ``go R3 R6 R9 R13 R16 R18 R20``, right ``go R3 R6 R9 R14 R17 R19 R21``,
  with ``body_pose (F,63)`` holding the local rotations of body joints 1..21.
- **Wrist frame vs MANO's global_orient.** Both models keep every joint frame
  aligned with the world axes at rest, and SMPL-X's rest (T-)pose holds the
  right arm along the body's -x with the palm down (-y) and the thumb forward
  (+z): exactly MANO's rest right hand (fingers along -x, palm facing -y, thumb
  on +z). The left side is the x-mirror in both. So MANO ``global_orient`` is the
  wrist's global rotation with no offset; the SMPL-X maintainer says the same
  (vchoutas/smplx issue #20: "multiply the rotation matrices of its parents in the
  kinematic chain"), and public MANO->SMPL-X converters plug a MANO right-hand
  global_orient straight into the wrist chain. This has not been checked here
  against the licensed model files, so :func:`mano_global_orient` takes a
  ``wrist_offset`` applied on the hand's side: ``R_mano = R_smplx_wrist @ R_offset``
  (identity by default).
- **Finger poses.** ``left_hand_pose``/``right_hand_pose`` are MANO's 15 finger
  joints: axis-angle (F,45) or PCA coefficients (F,k) with components (>=k,45).
  With ``flat_hand_mean=True`` (ARCTIC's SMPL-X fits; handgen's default) they are
  already absolute; with ``False`` the hand's mean pose is added.

Arrays are numpy float64 in and out; rotations go through torch + roma.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import roma
import torch

from handgen.hand.topology import HANDS

# parents of the first 25 SMPL-X joints (body 0-21, jaw 22, eyes 23-24)
SMPLX_PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15)
NUM_BODY_JOINTS = 21  # body_pose (63,) = joints 1..21
WRIST_JOINTS: dict[str, int] = {"left": 20, "right": 21}


def kinematic_chain(joint: int) -> tuple[int, ...]:
    """SMPL-X joints from the root (0) down to ``joint``, inclusive."""
    chain = [joint]
    while SMPLX_PARENTS[chain[-1]] != -1:
        chain.append(SMPLX_PARENTS[chain[-1]])
    return tuple(reversed(chain))


def _as_frames(value, width: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == width:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{name} must have shape (F,{width}), got {tuple(arr.shape)}")
    return arr


def body_rotmats(global_orient, body_pose) -> torch.Tensor:
    """Local rotations (F, 22, 3, 3) float64 of SMPL-X joints 0..21 from axis-angle."""
    go = _as_frames(global_orient, 3, "global_orient")
    bp = _as_frames(body_pose, 3 * NUM_BODY_JOINTS, "body_pose")
    if go.shape[0] != bp.shape[0]:
        raise ValueError(f"global_orient has {go.shape[0]} frames but body_pose has {bp.shape[0]}")
    full = np.concatenate([go, bp], axis=1).reshape(-1, NUM_BODY_JOINTS + 1, 3)
    return roma.rotvec_to_rotmat(torch.from_numpy(full))


def wrist_global_rotations(global_orient, body_pose) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations of the left and right SMPL-X wrists, each (F, 3, 3).

    Args:
        global_orient: (F, 3) axis-angle of the pelvis, radians.
        body_pose: (F, 63) axis-angle of body joints 1..21, radians.

    Raises:
        ValueError: on wrong shapes or frame counts.
    """
    rot = body_rotmats(global_orient, body_pose)
    out = []
    for side in HANDS:
        chain = kinematic_chain(WRIST_JOINTS[side])
        glob = rot[:, chain[0]]
        for joint in chain[1:]:
            glob = glob @ rot[:, joint]
        out.append(glob.numpy())
    return out[0], out[1]


def parse_wrist_offset(spec: Mapping[str, Sequence[float]] | np.ndarray | str | None) -> dict[str, np.ndarray]:
    """Per-hand offset rotations (3,3) from ``None`` (identity), a dict ``{side: axis-angle (3,)}``
    (missing sides are identity), an array (2,3) of axis-angles ordered (left, right), or a
    command-line string of six comma-separated numbers ``"lx,ly,lz,rx,ry,rz"`` (radians).

    Raises:
        ValueError: on anything else.
    """
    rotvecs = {side: np.zeros(3) for side in HANDS}
    if isinstance(spec, str):
        try:
            spec = np.array([float(v) for v in spec.split(",")]).reshape(2, 3)
        except ValueError:
            raise ValueError(f"wrist offset must be six comma-separated numbers lx,ly,lz,rx,ry,rz; got {spec!r}") from None
    if spec is None:
        pass
    elif isinstance(spec, Mapping):
        for side, value in spec.items():
            if side not in HANDS:
                raise ValueError(f"wrist_offset keys must be 'left'/'right', got {side!r}")
            rotvecs[side] = np.asarray(value, dtype=np.float64).reshape(3)
    else:
        arr = np.asarray(spec, dtype=np.float64)
        if arr.shape != (2, 3):
            raise ValueError(f"wrist_offset array must be (2,3) axis-angles (left, right), got {arr.shape}")
        rotvecs = {side: arr[i] for i, side in enumerate(HANDS)}
    return {side: roma.rotvec_to_rotmat(torch.from_numpy(v.copy())).numpy() for side, v in rotvecs.items()}


def mano_global_orient(wrist_rotation: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
    """MANO ``global_orient`` (F, 3) axis-angle from SMPL-X wrist rotations (F, 3, 3).

    ``offset`` (3, 3) is applied in the hand's own frame: ``R_mano = R_wrist @ offset``.
    """
    rot = torch.from_numpy(np.asarray(wrist_rotation, dtype=np.float64))
    if offset is not None:
        rot = rot @ torch.from_numpy(np.asarray(offset, dtype=np.float64))
    return roma.rotmat_to_rotvec(rot).numpy()


# -- finger poses ------------------------------------------------------------------------


def absolute_finger_pose(
    pose,
    components: np.ndarray | None = None,
    flat_hand_mean: bool = True,
    hands_mean: np.ndarray | None = None,
) -> np.ndarray:
    """Absolute (flat-hand-mean) finger pose (F, 45) from SMPL-X/MANO hand parameters.

    Args:
        pose: (F, 45) axis-angle, or (F, k) PCA coefficients when ``components`` is given.
        components: (>=k, 45) PCA basis; the pose is ``coeffs @ components[:k]``.
        flat_hand_mean: True when the pose is already relative to a flat hand.
        hands_mean: (45,) mean pose added when ``flat_hand_mean`` is False.

    Raises:
        ValueError: on inconsistent shapes or a missing ``hands_mean``/``components``.
    """
    arr = np.asarray(pose, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2:
        raise ValueError(f"hand pose must be (F,45) or (F,k) PCA coefficients, got {tuple(arr.shape)}")
    if components is not None:
        comps = np.asarray(components, dtype=np.float64)
        k = arr.shape[1]
        if comps.ndim != 2 or comps.shape[1] != 45 or comps.shape[0] < k:
            raise ValueError(f"PCA components must be (>={k},45) for {k} coefficients, got {tuple(comps.shape)}")
        arr = arr @ comps[:k]
    elif arr.shape[1] != 45:
        raise ValueError(f"hand pose has {arr.shape[1]} values per frame: 45 axis-angle or PCA with components")
    if not flat_hand_mean:
        if hands_mean is None:
            raise ValueError("flat_hand_mean=False needs the hand's mean pose (hands_mean)")
        arr = arr + np.asarray(hands_mean, dtype=np.float64).reshape(45)
    return arr


def pca_coefficients(
    absolute_pose,
    components: np.ndarray,
    flat_hand_mean: bool = True,
    hands_mean: np.ndarray | None = None,
) -> np.ndarray:
    """Inverse of :func:`absolute_finger_pose` for PCA: least-squares coefficients (F, k).

    Exact when ``components`` spans the pose (e.g. all 45 components).
    """
    arr = np.asarray(absolute_pose, dtype=np.float64).reshape(-1, 45)
    if not flat_hand_mean:
        if hands_mean is None:
            raise ValueError("flat_hand_mean=False needs the hand's mean pose (hands_mean)")
        arr = arr - np.asarray(hands_mean, dtype=np.float64).reshape(45)
    comps = np.asarray(components, dtype=np.float64)
    coeffs, *_ = np.linalg.lstsq(comps.T, arr.T, rcond=None)
    return coeffs.T


def relative_finger_pose(absolute_pose, hands_mean: np.ndarray) -> np.ndarray:
    """Absolute (flat-hand-mean) pose (F,45) -> MANO's default convention (offset from ``hands_mean``)."""
    return np.asarray(absolute_pose, dtype=np.float64) - np.asarray(hands_mean, dtype=np.float64).reshape(45)
