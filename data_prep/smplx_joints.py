"""SMPL-X wrist positions from the official model file (only when the user has it: it is licensed).

SMPL-X regresses its joints from the *shaped* template before any pose blend
shapes, then moves them with the kinematic chain; so the posed wrists (joints 20
left, 21 right) need only ``v_template``, ``shapedirs``, ``J_regressor`` and
``kintree_table`` — not the mesh skinning. :class:`SmplxWristModel` computes
exactly what ``smplx.SMPLX(...)(...).joints[:, 20:22]`` returns (same ``smplx.lbs``
building blocks, checked against ``smplx.lbs.lbs`` in the tests), without building
the full model and without unpickling anything:

- the model is read from ``<smplx_dir>/SMPLX_<GENDER>.npz`` (or ``<smplx_dir>/smplx/...``)
  with ``np.load(allow_pickle=False)``; ``.pkl`` model files are refused (pickle is
  code execution; convert them to ``.npz`` once, e.g. with the SMPL-X tools);
- ``betas`` take the first ``len(betas)`` shape directions (at most 300, or 10 for
  the 10+10-component SMPL-X 1.0 files); face expressions are ignored (they move
  face vertices, not the arms);
- the finger poses and ``flat_hand_mean`` do not matter: the wrists sit above the
  fingers in the tree.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch
from smplx.lbs import batch_rigid_transform, blend_shapes, vertices2joints

from data_prep.smplx_hands import SMPLX_PARENTS, WRIST_JOINTS, body_rotmats
from handgen.errors import HandgenError, InputFileError
from handgen.hand.topology import HANDS

_REQUIRED = ("v_template", "shapedirs", "J_regressor", "kintree_table")
_NUM_CHAIN_JOINTS = 22  # joints 0..21: pelvis up to both wrists


def smplx_model_file(smplx_dir: str | Path, gender: str = "neutral") -> Path:
    """The ``SMPLX_<GENDER>.npz`` inside ``smplx_dir`` (or its ``smplx/`` subfolder).

    Raises:
        HandgenError: the folder holds no such ``.npz`` (a clear note when only ``.pkl`` exists).
    """
    folder = Path(smplx_dir).expanduser()
    name = f"SMPLX_{gender.upper()}"
    for base in (folder, folder / "smplx"):
        if (base / f"{name}.npz").is_file():
            return base / f"{name}.npz"
    for base in (folder, folder / "smplx"):
        if (base / f"{name}.pkl").is_file():
            raise HandgenError(
                f"{base / (name + '.pkl')}: pickled SMPL-X model files are not loaded (untrusted pickle); "
                f"use the official {name}.npz release of the model instead"
            )
    raise HandgenError(f"{folder}: no {name}.npz (the official SMPL-X model) in this folder or its smplx/ subfolder")


class SmplxWristModel:
    """Posed SMPL-X wrist joints from a model ``.npz``; see the module docstring."""

    def __init__(self, smplx_dir: str | Path, gender: str = "neutral") -> None:
        self.path = smplx_model_file(smplx_dir, gender)
        try:
            with np.load(self.path, allow_pickle=False) as data:
                missing = [key for key in _REQUIRED if key not in data.files]
                if missing:
                    raise InputFileError(self.path, f"not an SMPL-X model: missing {', '.join(missing)}")
                arrays = {key: np.asarray(data[key], dtype=np.float64) for key in _REQUIRED}
        except InputFileError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise InputFileError(self.path, f"cannot read the SMPL-X model: {exc}") from None
        v_template, shapedirs, regressor, kintree = (arrays[k] for k in _REQUIRED)
        if v_template.ndim != 2 or v_template.shape[1] != 3:
            raise InputFileError(self.path, f"v_template must be (V,3), got {v_template.shape}")
        num_verts = v_template.shape[0]
        if shapedirs.ndim == 2:
            shapedirs = shapedirs[:, :, None]
        if shapedirs.shape[:2] != (num_verts, 3):
            raise InputFileError(self.path, f"shapedirs must be ({num_verts},3,B), got {shapedirs.shape}")
        if regressor.ndim != 2 or regressor.shape[1] != num_verts or regressor.shape[0] < _NUM_CHAIN_JOINTS:
            raise InputFileError(self.path, f"J_regressor must be (J>=22,{num_verts}), got {regressor.shape}")
        parents = kintree[0, :_NUM_CHAIN_JOINTS].astype(np.int64)
        if kintree.ndim != 2 or tuple(parents[1:]) != SMPLX_PARENTS[1:_NUM_CHAIN_JOINTS]:
            raise InputFileError(self.path, "kintree_table does not match the SMPL-X body tree")
        self.num_shape = 10 if shapedirs.shape[2] < 400 else 300
        self.v_template = torch.from_numpy(v_template)
        self.shapedirs = torch.from_numpy(np.ascontiguousarray(shapedirs[:, :, : self.num_shape]))
        self.regressor = torch.from_numpy(np.ascontiguousarray(regressor[:_NUM_CHAIN_JOINTS]))
        self.parents = torch.as_tensor(SMPLX_PARENTS[:_NUM_CHAIN_JOINTS])

    def chain_joints(self, global_orient, body_pose, transl=None, betas=None) -> tuple[np.ndarray, np.ndarray]:
        """Posed joints 0..21 (F, 22, 3) metres and their global rotations (F, 22, 3, 3).

        Args:
            global_orient: (F,3); body_pose: (F,63) axis-angle; transl: (F,3) metres or None;
            betas: (B,) or (F,B) shape coefficients or None (zeros).
        """
        rot = body_rotmats(global_orient, body_pose)
        frames = rot.shape[0]
        b = np.zeros((1, self.num_shape)) if betas is None else np.atleast_2d(np.asarray(betas, dtype=np.float64))
        if b.shape[1] > self.num_shape:
            b = b[:, : self.num_shape]
        b_full = np.zeros((b.shape[0], self.num_shape))
        b_full[:, : b.shape[1]] = b
        v_shaped = self.v_template + blend_shapes(torch.from_numpy(b_full), self.shapedirs)
        rest = vertices2joints(self.regressor, v_shaped).expand(frames, -1, -1).contiguous()
        posed, rel = batch_rigid_transform(rot, rest, self.parents, dtype=torch.float64)
        joints = posed.numpy().copy()
        if transl is not None:
            joints += np.asarray(transl, dtype=np.float64).reshape(frames, 1, 3)
        return joints, rel[:, :, :3, :3].numpy()

    def wrist_positions(self, global_orient, body_pose, transl=None, betas=None) -> np.ndarray:
        """World positions (F, 2, 3) of the left and right SMPL-X wrists, metres."""
        joints, _ = self.chain_joints(global_orient, body_pose, transl, betas)
        return joints[:, [WRIST_JOINTS[side] for side in HANDS]]
