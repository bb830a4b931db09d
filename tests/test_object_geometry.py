"""Objects: articulated posing (known cases), ARCTIC files, distance grids, contact, the right-hand frame."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import trimesh
from scipy.spatial.transform import Rotation

from data_prep.arctic_objects import load_template, read_object_track, write_arctic_template
from data_prep.hand_frame import FRAME_DROP, FRAME_SCALE, apply_frame, right_hand_frame
from data_prep.object_contact import ObjectDistance, hand_contact
from data_prep.object_distance import DistanceGrid
from handgen.errors import InputFileError
from handgen.io.object_folder import load_template as load_metric, write_object_folder
from handgen.repr.object_pose import ObjectTemplate, articulated_vertices, pose_object

EXTENTS = np.array([0.20, 0.12, 0.14])


def box_sdf(p: np.ndarray, extents=EXTENTS) -> np.ndarray:
    q = np.abs(p) - extents / 2
    return np.linalg.norm(np.maximum(q, 0), axis=-1) + np.minimum(q.max(-1), 0)


def two_part_template(pivot=(0.0, 0.0, 0.0)) -> ObjectTemplate:
    """Bottom: vertex 0 at (-0.1, -0.05, 0); top: vertices 1 and 2 at (-0.1, 0, 0) and (0, 0, 0.02)."""
    vertices = np.array([[-0.1, -0.05, 0.0], [-0.1, 0.0, 0.0], [0.0, 0.0, 0.02]])
    return ObjectTemplate("thing", vertices, np.array([[0, 1, 2]]), np.array([0, 1, 1]), pivot=np.array(pivot))


def test_articulation_rotates_the_top_part_about_minus_z_through_the_pivot():
    t = two_part_template()
    v = articulated_vertices(t, np.array([np.pi / 2]))[0]
    # R(-z, 90 deg): (x, y, z) -> (y, -x, z); the front of the top (x < 0) rises
    np.testing.assert_allclose(v[0], [-0.1, -0.05, 0.0])  # bottom untouched
    np.testing.assert_allclose(v[1], [0.0, 0.1, 0.0], atol=1e-12)
    np.testing.assert_allclose(v[2], [0.0, 0.0, 0.02], atol=1e-12)  # on the axis: fixed
    # a pivot elsewhere: the point at the pivot stays, the others turn about it
    t2 = two_part_template(pivot=(-0.1, 0.0, 0.0))
    v2 = articulated_vertices(t2, np.array([np.pi / 2]))[0]
    np.testing.assert_allclose(v2[1], [-0.1, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(v2[2], [-0.1, -0.1, 0.02], atol=1e-12)


def test_pose_object_applies_articulation_then_rotation_then_translation():
    t = two_part_template()
    rot = np.array([[0.0, np.pi / 2, 0.0], [0.0, 0.0, 0.0]])  # 90 deg about +y: (x, y, z) -> (z, y, -x)
    transl = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    posed = pose_object(t, np.array([np.pi / 2, 0.0]), rot, transl)
    assert posed.shape == (2, 3, 3)
    np.testing.assert_allclose(posed[0, 1], [1.0, 2.1, 3.0], atol=1e-12)  # (0, 0.1, 0) rotated, moved
    np.testing.assert_allclose(posed[0, 0], [1.0, 1.95, 3.1], atol=1e-12)
    np.testing.assert_allclose(posed[1], t.vertices)


def test_arctic_template_and_trajectory_files(tmp_path):
    t = two_part_template()
    write_arctic_template(tmp_path, t)
    folder = tmp_path / "meta" / "object_vtemplates" / "thing"
    first = folder.joinpath("mesh.obj").read_text().splitlines()[1]
    assert first == "v -100.0000 -50.0000 0.0000"  # millimetres on disk
    back = load_template(folder)
    np.testing.assert_allclose(back.vertices, t.vertices)
    assert back.parts.tolist() == [0, 1, 1] and back.articulated and back.name == "thing"
    write_object_folder(tmp_path / "metric", t)
    np.testing.assert_allclose(load_metric(tmp_path / "metric").vertices, t.vertices, atol=1e-7)
    assert json.loads((tmp_path / "metric" / "object.json").read_text())["pivot"] == [0.0, 0.0, 0.0]

    rows = np.array([[0.5, 0.1, 0.2, 0.3, 100.0, -20.0, 1500.0], [np.nan, 0, 0, 0, 0, 0, 0]])
    np.save(tmp_path / "x.object.npy", rows)
    track = read_object_track(tmp_path / "x.object.npy", frames=2)
    np.testing.assert_allclose(track.transl[0], [0.1, -0.02, 1.5])
    assert track.valid.tolist() == [True, False] and track.articulation[0] == 0.5

    with pytest.raises(InputFileError, match=r"x.object.npy: has 2 frames but the hands have 3"):
        read_object_track(tmp_path / "x.object.npy", frames=3)
    np.save(tmp_path / "bad.object.npy", np.zeros((4, 6)))
    with pytest.raises(InputFileError, match=r"expected a numeric \(F, 7\) array"):
        read_object_track(tmp_path / "bad.object.npy")
    folder.joinpath("parts.json").write_text("[0, 1]")
    with pytest.raises(InputFileError, match="parts.json: expected 3 values"):
        load_template(folder)
    folder.joinpath("mesh.obj").write_text("# nothing\n")
    with pytest.raises(InputFileError, match="mesh.obj"):
        load_template(folder)


def test_distance_grids_match_exact_box_distances():
    mesh = trimesh.creation.box(extents=EXTENTS)
    rng = np.random.default_rng(0)
    points = rng.uniform(-EXTENTS / 2 - 0.03, EXTENTS / 2 + 0.03, size=(20000, 3))
    exact = box_sdf(points)
    unsigned = DistanceGrid.from_mesh(mesh.vertices, mesh.faces, spacing=0.004, band=0.02)
    near = np.abs(exact) < 0.018
    err = np.abs(unsigned(points) - np.abs(exact))[near]
    assert err.mean() < 1e-4 and err.max() < 2e-3
    signed = DistanceGrid.from_mesh(mesh.vertices, mesh.faces, spacing=0.004, band=0.02, cap=0.05, signed=True)
    d = signed(points)
    assert np.all(np.sign(d[np.abs(exact) > 0.004]) == np.sign(exact[np.abs(exact) > 0.004]))
    outside, skin = (exact > 0) & (exact < 0.018), (exact < 0) & (exact > -0.004)  # deeper: may err by a voxel
    assert np.abs(d - exact)[outside].max() < 1.5e-3 and np.abs(d - exact)[skin].max() < 2.5e-3
    assert unsigned(np.array([[5.0, 5.0, 5.0]]))[0] == unsigned.cap  # outside the grid


def test_object_distance_follows_the_articulated_lid():
    body = trimesh.creation.box(extents=(0.1, 0.05, 0.1))
    body.apply_translation((-0.05, -0.03, 0.0))
    lid = trimesh.creation.box(extents=(0.1, 0.01, 0.1))
    lid.apply_translation((-0.05, 0.005, 0.0))
    template = ObjectTemplate(
        "lidbox", np.concatenate([body.vertices, lid.vertices]), np.concatenate([body.faces, lid.faces + 8]),
        np.r_[np.zeros(8), np.ones(8)],
    )
    distance = ObjectDistance.build(template)
    point = np.array([[[0.0, 0.1, 0.0]]])  # above the hinge: the lid, opened 90 deg, stands right under it
    zero = np.zeros((1, 3))
    closed = distance.distance(point, np.array([0.0]), zero, zero)[0, 0]
    opened = distance.distance(point, np.array([np.pi / 2]), zero, zero)[0, 0]
    assert closed > 0.05 and opened < 0.004
    # a posed object: the same point moved with the object has the same distance
    rot, shift = np.array([[0.3, -0.2, 0.5]]), np.array([[0.4, 1.0, 0.2]])
    moved = Rotation.from_rotvec(rot[0]).apply(point[0]) + shift
    np.testing.assert_allclose(distance.distance(moved[None], np.array([np.pi / 2]), rot, shift), opened, atol=1e-9)


def test_hand_contact_counts_vertices_and_fingertips():
    mesh = trimesh.creation.box(extents=EXTENTS)
    template = ObjectTemplate("box", mesh.vertices, mesh.faces, np.zeros(8))
    distance = ObjectDistance.build(template)
    top = EXTENTS[1] / 2
    verts = np.zeros((1, 2, 10, 3))
    verts[0, 0, :, 1] = top + np.r_[np.full(3, 0.005), np.full(7, 0.03)]  # left: 3 of 10 within 1 cm
    verts[0, 1, :, 1] = top + 0.0095  # right: all, just under 1 cm
    tips = np.zeros((1, 2, 5, 3))
    tips[..., 1] = top + 0.02
    tips[0, 1, 2, 1] = top + 0.001
    zero = np.zeros((1, 3))
    left, left_tips = hand_contact(distance, verts[:, 0], tips[:, 0], np.zeros(1), zero, zero)
    right, right_tips = hand_contact(distance, verts[:, 1], tips[:, 1], np.zeros(1), zero, zero)
    np.testing.assert_allclose([left[0], right[0]], [0.3, 1.0], atol=1e-6)
    assert right_tips[0].tolist() == [False, False, True, False, False] and not left_tips.any()


def test_right_hand_frame_is_ghop_normalisation(hand_pair):
    rng = np.random.default_rng(1)
    orient, transl, betas = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)) * 0.2, rng.normal(size=10) * 0.5
    right = hand_pair["right"]
    with torch.no_grad():
        out = right(torch.tensor(orient, dtype=torch.float32), torch.zeros(4, 45),
                    torch.tensor(betas, dtype=torch.float32), torch.tensor(transl, dtype=torch.float32))
    joints = out.joints.double().numpy()
    frame = right_hand_frame(right, orient, transl, betas)
    normalized = apply_frame(frame, joints)
    # the index MCP (keypoint 5) sits FRAME_DROP above the frame centre, whatever the global pose
    np.testing.assert_allclose(normalized[:, 5], np.tile([0.0, FRAME_DROP / FRAME_SCALE, 0.0], (4, 1)), atol=1e-5)
    # a rigid map scaled by 1 / 0.2: distances shrink five-fold
    d_world = np.linalg.norm(joints[:, 0] - joints[:, 20], axis=-1)
    d_norm = np.linalg.norm(normalized[:, 0] - normalized[:, 20], axis=-1)
    np.testing.assert_allclose(d_norm, d_world / FRAME_SCALE, rtol=1e-6)
