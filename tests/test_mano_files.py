"""The MANO model files: the synthetic files' layout, the restricted unpickler, clear errors for bad files."""

from __future__ import annotations

import os
import pickle
import pickletools
import subprocess

import numpy as np
import pytest

from handgen.errors import InputFileError
from handgen.hand.mano_file import ChumpyStub, RestrictedUnpickler, SparseStub, load_mano_arrays
from handgen.testing.mano_pickle import ChumpyArray, write_mano_pickle
from handgen.testing.synthetic_mano import synthetic_mano_arrays, write_synthetic_mano
from tests.helpers import MANO_PARENTS as PARENTS
from tests.helpers import MANO_TIPS as TIPS


# -- the synthetic file and the restricted unpickler -----------------------------------------
def test_synthetic_pickle_has_the_official_layout(mano_dir):
    path = mano_dir / "MANO_RIGHT.pkl"
    data = path.read_bytes()
    globals_used = {arg for op, arg, _ in pickletools.genops(data) if op.name == "GLOBAL"}
    assert "chumpy.ch Ch" in globals_used and "scipy.sparse.csc csc_matrix" in globals_used
    assert "numpy.core.multiarray _reconstruct" in globals_used  # the Python 2 era path
    assert not any(g.startswith(("_codecs", "builtins ", "numpy._core")) for g in globals_used)
    assert data[:2] == b"\x80\x02"
    with open(path, "rb") as handle:
        raw = RestrictedUnpickler(handle, encoding="latin1").load()
    assert isinstance(raw["shapedirs"], ChumpyStub) and raw["shapedirs"].chumpy_class == "chumpy.ch.Ch"
    assert raw["shapedirs"].array.shape == (778, 3, 10)
    assert isinstance(raw["J_regressor"], SparseStub) and raw["J_regressor"].to_dense().shape == (16, 778)
    assert raw["kintree_table"][0, 0] == 2**32 - 1 and raw["f"].dtype == np.uint32
    assert raw["bs_style"] == "lbs" and raw["hands_coeffs"].shape == (1554, 45)


def test_synthetic_arrays_are_a_plausible_mano_hand():
    import trimesh

    from handgen.hand.anatomy import rest_skeleton

    right, left = synthetic_mano_arrays("right"), synthetic_mano_arrays("left")
    mesh = trimesh.Trimesh(right["v_template"], right["f"], process=False)
    assert mesh.is_winding_consistent and mesh.euler_number == 1  # a disk: open only at the wrist
    boundary = trimesh.grouping.group_rows(mesh.edges_sorted, require_count=1)
    assert len(np.unique(mesh.edges[boundary])) == 16
    skeleton, tips = rest_skeleton()
    np.testing.assert_allclose(right["J_regressor"] @ right["v_template"], skeleton, atol=2e-3)
    assert np.all(right["J_regressor"] >= 0) and np.allclose(right["J_regressor"].sum(1), 1.0)
    np.testing.assert_allclose(right["weights"].sum(1), 1.0)
    for finger, ids in enumerate(zip(TIPS["right"], TIPS["left"], [744, 320, 443, 554, 671])):
        for vid in ids:  # manopth and smplx tip ids are fingertip vertices
            assert np.linalg.norm(right["v_template"][vid] - tips[finger]) < 7e-3
    comps = right["hands_components"]
    np.testing.assert_allclose(comps @ comps.T, np.eye(45), atol=1e-10)
    # left = x-mirror, except shapedirs which are stored unmirrored as in the official files
    np.testing.assert_allclose(left["v_template"], right["v_template"] * [-1, 1, 1])
    np.testing.assert_array_equal(left["f"], right["f"][:, ::-1])
    np.testing.assert_array_equal(left["shapedirs"], right["shapedirs"])
    np.testing.assert_allclose(left["hands_mean"].reshape(15, 3), right["hands_mean"].reshape(15, 3) * [1, -1, -1])


def test_pkl_and_npz_load_the_same_arrays(mano_dir, tmp_path):
    npz = write_synthetic_mano(tmp_path / "MANO_LEFT.npz", "left", fmt="npz")
    a, b = load_mano_arrays(mano_dir / "MANO_LEFT.pkl"), load_mano_arrays(npz)
    assert set(a) == set(b) == {"v_template", "shapedirs", "posedirs", "J_regressor", "weights",
                                "kintree_table", "f", "hands_components", "hands_mean"}
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["kintree_table"][0].tolist() == PARENTS


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_python3_pickles_with_modern_scipy_load(tmp_path, protocol):
    import scipy.sparse as sp

    arrays = synthetic_mano_arrays("right")
    content = dict(arrays, J_regressor=sp.csc_matrix(arrays["J_regressor"]))
    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(pickle.dumps(content, protocol=protocol))
    loaded = load_mano_arrays(path)
    np.testing.assert_allclose(loaded["J_regressor"], arrays["J_regressor"])
    np.testing.assert_array_equal(loaded["posedirs"], arrays["posedirs"])
    for kind in (sp.csr_matrix, sp.coo_matrix, sp.coo_array):
        path.write_bytes(pickle.dumps(dict(content, J_regressor=kind(arrays["J_regressor"])), protocol=protocol))
        np.testing.assert_allclose(load_mano_arrays(path)["J_regressor"], arrays["J_regressor"])


class _Exploit:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize("attack", ["os.system", "builtins.eval", "subprocess.Popen", "nested-in-chumpy"])
@pytest.mark.parametrize("protocol", [0, 2])
def test_malicious_pickle_is_refused_before_running(tmp_path, attack, protocol):
    marker = tmp_path / "pwned"
    payloads = {
        "os.system": _Exploit(os.system, (f"touch {marker}",)),
        "builtins.eval": _Exploit(eval, (f"open({str(marker)!r}, 'w').write('x')",)),
        "subprocess.Popen": _Exploit(subprocess.Popen, (["touch", str(marker)],)),
        "nested-in-chumpy": None,
    }
    payload = payloads[attack]
    content = dict(synthetic_mano_arrays("right"))
    if payload is None:  # a valid-looking chumpy object carrying the exploit in its state
        chumpy_object = ChumpyArray(np.zeros(3))
        chumpy_object.x = _Exploit(os.system, (f"touch {marker}",))
        content["shapedirs"] = chumpy_object
        path = write_mano_pickle(tmp_path / "MANO_RIGHT.pkl", content)
    else:
        content["v_template"] = payload
        path = tmp_path / "MANO_RIGHT.pkl"
        path.write_bytes(pickle.dumps(content, protocol=protocol))
    expected = {"os.system": "posix.system", "builtins.eval": "(__builtin__|builtins).eval",
                "subprocess.Popen": "(subprocess|commands).Popen", "nested-in-chumpy": "posix.system"}[attack]
    with pytest.raises(InputFileError, match=f"refusing to unpickle disallowed class {expected}") as info:
        load_mano_arrays(path)
    assert str(info.value).startswith(str(path))
    assert not marker.exists()


def test_exploit_payload_is_live_with_plain_pickle(tmp_path):
    """Control for the test above: the same payload does run under an unrestricted unpickler."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps({"v_template": _Exploit(os.system, (f"touch {marker}",))}, protocol=2))
    assert marker.exists()


def test_chumpy_expression_and_garbage_are_clear_errors(tmp_path):
    # {'v_template': chumpy.ch_ops.add()} in protocol 2: an expression, not a stored array
    expr = b"\x80\x02}(U\nv_templatecchumpy.ch_ops\nadd\n)\x81}bu."
    path = tmp_path / "expr.pkl"
    path.write_bytes(expr)
    with pytest.raises(InputFileError, match="'v_template' is a chumpy expression"):
        load_mano_arrays(path)
    good = write_synthetic_mano(tmp_path / "MANO_RIGHT.pkl", "right")
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(InputFileError, match="not a readable MANO pickle"):
        load_mano_arrays(truncated)
    listed = tmp_path / "list.pkl"
    listed.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(InputFileError, match="holds a dict"):
        load_mano_arrays(listed)
    not_zip = tmp_path / "MANO_RIGHT.npz"
    not_zip.write_text("hello")
    with pytest.raises(InputFileError, match="MANO_RIGHT.npz: not a"):
        load_mano_arrays(not_zip)
    objects = tmp_path / "objects.npz"
    np.savez(objects, v_template=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputFileError, match="not a plain-array MANO .npz"):
        load_mano_arrays(objects)


@pytest.mark.parametrize(
    "key, change, message",
    [
        ("posedirs", None, "missing key 'posedirs'"),
        ("shapedirs", lambda a: a[:, :, :8], r"'shapedirs' has shape \(778, 3, 8\), expected \(778, 3, 10\)"),
        ("weights", lambda a: np.where(np.arange(16) == 3, np.nan, a), "'weights' contains NaN or inf"),
        ("f", lambda a: np.where(a == 5, 900, a), "'f' indexes vertices"),
        ("kintree_table", lambda a: a[:, ::-1].copy(), "'kintree_table' parents"),
        ("J_regressor", lambda a: a[:15], r"'J_regressor' has shape \(15, 778\)"),
    ],
)
@pytest.mark.parametrize("fmt", ["pkl", "npz"])
def test_malformed_model_files_name_file_and_key(tmp_path, key, change, message, fmt):
    arrays = dict(synthetic_mano_arrays("right"))
    if change is None:
        del arrays[key]
    else:
        arrays[key] = change(arrays[key])
    path = tmp_path / f"MANO_RIGHT.{fmt}"
    if fmt == "pkl":
        write_mano_pickle(path, arrays)
    else:
        np.savez(path, **arrays)
    with pytest.raises(InputFileError, match=message) as info:
        load_mano_arrays(path)
    assert str(info.value).startswith(str(path))


def test_missing_mano_files_explain_where_to_get_them(tmp_path):
    from handgen.hand.mano import ManoHand

    with pytest.raises(InputFileError, match="MANO file not found.*mano.is.tue.mpg.de.*HANDGEN_MANO_DIR"):
        load_mano_arrays(tmp_path / "MANO_RIGHT.pkl")
    with pytest.raises(InputFileError, match="MANO_LEFT.pkl: MANO file not found"):
        ManoHand(tmp_path, "left")
    right = write_synthetic_mano(tmp_path / "MANO_RIGHT.npz", "right", fmt="npz")
    with pytest.raises(InputFileError, match="right-hand MANO file"):
        ManoHand(right, "left")
