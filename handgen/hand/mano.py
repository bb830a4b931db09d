"""ManoHand: the real MANO hand (licensed files, evaluated through smplx).

Model files: a folder holding ``MANO_RIGHT.pkl`` and ``MANO_LEFT.pkl`` (the
official v1.2 files, read without chumpy by :mod:`handgen.hand.mano_file`) or
``.npz`` conversions with the same keys, or the path of one such file. smplx
never unpickles anything itself: the validated arrays reach ``smplx.MANO``
through its ``data_struct`` argument.

Outputs follow :class:`~handgen.hand.base.HandModel`: metres, batched over any
leading dims, differentiable, joints in the 21-keypoint order (the 16 MANO
joints plus five fingertips read from mesh vertices).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from handgen.errors import InputFileError
from handgen.hand.base import HandModel
from handgen.hand.mano_file import MANO_FILE_HINT, load_mano_arrays
from handgen.hand.topology import KEYPOINTS_FROM_MANO

# fingertip vertex ids, order thumb, index, middle, ring, pinky (docs/reference.md section 1)
MANOPTH_TIP_IDS = {"right": (745, 317, 444, 556, 673), "left": (745, 317, 445, 556, 673)}
SMPLX_TIP_IDS = (744, 320, 443, 554, 671)


def find_mano_file(mano_dir_or_file: str | os.PathLike, side: str) -> Path:
    """The model file for ``side``: ``MANO_{RIGHT,LEFT}.pkl`` (else ``.npz``) in a folder, or the file itself.

    Raises:
        InputFileError: no such file (with a hint on where MANO comes from), or a
            file whose name says it is the other hand.
    """
    path = Path(mano_dir_or_file).expanduser()
    stem = f"MANO_{side.upper()}"
    if path.is_dir():
        for suffix in (".pkl", ".npz"):
            if (path / f"{stem}{suffix}").is_file():
                return path / f"{stem}{suffix}"
        raise InputFileError(path / f"{stem}.pkl", f"MANO file not found; {MANO_FILE_HINT}")
    if not path.is_file():
        raise InputFileError(path, f"MANO file not found; {MANO_FILE_HINT}")
    other = "LEFT" if side == "right" else "RIGHT"
    if other in path.name.upper() and side.upper() not in path.name.upper():
        raise InputFileError(
            path, f"this looks like the {other.lower()}-hand MANO file, but the {side} hand was asked for"
        )
    return path


def _tip_ids(side: str, tip_vertex_ids: Sequence[int] | str | None) -> tuple[int, ...]:
    if tip_vertex_ids is None or (isinstance(tip_vertex_ids, str) and tip_vertex_ids == "manopth"):
        return MANOPTH_TIP_IDS[side]
    if isinstance(tip_vertex_ids, str):
        if tip_vertex_ids != "smplx":
            raise ValueError(f"tip_vertex_ids must be 'manopth', 'smplx' or 5 vertex ids, got {tip_vertex_ids!r}")
        return SMPLX_TIP_IDS
    ids = tuple(int(i) for i in tip_vertex_ids)
    if len(ids) != 5:
        raise ValueError(f"tip_vertex_ids needs 5 vertex ids (thumb..pinky), got {ids}")
    return ids


class ManoHand(HandModel):
    """MANO through ``smplx.MANO`` (axis-angle, no PCA), with handgen's conventions.

    Args:
        mano_dir_or_file: folder with ``MANO_RIGHT``/``MANO_LEFT`` ``.pkl``/``.npz``, or one file.
        side: "left" or "right".
        flat_hand_mean: False = ``hand_pose`` is an offset from ``hands_mean``
            (MANO's default, ARCTIC); True = absolute (flat hand at zero).
        fix_left_shapedirs: flip the x component of the left hand's shape
            directions (``shapedirs[:,0,:] *= -1``), the common fix that makes a
            left hand the mirror of the right for the same betas. Off by default
            because ARCTIC's fits do not use it. No effect on the right hand.
        tip_vertex_ids: 5 fingertip vertex ids (thumb..pinky), "manopth" (default,
            per side) or "smplx".
        dtype: float dtype of the model buffers.

    Raises:
        InputFileError: missing, unsafe or malformed model file.
    """

    name = "mano"

    def __init__(
        self,
        mano_dir_or_file: str | os.PathLike,
        side: str = "right",
        flat_hand_mean: bool = True,
        fix_left_shapedirs: bool = False,
        tip_vertex_ids: Sequence[int] | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__(side, flat_hand_mean)
        import smplx
        from smplx.utils import Struct

        self.model_path = find_mano_file(mano_dir_or_file, side)
        arrays = load_mano_arrays(self.model_path)
        num_vertices = arrays["v_template"].shape[0]
        self.tip_ids = _tip_ids(side, tip_vertex_ids)
        if min(self.tip_ids) < 0 or max(self.tip_ids) >= num_vertices:
            raise ValueError(f"tip_vertex_ids {self.tip_ids} outside 0..{num_vertices - 1}")
        self.fix_left_shapedirs = bool(fix_left_shapedirs) and side == "left"
        if self.fix_left_shapedirs:
            arrays["shapedirs"] = arrays["shapedirs"].copy()
            arrays["shapedirs"][:, 0, :] *= -1.0
        with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a note about 10 betas
            self.mano = smplx.MANO(
                str(self.model_path),
                is_rhand=side == "right",
                data_struct=Struct(**arrays),
                use_pca=False,
                flat_hand_mean=True,  # handgen adds hands_mean itself (HandModel.forward)
                create_global_orient=False,
                create_hand_pose=False,
                create_betas=False,
                create_transl=False,
                create_body_pose=False,
                dtype=dtype,
            )
        # smplx rounds the model arrays through float32 (``to_np``): store them at full
        # precision, and keep licensed MANO data out of any state_dict / checkpoint
        full_precision = {
            "v_template": arrays["v_template"],
            "shapedirs": arrays["shapedirs"],
            "posedirs": arrays["posedirs"].reshape(-1, arrays["posedirs"].shape[-1]).T,
            "J_regressor": arrays["J_regressor"],
            "lbs_weights": arrays["weights"],
        }
        for key, value in full_precision.items():
            self.mano.register_buffer(key, torch.as_tensor(np.ascontiguousarray(value), dtype=dtype))
        for module in self.mano.modules():
            for key, buffer in list(module.named_buffers(recurse=False)):
                module.register_buffer(key, buffer, persistent=False)
        self.register_buffer("hands_mean", torch.as_tensor(arrays["hands_mean"], dtype=dtype), persistent=False)
        self.register_buffer("faces", torch.as_tensor(arrays["f"], dtype=torch.long), persistent=False)
        self.register_buffer("v_template", self.mano.v_template.detach().clone(), persistent=False)
        self.register_buffer("tip_index", torch.as_tensor(self.tip_ids, dtype=torch.long), persistent=False)

    def rest_joints(self, betas: torch.Tensor | None = None) -> torch.Tensor:
        """Rest MANO joints (..., 16, 3) = ``J_regressor @ (v_template + shapedirs . betas)``, metres."""
        regressor = self.mano.J_regressor
        if betas is None:
            return regressor @ self.mano.v_template
        offsets = torch.einsum("vcb,...b->...vc", self.mano.shapedirs, betas.to(self.mano.shapedirs))
        shaped = self.mano.v_template + offsets
        return torch.einsum("jv,...vc->...jc", regressor, shaped)

    def _pose_flat(
        self, global_orient: torch.Tensor, full_hand_pose: torch.Tensor, betas: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.mano(betas=betas, global_orient=global_orient, hand_pose=full_hand_pose)
        verts = out.vertices
        tips = verts[:, self.tip_index]
        joints21 = torch.cat([out.joints, tips], dim=1)[:, list(KEYPOINTS_FROM_MANO)]
        return verts, joints21

    def extra_repr(self) -> str:
        return f"side={self.side}, file={self.model_path}, flat_hand_mean={self.flat_hand_mean}"

