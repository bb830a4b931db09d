"""ProceduralHand: a built-in, file-free, differentiable hand with MANO's parameters.

Same kinematic tree, joint indices, parameter meaning and axis conventions as
MANO (docs/reference.md section 1b), a closed skinned surface (~1000 vertices), a
relaxed ``hands_mean`` so both ``flat_hand_mean`` conventions work, and a left
hand that is the exact x-mirror of the right one.

Shape: ``betas[0]`` overall size (+6 % per unit), ``betas[1]`` finger length
(+5 % per unit), ``betas[2]`` palm width (+6 % per unit), ``betas[3]`` flesh
thickness (+8 % per unit); ``betas[4:10]`` are accepted and have no effect.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch

from handgen.hand import anatomy
from handgen.hand.base import HandModel
from handgen.hand.skinning import (
    SkinningLayout, axis_angle_pose_to_rotmats, forward_kinematics, rigid_skin, skin_matrices,
)
from handgen.hand.surface import flesh_offsets, rest_surface
from handgen.hand.topology import KEYPOINTS_FROM_MANO, MANO_PARENTS, NUM_BETAS, TIP_PARENTS

_SIZE, _FINGER_LENGTH, _PALM_WIDTH, _FLESH = 0.06, 0.05, 0.06, 0.08


def _finger_base(joint: int) -> int:
    """First joint of the finger holding ``joint`` (0 for the wrist/palm)."""
    while joint > 0 and MANO_PARENTS[joint] != 0:
        joint = MANO_PARENTS[joint]
    return joint


def _shape_directions(points: np.ndarray, attach: np.ndarray, joints: np.ndarray, flesh: np.ndarray) -> np.ndarray:
    """Linear shape directions (N, 3, 10) for points attached to joints with weights (N, 16)."""
    dirs = np.zeros((len(points), 3, NUM_BETAS))
    dirs[:, :, 0] = _SIZE * (points - joints[0])
    z_mid = joints[4, 2]
    for j in range(16):
        w = attach[:, j : j + 1]
        if not np.any(w):
            continue
        if j == 0:
            dirs[:, 2, 2] += w[:, 0] * _PALM_WIDTH * (points[:, 2] - z_mid)
            continue
        base = joints[_finger_base(j)]
        dirs[:, :, 1] += w * _FINGER_LENGTH * (points - base)
        dirs[:, 2, 2] += w[:, 0] * _PALM_WIDTH * (base[2] - z_mid)
    dirs[:, :, 3] = _FLESH * flesh
    return dirs


@lru_cache(maxsize=2)
def _right_hand_arrays() -> dict[str, np.ndarray]:
    """All rest-state arrays of the right procedural hand (float64, metres)."""
    surf = rest_surface()
    joints, tips = anatomy.rest_skeleton()
    eye = np.eye(16)
    tip_attach = eye[list(TIP_PARENTS)]
    return {
        "v_template": surf.vertices,
        "shapedirs": _shape_directions(surf.vertices, surf.weights, joints, flesh_offsets(surf.vertices)),
        "j_template": joints,
        "j_shapedirs": _shape_directions(joints, eye, joints, np.zeros_like(joints)),
        "tip_template": tips,
        "tip_shapedirs": _shape_directions(tips, tip_attach, joints, np.zeros_like(tips)),
        "weights": surf.weights,
        "faces": surf.faces,
        "hands_mean": anatomy.right_hands_mean(),
    }


def _mirror(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = dict(arrays)
    for key in ("v_template", "j_template", "tip_template"):
        out[key] = anatomy.mirror_points(arrays[key])
    for key in ("shapedirs", "j_shapedirs", "tip_shapedirs"):
        d = arrays[key].copy()
        d[:, 0, :] *= -1.0
        out[key] = d
    out["faces"] = arrays["faces"][:, ::-1].copy()
    out["hands_mean"] = anatomy.mirror_axis_angle(arrays["hands_mean"])
    return out


class ProceduralHand(HandModel):
    """Built-in hand with MANO's kinematic tree and parameters; see the module docstring."""

    name = "procedural"

    def __init__(self, side: str = "right", flat_hand_mean: bool = True, dtype: torch.dtype = torch.float32) -> None:
        super().__init__(side, flat_hand_mean)
        arrays = _right_hand_arrays()
        if side == "left":
            arrays = _mirror(arrays)
        for key, value in arrays.items():
            tensor = torch.as_tensor(np.ascontiguousarray(value))
            tensor = tensor.long() if key == "faces" else tensor.to(dtype)
            self.register_buffer(key, tensor, persistent=False)
        # fast layouts: shape blends as one GEMM (betas (B,10) @ (10, 3K)), grouped component-major skinning
        self.skin = SkinningLayout(arrays["weights"], arrays["v_template"], arrays["shapedirs"], dtype)
        for key in ("j", "tip"):
            template, dirs = arrays[f"{key}_template"], arrays[f"{key}_shapedirs"]
            self.register_buffer(f"_{key}_template_flat", torch.as_tensor(template.reshape(1, -1), dtype=dtype),
                                 persistent=False)
            self.register_buffer(f"_{key}_shapedirs_flat", torch.as_tensor(
                np.ascontiguousarray(dirs.transpose(2, 0, 1).reshape(NUM_BETAS, -1)), dtype=dtype), persistent=False)

    def rest_joints(self, betas: torch.Tensor | None = None) -> torch.Tensor:
        """Rest MANO joints (..., 16, 3) for betas (..., 10), metres."""
        if betas is None:
            return self.j_template
        return self.j_template + torch.einsum("jcb,...b->...jc", self.j_shapedirs, betas.to(self.j_template))

    def _skeleton(self, global_orient, full_hand_pose, betas):
        """World rotations (B,16,3,3), positions (B,16,3), rest joints (B,16,3) and the 21 keypoints (B,21,3)."""
        return self._posed_skeleton(self._local_rotations(global_orient, full_hand_pose), betas)

    def _local_rotations(self, global_orient, full_hand_pose):
        """The 16 local rotations (B,16,3,3) of (B,3) + (B,45) axis-angles (data_prep.compiled_hand overrides it)."""
        return axis_angle_pose_to_rotmats(global_orient, full_hand_pose)

    def _posed_skeleton(self, rotmats, betas):
        """:meth:`_skeleton` from the local rotations (B,16,3,3)."""
        batch = betas.shape[0]
        joints_rest = torch.addmm(self._j_template_flat, betas, self._j_shapedirs_flat).view(batch, 16, 3)
        tips_rest = torch.addmm(self._tip_template_flat, betas, self._tip_shapedirs_flat).view(batch, 5, 3)
        rotations, positions, keypoints = self._kinematics(rotmats, joints_rest, tips_rest)
        return rotations, positions, joints_rest, keypoints

    def _kinematics(self, rotmats, joints_rest, tips_rest):
        """World rotations (B,16,3,3), posed joints (B,16,3) and the 21 keypoints (B,21,3) from the local rotations
        (B,16,3,3) and the rest joints (B,16,3) and fingertips (B,5,3): forward kinematics, then the tips carried
        by their joints (data_prep.compiled_hand overrides it with a compiled loop giving the same numbers)."""
        rotations, positions = forward_kinematics(rotmats, joints_rest)
        tips = rigid_skin(tips_rest, TIP_PARENTS, rotations, positions, joints_rest)
        return rotations, positions, torch.cat([positions, tips], dim=1)[:, list(KEYPOINTS_FROM_MANO)]

    def joints_and_rotations(
        self, global_orient: torch.Tensor, hand_pose: torch.Tensor, betas: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`HandModel.joints_and_rotations` with the rotations the skeleton is posed with (flat-hand-mean,
        the model's dtype; else the default)."""
        if not self.flat_hand_mean or global_orient.dtype != self.hands_mean.dtype:
            return super().joints_and_rotations(global_orient, hand_pose, betas, transl)
        lead, go, hp, b = self._flatten(global_orient, hand_pose, betas)
        rotmats = self._local_rotations(go, hp)
        keypoints = self._posed_skeleton(rotmats, b)[3]
        return self._translate(keypoints, transl, lead).reshape(*lead, 21, 3), rotmats.reshape(*lead, 16, 3, 3)

    def joints_then_vertices(
        self, global_orient: torch.Tensor, hand_pose: torch.Tensor, betas: torch.Tensor | None, transl: torch.Tensor
    ) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        """:meth:`HandModel.joints_then_vertices` with one skeleton: the rows' vertices skin its rotations."""
        lead, go, hp, b = self._flatten(global_orient, hand_pose, betas)
        rotations, positions, joints_rest, keypoints = self._skeleton(go, hp, b)
        offset = transl.to(keypoints).expand(*lead, 3).reshape(-1, 1, 3)  # what _translate adds

        def vertices(rows: torch.Tensor) -> torch.Tensor:
            matrices = skin_matrices(rotations[rows], positions[rows], joints_rest[rows])
            return self.skin(b[rows], matrices, offset[rows])

        return keypoints + offset, vertices

    def _joints_flat(self, global_orient, full_hand_pose, betas) -> torch.Tensor:
        return self._skeleton(global_orient, full_hand_pose, betas)[3]

    def _pose_flat(
        self, global_orient: torch.Tensor, full_hand_pose: torch.Tensor, betas: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        rotations, positions, joints_rest, joints21 = self._skeleton(global_orient, full_hand_pose, betas)
        return self.skin(betas, skin_matrices(rotations, positions, joints_rest)), joints21
