"""Initial bimanual placements around an object: palms facing each other across it.

Used to initialise grasp synthesis (random object orientation, then the object is put
under the right palm and the left hand on its far side, palm towards it) and to build
synthetic grasp data. Everything is in the right-local frame (the right hand at
global_orient 0, transl 0: palm facing -y, fingers along -x, thumb towards +z).
"""

from __future__ import annotations

import math

import roma
import torch

from handgen.grasp.hand_frame import transform_hand_params
from handgen.hand.pair import HandPair
from handgen.hand.topology import PALM_KEYPOINTS

PALM_GAP = 0.012  # metres between the palm skin and the object at the start


def palm_frame(hands: HandPair, side: str = "right") -> tuple[torch.Tensor, float]:
    """Palm centre (3,) and the y of the palm skin in that hand's local frame (mean pose, metres)."""
    hand = hands[side]
    with torch.no_grad():
        out = hand(torch.zeros(1, 3), hand.hands_mean[None])
    v, j = out.vertices[0], out.joints[0]
    center = j[list(PALM_KEYPOINTS)].mean(0)
    near = (v[:, [0, 2]] - center[[0, 2]]).norm(dim=1) < 0.03
    return center, float(v[near, 1].min())


def facing_palms(
    hands: HandPair, object_points: torch.Tensor, object_rot: torch.Tensor, spin: torch.Tensor | None = None,
    gap: float = PALM_GAP,
) -> dict[str, torch.Tensor]:
    """Place an object under the right palm and the left hand across it, palm to palm.

    Args:
        object_points: (N, 3) points of the object (e.g. its vertices) in its own frame, metres.
        object_rot: (B, 3, 3) object orientations in the right-local frame.
        spin: (B,) radians: the left hand turned about the palm normal (0: fingers parallel).

    Returns:
        ``object_transl`` (B,3) with ``p_local = object_rot @ x + object_transl``, and the
        left hand's ``left_orient`` (B,3), ``left_transl`` (B,3) in the right-local frame.
    """
    b = object_rot.shape[0]
    dtype = object_rot.dtype
    center_r, skin_r = palm_frame(hands, "right")
    center_r = center_r.to(dtype)
    pts = torch.einsum("bij,nj->bni", object_rot, object_points.to(dtype))  # (B,N,3)
    lo, hi = pts.min(1).values, pts.max(1).values
    mid = 0.5 * (lo + hi)
    transl = torch.stack([center_r[0] - mid[:, 0], skin_r - gap - hi[:, 1], center_r[2] - mid[:, 2]], dim=-1)
    bottom = lo[:, 1] + transl[:, 1]  # lowest object point, right-local y
    # left hand: palm skin y -> mirrored about its palm centre by a half-turn about z, then spun about y
    center_l, skin_l = palm_frame(hands, "left")
    center_l = center_l.to(dtype)
    spin = torch.zeros(b, dtype=dtype) if spin is None else spin.to(dtype)
    flip = roma.rotvec_to_rotmat(torch.tensor([0.0, 0.0, math.pi], dtype=dtype)).expand(b, 3, 3)
    turn = roma.rotvec_to_rotmat(torch.stack([torch.zeros_like(spin), spin, torch.zeros_like(spin)], -1))
    rot = turn @ flip
    # after rot, the left palm centre maps to rot @ c_l; its skin lies at -(skin_l) above it along +y
    skin_point = center_l.clone()
    skin_point[1] = skin_l
    target = torch.stack([center_r[0].expand(b), bottom - gap, center_r[2].expand(b)], -1)
    shift = target - (rot @ skin_point[:, None])[..., 0]
    wrist = hands.left.rest_joints()[0].to(dtype)
    zeros = torch.zeros(b, 3, dtype=dtype)
    left_orient, left_transl = transform_hand_params(zeros, zeros, rot, shift, wrist.expand(b, 3))
    return {"object_transl": transl, "left_orient": left_orient, "left_transl": left_transl}
