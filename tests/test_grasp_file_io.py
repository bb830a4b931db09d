"""Grasp files as inputs of ``handgen render`` and ``handgen export`` (issue 24: "shape (3,), expected (3, 3)")."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh
from conftest import cli_in_process
from PIL import Image

from handgen.grasp.grasp_output import write_grasps
from handgen.grasp.synthesis import GraspCandidate
from handgen.io.motion_npz import load_motion, object_from_extras


@pytest.fixture(scope="module")
def grasp_dir(tmp_path_factory, hand_pair):
    """A grasp file written by the real writer: two hands either side of a 10 cm box."""
    out = tmp_path_factory.mktemp("grasp")
    box = trimesh.creation.box(extents=(0.1, 0.1, 0.1))
    box.export(out / "box.obj")
    orient = np.array([[0.0, 0.0, -np.pi / 2], [0.0, 0.0, np.pi / 2]])
    transl = np.array([[0.12, 0.0, 0.0], [-0.12, 0.0, 0.0]])
    pose = np.zeros((2, 45))
    pose[:, 2::3] = 0.4
    verts = []
    with torch.no_grad():
        for i, side in enumerate(("left", "right")):
            res = hand_pair[side](torch.tensor(orient[i]), torch.tensor(pose[i]), torch.zeros(10), torch.tensor(transl[i]))
            verts.append(res.vertices.numpy())
    from handgen.repr.motion import BimanualMotion

    motion = BimanualMotion(orient[None], pose[None], transl[None], np.zeros((2, 10)))
    cand = GraspCandidate(orient, transl, pose, motion.joints(hand_pair)[0], np.stack(verts), 0.5,
                          {"tips_in_contact_left": 3, "tips_in_contact_right": 3, "penetration_depth_mm": 1.0})
    faces = [hand_pair.left.faces.numpy(), hand_pair.right.faces.numpy()]
    write_grasps(out, [cand], [(box.vertices, box.faces)], faces, "box", "procedural",
                 {"mesh": str(out / "box.obj"), "scale": 1.0, "frame": "mesh"}, render=False)
    return out, cand


def test_grasp_file_loads_as_a_one_frame_motion_with_its_object(grasp_dir):
    out, cand = grasp_dir
    motion, extras = load_motion(out / "grasp_000.npz")
    assert motion.num_frames == 1 and extras["joints"].shape == (1, 2, 21, 3)
    np.testing.assert_allclose(motion.transl[0], cand.transl, atol=1e-6)
    np.testing.assert_allclose(extras["joints"][0], cand.joints, atol=1e-6)
    assert extras["texts"]["both"] == "grasp box with both hands"
    template, *_ = object_from_extras(out / "grasp_000.npz", extras, 1)
    assert len(template.faces) == 12 and np.abs(template.vertices).max() == pytest.approx(0.05)


def test_grasp_file_renders_and_exports(grasp_dir, tmp_path):
    out, _ = grasp_dir
    assert cli_in_process("-q", "render", "--motion", out / "grasp_000.npz", "--out", tmp_path / "g.gif", "--size", "160",
                          "--turntable", "4") == 0
    with Image.open(tmp_path / "g.gif") as gif:
        assert gif.n_frames == 4  # views circling the grasp
        img = np.asarray(gif.convert("RGB")).astype(int)
        gif.seek(2)
        opposite = np.asarray(gif.convert("RGB")).astype(int)
    assert np.abs(img - opposite).sum() > 0
    assert ((img[..., 2] > img[..., 0] + 40).sum() > 100) and ((img[..., 0] > img[..., 2] + 40).sum() > 100)
    assert cli_in_process("-q", "export", "--motion", out / "grasp_000.npz", "--format", "glb", "--out", tmp_path / "g.glb") == 0
    scene = trimesh.load(tmp_path / "g.glb")
    assert {"left_hand", "right_hand", "object"} <= set(scene.geometry)
    assert cli_in_process("-q", "export", "--motion", out / "grasp_000.npz", "--format", "bvh", "--out", tmp_path / "g.bvh") == 0
    assert "Frames: 1" in (tmp_path / "g.bvh").read_text()


def test_grasp_file_whose_mesh_is_gone_is_one_line(grasp_dir, tmp_path, capsys):
    out, _ = grasp_dir
    with np.load(out / "grasp_000.npz") as raw:
        data = {k: raw[k] for k in raw.files}
    data["mesh"] = np.asarray(str(tmp_path / "gone.obj"))
    np.savez(tmp_path / "g.npz", **data)
    assert cli_in_process("render", "--motion", tmp_path / "g.npz", "--out", tmp_path / "g.gif", "--turntable", "2") == 1
    assert "is not there any more" in capsys.readouterr().err
