"""Read AssemblyHands-X style SMPL-X sequences into both hands' MANO parameters.

AssemblyHands-X has no public release format yet, so handgen reads SMPL-X parameter
sequences in the two layouts the field uses. Accepted layouts under ``AHX_ROOT``:

- ``<AHX_ROOT>/**/<name>.smplx.npy`` — an ARCTIC-style pickled dict, read by the
  restricted unpickler of :mod:`handgen.io.safe_pickle` (nothing in the file runs): ``transl (F,3), global_orient (F,3), body_pose (F,63),
  jaw_pose, leye_pose, reye_pose (F,3), left_hand_pose, right_hand_pose (F,45)``,
  optionally ``betas``, ``gender`` and the keys listed for ``.npz``;
- ``<AHX_ROOT>/**/<name>.npz`` (``allow_pickle=False``) with the standard SMPL-X keys
  ``global_orient (F,3), body_pose (F,63) [or (F,21,3)], left_hand_pose, right_hand_pose
  (F,45) or (F,k) PCA, transl (F,3), betas``; optionally the PCA bases
  ``left_hand_components``/``right_hand_components`` (>=k,45) (also ``hands_componentsl/r``
  or ``hands_components (2,>=k,45)``), ``use_pca``, ``flat_hand_mean`` (default True, as
  ARCTIC's SMPL-X fits), ``hands_meanl``/``hands_meanr`` (45,), ``gender`` and
  ``keypoints3d``.
- 3D hand keypoints for the wrist positions: ``keypoints3d`` inside the file, a sidecar
  ``<name>.keypoints3d.npy`` ((F,42,3) AssemblyHands layout or (F,2,21,3) handgen layout),
  or any keypoint file passed explicitly — including an AssemblyHands annotation json
  (``annotations[seq]["%06d" % frame]["world_coord"]`` 42x3); see
  :mod:`data_prep.hand_keypoints`. Units are detected from the hand size unless given.

Output (:func:`read_smplx_sequence`): a :class:`BimanualMotion` with ABSOLUTE finger
poses, MANO ``global_orient`` = the SMPL-X wrist's global rotation (times an optional
``wrist_offset``, :mod:`data_prep.smplx_hands`), MANO ``transl`` = wrist position -
``hand.wrist_offset(betas)``, and betas = zeros (SMPL-X body shape does not transfer to
MANO; with ``fit_betas`` each hand's ``betas[0]``, its size, is fitted to the keypoints).
Wrist positions come from the SMPL-X model when ``smplx_dir`` is given
(:mod:`data_prep.smplx_joints`), else from the keypoints. Frames with NaN/inf in any
input used are invalid in the returned mask (and hold zeros); they are not an error.
The ``info`` dict records the sources, units and conventions used, and (keypoint wrists)
``keypoint_error_mm``: the mean distance between the posed hands' joints and the keypoints.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import roma
import torch

from data_prep.hand_keypoints import UNIT_SCALE, keypoints_in_metres, load_keypoints_file, to_handgen_layout
from data_prep.hand_scale import fit_scale_betas
from data_prep.smplx_hands import absolute_finger_pose, mano_global_orient, parse_wrist_offset, wrist_global_rotations
from data_prep.smplx_joints import SmplxWristModel
from handgen.errors import HandgenError, InputFileError
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS, NUM_BETAS
from handgen.io.safe_pickle import load_object_npy
from handgen.repr.motion import BimanualMotion

SMPLX_NPY_SUFFIX = ".smplx.npy"
KEYPOINTS_SIDECAR_SUFFIX = ".keypoints3d.npy"
REQUIRED_KEYS = ("global_orient", "body_pose", "left_hand_pose", "right_hand_pose")
NO_WRIST_MESSAGE = (
    "no wrist positions: pass --smplx-dir with the SMPL-X model or provide 3D keypoints "
    "(keypoints3d / world_coord) in the file, as <name>.keypoints3d.npy, or as a keypoint file"
)


def sequence_name(path: str | Path) -> str:
    """``<name>`` of ``<name>.smplx.npy`` or ``<name>.npz``."""
    name = Path(path).name
    for suffix in (SMPLX_NPY_SUFFIX, ".npz"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def discover_sequences(root: str | Path) -> list[Path]:
    """All SMPL-X sequence files under ``root`` (``**/*.smplx.npy`` and ``**/*.npz``), sorted.

    SMPL-X model files (``SMPLX_*.npz``) are not sequences and are left out.
    """
    root = Path(root)
    found = set(root.rglob(f"*{SMPLX_NPY_SUFFIX}")) | {
        p for p in root.rglob("*.npz") if not p.name.upper().startswith("SMPLX_")
    }
    return sorted(p for p in found if p.is_file())


def load_smplx_params(path: str | Path) -> dict[str, Any]:
    """The raw SMPL-X parameter dict of a ``.smplx.npy`` or ``.npz`` sequence file.

    Raises:
        InputFileError: unreadable/truncated file, or not a dict of arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        if path.name.endswith(".npz"):
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        params = load_object_npy(path)  # ARCTIC-style pickled dict, read by the restricted unpickler
    except InputFileError:
        raise
    except (OSError, ValueError, EOFError, TypeError, zipfile.BadZipFile, pickle.UnpicklingError,
            AttributeError, ImportError) as exc:
        raise InputFileError(path, f"cannot read SMPL-X parameters: {exc}") from None
    if not isinstance(params, dict):
        raise InputFileError(path, "expected a pickled dict of SMPL-X parameters")
    return dict(params)


def _frames_array(params: dict[str, Any], key: str, frames: int, width: int | None, path: Path) -> np.ndarray:
    """``params[key]`` as (F, width) float64 (trailing dims flattened); InputFileError on mismatch."""
    try:
        arr = np.asarray(params[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise InputFileError(path, f"{key} is not a numeric array") from None
    if arr.ndim == 0 or arr.shape[0] != frames:
        got = "a scalar" if arr.ndim == 0 else f"{arr.shape[0]} frames"
        raise InputFileError(path, f"arrays disagree in length: global_orient has {frames} frames, {key} has {got}")
    arr = arr.reshape(frames, -1)
    if width is not None and arr.shape[1] != width:
        raise InputFileError(path, f"{key} must have {width} values per frame, got shape {tuple(np.shape(params[key]))}")
    return arr


def _flag(params: dict[str, Any], key: str) -> bool | None:
    if key not in params:
        return None
    return bool(np.asarray(params[key]).reshape(-1)[0])


def _side_array(params: dict[str, Any], side: str, keys: tuple[str, ...], pair_key: str) -> np.ndarray | None:
    for key in keys:
        if key in params:
            return np.asarray(params[key], dtype=np.float64)
    if pair_key in params:
        pair = np.asarray(params[pair_key], dtype=np.float64)
        if pair.ndim >= 2 and pair.shape[0] == 2:
            return pair[HANDS.index(side)]
    return None


def _finger_poses(
    params: dict[str, Any], frames: int, hands: HandPair, flat_hand_mean: bool, path: Path
) -> tuple[np.ndarray, str]:
    """Absolute finger poses (F, 2, 45) and a description of the input format."""
    out = np.zeros((frames, 2, 45))
    formats = []
    use_pca = _flag(params, "use_pca")
    for i, side in enumerate(HANDS):
        pose = _frames_array(params, f"{side}_hand_pose", frames, None, path)
        comps = _side_array(params, side, (f"{side}_hand_components", f"hands_components{side[0]}"), "hands_components")
        pca = pose.shape[1] != 45 or (use_pca is True and comps is not None)
        if pca and comps is None:
            raise InputFileError(
                path, f"{side}_hand_pose has {pose.shape[1]} PCA coefficients but the file has no {side}_hand_components"
            )
        mean = None
        if not flat_hand_mean:
            mean = _side_array(params, side, (f"hands_mean{side[0]}", f"{side}_hand_mean"), "hands_mean")
            if mean is None:
                mean = hands[side].hands_mean.detach().double().cpu().numpy()
        try:
            out[:, i] = absolute_finger_pose(pose, comps if pca else None, flat_hand_mean, mean)
        except ValueError as exc:
            raise InputFileError(path, f"{side} hand: {exc}") from None
        formats.append(f"pca{pose.shape[1]}" if pca else "axis_angle")
    return out, formats[0] if formats[0] == formats[1] else "/".join(formats)


def _find_keypoints(
    path: Path, params: dict[str, Any], keypoints, frames: int, sequence: str, frame_offset: int
) -> tuple[np.ndarray | None, str | None]:
    """Raw handgen-layout keypoints (F,2,21,3) and where they came from, or (None, None)."""
    if keypoints is not None and not isinstance(keypoints, (str, Path)):
        points = to_handgen_layout(keypoints, path)
        if points.shape[0] != frames:
            raise InputFileError(path, f"keypoints have {points.shape[0]} frames but the sequence has {frames}")
        return points, "array"
    if keypoints is not None:
        return load_keypoints_file(keypoints, frames, sequence, frame_offset), str(keypoints)
    for key in ("keypoints3d", "world_coord"):
        if key in params:
            points = to_handgen_layout(params[key], path)
            if points.shape[0] != frames:
                raise InputFileError(path, f"{key} has {points.shape[0]} frames but global_orient has {frames}")
            return points, f"{path.name}:{key}"
    sidecar = path.with_name(sequence + KEYPOINTS_SIDECAR_SUFFIX)
    if sidecar.is_file():
        return load_keypoints_file(sidecar, frames), str(sidecar)
    return None, None


def read_smplx_sequence(
    path: str | Path,
    hands: HandPair,
    smplx_dir: str | Path | None = None,
    keypoints: str | Path | np.ndarray | None = None,
    *,
    keypoint_unit: str = "auto",
    keypoints_sequence: str | None = None,
    frame_offset: int = 0,
    flat_hand_mean: bool | None = None,
    wrist_offset=None,
    gender: str | None = None,
    fit_betas: bool = False,
    fps: float = 30.0,
) -> tuple[BimanualMotion, np.ndarray, dict[str, Any]]:
    """One SMPL-X sequence -> (BimanualMotion, valid (F,) bool, info); see the module docstring.

    Args:
        path: ``<name>.smplx.npy`` or ``<name>.npz``.
        hands: the hand models (their ``wrist_offset`` sets MANO transl, their ``hands_mean``
            is used for non-flat poses when the file carries none).
        smplx_dir: folder with ``SMPLX_<GENDER>.npz``; wrists then come from the body model.
        keypoints: a keypoint file (.npy/.npz/.json) or array; default: in-file or sidecar.
        keypoint_unit: "auto", "m", "cm" or "mm".
        keypoints_sequence, frame_offset: the json's sequence name (default ``<name>``) and
            the frame id of frame 0.
        flat_hand_mean: override the file's flag (default: the file's, else True).
        wrist_offset: per-hand axis-angle applied as ``R_wrist @ R_offset`` (default identity);
            any form :func:`data_prep.smplx_hands.parse_wrist_offset` accepts.
        gender: SMPL-X model gender (default: the file's ``gender``, else "neutral").
        fit_betas: fit each hand's ``betas[0]`` (overall size) to the keypoints' bone lengths
            (:mod:`data_prep.hand_scale`; keypoint wrists only); default zeros.

    Raises:
        InputFileError: missing keys, wrong shapes, arrays that disagree in length, bad
            keypoints, or no source of wrist positions.
        HandgenError: a bad ``wrist_offset``/``keypoint_unit``, or an unusable ``smplx_dir``.
    """
    path = Path(path)
    try:
        offsets = parse_wrist_offset(wrist_offset)
    except ValueError as exc:
        raise HandgenError(str(exc)) from None
    if keypoint_unit not in ("auto", *UNIT_SCALE):
        raise HandgenError(f"keypoint unit must be one of auto, {', '.join(UNIT_SCALE)}; got {keypoint_unit!r}")
    params = load_smplx_params(path)
    missing = [key for key in REQUIRED_KEYS if key not in params]
    if missing:
        raise InputFileError(path, f"missing SMPL-X keys: {', '.join(missing)}")
    go = np.asarray(params["global_orient"], dtype=np.float64)
    if go.ndim == 0 or go.shape[0] == 0:
        raise InputFileError(path, f"global_orient must be (F,3) with F >= 1, got shape {go.shape}")
    frames = go.shape[0]
    go = _frames_array(params, "global_orient", frames, 3, path)
    body = _frames_array(params, "body_pose", frames, 63, path)
    name = sequence_name(path)
    flat = flat_hand_mean if flat_hand_mean is not None else _flag(params, "flat_hand_mean")
    flat = True if flat is None else flat
    finger, pose_format = _finger_poses(params, frames, hands, flat, path)
    valid = np.isfinite(go).all(1) & np.isfinite(body).all(1) & np.isfinite(finger).all((1, 2))

    info: dict[str, Any] = {"sequence": name, "source_file": str(path), "flat_hand_mean_input": flat,
                            "hand_pose_format": pose_format, "hand_model": hands.name, "betas": "zeros"}
    go_clean, body_clean = np.where(valid[:, None], go, 0.0), np.where(valid[:, None], body, 0.0)
    fit_points = None
    if smplx_dir is not None:
        if "transl" not in params:
            raise InputFileError(path, "missing SMPL-X key transl (needed to place the body with --smplx-dir)")
        transl = _frames_array(params, "transl", frames, 3, path)
        valid &= np.isfinite(transl).all(1)
        file_gender = str(np.asarray(params["gender"]).reshape(-1)[0]) if "gender" in params else "neutral"
        model = SmplxWristModel(smplx_dir, gender or file_gender)
        betas = params.get("betas")
        betas = None if betas is None else np.asarray(betas, dtype=np.float64).reshape(-1, np.shape(betas)[-1])[:1]
        wrists = model.wrist_positions(go_clean, body_clean, np.where(valid[:, None], transl, 0.0), betas)
        info.update(wrist_source="smplx_model", smplx_model=str(model.path))
    else:
        raw, where = _find_keypoints(path, params, keypoints, frames, keypoints_sequence or name, frame_offset)
        if raw is None:
            raise InputFileError(path, NO_WRIST_MESSAGE)
        points, unit = keypoints_in_metres(raw, keypoint_unit, where)
        wrists = points[:, :, 0]
        valid &= np.isfinite(wrists).all((1, 2))
        info.update(wrist_source="keypoints", keypoint_file=where, keypoint_unit=unit)
        fit_points = points

    rotations = wrist_global_rotations(go_clean, body_clean)
    global_orient = np.stack([mano_global_orient(rotations[i], offsets[side]) for i, side in enumerate(HANDS)], 1)
    betas_mano = np.zeros((2, NUM_BETAS))
    if fit_betas and fit_points is not None:
        betas_mano = np.stack([fit_scale_betas(fit_points[valid, i], hands[side]) for i, side in enumerate(HANDS)])
        info["betas"] = "fitted betas[0] (hand size) from keypoint bone lengths"
    with torch.no_grad():
        rest_wrist = np.stack([
            hands[side].wrist_offset(torch.from_numpy(betas_mano[i]).float()).double().cpu().numpy()
            for i, side in enumerate(HANDS)
        ])
    transl_mano = np.where(valid[:, None, None], wrists, 0.0) - rest_wrist[None]
    keep = valid[:, None, None]
    motion = BimanualMotion(
        global_orient=np.where(keep, global_orient, 0.0).astype(np.float32),
        hand_pose=np.where(keep, finger, 0.0).astype(np.float32),
        transl=np.where(keep, transl_mano, 0.0).astype(np.float32),
        betas=betas_mano.astype(np.float32),
        fps=float(fps),
    )
    info.update(num_frames=frames, num_valid=int(valid.sum()), wrist_offset=_offset_note(wrist_offset))
    if fit_points is not None and hands.flat_hand_mean:
        info["keypoint_error_mm"] = keypoint_fit_error(motion, valid, fit_points, hands)
    return motion, valid, info


def _offset_note(spec) -> str:
    """A readable record of the wrist offset that was applied (per-hand axis-angle)."""
    if spec is None:
        return "identity"
    rotvecs = {side: roma.rotmat_to_rotvec(torch.from_numpy(r)).numpy() for side, r in parse_wrist_offset(spec).items()}
    return repr({side: v.round(6).tolist() for side, v in rotvecs.items()})


def keypoint_fit_error(
    motion: BimanualMotion, valid: np.ndarray, points: np.ndarray, hands: HandPair, max_frames: int = 256
) -> float:
    """Mean distance (mm) between the posed hands' 21 joints and 3D keypoints (F,2,21,3) metres.

    Measured on up to ``max_frames`` evenly spaced valid frames. With keypoints of real
    hands and handgen's procedural hand this is millimetres to a couple of centimetres
    (different bone lengths); far more means a wrong wrist rotation convention or
    keypoint unit. NaN when no frame is usable.
    """
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return float("nan")
    idx = idx[np.linspace(0, idx.size - 1, min(idx.size, max_frames)).round().astype(int)]
    part = BimanualMotion(motion.global_orient[idx], motion.hand_pose[idx], motion.transl[idx], motion.betas)
    dist = np.linalg.norm(part.joints(hands) - points[idx], axis=-1)
    dist = dist[np.isfinite(dist)]
    return float(dist.mean() * 1000.0) if dist.size else float("nan")
