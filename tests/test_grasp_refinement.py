"""Placement and contact refinement on a known object."""

from __future__ import annotations

import roma
import torch
import trimesh

from handgen.grasp.grid_sampling import GridSDF
from handgen.grasp.hand_frame import transform_hand_params
from handgen.grasp.object_sdf import MeshSDF, compute_sdf_grid
from handgen.grasp.placement import facing_palms, palm_frame
from handgen.grasp.refinement import RefineConfig, hand_hand_penetration, joint_limit_violation, refine_grasps


def test_hand_hand_term_and_joint_limits(hand_pair):
    joints = hand_pair.right(torch.zeros(1, 3), hand_pair.right.hands_mean[None]).joints
    both = torch.stack([joints, joints + torch.tensor([0.0, 0.0, 0.01])], 1).requires_grad_(True)
    pen = hand_hand_penetration(both)
    assert pen.item() > 0
    pen.sum().backward()
    # the gradient pushes the hands apart along z
    assert both.grad[0, 0, :, 2].sum() > 0 and both.grad[0, 1, :, 2].sum() < 0
    apart = torch.stack([joints, joints + torch.tensor([0.0, 0.0, 0.3])], 1)
    assert hand_hand_penetration(apart).item() == 0.0
    assert joint_limit_violation(hand_pair.right.hands_mean[None], "right").item() == 0.0
    assert joint_limit_violation(hand_pair.left.hands_mean[None], "left").item() == 0.0
    bent_back = hand_pair.right.hands_mean.clone()
    bent_back[2] = -1.0  # index MCP hyper-extended
    assert joint_limit_violation(bent_back[None], "right").item() > 0.5


def test_facing_palms_puts_the_object_between_the_palms(hand_pair):
    box = trimesh.creation.box([0.06, 0.06, 0.06])
    rot = torch.eye(3)[None]
    place = facing_palms(hand_pair, torch.tensor(box.vertices, dtype=torch.float32), rot)
    center_r, skin_r = palm_frame(hand_pair, "right")
    top = 0.03 + place["object_transl"][0, 1]
    assert abs(float(top) - (skin_r - 0.012)) < 1e-5
    left = hand_pair.left(place["left_orient"], hand_pair.left.hands_mean[None], None, place["left_transl"])
    palm_left = left.joints[0, [0, 5, 9, 13, 17]].mean(0)
    # the left palm is below the object, facing up (its palm normal is +y)
    assert palm_left[1] < place["object_transl"][0, 1] - 0.03
    assert abs(float(palm_left[0] - center_r[0])) < 0.02


def test_refinement_makes_contact_without_penetration(hand_pair):
    box = trimesh.creation.box([0.07, 0.16, 0.2])
    sdf = GridSDF.from_grid(compute_sdf_grid(box.vertices, box.faces, max_cells=48))
    n = 2
    gen = torch.Generator().manual_seed(0)
    rot = roma.random_rotmat(n, generator=gen)
    place = facing_palms(hand_pair, torch.tensor(box.vertices, dtype=torch.float32), rot, gap=0.02)
    inv = rot.transpose(1, 2)
    shift = -(inv @ place["object_transl"][..., None])[..., 0]
    zeros = torch.zeros(n, 3)
    ro, rt = transform_hand_params(zeros, zeros, inv, shift, hand_pair.right.rest_joints()[0].expand(n, 3))
    lo, lt = transform_hand_params(place["left_orient"], place["left_transl"], inv, shift, hand_pair.left.rest_joints()[0].expand(n, 3))
    pose = torch.stack([hand_pair.left.hands_mean, hand_pair.right.hands_mean]).expand(n, 2, 45).clone()
    grasp, terms = refine_grasps(hand_pair, sdf, torch.stack([lo, ro], 1), torch.stack([lt, rt], 1), pose,
                                   RefineConfig(steps=150, opposition=0.0, hand_contact=0.0))  # the contact terms alone
    assert set(terms) >= {"penetration", "tip_contact", "hand_hand", "pose_prior"}
    with torch.no_grad():
        verts, joints = grasp(hand_pair)
    exact = MeshSDF(box.vertices, box.faces)
    for b in range(n):
        tips = exact(joints[b, :, [4, 8, 12, 16, 20]].reshape(-1, 3).numpy()).reshape(2, 5)
        assert ((tips <= 0.005).sum(1) >= 2).all(), tips
        depth = -exact(verts[b].reshape(-1, 3).numpy()).min()
        assert depth < 0.005
