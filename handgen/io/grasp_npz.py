"""Grasp files (``grasp_XXX.npz`` of ``handgen grasp``) read as one-frame motions, object included.

A grasp stores each hand's ``{h}_global_orient (3,)``, ``{h}_hand_pose (45,)`` (absolute),
``{h}_transl (3,)``, ``joints (2,21,3)`` in the mesh's coordinates, and the mesh it was made on
(``mesh`` path, ``scale``). :func:`grasp_as_motion` gives the same (motion, extras) pair as
:func:`handgen.io.motion_npz.load_motion`, so ``handgen render`` and ``handgen export`` take
grasps as they take motions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from handgen.errors import InputFileError
from handgen.geometry.mesh_file import read_mesh
from handgen.hand.topology import HANDS
from handgen.repr.motion import BimanualMotion
from handgen.repr.object_pose import ObjectTemplate

GRASP_FPS = 30.0


def is_grasp_arrays(data: Mapping[str, np.ndarray]) -> bool:
    """True for the arrays of a grasp file (one pose per hand, ``joints`` (2,21,3))."""
    return np.ndim(data.get("right_global_orient", np.zeros((1, 3)))) == 1 and np.ndim(data.get("joints", 0)) == 3


def _array(path: Path, data: Mapping[str, np.ndarray], key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key not in data:
        raise InputFileError(path, f"missing array {key!r} (a grasp file)")
    value = np.asarray(data[key], dtype=np.float64)
    if value.shape != shape:
        raise InputFileError(path, f"{key} has shape {value.shape}, expected {shape} (a grasp file)")
    if not np.isfinite(value).all():
        raise InputFileError(path, f"{key} contains NaN or inf")
    return value


def _grasp_object(path: Path, data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The object arrays of a motion file for the grasp's mesh, or {} when it has none (prior samples)."""
    from handgen.io.motion_npz import object_arrays

    recorded = str(data["mesh"]) if "mesh" in data else ""
    if not recorded:
        return {}
    mesh_path = Path(recorded)
    if not mesh_path.is_file() and not mesh_path.is_absolute() and (path.parent / mesh_path).is_file():
        mesh_path = path.parent / mesh_path
    if not mesh_path.is_file():
        raise InputFileError(path, f"the grasp's object mesh {recorded} is not there any more")
    mesh = read_mesh(mesh_path, float(data["scale"]) if "scale" in data else 1.0)
    category = str(data["category"]) if "category" in data else mesh_path.stem
    template = ObjectTemplate(mesh_path.stem, np.asarray(mesh.vertices), np.asarray(mesh.faces),
                              np.zeros(len(mesh.vertices), dtype=np.int8), category=category)
    return object_arrays(template, np.zeros((1, 3)), np.zeros((1, 3)), np.zeros(1))


def grasp_as_motion(path: str | Path, data: Mapping[str, np.ndarray]) -> tuple[BimanualMotion, dict[str, Any]]:
    """A grasp's arrays as a one-frame motion and extras (see :func:`handgen.io.motion_npz.load_motion`).

    Raises:
        InputFileError: a missing key, a wrong shape, NaN/inf, or the grasp's mesh gone.
    """
    path = Path(path)
    orient = np.stack([_array(path, data, f"{h}_global_orient", (3,)) for h in HANDS])[None]
    pose = np.stack([_array(path, data, f"{h}_hand_pose", (45,)) for h in HANDS])[None]
    transl = np.stack([_array(path, data, f"{h}_transl", (3,)) for h in HANDS])[None]
    betas = np.stack([_array(path, data, f"{h}_betas", (10,)) if f"{h}_betas" in data else np.zeros(10)
                      for h in HANDS])
    joints = _array(path, data, "joints", (2, 21, 3))[None]
    motion = BimanualMotion(global_orient=orient, hand_pose=pose, transl=transl, betas=betas, fps=GRASP_FPS)
    text = str(data["text"]) if "text" in data else ""
    extras: dict[str, Any] = {
        key: value for key, value in data.items()
        if key not in {f"{h}_{k}" for h in HANDS for k in ("global_orient", "hand_pose", "transl", "betas")}
    }
    extras.update(
        joints=joints.astype(np.float32), texts={"left": "", "right": "", "both": text},
        hand_model=str(data["hand_model"]) if "hand_model" in data else "procedural",
        hands_mean=np.zeros((2, 45)), hand_pose_convention=str(data.get("hand_pose_convention", "")),
        fps=GRASP_FPS, source_id=None, grasp=True,
    )
    extras.update(_grasp_object(path, data))
    return motion, extras
