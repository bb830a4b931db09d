"""The restricted unpickler reads plain pickled data and runs nothing else."""

from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np
import pytest

from handgen.errors import InputFileError
from handgen.io.safe_pickle import UnsafePickleError, iter_object_npz, load_object_npy, load_object_npz, load_pickle


class _Payload:
    """Creates a marker file when unpickled by an unrestricted loader."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _save_object_npy(path, obj) -> None:
    np.save(path, np.array(obj, dtype=object), allow_pickle=True)


def test_plain_dict_round_trips(tmp_path):
    data = {"left": {"rot": np.zeros((4, 3), np.float32), "name": "x", "n": 3, "lst": [1.5, "a"]}}
    _save_object_npy(tmp_path / "a.npy", data)
    back = load_object_npy(tmp_path / "a.npy")
    assert back["left"]["name"] == "x" and back["left"]["n"] == 3 and back["left"]["lst"] == [1.5, "a"]
    np.testing.assert_array_equal(back["left"]["rot"], data["left"]["rot"])


def test_plain_array_npy_is_read_without_pickle(tmp_path):
    np.save(tmp_path / "b.npy", np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(load_object_npy(tmp_path / "b.npy"), np.arange(6.0).reshape(2, 3))


def test_payload_in_npy_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    _save_object_npy(tmp_path / "evil.npy", {"left": _Payload(str(marker))})
    with pytest.raises(UnsafePickleError, match=r"refused: unsafe pickle \(class (posix|os)\.system\)"):
        load_object_npy(tmp_path / "evil.npy")
    assert not marker.exists()


def test_payload_in_pkl_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"a": _Payload(str(marker))}))
    with pytest.raises(UnsafePickleError):
        load_pickle(tmp_path / "evil.pkl")
    assert not marker.exists()
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps({"a": np.ones(3), "t": ("x", 1)}))
    assert load_pickle(tmp_path / "ok.pkl")["t"] == ("x", 1)


def test_npz_members_one_at_a_time(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "d.npz"
    np.savez(path, **{"0": np.array({"motion": np.zeros((2, 3))}, dtype=object),
                      "1": np.array({"bad": _Payload(str(marker))}, dtype=object),
                      "2": np.arange(3)})
    with zipfile.ZipFile(path, "a") as z:  # a corrupt member
        z.writestr("3.npy", b"\x93NUMPY garbage")
    got = dict(iter_object_npz(path))
    assert got["0"]["motion"].shape == (2, 3)
    assert isinstance(got["1"], UnsafePickleError) and "system" in str(got["1"])
    np.testing.assert_array_equal(got["2"], np.arange(3))
    assert isinstance(got["3"], InputFileError) and "'3'" in str(got["3"])
    assert not marker.exists()
    with pytest.raises(UnsafePickleError):
        load_object_npz(path)


def test_truncated_and_missing_files_are_clear_errors(tmp_path):
    _save_object_npy(tmp_path / "a.npy", {"x": np.ones(100)})
    raw = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputFileError, match="t.npy"):
        load_object_npy(tmp_path / "t.npy")
    with pytest.raises(InputFileError, match="missing.npy"):
        load_object_npy(tmp_path / "missing.npy")
    with pytest.raises(InputFileError, match="not a readable .npz"):
        list(iter_object_npz(tmp_path / "a.npy"))


def test_npz_members_by_name_and_from_an_open_archive(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, **{str(k): np.array({"k": k}, dtype=object) for k in range(5)})
    picked = list(iter_object_npz(path, ["3", "1", "9"]))
    assert [name for name, _ in picked] == ["3", "1", "9"]
    assert picked[0][1] == {"k": 3} and picked[1][1] == {"k": 1}
    assert isinstance(picked[2][1], InputFileError) and "not in the archive" in str(picked[2][1])
    with zipfile.ZipFile(path) as archive:
        assert [v for _, v in iter_object_npz(archive, ["4"])] == [{"k": 4}]
        assert [n for n, _ in iter_object_npz(archive)] == ["0", "1", "2", "3", "4"]  # still open, reusable
