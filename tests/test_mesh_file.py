"""The one mesh loader (handgen.geometry.mesh_file): its errors, and every caller raising the same ones."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from eval.grasp_report import load_object
from handgen.errors import HandgenError, InputFileError
from handgen.geometry.mesh_file import read_mesh
from handgen.grasp.grasp_data import load_grasp_object
from handgen.grasp.mesh_input import load_object_mesh
from handgen.io.object_folder import load_template

# each caller, as a function of a mesh file's path
CALLERS = {
    "read_mesh": read_mesh,
    "load_object_mesh (handgen grasp)": load_object_mesh,
    "eval.grasp_report.load_object": lambda path: load_object(path, 1.0),
    "object_folder.load_template": lambda path: load_template(path.parent),
    "grasp_data.load_grasp_object": lambda path: load_grasp_object(path.parent),
}


def _folder_with(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name / "mesh.obj"
    path.parent.mkdir()
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


@pytest.mark.parametrize("caller", CALLERS)
def test_every_loader_gives_the_same_one_line_errors(tmp_path, caller):
    load = CALLERS[caller]
    box = trimesh.creation.box((0.1, 0.08, 0.06)).export(file_type="obj")
    cases = {
        "empty": ("", "holds no triangles"),
        "points": ("v 0 0 0\nv 1 0 0\nv 0 1 0\n", "holds no triangles"),
        "nan": (box.replace("v ", "v nan ", 1).replace("nan 0.05", "nan", 1), "NaN or infinite vertex coordinates"),
    }
    for name, (text, message) in cases.items():
        path = _folder_with(tmp_path, name, text)
        with pytest.raises(InputFileError, match=message) as info:
            load(path)
        assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)
    with pytest.raises(InputFileError, match="not found") as info:
        load(tmp_path / "gone" / "mesh.obj")
    assert str(info.value).startswith(str(tmp_path / "gone" / "mesh.obj"))


def test_read_mesh_scales_keeps_order_and_rejects_flat_meshes(tmp_path):
    box = trimesh.creation.box((0.1, 0.08, 0.06))
    path = tmp_path / "box.obj"
    box.export(path)
    mesh = read_mesh(path, scale=2.0, keep_order=True)
    np.testing.assert_allclose(mesh.extents, [0.2, 0.16, 0.12])
    assert mesh.vertices.dtype == np.float64 and mesh.faces.dtype == np.int64
    np.testing.assert_allclose(read_mesh(path, keep_order=True).vertices, box.vertices, atol=1e-7)  # file order
    with pytest.raises(HandgenError, match="--scale must be a positive number"):
        read_mesh(path, scale=0.0)
    with pytest.raises(InputFileError, match="not a file"):
        read_mesh(tmp_path)
    square = trimesh.Trimesh([[0, 0, 0], [0.1, 0, 0], [0.1, 0.1, 0], [0, 0.1, 0]], [[0, 1, 2], [0, 2, 3]])
    square.export(tmp_path / "flat.obj")
    assert len(read_mesh(tmp_path / "flat.obj").faces) == 2  # a sheet is a mesh...
    with pytest.raises(InputFileError, match=r"has zero volume \(flat"):
        read_mesh(tmp_path / "flat.obj", solid=True)  # ...but not a solid
    with pytest.raises(InputFileError, match="what it is not found"):
        read_mesh(tmp_path / "nope.obj", what="what it is")
