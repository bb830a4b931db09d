"""The interface every hand model implements (procedural or MANO)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from handgen.hand.topology import HANDS, NUM_BETAS
from handgen.repr.rotations import rotvec_to_rotmat


@dataclass
class HandOutput:
    """Posed hand, metres."""

    vertices: torch.Tensor  # (..., V, 3)
    joints: torch.Tensor  # (..., 21, 3) in the 21-keypoint order
    faces: torch.Tensor  # (F, 3) int64, counter-clockwise seen from outside


class HandModel(nn.Module):
    """One hand (``side`` = "left" or "right") with MANO's parameters.

    ``forward(global_orient (...,3), hand_pose (...,45), betas (...,10), transl (...,3))``
    is batched over any leading dims and differentiable. With
    ``flat_hand_mean=False`` (MANO's default, ARCTIC's convention) the effective
    finger pose is ``hand_pose + hands_mean``; with ``True`` it is ``hand_pose``.
    Global rotation pivots about the wrist joint: ``v' = R (v - J0) + J0 + transl``.
    """

    name: str = "abstract"

    def __init__(self, side: str, flat_hand_mean: bool) -> None:
        super().__init__()
        if side not in HANDS:
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        self.side = side
        self.flat_hand_mean = flat_hand_mean

    # -- to implement -------------------------------------------------------------------
    hands_mean: torch.Tensor  # (45,) buffer, radians
    faces: torch.Tensor  # (F, 3) buffer

    def _pose_flat(
        self, global_orient: torch.Tensor, full_hand_pose: torch.Tensor, betas: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,3), (B,45) absolute finger pose, (B,10) -> vertices (B,V,3), joints (B,21,3), no transl."""
        raise NotImplementedError

    def _joints_flat(self, global_orient: torch.Tensor, full_hand_pose: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
        """Like :meth:`_pose_flat` but only the joints (B,21,3); override when skinning can be skipped."""
        return self._pose_flat(global_orient, full_hand_pose, betas)[1]

    def rest_joints(self, betas: torch.Tensor | None = None) -> torch.Tensor:
        """Rest positions (..., 16, 3) of the MANO joints for ``betas`` (...,10), metres."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------
    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])  # type: ignore[attr-defined]

    def _flatten(self, global_orient, hand_pose, betas):
        lead = global_orient.shape[:-1]
        if hand_pose.shape[:-1] != lead or hand_pose.shape[-1] != 45 or global_orient.shape[-1] != 3:
            raise ValueError(
                f"expected global_orient (...,3) and hand_pose (...,45) with the same leading dims, "
                f"got {tuple(global_orient.shape)} and {tuple(hand_pose.shape)}"
            )
        ref = self.hands_mean
        go = global_orient.reshape(-1, 3).to(ref)
        hp = hand_pose.reshape(-1, 45).to(ref)
        if betas is None:
            b = torch.zeros(go.shape[0], NUM_BETAS, dtype=ref.dtype, device=ref.device)
        else:
            b = betas.to(ref).expand(*lead, betas.shape[-1]).reshape(-1, betas.shape[-1])
        if not self.flat_hand_mean:
            hp = hp + self.hands_mean
        return lead, go, hp, b

    def _translate(self, points: torch.Tensor, transl: torch.Tensor | None, lead) -> torch.Tensor:
        if transl is None:
            return points
        return points + transl.to(points).expand(*lead, 3).reshape(-1, 1, 3)

    def forward(
        self,
        global_orient: torch.Tensor,
        hand_pose: torch.Tensor,
        betas: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
    ) -> HandOutput:
        """Pose the hand; see the class docstring for shapes and conventions."""
        lead, go, hp, b = self._flatten(global_orient, hand_pose, betas)
        verts, joints = self._pose_flat(go, hp, b)
        verts = self._translate(verts, transl, lead)
        joints = self._translate(joints, transl, lead)
        return HandOutput(
            vertices=verts.reshape(*lead, *verts.shape[1:]),
            joints=joints.reshape(*lead, 21, 3),
            faces=self.faces,
        )

    def joints(
        self,
        global_orient: torch.Tensor,
        hand_pose: torch.Tensor,
        betas: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Only the 21 keypoints (..., 21, 3), metres (skips skinning where the model allows)."""
        lead, go, hp, b = self._flatten(global_orient, hand_pose, betas)
        return self._translate(self._joints_flat(go, hp, b), transl, lead).reshape(*lead, 21, 3)

    def joints_and_rotations(
        self, global_orient: torch.Tensor, hand_pose: torch.Tensor, betas: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`joints` (..., 21, 3) and the local rotations (..., 16, 3, 3) of the 16 axis-angles as given
        (``rotvec_to_rotmat`` of global_orient + hand_pose); a model that poses its skeleton with them shares them."""
        joints = self.joints(global_orient, hand_pose, betas, transl)
        return joints, rotvec_to_rotmat(torch.cat([global_orient, hand_pose], dim=-1).unflatten(-1, (16, 3)))

    def joints_then_vertices(
        self, global_orient: torch.Tensor, hand_pose: torch.Tensor, betas: torch.Tensor | None, transl: torch.Tensor
    ) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        """The keypoints (B, 21, 3) of a flat batch (global_orient (B,3), hand_pose (B,45), betas (10,) or (B,10),
        transl (B,3)) and a function ``rows (k,) -> vertices (k, V, 3)`` of some of its rows, metres: the numbers
        of :meth:`joints` and :meth:`forward` on those rows. Models whose skinning reuses the skeleton
        (the procedural hand) pose it once for both."""
        joints = self.joints(global_orient, hand_pose, betas, transl)

        def vertices(rows: torch.Tensor) -> torch.Tensor:
            rows_betas = betas if betas is None or betas.dim() == 1 else betas[rows]
            return self(global_orient[rows], hand_pose[rows], rows_betas, transl[rows]).vertices

        return joints, vertices

    def wrist_offset(self, betas: torch.Tensor | None = None) -> torch.Tensor:
        """Rest wrist position (..., 3) = posed wrist - transl (independent of the pose), metres."""
        return self.rest_joints(betas)[..., 0, :]
