"""3D hand keypoints of both hands: AssemblyHands' 42-point layout <-> handgen's (2, 21) layout, units, files.

Layouts:

- **AssemblyHands 42** ``(..., 42, 3)``: points 0-20 the right hand, 21-41 the left;
  within a hand: thumb tip->base 0-3, index 4-7, middle 8-11, ring 12-15,
  pinky 16-19 (each tip first), wrist 20. Millimetres in the AssemblyHands release.
- **handgen** ``(..., 2, 21, 3)``: hand 0 left, 1 right; per hand the field's 21-keypoint
  order (wrist, then thumb, index, middle, ring, pinky, each base->tip). Metres.

Files with keypoints (:func:`load_keypoints_file`):

- ``.npy`` (loaded with ``allow_pickle=False``): ``(F,42,3)`` AssemblyHands layout or
  ``(F,2,21,3)`` handgen layout;
- ``.npz`` with a ``keypoints3d`` (or ``world_coord``) array in either layout;
- AssemblyHands-style ``.json``: ``{"annotations": {seq: {"%06d" % frame: {"world_coord":
  42x3, "joint_valid": 42 (optional)}}}}``; frames without an entry, and joints whose
  ``joint_valid`` is 0, become NaN.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from handgen.errors import InputFileError

NUM_ASSEMBLYHANDS_POINTS = 42
# per hand: handgen keypoint i <- AssemblyHands point ASSEMBLYHANDS_FROM_HANDGEN[i] (within the hand's 21)
ASSEMBLYHANDS_FROM_HANDGEN: tuple[int, ...] = (
    20,
    3, 2, 1, 0,
    7, 6, 5, 4,
    11, 10, 9, 8,
    15, 14, 13, 12,
    19, 18, 17, 16,
)
# first AssemblyHands point of each hand, indexed by handgen's hand index (0 left, 1 right)
ASSEMBLYHANDS_HAND_START: tuple[int, int] = (21, 0)
UNIT_SCALE: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001}
_MIDDLE_MCP = 9  # handgen keypoint index of the middle-finger base


def _assemblyhands_index() -> np.ndarray:
    """(2, 21) AssemblyHands point index of each handgen (hand, keypoint)."""
    base = np.asarray(ASSEMBLYHANDS_FROM_HANDGEN)
    return np.stack([base + start for start in ASSEMBLYHANDS_HAND_START])


def assemblyhands_to_handgen(points: np.ndarray) -> np.ndarray:
    """(..., 42, 3) AssemblyHands layout -> (..., 2, 21, 3) handgen layout (no unit change)."""
    points = np.asarray(points)
    if points.shape[-2:] != (NUM_ASSEMBLYHANDS_POINTS, 3):
        raise ValueError(f"expected (...,42,3) AssemblyHands keypoints, got {tuple(points.shape)}")
    return points[..., _assemblyhands_index(), :]


def handgen_to_assemblyhands(points: np.ndarray) -> np.ndarray:
    """(..., 2, 21, 3) handgen layout -> (..., 42, 3) AssemblyHands layout (no unit change)."""
    points = np.asarray(points)
    if points.shape[-3:] != (2, 21, 3):
        raise ValueError(f"expected (...,2,21,3) handgen keypoints, got {tuple(points.shape)}")
    out = np.empty((*points.shape[:-3], NUM_ASSEMBLYHANDS_POINTS, 3), dtype=points.dtype)
    out[..., _assemblyhands_index(), :] = points
    return out


def to_handgen_layout(points: np.ndarray, source: str | Path) -> np.ndarray:
    """Keypoints (F,42,3) or (F,2,21,3) -> (F,2,21,3) float64.

    Raises:
        InputFileError: naming ``source`` for any other shape.
    """
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[1:] == (NUM_ASSEMBLYHANDS_POINTS, 3):
        return assemblyhands_to_handgen(arr)
    if arr.ndim == 4 and arr.shape[1:] == (2, 21, 3):
        return arr
    raise InputFileError(
        source,
        f"3D keypoints must be (F,42,3) in the AssemblyHands layout or (F,2,21,3) in handgen's, "
        f"got {tuple(arr.shape)}",
    )


def detect_length_unit(points: np.ndarray) -> str:
    """Length unit ("m", "cm" or "mm") of handgen-layout keypoints (..., 2, 21, 3).

    Uses the median wrist-to-middle-knuckle distance (about 9 cm on an adult hand),
    which, unlike distances from the origin, does not depend on where the world
    origin lies.

    Raises:
        ValueError: when no finite hand is present or the size fits no unit.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 21, 3)
    palm = np.linalg.norm(pts[:, _MIDDLE_MCP] - pts[:, 0], axis=-1)
    palm = palm[np.isfinite(palm) & (palm > 0)]
    if palm.size == 0:
        raise ValueError("no finite hand keypoints to detect the length unit from")
    size = float(np.median(palm))
    for unit, scale in UNIT_SCALE.items():
        if 0.03 <= size * scale <= 0.3:
            return unit
    raise ValueError(f"median wrist-to-middle-knuckle distance {size:g} fits no unit (m, cm, mm)")


def keypoints_in_metres(points: np.ndarray, unit: str, source: str | Path) -> tuple[np.ndarray, str]:
    """Scale handgen-layout keypoints to metres; ``unit`` is "m", "cm", "mm" or "auto".

    Returns:
        The keypoints in metres and the unit they were read in.

    Raises:
        InputFileError: when ``unit="auto"`` cannot decide, naming ``source``.
        ValueError: for an unknown unit name.
    """
    if unit == "auto":
        try:
            unit = detect_length_unit(points)
        except ValueError as exc:
            raise InputFileError(source, f"{exc}; pass the keypoint unit explicitly") from None
    if unit not in UNIT_SCALE:
        raise ValueError(f"keypoint unit must be one of auto, {', '.join(UNIT_SCALE)}; got {unit!r}")
    return np.asarray(points, dtype=np.float64) * UNIT_SCALE[unit], unit


def load_assemblyhands_json(
    path: str | Path, sequence: str, num_frames: int, frame_offset: int = 0
) -> np.ndarray:
    """World keypoints (F, 42, 3) of ``sequence`` from an AssemblyHands-style annotation json.

    Frame ``f`` of the sequence reads the entry ``"%06d" % (f + frame_offset)``; frames
    without one and joints flagged invalid are NaN.

    Raises:
        InputFileError: unreadable json, unknown sequence, or a world_coord that is not 42x3.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"cannot read AssemblyHands json: {exc}") from None
    annotations = data.get("annotations", data) if isinstance(data, dict) else None
    if not isinstance(annotations, dict) or sequence not in annotations:
        raise InputFileError(path, f"no annotations for sequence {sequence!r}")
    frames = annotations[sequence]
    if not isinstance(frames, dict):
        raise InputFileError(path, f"annotations[{sequence!r}] must map frame ids to entries")
    out = np.full((num_frames, NUM_ASSEMBLYHANDS_POINTS, 3), np.nan)
    for f in range(num_frames):
        entry = frames.get("%06d" % (f + frame_offset))
        if entry is None:
            continue
        try:
            coords = np.asarray(entry["world_coord"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise InputFileError(path, f"frame {f + frame_offset:06d} of {sequence}: missing or bad world_coord") from None
        if coords.shape != (NUM_ASSEMBLYHANDS_POINTS, 3):
            raise InputFileError(
                path, f"frame {f + frame_offset:06d} of {sequence}: world_coord must be 42x3, got {coords.shape}"
            )
        if "joint_valid" in entry:
            valid = np.asarray(entry["joint_valid"], dtype=np.float64).reshape(-1)
            if valid.shape == (NUM_ASSEMBLYHANDS_POINTS,):
                coords[valid <= 0] = np.nan
        out[f] = coords
    return out


def load_keypoints_file(
    path: str | Path, num_frames: int, sequence: str | None = None, frame_offset: int = 0
) -> np.ndarray:
    """Raw 3D keypoints (F, 2, 21, 3) in handgen's layout (units unchanged) from a file; see the module doc.

    Raises:
        InputFileError: missing/unreadable file, wrong shape, wrong joint count, or a frame
            count different from ``num_frames``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "keypoint file not found")
    suffix = path.suffix.lower()
    if suffix == ".json":
        if sequence is None:
            raise InputFileError(path, "an AssemblyHands json needs the sequence name")
        raw = load_assemblyhands_json(path, sequence, num_frames, frame_offset)
    elif suffix in (".npy", ".npz"):
        try:
            loaded = np.load(path, allow_pickle=False)
            if suffix == ".npz":
                key = next((k for k in ("keypoints3d", "world_coord") if k in loaded.files), None)
                if key is None:
                    raise InputFileError(path, "no 'keypoints3d' (or 'world_coord') array in the file")
                loaded = loaded[key]
            raw = np.asarray(loaded, dtype=np.float64)
        except InputFileError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise InputFileError(path, f"cannot read keypoints: {exc}") from None
    else:
        raise InputFileError(path, "keypoints must be .npy, .npz or an AssemblyHands .json")
    points = to_handgen_layout(raw, path)
    if points.shape[0] != num_frames:
        raise InputFileError(path, f"keypoints have {points.shape[0]} frames but the sequence has {num_frames}")
    return points
