"""handgen.io.npz_bytes: the bytes np.savez writes, made directly; and the atomic byte writer shards use."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import numpy as np
import pytest

from handgen.io.atomic import atomic_write_bytes
from handgen.io.npz_bytes import npz_bytes, zipfile_npz


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "features": rng.normal(size=(2, 60, 324)).astype(np.float32),
        "start": np.arange(3, dtype=np.int64),
        "object_tips": rng.random((2, 60, 2, 5)) > 0.5,
        "fortran": np.asfortranarray(rng.normal(size=(3, 4))),  # written in Fortran order, as np.save does
        "strided_view": rng.normal(size=(5, 6))[::2, 1:],
        "scalar": np.float64(3.5),
        "empty": np.zeros((0, 3), np.float32),
        "wide_shape": np.zeros((123456, 2), np.float32),
        ">f8": np.arange(4, dtype=">f8"),
    }


def test_npz_bytes_are_np_savez_bytes_and_load_back():
    arrays = _arrays()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    reference = buffer.getvalue()
    stamp = zipfile.ZipFile(io.BytesIO(reference)).infolist()[0].date_time
    data = npz_bytes(arrays, stamp)
    assert data == reference  # every header, CRC, offset and the directory, byte for byte
    assert npz_bytes(arrays) == reference  # the default stamp is np.savez's
    with zipfile.ZipFile(io.BytesIO(npz_bytes(arrays))) as archive:
        assert archive.testzip() is None
        assert [i.filename for i in archive.infolist()] == [f"{k}.npy" for k in arrays]
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        for key, value in arrays.items():
            assert loaded[key].dtype == value.dtype and np.array_equal(loaded[key], value), key
    with pytest.raises(ValueError, match="Python objects"):
        npz_bytes({"bad": np.array([{}, 1], dtype=object)})


def test_the_large_archive_path_writes_the_same_archive_with_the_given_stamp(monkeypatch):
    import handgen.io.npz_bytes as module

    arrays, stamp = _arrays(), (2031, 7, 9, 12, 34, 56)  # another stamp than np.savez's 1980
    assert zipfile_npz(arrays, stamp) == npz_bytes(arrays, stamp)  # the fallback is the same file, not np.savez's
    monkeypatch.setattr(module, "_LIMIT", 1000)  # take the >2 GiB path on a small archive
    data = npz_bytes(arrays, stamp)
    assert {i.date_time for i in zipfile.ZipFile(io.BytesIO(data)).infolist()} == {stamp}  # np.savez: 1980
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        assert all(np.array_equal(loaded[key], value) for key, value in arrays.items())


def test_atomic_write_bytes_replaces_the_file_whole_with_normal_permissions(tmp_path):
    path = tmp_path / "new" / "folder" / "s.npz"  # missing folders are made
    umask = os.umask(0o027)
    try:
        atomic_write_bytes(path, b"first", suffix=".npz", durable=False)
        atomic_write_bytes(path, b"second" * 100_000, suffix=".npz")
    finally:
        os.umask(umask)
    assert path.read_bytes() == b"second" * 100_000
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == ["s.npz"]  # no temporary file left
