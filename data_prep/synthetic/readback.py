"""Read a written ``.mano.npy`` back and pose it, exactly as a consumer of ARCTIC data would.

Used by the previews and the tests: the absolute finger pose is recovered by the
hand model itself (``flat_hand_mean=False`` adds ``hands_mean`` back), the wrist
by ``trans + wrist_offset(shape)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handgen.errors import InputFileError
from handgen.io.safe_pickle import load_object_npy
from handgen.hand import ProceduralHand
from handgen.hand.topology import HANDS

MANO_KEYS = ("rot", "pose", "trans", "shape", "fitting_err")


def load_mano_npy(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """The ARCTIC dict ``{left, right: {rot, pose, trans, shape, fitting_err}}`` of ``path``.

    The pickled dict is read by the restricted unpickler (nothing in the file runs).
    Raises InputFileError when the file is missing, unsafe or not in that layout.
    """
    data = load_object_npy(path)
    if not isinstance(data, dict) or any(side not in data for side in HANDS):
        raise InputFileError(path, "expected a dict with keys 'left' and 'right'")
    for side in HANDS:
        missing = [k for k in MANO_KEYS if k not in data[side]]
        if missing:
            raise InputFileError(path, f"{side} hand lacks {', '.join(missing)}")
    return data


@dataclass
class PosedSequence:
    """Both hands over F frames, index 0 left and 1 right, metres."""

    vertices: np.ndarray  # (F, 2, V, 3)
    joints: np.ndarray  # (F, 2, 21, 3)
    faces: tuple[np.ndarray, np.ndarray]  # per hand (Fc, 3)
    global_orient: np.ndarray  # (F, 2, 3)
    hand_pose: np.ndarray  # (F, 2, 45) ABSOLUTE (flat-hand-mean)
    betas: np.ndarray  # (2, 10)


def pose_sequence(data: dict[str, dict[str, np.ndarray]]) -> PosedSequence:
    """Pose both procedural hands from an ARCTIC dict (as returned by :func:`load_mano_npy`)."""
    verts, joints, faces, poses = [], [], [], []
    for side in HANDS:
        d = data[side]
        hand = ProceduralHand(side, flat_hand_mean=False)
        betas = torch.as_tensor(np.asarray(d["shape"], dtype=np.float32).reshape(-1, 10)[0])
        with torch.no_grad():
            out = hand(torch.as_tensor(d["rot"]), torch.as_tensor(d["pose"]), betas, torch.as_tensor(d["trans"]))
        verts.append(out.vertices.numpy())
        joints.append(out.joints.numpy())
        faces.append(out.faces.numpy())
        poses.append(np.asarray(d["pose"]) + hand.hands_mean.numpy())
    return PosedSequence(
        vertices=np.stack(verts, axis=1),
        joints=np.stack(joints, axis=1),
        faces=(faces[0], faces[1]),
        global_orient=np.stack([data[s]["rot"] for s in HANDS], axis=1),
        hand_pose=np.stack(poses, axis=1),
        betas=np.stack([np.asarray(data[s]["shape"]).reshape(-1, 10)[0] for s in HANDS]),
    )
