"""An uncompressed ``.npz`` made in memory: the bytes ``np.savez`` writes, without ``zipfile``'s per-member cost.

``np.savez`` streams each array through ``zipfile`` (a member opened for writing, its local header written,
the file seeked back to rewrite it with the CRC and sizes): ~0.1 ms per array, about a third of writing a
DATA_DIR shard. :func:`npz_bytes` lays out the same archive directly: per array a ZIP64 local header (numpy
forces ZIP64 on every member, gh-10776) and the ``.npy`` bytes (``numpy.lib.format``'s version 1.0 header,
then the data in C order, or Fortran order for a Fortran-contiguous array, as ``np.save`` does), then the
central directory and the end record. With the same ``date_time`` the result is byte for byte what this
Python's ``np.savez`` writes (tests/test_npz_bytes.py), so ``np.load`` and any zip reader see the same file.
"""

from __future__ import annotations

import io
import struct
import sys
import zipfile
import zlib
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

_ZIP64_VERSION = 45  # zipfile.ZIP64_VERSION: "made by" and "needed to extract" of a ZIP64 member
_CREATE_SYSTEM = 0 if sys.platform == "win32" else 3  # what zipfile.ZipInfo records
_MEMBER_ATTR = 0o600 << 16  # zipfile's external attributes of a member opened for writing
_LOCAL = struct.Struct(zipfile.structFileHeader)
_CENTRAL = struct.Struct(zipfile.structCentralDir)
_END = struct.Struct(zipfile.structEndArchive)
_ZIP64_EXTRA = struct.Struct("<HHQQ")  # tag 1, 16 bytes: uncompressed and compressed size
SAVEZ_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # what np.savez stamps (zipfile.ZipInfo's default date)
_LIMIT = zipfile.ZIP64_LIMIT  # past this (2 GiB) the central directory needs ZIP64 records too: np.savez does it


@lru_cache(maxsize=256)
def _npy_header(dtype: np.dtype, fortran_order: bool, shape: tuple[int, ...]) -> bytes:
    """The ``.npy`` version 1.0 header of an array (a shard's few shapes recur: made once each)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                  "fortran_order": fortran_order, "shape": shape})
    return header.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    """What ``np.save`` writes for a non-object ``array``: the version 1.0 header, then the data."""
    fortran = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    return _npy_header(array.dtype, fortran, array.shape) + array.tobytes(order="F" if fortran else "C")


def _dos_stamp(date_time: tuple[int, ...]) -> tuple[int, int]:
    """(time, date) fields of a zip header for (year, month, day, hour, minute, second)."""
    y, mo, d, h, mi, s = date_time[:6]
    return h << 11 | mi << 5 | s // 2, (y - 1980) << 9 | mo << 5 | d


def npz_bytes(arrays: Mapping[str, np.ndarray], date_time: tuple[int, ...] | None = None) -> bytes:
    """The uncompressed npz of ``arrays`` (names -> non-object arrays), as ``np.savez(file, **arrays)`` writes it.

    ``date_time`` (year, month, day, hour, minute, second) stamps every member; default 1980-01-01 00:00:00,
    the stamp ``np.savez`` writes (``zipfile.ZipInfo``'s default). Archives over 2 GiB are written by
    :func:`zipfile_npz` (they need ZIP64 directory records), with the same stamp.
    """
    date_time = tuple(date_time or SAVEZ_DATE_TIME)
    dos_time, dos_date = _dos_stamp(date_time)
    parts: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    for key, value in arrays.items():
        array = np.asanyarray(value)
        if array.dtype.hasobject:
            raise ValueError(f"npz_bytes: array {key!r} holds Python objects (pickles are not written)")
        name = f"{key}.npy".encode("ascii")
        data = npy_bytes(array)
        size, crc = len(data), zlib.crc32(data)
        extra = _ZIP64_EXTRA.pack(1, 16, size, size)
        parts += [_LOCAL.pack(zipfile.stringFileHeader, _ZIP64_VERSION, 0, 0, zipfile.ZIP_STORED, dos_time, dos_date,
                              crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra)), name, extra, data]
        directory += [_CENTRAL.pack(zipfile.stringCentralDir, _ZIP64_VERSION, _CREATE_SYSTEM, _ZIP64_VERSION, 0, 0,
                                    zipfile.ZIP_STORED, dos_time, dos_date, crc, size, size, len(name), 0, 0, 0, 0,
                                    _MEMBER_ATTR, offset), name]
        offset += _LOCAL.size + len(name) + len(extra) + size
        if offset > _LIMIT:
            return zipfile_npz(arrays, date_time)
    central = b"".join(directory)
    end = _END.pack(zipfile.stringEndArchive, 0, 0, len(arrays), len(arrays), len(central), offset, 0)
    return b"".join([*parts, central, end])


def zipfile_npz(arrays: Mapping[str, np.ndarray], date_time: tuple[int, ...]) -> bytes:
    """The same uncompressed npz written through ``zipfile`` (any size: ZIP64 records where needed), every member
    stamped ``date_time`` (``np.savez`` always writes 1980-01-01 and cannot be given another stamp)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, value in arrays.items():
            with archive.open(zipfile.ZipInfo(f"{key}.npy", date_time=tuple(date_time[:6])), "w",
                              force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
    return buffer.getvalue()
