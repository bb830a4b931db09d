"""HandX's conventions and its evaluation sample files (docs/reference.md 4b).

Joint order: HandX keeps MANO's native joint order with the tips appended (wrist, index,
middle, pinky, ring, thumb, then tips thumb..pinky); handgen keypoint ``k`` is HandX joint
``HANDX_TO_HANDGEN[k]``. Up axis: handgen's world is +y up; ``UP_AXES[a]`` maps HandX
coordinates to handgen's (``x_handgen = R x_handx``): "z" (HandX's captions read z as up)
is ``(x, y, z) -> (x, z, -y)``, "y" the identity.

Sample files (``val_sample_XXXXXX_idxN.pkl``, read in the order of N): a pickled dict
``text_prompt`` {left, right, two_hands_relation}, ``gt_motion_real`` (60, 168) and
``generated_real`` (G, 60, 168), 168 = 2 hands x 21 joints x [x, y, z, scalar_rot] (flat index
hand*84 + joint*4 + c), HandX joint order and coordinates. handgen writes the scalar
rotation channel as 0 (HandX's evaluator keeps xyz only). Reading goes through the restricted
unpickler (:func:`handgen.io.safe_pickle.load_pickle`).
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np

from handgen.errors import HandgenError, InputFileError
from handgen.hand.topology import KEYPOINTS_FROM_MANO
from handgen.io.atomic import atomic_path
from handgen.io.safe_pickle import load_pickle

HANDX_TO_HANDGEN: tuple[int, ...] = KEYPOINTS_FROM_MANO  # the same map as MANO 16 joints + 5 tips -> 21 keypoints
HANDGEN_TO_HANDX: tuple[int, ...] = tuple(int(i) for i in np.argsort(HANDX_TO_HANDGEN))
UP_AXES: dict[str, np.ndarray] = {
    "y": np.eye(3),
    "z": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),
}
SAMPLE_GLOB = "val_sample_*_idx*.pkl"
CHANNELS = 4  # x, y, z, scalar rotation
_IDX = re.compile(r"_idx(\d+)\.pkl$")


def to_handgen_order(joints: np.ndarray) -> np.ndarray:
    """(..., 21, 3) joints in HandX's order -> handgen's keypoint order."""
    return np.asarray(joints)[..., HANDX_TO_HANDGEN, :]


def to_handx_order(joints: np.ndarray) -> np.ndarray:
    """(..., 21, 3) joints in handgen's keypoint order -> HandX's order (inverse of :func:`to_handgen_order`)."""
    return np.asarray(joints)[..., HANDGEN_TO_HANDX, :]


def to_handx_frame(joints: np.ndarray, up_axis: str = "z") -> np.ndarray:
    """(..., 2, 21, 3) handgen joints -> HandX's order and coordinates."""
    return to_handx_order(np.asarray(joints, dtype=np.float64)) @ UP_AXES[up_axis]


def from_handx_frame(joints: np.ndarray, up_axis: str = "z") -> np.ndarray:
    """(..., 2, 21, 3) HandX joints -> handgen's order and coordinates (inverse of :func:`to_handx_frame`)."""
    return to_handgen_order(np.asarray(joints, dtype=np.float64)) @ UP_AXES[up_axis].T


def to_168(joints: np.ndarray, up_axis: str = "z") -> np.ndarray:
    """(..., T, 2, 21, 3) handgen joints -> (..., T, 168) HandX rows (scalar rotation channel 0)."""
    j = to_handx_frame(joints, up_axis)
    out = np.zeros((*j.shape[:-1], CHANNELS))
    out[..., :3] = j
    return out.reshape(*j.shape[:-3], 2 * 21 * CHANNELS).astype(np.float32)


def from_168(rows: np.ndarray, up_axis: str = "z") -> np.ndarray:
    """(..., T, 168) HandX rows -> (..., T, 2, 21, 3) handgen joints (the scalar channel dropped)."""
    r = np.asarray(rows, dtype=np.float64)
    return from_handx_frame(r.reshape(*r.shape[:-1], 2, 21, CHANNELS)[..., :3], up_axis)


def write_sample_files(out: str | Path, gt: np.ndarray, groups: np.ndarray, triplets: list[dict[str, str]],
                       up_axis: str = "z") -> list[Path]:
    """One ``val_sample_XXXXXX_idxN.pkl`` per item: gt (N, T, 2, 21, 3), groups (N, G, T, 2, 21, 3)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, triplet in enumerate(triplets):
        record = {
            "text_prompt": {"left": triplet.get("left", ""), "right": triplet.get("right", ""),
                            "two_hands_relation": triplet.get("both", triplet.get("two_hands_relation", ""))},
            "gt_motion_real": to_168(gt[i], up_axis),
            "generated_real": to_168(groups[i], up_axis),
        }
        path = out / f"val_sample_{i:06d}_idx{i}.pkl"
        with atomic_path(path) as tmp:
            tmp.write_bytes(pickle.dumps(record, protocol=4))
        paths.append(path)
    return paths


def _rows(path: Path, value, name: str, ndim: int) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputFileError(path, f"{name} is not numeric") from None
    if array.ndim != ndim or array.shape[-1] != 2 * 21 * CHANNELS:
        raise InputFileError(path, f"{name} has shape {array.shape}, expected {'(G, T, 168)' if ndim == 3 else '(T, 168)'}")
    if not np.isfinite(array).all():
        raise InputFileError(path, f"{name} has NaN/inf values")
    return array


def read_sample_files(folder: str | Path, up_axis: str = "z") -> tuple[np.ndarray, np.ndarray, list[dict[str, str]]]:
    """``(gt (N, T, 2, 21, 3), groups (G, N, T, 2, 21, 3), triplets)`` of a folder of sample files.

    Raises:
        HandgenError: no sample files, or items with different G or T.
        InputFileError / UnsafePickleError: a bad file (named), or one naming a disallowed class.
    """
    folder = Path(folder)
    files = sorted(folder.glob(SAMPLE_GLOB), key=lambda p: int(_IDX.search(p.name).group(1)) if _IDX.search(p.name) else -1)
    files = [p for p in files if _IDX.search(p.name)]
    if not files:
        raise HandgenError(f"--samples {folder}: no {SAMPLE_GLOB} files")
    gts, gens, triplets = [], [], []
    for path in files:
        record = load_pickle(path)
        if not isinstance(record, dict):
            raise InputFileError(path, f"expected a dict, got {type(record).__name__}")
        for key in ("text_prompt", "gt_motion_real", "generated_real"):
            if key not in record:
                raise InputFileError(path, f"missing key {key!r}")
        prompt = record["text_prompt"]
        if not isinstance(prompt, dict):
            raise InputFileError(path, "text_prompt must be a dict {left, right, two_hands_relation}")
        triplets.append({"left": str(prompt.get("left", "")), "right": str(prompt.get("right", "")),
                         "both": str(prompt.get("two_hands_relation", prompt.get("both", "")))})
        gts.append(_rows(path, record["gt_motion_real"], "gt_motion_real", 2))
        gens.append(_rows(path, record["generated_real"], "generated_real", 3))
    shapes = {g.shape for g in gens} | {(gens[0].shape[0], *g.shape) for g in gts}
    if len(shapes) != 1:
        raise HandgenError(f"--samples {folder}: items differ in generations or frames ({sorted(shapes)})")
    gt = from_168(np.stack(gts), up_axis)
    groups = from_168(np.stack(gens).transpose(1, 0, 2, 3), up_axis)
    return gt, groups, triplets
