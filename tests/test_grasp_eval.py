"""Grasp evaluation: the hold test through ``eval grasp`` (its known answers: tests/test_hold_test.py), diversity, known-answer penetration and
intersection volume, and ``handgen eval grasp``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from eval.grasp_diversity import grasp_diversity
from tests.helpers import cli_in_process

BOX = 0.08  # a cube of 8 cm, centred at the origin


def pressing_params(hand_pair, depth: float) -> dict[str, np.ndarray]:
    """MANO parameters of two flat hands pressing the box's -x / +x faces, palms sunk ``depth`` metres into it.

    The right hand (palm -y at rest) turns -90 deg about z: palm towards -x, fingers up; the left one mirrored.
    """
    from handgen.analysis.hand_frame import PALM_SURFACE_OFFSET, palm_centre, palm_normal

    params = {}
    for h, (side, angle, face) in enumerate((("left", np.pi / 2, -BOX / 2), ("right", -np.pi / 2, BOX / 2))):
        orient = torch.tensor([[0.0, 0.0, angle]])
        joints = hand_pair[side].joints(orient, torch.zeros(1, 45), None, torch.zeros(1, 3))[0].numpy()
        normal = palm_normal(joints, h)
        skin = palm_centre(joints) + PALM_SURFACE_OFFSET * normal
        target = np.array([face, 0.0, 0.0]) + depth * normal  # the palm normal points into the box
        params[f"{side}_global_orient"] = orient[0].numpy()
        params[f"{side}_hand_pose"] = np.zeros(45)
        params[f"{side}_transl"] = target - skin
        params[f"{side}_betas"] = np.zeros(10)
    return {k: v.astype(np.float32) for k, v in params.items()}


def params_joints(hand_pair, params) -> np.ndarray:
    t = {k: torch.as_tensor(v)[None] for k, v in params.items()}
    return hand_pair.joints(t)[0].numpy()


def test_grasp_diversity_known_values():
    joints = np.zeros((3, 2, 21, 3))
    joints[1, ..., 0] = 0.01  # 1 cm away from grasp 0
    joints[2, ..., 0] = 0.02
    pose = np.zeros((3, 2, 45))
    pose[1, 0, 0] = 0.3
    pose[2, 1, 1] = 0.4  # pairwise 0.3, 0.4, 0.5
    out = grasp_diversity(joints, pose)
    assert out["joint_diversity_mm"] == pytest.approx((10 + 20 + 10) / 3)
    assert out["pose_diversity_rad"] == pytest.approx(0.4)
    assert grasp_diversity(joints[:1], pose[:1]) == {"joint_diversity_mm": None, "pose_diversity_rad": None}


def test_penetration_and_intersection_of_a_hand_at_a_known_depth(hand_pair):
    """A flat hand pushed into a box (box SDF computed analytically) and one fully inside a big box."""
    grasp_metrics = pytest.importorskip("handgen.grasp.grasp_metrics")
    import trimesh

    from handgen.grasp.object_sdf import MeshSDF

    hand = hand_pair.right
    verts = hand(torch.zeros(1, 3), torch.zeros(1, 45), None, torch.zeros(1, 3)).vertices[0].numpy().astype(np.float64)
    faces = hand.faces.numpy()
    box = trimesh.creation.box((0.3, 0.1, 0.3))  # top face at y = 0.05
    sdf = MeshSDF(box.vertices, box.faces)
    # lowest hand point 12 mm below the top face, the hand far from the box's sides
    sunk = verts - [verts[:, 0].mean(), verts[:, 1].min() - 0.05 + 0.012, verts[:, 2].mean()]
    assert grasp_metrics.penetration_depth(sunk[None], sdf)[0] == pytest.approx(0.012, abs=2e-4)
    above = sunk + [0.0, 0.02, 0.0]
    assert grasp_metrics.penetration_depth(above[None], sdf)[0] == 0.0
    # the whole hand inside a big box: intersection = hand volume (to the 5 mm voxels), depth = analytic box SDF
    inside = verts - 0.5 * (verts.min(0) + verts.max(0))
    half = np.abs(inside).max(0) + 0.01  # 1 cm of margin on every side
    big = trimesh.creation.box(2 * half)
    big_sdf = MeshSDF(big.vertices, big.faces)
    analytic = (half - np.abs(inside)).min(1).max()
    assert grasp_metrics.penetration_depth(inside[None], big_sdf)[0] == pytest.approx(analytic, abs=2e-4)
    volume = trimesh.Trimesh(inside, faces, process=False).volume
    assert grasp_metrics.intersection_volume(inside[None], [faces], big_sdf) == pytest.approx(volume, rel=0.15)


def write_grasp_dir(tmp_path, hand_pair, depths):
    import trimesh

    mesh_path = tmp_path / "box.obj"
    trimesh.creation.box((BOX, BOX, BOX)).export(mesh_path)
    out = tmp_path / "grasps"
    out.mkdir()
    for k, depth in enumerate(depths):
        params = pressing_params(hand_pair, depth)
        params["left_hand_pose"][2] = -0.2 * k  # curl the left index a little more in each grasp
        np.savez(out / f"grasp_{k:03d}.npz", **params, joints=params_joints(hand_pair, params).astype(np.float32),
                 category=np.asarray("box"), hand_model=np.asarray("procedural"), penetration_depth_mm=np.asarray(3.0),
                 intersection_volume_cm3=np.asarray(1.0), tips_in_contact_left=np.asarray(2),
                 tips_in_contact_right=np.asarray(3), vertex_contact_left=np.asarray(0.1),
                 vertex_contact_right=np.asarray(0.2))
    (out / "summary.json").write_text(json.dumps({"category": "box", "mesh": str(mesh_path), "scale": 1.0}))
    return out


def test_eval_grasp_command(hand_pair, tmp_path, capsys):
    results = write_grasp_dir(tmp_path, hand_pair, [0.003, -0.03])
    report_path = tmp_path / "report.json"
    assert cli_in_process("eval", "grasp", "--results", results, "--out", report_path) == 0
    out = capsys.readouterr().out
    assert "grasp_000.npz" in out and "sim displacement" in out and "diversity" in out
    report = json.loads(report_path.read_text())
    assert report["num_grasps"] == 2 and report["category"] == "box"
    held, loose = report["grasps"]
    assert held["simulation_displacement_mm"] < 50.0
    assert loose["simulation_displacement_mm"] > 4000.0  # 3 cm away from the box: it falls
    assert held["holds"] == 1.0 and held["hold_directions"] == 6.0 and loose["hold_directions"] == 0.0
    assert held["hold_displacement_my_mm"] == pytest.approx(held["simulation_displacement_mm"])
    assert report["mean"]["simulation_displacement_mm"] == pytest.approx(
        (held["simulation_displacement_mm"] + loose["simulation_displacement_mm"]) / 2)
    assert report["diversity"]["joint_diversity_mm"] > 30.0 and report["diversity"]["pose_diversity_rad"] > 0
    if report["metrics_source"] == "recomputed":
        assert held["penetration_depth_mm"] > 0.5 and loose["penetration_depth_mm"] == 0.0
    else:
        assert held["tip_contact_right"] == pytest.approx(0.6) and held["vertex_contact_left"] == pytest.approx(0.1)


def test_eval_grasp_scores_an_inverted_mesh_as_handgen_grasp_repairs_it(hand_pair, tmp_path, capsys):
    """A mesh with inward-facing triangles (``handgen grasp`` flips them) gives the same penetration as the fixed one."""
    import trimesh

    results = write_grasp_dir(tmp_path, hand_pair, [0.003])
    reports = {}
    for name, flip in (("outward", False), ("inverted", True)):
        box = trimesh.creation.box((BOX, BOX, BOX))
        if flip:
            box.invert()
        box.export(tmp_path / f"{name}.obj")
        reports[name] = tmp_path / f"{name}.json"
        assert cli_in_process("eval", "grasp", "--results", results, "--out", reports[name],
                              "--mesh", tmp_path / f"{name}.obj") == 0
    rows = {name: json.loads(path.read_text())["grasps"][0] for name, path in reports.items()}
    if json.loads(reports["outward"].read_text())["metrics_source"] == "recomputed":
        assert rows["outward"]["penetration_depth_mm"] > 0.5
        assert rows["inverted"]["penetration_depth_mm"] == pytest.approx(rows["outward"]["penetration_depth_mm"], abs=1e-6)
    assert rows["inverted"]["hold_directions"] == rows["outward"]["hold_directions"] == 6.0


def test_eval_grasp_errors(hand_pair, tmp_path, capsys):
    out = tmp_path / "r.json"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli_in_process("eval", "grasp", "--results", empty, "--out", out) == 1
    assert "no grasp_XXX.npz" in capsys.readouterr().err
    results = write_grasp_dir(tmp_path, hand_pair, [0.003])
    np.savez(results / "grasp_001.npz", joints=np.zeros((2, 21, 3)))
    assert cli_in_process("eval", "grasp", "--results", results, "--out", out) == 1
    err = capsys.readouterr().err
    assert "grasp_001.npz" in err and "missing array" in err
    (results / "grasp_001.npz").unlink()
    assert cli_in_process("eval", "grasp", "--results", results, "--out", out, "--mesh", tmp_path / "nope.obj") == 1
    assert "nope.obj: object mesh not found" in capsys.readouterr().err
    assert cli_in_process("eval", "grasp", "--results", results, "--out", out, "--gravity", "down") == 1
    assert "gravity direction" in capsys.readouterr().err
    assert not out.exists()
