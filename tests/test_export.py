"""``handgen export``: BVH round trip to the source joints, OBJ sequences, GLB scenes, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from conftest import cli_in_process
from handgen.export.bvh import axis_angle_to_bvh_euler, bvh_keypoint_names
from handgen.testing.bvh_reader import bvh_world_positions, read_bvh
from handgen.export.obj_sequence import frame_file_name
from handgen.hand.topology import FINGERTIP_KEYPOINTS, HANDS
from handgen.io.motion_npz import load_motion, object_arrays, save_motion
from handgen.repr.motion import BimanualMotion
from handgen.repr.object_pose import ObjectTemplate


def _random_motion(frames: int = 24, seed: int = 0) -> BimanualMotion:
    """Large random rotations (beyond +-90 degrees, so Euler angles wrap), translations and betas."""
    rng = np.random.default_rng(seed)
    return BimanualMotion(
        global_orient=rng.normal(0.0, 1.5, (frames, 2, 3)),
        hand_pose=rng.normal(0.0, 0.7, (frames, 2, 45)),
        transl=rng.normal(0.0, 0.3, (frames, 2, 3)) + np.array([[0.4, 1.0, 0.2], [-0.4, 1.0, 0.2]]),
        betas=rng.normal(0.0, 1.0, (2, 10)),
        fps=30.0,
    )


def _save(path, hand_pair, motion: BimanualMotion, extra=None):
    hands_mean = {side: hand_pair[side].hands_mean.numpy() for side in HANDS}
    save_motion(path, motion, motion.joints(hand_pair), {"both": "random"}, "procedural", hands_mean, extra=extra)
    return path


def _posed_vertices(hand_pair, motion: BimanualMotion, frame: int) -> dict[str, np.ndarray]:
    params = motion.slice(frame, frame + 1).torch_params()
    with torch.no_grad():
        return {side: hand_pair.pose(side, params).vertices[0].double().numpy() for side in HANDS}


def _bvh_joints(path, scale: float = 1.0) -> np.ndarray:
    """(F, 2, 21, 3) joints of both hands from a re-read BVH file, metres."""
    positions = bvh_world_positions(read_bvh(path))
    return np.stack([np.stack([positions[n] for n in bvh_keypoint_names(s)], 1) for s in HANDS], 1) / scale


@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_bvh_round_trip_gives_back_the_joints(tmp_path, hand_pair, scale):
    motion = _random_motion()
    src = _save(tmp_path / "m.npz", hand_pair, motion)
    out = tmp_path / "m.bvh"
    assert cli_in_process("-q", "export", "--motion", src, "--format", "bvh", "--out", out,
                          "--bvh-scale", scale) == 0
    bvh = read_bvh(out)
    assert bvh.num_frames == motion.num_frames
    assert bvh.frame_time == pytest.approx(1 / 30, abs=1e-7)
    # one root with both wrists as children, 16 joints + 5 End Sites per hand
    assert bvh.nodes[0].name == "Hands" and bvh.nodes[0].parent == -1
    assert [n.name for n in bvh.nodes if n.parent == 0] == ["left_wrist", "right_wrist"]
    assert sum(n.end_site for n in bvh.nodes) == 10 and len(bvh.nodes) == 1 + 2 * 21
    expected = load_motion(src)[1]["joints"]
    error = np.abs(_bvh_joints(out, scale) - expected).max()
    assert error < 1e-3  # the Done-when bar (1 mm)
    assert error < 2e-5  # what the exporter really achieves (float32 joints, 6 decimals)
    # the rest skeleton depends on the motion's betas: the right index bone is not the default one
    node = bvh.node("right_index2")
    default = hand_pair["right"].rest_joints()
    assert not np.allclose(node.offset / scale, (default[2] - default[1]).numpy(), atol=1e-4)


def test_bvh_rotations_follow_the_motion_without_jumps():
    # a steady turn about y through +-180 degrees: channel values continuous, rotation exact
    angles = np.linspace(0.0, 2.5 * np.pi, 60)
    axis_angle = np.stack([np.zeros_like(angles), angles, np.zeros_like(angles)], axis=1)
    euler = axis_angle_to_bvh_euler(axis_angle)  # columns Z, X, Y
    assert np.abs(np.diff(euler, axis=0)).max() < 8.0  # one step is 7.6 degrees
    np.testing.assert_allclose(euler[:, 2], np.degrees(angles), atol=1e-6)
    np.testing.assert_allclose(euler[:, :2], 0.0, atol=1e-6)


def test_bvh_reader_rejects_truncated_files(tmp_path, hand_pair):
    from handgen.errors import InputFileError

    src = _save(tmp_path / "m.npz", hand_pair, _random_motion(frames=3))
    out = tmp_path / "m.bvh"
    assert cli_in_process("-q", "export", "--motion", src, "--format", "bvh", "--out", out) == 0
    out.write_text(out.read_text()[:-40])
    with pytest.raises(InputFileError, match="MOTION holds"):
        read_bvh(out)


def _box_object(frames: int) -> dict[str, np.ndarray]:
    box = trimesh.creation.box((0.1, 0.2, 0.1))
    template = ObjectTemplate("box", box.vertices, box.faces, np.zeros(len(box.vertices)))
    rot = np.tile([0.0, 0.3, 0.0], (frames, 1))
    transl = np.tile([0.0, 1.0, 0.3], (frames, 1))
    return object_arrays(template, rot, transl, np.zeros(frames))


def _obj_vertices(path) -> dict[str, np.ndarray]:
    """Vertices of each ``o`` block of an OBJ file."""
    blocks: dict[str, list] = {}
    name = None
    for line in path.read_text().splitlines():
        if line.startswith("o "):
            name = line[2:]
            blocks[name] = []
        elif line.startswith("v "):
            blocks[name].append([float(x) for x in line.split()[1:]])
    return {k: np.array(v) for k, v in blocks.items()}


def test_obj_sequence_has_one_file_per_frame_with_both_meshes(tmp_path, hand_pair):
    motion = _random_motion(frames=5)
    src = _save(tmp_path / "m.npz", hand_pair, motion, extra=_box_object(5))
    out = tmp_path / "seq"
    assert cli_in_process("-q", "export", "--motion", src, "--format", "obj-seq", "--out", out) == 0
    files = sorted(out.glob("*.obj"))
    assert [f.name for f in files] == [frame_file_name(i, 5) for i in range(5)] == ["frame_0000.obj", *[
        f"frame_000{i}.obj" for i in range(1, 5)]]
    blocks = _obj_vertices(files[3])
    assert list(blocks) == ["left_hand", "right_hand", "object"]
    expected = _posed_vertices(hand_pair, motion, 3)
    for side in HANDS:
        assert blocks[f"{side}_hand"].shape == (hand_pair[side].num_vertices, 3)
        np.testing.assert_allclose(blocks[f"{side}_hand"], expected[side], atol=2e-6)
    assert len(blocks["object"]) == 8
    faces = [line for line in files[3].read_text().splitlines() if line.startswith("f ")]
    assert len(faces) == 2 * len(hand_pair["left"].faces) + 12
    # the faces index the file's own vertices (1-based, global)
    assert max(int(i) for line in faces for i in line.split()[1:]) == 2 * hand_pair["left"].num_vertices + 8
    assert frame_file_name(12345, 20000) == "frame_12345.obj"


def test_glb_loads_back_with_the_frame_meshes(tmp_path, hand_pair):
    motion = _random_motion(frames=4)
    src = _save(tmp_path / "m.npz", hand_pair, motion)
    out = tmp_path / "m.glb"
    assert cli_in_process("-q", "export", "--motion", src, "--format", "glb", "--out", out, "--frame", "2") == 0
    scene = trimesh.load(out, force="scene")
    assert sorted(scene.geometry) == ["left_hand", "right_hand"]
    expected = _posed_vertices(hand_pair, motion, 2)
    for side in HANDS:
        mesh = scene.geometry[f"{side}_hand"]
        assert mesh.vertices.shape == (hand_pair[side].num_vertices, 3)
        assert len(mesh.faces) == len(hand_pair[side].faces)
        world = trimesh.transform_points(mesh.vertices, scene.graph.get(f"{side}_hand")[0])
        np.testing.assert_allclose(world, expected[side], atol=1e-5)


def test_glb_includes_the_object(tmp_path, hand_pair):
    src = _save(tmp_path / "m.npz", hand_pair, _random_motion(frames=2), extra=_box_object(2))
    out = tmp_path / "m.glb"
    assert cli_in_process("-q", "export", "--motion", src, "--format", "glb", "--out", out, "--frame", "0") == 0
    scene = trimesh.load(out, force="scene")
    assert sorted(scene.geometry) == ["left_hand", "object", "right_hand"]
    assert len(scene.geometry["object"].vertices) == 8


def test_export_errors_are_one_line(tmp_path, hand_pair, capsys):
    src = _save(tmp_path / "m.npz", hand_pair, _random_motion(frames=2))
    missing = tmp_path / "nope.npz"
    assert cli_in_process("export", "--motion", missing, "--format", "bvh", "--out", tmp_path / "a.bvh") == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(missing) in err and "not found" in err

    broken = tmp_path / "broken.npz"
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "left_hand_pose"}
    np.savez(broken, **arrays)
    assert cli_in_process("export", "--motion", broken, "--format", "glb", "--out", tmp_path / "b.glb") == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(broken) in err and "left_hand_pose" in err

    for fmt, out, needle in (("bvh", "x.glb", ".bvh file"), ("glb", "x.bvh", ".glb file"), ("obj-seq", "m.npz", "is a file")):
        assert cli_in_process("export", "--motion", src, "--format", fmt, "--out", tmp_path / out) == 1
        assert needle in capsys.readouterr().err
    assert cli_in_process("export", "--motion", src, "--format", "glb", "--out", tmp_path / "c.glb", "--frame", "9") == 1
    assert "outside" in capsys.readouterr().err
    assert cli_in_process("export", "--motion", src, "--format", "bvh", "--out", tmp_path / "d.bvh",
                          "--bvh-scale", "0") == 1
    assert "--bvh-scale" in capsys.readouterr().err
    assert not any(tmp_path.glob("[abcd].*"))

    with pytest.raises(SystemExit) as exc:
        cli_in_process("export", "--motion", src, "--format", "fbx", "--out", tmp_path / "e.fbx")
    assert exc.value.code == 2 and "invalid choice: 'fbx'" in capsys.readouterr().err


def test_bvh_of_a_mano_motion_uses_the_mano_skeleton(tmp_path):
    """With (synthetic) MANO files the 16 kinematic joints come back exactly; MANO's fingertips are mesh
    vertices (skinning + pose correctives), so their End Sites are close, not exact."""
    from handgen.hand.factory import make_hand_pair
    from handgen.testing.synthetic_mano import write_synthetic_mano_dir

    mano_dir = write_synthetic_mano_dir(tmp_path / "mano", seed=0)
    hands = make_hand_pair(mano_dir)
    motion = _random_motion(frames=6)
    motion.hand_pose *= 0.3  # everyday finger poses
    joints = motion.joints(hands)
    src = tmp_path / "m.npz"
    save_motion(src, motion, joints, None, "mano", {s: hands[s].hands_mean.numpy() for s in HANDS})
    out = tmp_path / "m.bvh"
    assert cli_in_process("-q", "export", "--motion", src, "--format", "bvh", "--out", out,
                          "--mano-dir", mano_dir) == 0
    error = np.linalg.norm(_bvh_joints(out) - joints, axis=-1)  # (T, 2, 21) metres
    tips = list(FINGERTIP_KEYPOINTS)
    assert np.delete(error, tips, axis=-1).max() < 2e-5
    assert error[..., tips].max() < 0.015
    # the procedural skeleton would not fit this motion
    assert cli_in_process("-q", "export", "--motion", src, "--format", "bvh", "--out", out) == 0
    assert np.abs(_bvh_joints(out) - joints).max() > 1e-3
