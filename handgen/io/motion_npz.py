"""The sampled-motion file: one bimanual motion as a pickle-free ``.npz``.

Arrays (T frames; ``h`` in ``left``, ``right``)::

    {h}_global_orient   (T, 3)   axis-angle, radians
    {h}_hand_pose       (T, 45)  axis-angle, radians, ABSOLUTE (flat-hand-mean, see hand_pose_convention)
    {h}_transl          (T, 3)   metres
    {h}_betas           (10,)
    {h}_hands_mean      (45,)    the hand model's mean pose, so MANO users can convert
    hand_pose_convention  str    "absolute (flat_hand_mean=True): MANO hand_pose = this - hands_mean"
    joints              (T, 2, 21, 3)  metres, 21-keypoint order, index 0 left / 1 right
    fps                 ()       frames per second
    text_left, text_right, text_both   str ("" when there is no text)
    hand_model          str      "procedural" or "mano"
    source_id           str      optional: the DATA_DIR clip id it came from

Optional object (a clip with an object; all or none, :func:`object_arrays`)::

    object_name         str
    object_category     str
    object_vertices     (V, 3)   canonical template, metres, articulation 0
    object_faces        (F, 3)   int32
    object_parts        (V,)     int8, 1 = top (moving) part
    object_axis, object_pivot (3,)  the top part's hinge (handgen.repr.object_pose)
    object_rot          (T, 3)   axis-angle: x = R x_canonical' + object_transl
    object_transl       (T, 3)   metres, the motion's frame
    object_articulation (T,)     radians

Strings are stored as numpy unicode arrays, so ``np.load(path, allow_pickle=False)``
reads every key. Other keys (sampling metadata) may be added by the writer and are
returned untouched by :func:`load_motion`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from handgen.errors import InputFileError
from handgen.hand.topology import HANDS, NUM_BETAS, NUM_KEYPOINTS, TEXT_BRANCHES
from handgen.io.atomic import atomic_save_npz
from handgen.io.grasp_npz import grasp_as_motion, is_grasp_arrays
from handgen.repr.motion import BimanualMotion
from handgen.repr.object_pose import ObjectTemplate

HAND_POSE_CONVENTION = "absolute (flat_hand_mean=True): MANO hand_pose = this - hands_mean"
TEXT_KEYS = TEXT_BRANCHES
_STRING_KEYS = ("hand_pose_convention", "text_left", "text_right", "text_both", "hand_model")


def _texts(texts: Mapping[str, str] | None) -> dict[str, str]:
    texts = texts or {}
    unknown = set(texts) - set(TEXT_KEYS)
    if unknown:
        raise ValueError(f"texts take the keys {TEXT_KEYS}, got {sorted(unknown)}")
    return {k: str(texts.get(k) or "") for k in TEXT_KEYS}


def _hands_mean_array(hands_mean: Any) -> np.ndarray:
    """(2, 45) from an array (2,45) or a mapping {"left": (45,), "right": (45,)}."""
    if isinstance(hands_mean, Mapping):
        hands_mean = [np.asarray(hands_mean[s], dtype=np.float64).reshape(-1) for s in HANDS]
    out = np.asarray(hands_mean, dtype=np.float64)
    if out.shape != (2, 45):
        raise ValueError(f"hands_mean must be (2, 45) or {{left, right}} of (45,), got shape {out.shape}")
    return out


def save_motion(
    path: str | Path,
    motion: BimanualMotion,
    joints: np.ndarray,
    texts: Mapping[str, str] | None,
    hand_model: str,
    hands_mean: Any,
    source_id: str | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write ``motion`` (absolute hand_pose) and its joints (T,2,21,3) to ``path`` atomically.

    ``texts`` maps left/right/both to strings (missing ones become ""); ``hands_mean`` is
    (2,45) or ``{"left", "right"}`` of (45,) radians; ``extra`` adds further arrays.

    Raises:
        ValueError: on inconsistent shapes or non-finite values (a programming error upstream).
    """
    t = motion.num_frames
    joints = np.asarray(joints, dtype=np.float32)
    if joints.shape != (t, 2, NUM_KEYPOINTS, 3):
        raise ValueError(f"joints must be ({t}, 2, 21, 3), got {joints.shape}")
    arrays: dict[str, np.ndarray] = {}
    mean = _hands_mean_array(hands_mean)
    for i, side in enumerate(HANDS):
        arrays[f"{side}_global_orient"] = np.asarray(motion.global_orient[:, i], dtype=np.float32)
        arrays[f"{side}_hand_pose"] = np.asarray(motion.hand_pose[:, i], dtype=np.float32)
        arrays[f"{side}_transl"] = np.asarray(motion.transl[:, i], dtype=np.float32)
        arrays[f"{side}_betas"] = np.asarray(motion.betas[i], dtype=np.float32)
        arrays[f"{side}_hands_mean"] = mean[i].astype(np.float32)
    arrays["joints"] = joints
    for key, value in arrays.items():
        if not np.all(np.isfinite(value)):
            raise ValueError(f"refusing to save non-finite values in {key}")
    arrays["fps"] = np.asarray(float(motion.fps), dtype=np.float64)
    arrays["hand_pose_convention"] = np.asarray(HAND_POSE_CONVENTION)
    for key, text in _texts(texts).items():
        arrays[f"text_{key}"] = np.asarray(text)
    arrays["hand_model"] = np.asarray(str(hand_model))
    if source_id is not None:
        arrays["source_id"] = np.asarray(str(source_id))
    for key, value in (extra or {}).items():
        if key in arrays:
            raise ValueError(f"extra array {key!r} clashes with a motion-file key")
        arrays[key] = np.asarray(value)
    path = Path(path)
    atomic_save_npz(path, **arrays)
    return path


def _expect(path: Path, data: Mapping[str, np.ndarray], key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key not in data:
        raise InputFileError(path, f"missing array {key!r}")
    value = np.asarray(data[key])
    if value.shape != shape:
        raise InputFileError(path, f"{key} has shape {value.shape}, expected {shape}")
    if not np.issubdtype(value.dtype, np.number):
        raise InputFileError(path, f"{key} is not numeric (dtype {value.dtype})")
    if not np.all(np.isfinite(value)):
        raise InputFileError(path, f"{key} contains NaN or inf")
    return value


def load_motion(path: str | Path) -> tuple[BimanualMotion, dict[str, Any]]:
    """Read a motion file written by :func:`save_motion`.

    Returns:
        The motion (absolute hand_pose, float64) and a dict of extras: ``joints``
        (T,2,21,3), ``texts`` {left, right, both}, ``hand_model``, ``hands_mean`` (2,45),
        ``hand_pose_convention``, ``fps``, ``source_id`` (or None) and any other arrays
        under their own names.

    Raises:
        InputFileError: missing/unreadable file, missing key, wrong shape, NaN/inf.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "motion file not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(path, f"not a readable .npz motion file ({exc})") from None
    if "right_global_orient" not in data:
        raise InputFileError(path, "missing array 'right_global_orient'")
    if is_grasp_arrays(data):  # a grasp of `handgen grasp`: one frame, with its object
        return grasp_as_motion(path, data)
    frames = np.asarray(data["right_global_orient"]).shape[0] if np.ndim(data["right_global_orient"]) else 0
    if frames == 0:
        raise InputFileError(path, "the motion has zero frames")
    per_hand: dict[str, list[np.ndarray]] = {k: [] for k in ("global_orient", "hand_pose", "transl", "betas")}
    means = []
    for side in HANDS:
        per_hand["global_orient"].append(_expect(path, data, f"{side}_global_orient", (frames, 3)))
        per_hand["hand_pose"].append(_expect(path, data, f"{side}_hand_pose", (frames, 45)))
        per_hand["transl"].append(_expect(path, data, f"{side}_transl", (frames, 3)))
        per_hand["betas"].append(_expect(path, data, f"{side}_betas", (NUM_BETAS,)))
        means.append(_expect(path, data, f"{side}_hands_mean", (45,)))
    joints = _expect(path, data, "joints", (frames, 2, NUM_KEYPOINTS, 3))
    fps = float(_expect(path, data, "fps", ()))
    if fps <= 0:
        raise InputFileError(path, f"fps must be positive, got {fps}")
    strings = {}
    for key in _STRING_KEYS:
        if key not in data:
            raise InputFileError(path, f"missing array {key!r}")
        if data[key].dtype.kind != "U" or data[key].shape != ():
            raise InputFileError(path, f"{key} must be a string")
        strings[key] = str(data[key])
    motion = BimanualMotion(
        global_orient=np.stack(per_hand["global_orient"], axis=1).astype(np.float64),
        hand_pose=np.stack(per_hand["hand_pose"], axis=1).astype(np.float64),
        transl=np.stack(per_hand["transl"], axis=1).astype(np.float64),
        betas=np.stack(per_hand["betas"]).astype(np.float64),
        fps=fps,
    )
    known = {f"{s}_{k}" for s in HANDS for k in ("global_orient", "hand_pose", "transl", "betas", "hands_mean")}
    known |= {"joints", "fps", "source_id", *_STRING_KEYS}
    extras: dict[str, Any] = {key: value for key, value in data.items() if key not in known}
    extras.update(
        joints=joints.astype(np.float32),
        texts={k: strings[f"text_{k}"] for k in TEXT_KEYS},
        hand_model=strings["hand_model"],
        hands_mean=np.stack(means).astype(np.float64),
        hand_pose_convention=strings["hand_pose_convention"],
        fps=fps,
        source_id=str(data["source_id"]) if "source_id" in data else None,
    )
    return motion, extras


OBJECT_KEYS: tuple[str, ...] = (
    "object_name", "object_category", "object_vertices", "object_faces", "object_parts", "object_axis",
    "object_pivot", "object_rot", "object_transl", "object_articulation",
)


def object_arrays(
    template: ObjectTemplate, rot: np.ndarray, transl: np.ndarray, articulation: np.ndarray
) -> dict[str, np.ndarray]:
    """The optional object keys of a motion file (pass them as ``extra`` to :func:`save_motion`)."""
    return {
        "object_name": np.asarray(template.name), "object_category": np.asarray(template.category),
        "object_vertices": template.vertices.astype(np.float32), "object_faces": template.faces.astype(np.int32),
        "object_parts": template.parts.astype(np.int8), "object_axis": template.axis.astype(np.float32),
        "object_pivot": template.pivot.astype(np.float32), "object_rot": np.asarray(rot, dtype=np.float32),
        "object_transl": np.asarray(transl, dtype=np.float32),
        "object_articulation": np.asarray(articulation, dtype=np.float32),
    }


def object_from_extras(
    path: str | Path, extras: Mapping[str, Any], frames: int
) -> tuple[ObjectTemplate, np.ndarray, np.ndarray, np.ndarray] | None:
    """The object of a loaded motion file: (template, articulation (T,), rot (T,3), transl (T,3)), or None.

    Raises:
        InputFileError: some but not all object keys, or wrong shapes / non-finite values.
    """
    present = [k for k in OBJECT_KEYS if k in extras]
    if not present:
        return None
    path = Path(path)
    missing = [k for k in OBJECT_KEYS if k not in extras]
    if missing:
        raise InputFileError(path, f"object arrays incomplete: missing {missing}")
    verts = np.asarray(extras["object_vertices"], dtype=np.float64)
    faces = np.asarray(extras["object_faces"])
    if verts.ndim != 2 or verts.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise InputFileError(path, f"object_vertices/object_faces must be (V,3)/(F,3), got {verts.shape}/{faces.shape}")
    if faces.min() < 0 or faces.max() >= len(verts):
        raise InputFileError(path, "object_faces index vertices that do not exist")
    for key, shape in (("object_rot", (frames, 3)), ("object_transl", (frames, 3)), ("object_articulation", (frames,)),
                       ("object_parts", (len(verts),)), ("object_axis", (3,)), ("object_pivot", (3,))):
        _expect(path, extras, key, shape)
    template = ObjectTemplate(
        str(extras["object_name"]), verts, faces.astype(np.int64), np.asarray(extras["object_parts"]),
        axis=np.asarray(extras["object_axis"]), pivot=np.asarray(extras["object_pivot"]),
        category=str(extras["object_category"]),
    )
    return (template, np.asarray(extras["object_articulation"], dtype=np.float64),
            np.asarray(extras["object_rot"], dtype=np.float64), np.asarray(extras["object_transl"], dtype=np.float64))
