"""From hand and object poses to the interaction grid the prior sees, differentiably.

Two parameterisations meet here:

- **relative** (what SDS optimises, BG-HOP): the object -> right-local transform
  (6D rotation + translation), the left hand's pose in the right-local frame (6D rotation
  + translation), and both articulations;
- **object frame** (what refinement and the outputs use): both hands' MANO parameters
  in the object's (input mesh's) coordinates.

:func:`relative_from_object_frame` and :func:`object_frame_from_relative` convert, and
:func:`interaction_grid` builds the 43-channel grid from the relative form.
"""

from __future__ import annotations

import roma
import torch

from handgen.grasp.grid_sampling import GridSDF, object_sdf_in_hand_frame
from handgen.grasp.hand_frame import FRAME_SCALE, frame_center, local_to_normalized, transform_hand_params
from handgen.grasp.prior_run import GraspPrior, assemble_grid
from handgen.hand.pair import HandPair


def hand_joints_local(hands: HandPair, left_orient, left_transl, left_pose, right_pose) -> torch.Tensor:
    """Joints (B, 2, 21, 3) in the right-local frame (right hand at identity), metres."""
    b = right_pose.shape[0]
    zeros = torch.zeros(b, 3, dtype=right_pose.dtype, device=right_pose.device)
    right = hands.right(zeros, right_pose).joints
    left = hands.left(left_orient, left_pose, None, left_transl).joints
    return torch.stack([left, right], dim=1)


def interaction_grid(
    prior: GraspPrior, hands: HandPair, sdf: GridSDF, obj_rot: torch.Tensor, obj_transl: torch.Tensor,
    left_orient: torch.Tensor, left_transl: torch.Tensor, left_pose: torch.Tensor, right_pose: torch.Tensor,
) -> torch.Tensor:
    """The prior's input (B, z+40, 16, 16, 16) for objects at ``p_local = obj_rot x + obj_transl``.

    Differentiable in every argument (through the SDF resampling, the encoder and the fields).
    """
    center = frame_center(hands.right).to(obj_rot)
    obj = object_sdf_in_hand_frame(sdf, obj_rot, obj_transl, center)
    latent = prior.stats.normalize(prior.autoencoder.encode(obj))
    joints = local_to_normalized(hand_joints_local(hands, left_orient, left_transl, left_pose, right_pose), center)
    return assemble_grid(latent, joints)


def object_frame_from_relative(
    hands: HandPair, obj_rot, obj_transl, left_orient, left_transl
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both hands' (orient, transl) (B, 2, 3) in the object frame, from the relative form."""
    b = obj_rot.shape[0]
    inv = obj_rot.transpose(-1, -2)
    shift = -(inv @ obj_transl[..., None])[..., 0]
    zeros = torch.zeros(b, 3, dtype=obj_rot.dtype, device=obj_rot.device)
    ro, rt = transform_hand_params(zeros, zeros, inv, shift, hands.right.rest_joints()[0].to(obj_rot).expand(b, 3))
    lo, lt = transform_hand_params(left_orient, left_transl, inv, shift, hands.left.rest_joints()[0].to(obj_rot).expand(b, 3))
    return torch.stack([lo, ro], 1), torch.stack([lt, rt], 1)


def relative_from_object_frame(hands: HandPair, orient: torch.Tensor, transl: torch.Tensor):
    """(obj_rot, obj_transl, left_orient, left_transl) from both hands' (B, 2, 3) params in the object frame."""
    b = orient.shape[0]
    wrist_r = hands.right.rest_joints()[0].to(orient).expand(b, 3)
    rot_r = roma.rotvec_to_rotmat(orient[:, 1])
    obj_rot = rot_r.transpose(-1, -2)  # object -> right-local
    obj_transl = -(obj_rot @ (wrist_r + transl[:, 1])[..., None])[..., 0] + wrist_r
    lo, lt = transform_hand_params(orient[:, 0], transl[:, 0], obj_rot, obj_transl, hands.left.rest_joints()[0].to(orient).expand(b, 3))
    return obj_rot, obj_transl, lo, lt


def rigid_from_normalized(rot: torch.Tensor, shift_units: torch.Tensor, center: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A rigid map n -> R n + t of the normalised frame as a map of right-local metres."""
    return rot, FRAME_SCALE * shift_units + center - (rot @ center[..., None])[..., 0]
