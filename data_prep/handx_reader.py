"""Read HandX's released dataset files (docs/reference.md 4b) into handgen's conventions.

``HANDX_DIR`` holds, per split ``s`` in train/test::

    {s}_can_pos_all_wotextfeat.npz   member "k": {"motion": (60, 2, 21, 3) float32 m, centred on the
                                     right wrist at frame 0; "left_annotation", "right_annotation",
                                     "interaction_annotation": lists of 5 str}
    {s}_mano.npz                     member "k": {"left_pose", "right_pose": (60, 48) axis-angle
                                     = global_orient(3) + hand_pose(45) RELATIVE to MANO's mean pose;
                                     "left_shape", "right_shape": (60, 10); "left_trans", "right_trans": (60, 3) m}
    source_metadata.json             optional: the source dataset of each clip

Every npz member is a pickled dict in a 0-d object array: it is read with
:func:`handgen.io.safe_pickle.iter_object_npz` (plain containers and numpy arrays only; a
member naming any other class is refused before anything runs).

Conventions applied here (joint order and up axes: :mod:`handgen.io.handx_format`):

- Joint order: HandX keeps MANO's native order with the tips appended (wrist, index, middle,
  pinky, ring, thumb, then tips thumb..pinky); handgen's keypoint ``k`` is HandX joint
  ``HANDX_TO_HANDGEN[k]`` (wrist, then thumb, index, middle, ring, pinky base -> tip).
- Finger poses: ``hand_pose_abs = hand_pose_handx + hands_mean`` (handgen stores absolute,
  flat-hand-mean poses, like ARCTIC's reader), with the hands_mean of the hand model in use.
- Up axis: handgen's world is +y up. ``up_axis="z"`` (default; HandX's annotation code reads
  z as up, so the captions' "up" is +z) rotates by -90 deg about x, ``(x, y, z) -> (x, z, -y)``;
  ``up_axis="y"`` keeps the coordinates. Joints and MANO parameters are rotated alike
  (:func:`rotate_params`):
  ``global_orient' = R global_orient``, ``transl' = R (transl + w) - w`` (``w`` the rest wrist
  of the hand model for the clip's betas), so the posed wrist moves to ``R wrist``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from handgen.errors import InputFileError
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS, NUM_BETAS
from handgen.io.handx_format import UP_AXES, to_handgen_order, to_handx_order  # noqa: F401 - re-exported
from handgen.repr.motion import BimanualMotion

HANDX_FPS = 30.0
HANDX_FRAMES = 60
SPLIT_FILES: dict[str, tuple[str, str]] = {  # split -> (can_pos file, mano file)
    "train": ("train_can_pos_all_wotextfeat.npz", "train_mano.npz"),
    "test": ("test_can_pos_all_wotextfeat.npz", "test_mano.npz"),
}
METADATA_FILE = "source_metadata.json"
CAPTION_KEYS: tuple[tuple[str, str], ...] = (
    ("left", "left_annotation"), ("right", "right_annotation"), ("both", "interaction_annotation"),
)
@dataclass
class HandXClip:
    """One converted clip: joints from the file and MANO parameters, both in handgen's convention."""

    key: str
    joints: np.ndarray  # (60, 2, 21, 3) metres, handgen order, up axis applied, right wrist at frame 0 = origin
    captions: list[dict[str, str]]  # 5 {left, right, both}
    motion: BimanualMotion  # absolute hand_pose, in the FILE's frame (rotate with :func:`rotate_params`)


def _array(path: Path, key: str, entry: dict, name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name not in entry:
        raise InputFileError(path, f"member {key!r}: missing key {name!r}")
    try:
        value = np.asarray(entry[name], dtype=np.float64)
    except (TypeError, ValueError):
        raise InputFileError(path, f"member {key!r}: {name} is not numeric") from None
    if value.shape != shape:
        raise InputFileError(path, f"member {key!r}: {name} has shape {value.shape}, expected {shape}")
    if not np.isfinite(value).all():
        raise InputFileError(path, f"member {key!r}: {name} has NaN/inf values")
    return value


def _dict(path: Path, key: str, entry: Any) -> dict:
    if not isinstance(entry, dict):
        raise InputFileError(path, f"member {key!r}: expected a dict, got {type(entry).__name__}")
    return entry


def parse_can_pos(path: Path, key: str, entry: Any) -> tuple[np.ndarray, list[dict[str, str]]]:
    """``(joints (60, 2, 21, 3) in HandX order, [5 caption triplets])`` of one can_pos member.

    Raises:
        InputFileError: not a dict, missing keys, wrong shapes, NaN, caption lists of unequal length.
    """
    entry = _dict(path, key, entry)
    joints = _array(path, key, entry, "motion", (HANDX_FRAMES, 2, 21, 3))
    texts = {}
    for ours, theirs in CAPTION_KEYS:
        value = entry.get(theirs)
        if isinstance(value, str):
            value = [value]
        elif isinstance(value, np.ndarray):  # an array of strings reads as the list it holds
            value = [str(v) for v in value.reshape(-1)] if value.dtype.kind in "US" or value.dtype == object else None
        if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
            raise InputFileError(path, f"member {key!r}: {theirs} must be a non-empty list of str")
        texts[ours] = list(value)
    counts = {len(v) for v in texts.values()}
    if len(counts) != 1:
        raise InputFileError(path, f"member {key!r}: annotation lists differ in length "
                                   f"({', '.join(f'{k} {len(v)}' for k, v in texts.items())})")
    captions = [{ours: texts[ours][i].strip() for ours, _ in CAPTION_KEYS} for i in range(counts.pop())]
    return joints, captions


def parse_mano(path: Path, key: str, entry: Any) -> dict[str, np.ndarray]:
    """``{global_orient (60,2,3), hand_pose (60,2,45) relative to the mean, transl (60,2,3), betas (2,10)}``.

    Betas are the frame-0 fit (HandX holds them constant). Raises InputFileError like :func:`parse_can_pos`.
    """
    entry = _dict(path, key, entry)
    pose = np.stack([_array(path, key, entry, f"{s}_pose", (HANDX_FRAMES, 48)) for s in HANDS], axis=1)
    shape = np.stack([_array(path, key, entry, f"{s}_shape", (HANDX_FRAMES, NUM_BETAS)) for s in HANDS], axis=1)
    trans = np.stack([_array(path, key, entry, f"{s}_trans", (HANDX_FRAMES, 3)) for s in HANDS], axis=1)
    return {"global_orient": pose[..., :3], "hand_pose": pose[..., 3:], "transl": trans, "betas": shape[0]}


def rotate_params(global_orient: np.ndarray, transl: np.ndarray, betas: np.ndarray, rot: np.ndarray,
                  hands: HandPair) -> tuple[np.ndarray, np.ndarray]:
    """MANO parameters of N clips rotated rigidly by ``rot`` (3, 3) about the world origin.

    ``global_orient``, ``transl`` (N, T, 2, 3), ``betas`` (N, 2, 10). The posed wrist moves to
    ``R wrist``: ``global_orient' = R global_orient``, ``transl' = R (transl + w) - w`` with ``w``
    the hand model's rest wrist for the betas. One vectorised call for the whole batch.
    """
    if np.allclose(rot, np.eye(3)):
        return global_orient, transl
    r = Rotation.from_matrix(rot)
    orient = (r * Rotation.from_rotvec(global_orient.reshape(-1, 3))).as_rotvec().reshape(global_orient.shape)
    out = np.empty_like(transl)
    for i, side in enumerate(HANDS):
        with torch.no_grad():
            w = hands[side].wrist_offset(torch.as_tensor(betas[:, i], dtype=torch.float32)).double().numpy()  # (N, 3)
        out[:, :, i] = (transl[:, :, i] + w[:, None]) @ rot.T - w[:, None]
    return orient, out


def make_clip(
    path: Path, key: str, can_pos: Any, mano: Any, hands: HandPair, up_axis: str = "z"
) -> HandXClip:
    """Both members of one clip -> a :class:`HandXClip` (joints rotated to handgen's frame, MANO parameters not
    yet: :func:`rotate_params` does a whole chunk at once). Raises InputFileError for a bad member."""
    rot = UP_AXES[up_axis]
    joints, captions = parse_can_pos(path, key, can_pos)
    params = parse_mano(path.with_name(path.name.replace("_can_pos_all_wotextfeat", "_mano")), key, mano)
    joints = to_handgen_order(joints) @ rot.T
    joints = joints - joints[0, 1, 0]  # the file's own right wrist at frame 0 -> origin (exactly)
    means = np.stack([hands[s].hands_mean.detach().cpu().double().numpy() for s in HANDS])  # (2, 45)
    motion = BimanualMotion(global_orient=params["global_orient"], hand_pose=params["hand_pose"] + means[None],
                            transl=params["transl"], betas=params["betas"], fps=HANDX_FPS)
    return HandXClip(key=key, joints=joints, captions=captions, motion=motion)


def read_source_metadata(path: Path) -> dict[str, dict[str, str]]:
    """``{split: {member key: source dataset}}`` from ``source_metadata.json`` (unverified layout, read leniently).

    Accepted: ``{split: {key: name | {"dataset"|"source": name}}}``, ``{split: [name, ...]}`` (list
    index = key), or the same without the split level (applies to every split).

    Raises:
        InputFileError: not JSON.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(path, f"not valid JSON ({exc})") from None

    def names(block: Any) -> dict[str, str]:
        if isinstance(block, list):
            block = {str(i): v for i, v in enumerate(block)}
        if not isinstance(block, dict):
            return {}
        out = {}
        for k, v in block.items():
            if isinstance(v, dict):
                v = v.get("dataset", v.get("source"))
            if isinstance(v, str):
                out[str(k)] = v
        return out

    if isinstance(data, dict) and any(s in data for s in SPLIT_FILES):
        return {s: names(data.get(s)) for s in SPLIT_FILES}
    shared = names(data)
    return {s: shared for s in SPLIT_FILES}
