"""The synthetic generator's bimanual grasp types (issue 21): contacts on opposing sides that hold."""

from __future__ import annotations

import numpy as np
import pytest

from data_prep.caption_segments import CaptionSegment
from data_prep.prep_grasps import grasp_type_of
from data_prep.synthetic.grasp_solver import hand_vertices
from data_prep.synthetic.hand_geometry import pose_hand
from data_prep.synthetic.object_catalog import catalog_object
from data_prep.synthetic.object_motion import ObjectPlan, hand_roles
from data_prep.synthetic.object_scene import place_object, signed_grid, solve_layout
from data_prep.synthetic.pinch_solver import INDEX_TIP, THUMB_TIP
from handgen.grasp.hold_test import hold_test
from handgen.hand.topology import HANDS

BETAS = np.zeros(10)


def _held(obj_name: str, layout: str, holder: str = "both", seed: int = 0):
    """The object's world mesh, the holding hands' grasps and their posed skins/keypoints."""
    obj = catalog_object(obj_name, None)
    rng = np.random.default_rng(seed)
    scene = place_object(obj, signed_grid(obj), rng, holder if layout.endswith("_one") else "both")
    grasps = solve_layout(layout, scene, BETAS, rng, holder)
    verts = obj.template.vertices @ scene.rotation.T + scene.translation
    skins = np.stack([hand_vertices(grasps[s], BETAS) for s in grasps])
    joints = np.stack([pose_hand(s, grasps[s].rotvec[None], grasps[s].pose[None], BETAS).joints[0] + grasps[s].wrist
                       for s in grasps])
    return scene, grasps, verts, obj.template.faces, skins, joints


@pytest.mark.parametrize("obj_name, layout, holder", [
    ("box", "support_top", "left"),  # one palm under, one palm on top
    ("cylinder", "wrap_both", "both"),  # both hands around the body, one high, one low
    ("bar", "pinch", "both"),  # thumb against index at each end of a thin bar
])
def test_new_grasp_types_put_contacts_on_opposite_sides_and_hold(obj_name, layout, holder):
    scene, grasps, verts, faces, skins, joints = _held(obj_name, layout, holder)
    assert sorted(grasps) == list(HANDS)
    for side, skin in zip(grasps, skins):
        assert scene.sdf(skin).min() > -0.003, f"{side} hand sinks into the {obj_name}"  # no deep penetration
    u = [(j[[0, 5, 9, 13, 17]].mean(0) - scene.centre) @ scene.yaw for j in joints]  # palm centres, object frame
    if layout == "support_top":  # the holder's palm below the centre, the other's above
        below, above = (u[0], u[1]) if holder == "left" else (u[1], u[0])
        assert below[1] < -scene.half[1] and above[1] > scene.half[1]
    elif layout == "wrap_both":  # palms on opposite sides (left hand at +x), at different heights
        assert u[0][0] > scene.half[0] and u[1][0] < -scene.half[0] and abs(u[0][1] - u[1][1]) > 0.05
    else:  # each hand pinches: thumb and index tips touch the bar from its back and front faces
        for side, j in zip(grasps, joints):
            assert grasps[side].touching["thumb"] and grasps[side].touching["index"]
            tips = (j[[THUMB_TIP, INDEX_TIP]] - scene.centre) @ scene.yaw
            assert tips[0][2] < -0.01 < 0.01 < tips[1][2], "thumb behind the bar, index in front"
    result = hold_test(verts, faces, skins, joints)
    assert result.holds and result.directions_held >= 5


def test_grasp_types_are_labelled_and_roles_name_the_hands():
    assert hand_roles(ObjectPlan("box", "support_top", "lift", "right", False)) == {"left": "top", "right": "support"}
    assert hand_roles(ObjectPlan("bar", "pinch_one", "lift", "left", False)) == {"left": "pinch", "right": "free"}
    assert hand_roles(ObjectPlan("cylinder", "wrap_both", "lift", "both", False)) == {"left": "wrap", "right": "wrap"}


def test_prep_grasps_rows_carry_the_generator_layout_as_grasp_type():
    segments = {"s01/box_use_0003": [CaptionSegment(0, 30, (), {"layout": "sides"}),
                                     CaptionSegment(30, 60, (), {"layout": "support_top"})]}
    row = {"subject": "s01", "sequence": "box_use_0003", "frame": 42}
    assert grasp_type_of(segments, row) == "support_top"
    assert grasp_type_of(segments, dict(row, frame=3)) == "sides"
    assert grasp_type_of(segments, dict(row, sequence="box_use_0004")) == ""  # no labels: empty
