"""Object mesh loading (bad input) and the grasp metrics."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from handgen.grasp.grasp_metrics import (
    fingertip_contacts,
    grasp_metrics,
    intersection_volume,
    penetration_depth,
    vertex_contact_ratio,
)
from handgen.errors import HandgenError, InputFileError
from handgen.grasp.mesh_input import load_object_mesh
from handgen.grasp.object_sdf import MeshSDF
from handgen.geometry.winding import WindingNumber
from tests.helpers import YCB_DIR


def _write(path, mesh):
    mesh.export(path)
    return path


def test_missing_unparsable_empty(tmp_path):
    with pytest.raises(InputFileError, match="not found") as err:
        load_object_mesh(tmp_path / "nope.obj")
    assert str(tmp_path / "nope.obj") in str(err.value)
    (tmp_path / "empty.obj").write_text("")
    with pytest.raises(InputFileError, match="no triangles"):
        load_object_mesh(tmp_path / "empty.obj")
    (tmp_path / "junk.obj").write_text("hello\nthis is not\nan obj file\n")
    with pytest.raises(InputFileError, match="no triangles|cannot be parsed"):
        load_object_mesh(tmp_path / "junk.obj")
    (tmp_path / "junk.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99\n\x00\x01")
    with pytest.raises(InputFileError, match="cannot be parsed|no triangles"):
        load_object_mesh(tmp_path / "junk.ply")
    (tmp_path / "x.stl").mkdir()
    with pytest.raises(InputFileError, match="not a file"):
        load_object_mesh(tmp_path / "x.stl")


def test_zero_volume_and_nan(tmp_path):
    square = trimesh.Trimesh([[0, 0, 0], [0.1, 0, 0], [0.1, 0.1, 0], [0, 0.1, 0]], [[0, 1, 2], [0, 2, 3]])
    with pytest.raises(InputFileError, match="zero volume"):
        load_object_mesh(_write(tmp_path / "flat.obj", square))
    two = trimesh.util.concatenate([square, square.copy().apply_translation([0, 0, 0.05])])
    with pytest.raises(InputFileError, match="zero volume"):
        load_object_mesh(_write(tmp_path / "sheets.obj", two))
    box = trimesh.creation.box([0.1, 0.1, 0.1])
    text = _write(tmp_path / "box.obj", box).read_text().replace("v ", "v nan ", 1).replace("nan 0.05", "nan", 1)
    (tmp_path / "nan.obj").write_text(text)
    with pytest.raises(InputFileError):
        load_object_mesh(tmp_path / "nan.obj")
    with pytest.raises(HandgenError, match="--scale"):
        load_object_mesh(_write(tmp_path / "box2.obj", box), scale=-1.0)


def test_millimetre_mesh_is_detected_and_scale_fixes_it(tmp_path):
    can = trimesh.creation.cylinder(radius=33.0, height=100.0)  # a soup can in millimetres
    path = _write(tmp_path / "can_mm.obj", can)
    with pytest.raises(InputFileError, match=r"--scale 0\.001") as err:
        load_object_mesh(path)
    assert "implausible size" in str(err.value) and str(path) in str(err.value)
    mesh = load_object_mesh(path, scale=0.001)
    assert mesh.extents.max() == pytest.approx(0.1, rel=1e-6)
    assert mesh.volume == pytest.approx(np.pi * 0.033**2 * 0.1, rel=0.1)
    tiny = _write(tmp_path / "tiny.obj", trimesh.creation.box([0.001, 0.001, 0.002]))
    with pytest.raises(InputFileError, match="implausible size"):
        load_object_mesh(tiny)


def test_inverted_normals_are_flipped(tmp_path):
    box = trimesh.creation.box([0.1, 0.2, 0.05])
    box.invert()
    mesh = load_object_mesh(_write(tmp_path / "inv.obj", box))
    assert "flipped inverted normals" in mesh.fixes
    assert mesh.volume == pytest.approx(0.001, rel=0.1)
    assert WindingNumber(mesh.vertices, mesh.faces)(np.zeros((1, 3)))[0] == pytest.approx(1.0, abs=1e-6)


def test_ycb_meshes_load_without_errors():
    for path in sorted(YCB_DIR.glob("*.obj"))[:1] or pytest.skip("no YCB meshes"):
        mesh = load_object_mesh(path)
        assert 0.05 < mesh.extents.max() < 0.3 and mesh.volume > 1e-4


def test_grasp_metrics_known_answers():
    box = trimesh.creation.box([0.1, 0.1, 0.1])
    obj = MeshSDF(box.vertices, box.faces)
    # a 2 cm cube "hand" sunk 1 cm deep into the +x face
    hand = trimesh.creation.box([0.02, 0.02, 0.02])
    hand.apply_translation([0.05, 0.0, 0.0])
    verts = np.stack([hand.vertices, hand.vertices + [0.5, 0.0, 0.0]])  # second hand far away
    depth = penetration_depth(verts, obj)
    assert depth[0] == pytest.approx(0.01, abs=1e-9) and depth[1] == 0.0
    vol = intersection_volume(verts, [hand.faces, hand.faces], obj)
    assert vol == pytest.approx(2e-6 * 2, rel=0.35)  # 2 x 2 x 1 cm at 5 mm voxels
    ratio = vertex_contact_ratio(verts, obj)
    assert ratio[0] == pytest.approx(0.5) and ratio[1] == 0.0  # the 4 inner corners are inside, 4 outer 1 cm off
    joints = np.zeros((2, 21, 3))
    joints[:, :, 0] = 1.0  # far away
    joints[0, 4] = [0.053, 0.0, 0.0]  # thumb tip 3 mm off the surface
    joints[0, 8] = [0.049, 0.0, 0.0]  # index tip 1 mm inside
    joints[0, 12] = [0.06, 0.0, 0.0]  # middle tip 1 cm off
    tips = fingertip_contacts(joints, obj)
    assert tips[0].tolist() == [True, True, False, False, False] and not tips[1].any()
    m = grasp_metrics(verts, [hand.faces, hand.faces], joints, obj)
    assert m["tips_in_contact_left"] == 2 and m["tips_in_contact_right"] == 0
    assert m["penetration_depth_mm"] == pytest.approx(10.0, abs=1e-6)
    assert m["min_tip_distance_mm_left"] == pytest.approx(-1.0, abs=1e-6)
