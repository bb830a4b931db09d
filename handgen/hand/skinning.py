"""Forward kinematics and linear blend skinning over the MANO tree (torch, differentiable).

The MANO tree is a wrist with five three-joint fingers, numbered finger-major
(joint ``1 + 3 f + level``), so forward kinematics runs one batched step per
level (3 steps for all five fingers) instead of one per joint, on 3x3
rotations and translations rather than 4x4 matrices. Skinning works in a
component-major layout (``(B, 3, V)``) so that every step is one GEMM or a
contiguous elementwise op, and it is done in chunks of frames so that the
intermediates stay in cache at large batches.
"""

from __future__ import annotations

import numpy as np
import torch

from handgen.hand.topology import MANO_PARENTS
from handgen.repr.rotations import rotvec_to_rotmat

NUM_FINGERS = 5
FINGER_LEVELS = 3
# frames per skinning chunk: keeps the (chunk, 12, V) intermediate within the CPU caches
SKIN_CHUNK = 32


def _check_finger_major() -> None:
    for j in range(1, 16):
        level = (j - 1) % FINGER_LEVELS
        expected = 0 if level == 0 else j - 1
        if MANO_PARENTS[j] != expected:
            raise AssertionError("MANO_PARENTS is not finger-major; skinning.forward_kinematics relies on it")


_check_finger_major()


def forward_kinematics(rotmats: torch.Tensor, rest_joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World rotations and positions of the 16 MANO joints.

    Args:
        rotmats: (B, 16, 3, 3) local rotations (joint 0 = global orientation).
        rest_joints: (B, 16, 3) rest joint positions, metres.

    Returns:
        rotations (B, 16, 3, 3) world rotation of each joint's frame and
        positions (B, 16, 3) posed joint positions, metres (wrist fixed at its rest place).
    """
    batch = rotmats.shape[0]
    root_rot = rotmats[:, :1]  # (B,1,3,3)
    root_pos = rest_joints[:, :1]  # (B,1,3)
    local = rotmats[:, 1:].reshape(batch, NUM_FINGERS, FINGER_LEVELS, 3, 3)
    rest = rest_joints[:, 1:].reshape(batch, NUM_FINGERS, FINGER_LEVELS, 3)
    offsets = torch.cat([rest[:, :, :1] - root_pos[:, :, None], rest[:, :, 1:] - rest[:, :, :-1]], dim=2)
    parent_rot = root_rot.expand(batch, NUM_FINGERS, 3, 3)
    parent_pos = root_pos.expand(batch, NUM_FINGERS, 3)
    rots, poss = [], []
    for level in range(FINGER_LEVELS):
        pos = parent_pos + (parent_rot @ offsets[:, :, level, :, None])[..., 0]
        rot = parent_rot @ local[:, :, level]
        rots.append(rot)
        poss.append(pos)
        parent_rot, parent_pos = rot, pos
    rotations = torch.cat([root_rot, torch.stack(rots, dim=2).reshape(batch, 15, 3, 3)], dim=1)
    positions = torch.cat([root_pos, torch.stack(poss, dim=2).reshape(batch, 15, 3)], dim=1)
    return rotations, positions


def axis_angle_pose_to_rotmats(global_orient: torch.Tensor, hand_pose: torch.Tensor) -> torch.Tensor:
    """(B,3) + (B,45) axis-angle -> (B,16,3,3) rotation matrices."""
    full = torch.cat([global_orient, hand_pose], dim=-1).reshape(-1, 16, 3)
    return rotvec_to_rotmat(full)


def skin_matrices(rotations: torch.Tensor, positions: torch.Tensor, rest_joints: torch.Tensor) -> torch.Tensor:
    """(B, 12, 16) LBS "A" matrices, component-major: row ``4 r + c`` of joint j is ``A_j[r, c]``.

    ``A_j = [R_j | p_j - R_j rest_j]`` maps a rest-space point attached to joint j to posed space.
    """
    batch = rotations.shape[0]
    trans = positions - (rotations @ rest_joints[..., None])[..., 0]
    return torch.cat([rotations, trans[..., None]], dim=-1).reshape(batch, 16, 12).transpose(1, 2)


class SkinningLayout(torch.nn.Module):
    """Component-major linear blend skinning of one mesh (buffers only, no parameters).

    Shape blend: one GEMM ``betas (B,10) @ (10, 3N)``; skinning: one GEMM
    ``A (b*12, 16) @ weights (16, N)`` per chunk of frames, then three fused multiply-adds
    with the rest points. (Splitting the vertices into groups over fewer joints saves
    FLOPs but loses more to the extra ops and the final reordering at batch 64.)
    """

    def __init__(self, weights: np.ndarray, v_template: np.ndarray, shapedirs: np.ndarray, dtype: torch.dtype) -> None:
        super().__init__()
        num_v, num_betas = len(v_template), shapedirs.shape[-1]
        cm = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype)  # noqa: E731
        self.register_buffer("v_template_cm", cm(v_template.T.reshape(1, 3 * num_v)), persistent=False)
        self.register_buffer("shapedirs_cm", cm(shapedirs.transpose(2, 1, 0).reshape(num_betas, 3 * num_v)),
                             persistent=False)
        self.register_buffer("weights_t", cm(weights.T), persistent=False)  # (16, N)

    def rest_points(self, betas: torch.Tensor) -> torch.Tensor:
        """(B, 3, N) shaped rest vertices, component-major, metres."""
        return torch.addmm(self.v_template_cm, betas, self.shapedirs_cm).view(betas.shape[0], 3, -1)

    def forward(self, betas: torch.Tensor, matrices: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        """Posed vertices (B, N, 3), contiguous, for betas (B, 10) and ``skin_matrices`` (B, 12, 16); ``shift``
        (B, 1, 3) is added to them (without autograd in the same pass as the reordering: the same numbers)."""
        tracked = shift is not None and shift.requires_grad
        if torch.is_grad_enabled() and (betas.requires_grad or matrices.requires_grad or tracked):
            return self._tracked(betas, matrices, shift)
        batch, num_v = betas.shape[0], self.weights_t.shape[1]
        out = torch.empty(batch, num_v, 3, dtype=matrices.dtype, device=matrices.device)
        # one (chunk*12, N) buffer reused by every chunk, combined in place: no fresh multi-MB intermediates
        buffer = torch.empty(min(SKIN_CHUNK, batch) * 12, num_v, dtype=matrices.dtype, device=matrices.device)
        for start in range(0, batch, SKIN_CHUNK):
            stop = min(start + SKIN_CHUNK, batch)
            pts = self.rest_points(betas[start:stop])
            blended = torch.mm(matrices[start:stop].reshape(-1, 16), self.weights_t, out=buffer[: (stop - start) * 12])
            blended = blended.view(stop - start, 3, 4, num_v)
            posed = blended[:, :, 3]  # the same operations, in the same order, as _tracked's addcmuls
            posed.addcmul_(blended[:, :, 0], pts[:, 0:1]).addcmul_(blended[:, :, 1], pts[:, 1:2])
            posed.addcmul_(blended[:, :, 2], pts[:, 2:3])
            if shift is None:
                out[start:stop] = posed.transpose(1, 2)
            else:
                torch.add(posed.transpose(1, 2), shift[start:stop], out=out[start:stop])
        return out

    def _tracked(self, betas: torch.Tensor, matrices: torch.Tensor, shift: torch.Tensor | None) -> torch.Tensor:
        """:meth:`forward` under autograd (out of place)."""
        num_v = self.weights_t.shape[1]
        chunks = []
        for start in range(0, betas.shape[0], SKIN_CHUNK):
            stop = min(start + SKIN_CHUNK, betas.shape[0])
            pts = self.rest_points(betas[start:stop])
            mats = matrices[start:stop].reshape(-1, 16)  # (b*12, 16)
            blended = torch.mm(mats, self.weights_t).view(stop - start, 3, 4, num_v)  # one GEMM
            posed = torch.addcmul(blended[:, :, 3], blended[:, :, 0], pts[:, 0:1])
            posed = torch.addcmul(posed, blended[:, :, 1], pts[:, 1:2])
            posed = torch.addcmul(posed, blended[:, :, 2], pts[:, 2:3]).transpose(1, 2)  # (b,N,3)
            chunks.append(posed)
        posed = chunks[0].contiguous() if len(chunks) == 1 else torch.cat(chunks, dim=0)
        return posed if shift is None else posed + shift


def rigid_skin(points: torch.Tensor, joint_ids: list[int] | tuple[int, ...], rotations: torch.Tensor,
               positions: torch.Tensor, rest_joints: torch.Tensor) -> torch.Tensor:
    """Points (B, K, 3) each rigidly attached to one joint -> posed (B, K, 3), metres."""
    ids = list(joint_ids)
    local = points - rest_joints[:, ids]
    return positions[:, ids] + (rotations[:, ids] @ local[..., None])[..., 0]
