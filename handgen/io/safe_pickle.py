"""Reading pickled data files without running their code.

ARCTIC's ``.mano.npy`` / ``.smplx.npy``, HandX's ``*.npz`` members and ``*.pkl`` sample
files are pickles of plain containers (dicts, lists, str, numbers, numpy arrays). A
plain ``np.load(..., allow_pickle=True)`` or ``pickle.load`` on such a file executes any
callable a crafted file names. Here the unpickler resolves only numpy's array and scalar
reconstruction and a few inert builtins; anything else is refused *before* it is looked
up, so nothing in the file runs.

``load_object_npy(path)``: the object in a pickled ``.npy`` (0-d object array -> its item).
``load_object_npz(path)``: ``{member: object}`` of an ``.npz`` of pickled 0-d object arrays
(one member's failure can be caught per member with :func:`iter_object_npz`).
``load_pickle(path)``: a ``.pkl`` file.

Raises :class:`UnsafePickleError` (a :class:`~handgen.errors.InputFileError`) naming the
refused class, e.g. ``refused: unsafe pickle (class os.system)``.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from handgen.errors import InputFileError


class UnsafePickleError(InputFileError):
    """A pickled file names a class outside the allowed set (nothing was executed)."""


class _Refused(pickle.UnpicklingError):
    def __init__(self, qualified: str) -> None:
        super().__init__(qualified)
        self.qualified = qualified


def _numpy_globals() -> dict[tuple[str, str], Any]:
    reconstruct = np.empty(0).__reduce_ex__(2)[0]
    frombuffer = np.empty(0).__reduce_ex__(5)[0]
    scalar = np.float64(0.0).__reduce__()[0]
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = frombuffer
    # numpy >= 2 pickles dtypes of arrays as numpy.dtypes.<Kind>DType classes
    for name in dir(np.dtypes):
        if name.endswith("DType"):
            allowed[("numpy.dtypes", name)] = getattr(np.dtypes, name)
    return allowed


def _builtin_globals() -> dict[tuple[str, str], Any]:
    allowed: dict[tuple[str, str], Any] = {}
    for mod in ("builtins", "__builtin__"):
        for name, value in (("set", set), ("frozenset", frozenset), ("complex", complex), ("slice", slice)):
            allowed[(mod, name)] = value
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves numpy arrays/scalars/dtypes and inert builtins only; refuses every other global."""

    allowed: dict[tuple[str, str], Any] = {**_numpy_globals(), **_builtin_globals()}

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is None:
            raise _Refused(f"{module}.{name}")
        return found


def _unpickle(stream: BinaryIO, path: Path, what: str) -> Any:
    try:
        return RestrictedUnpickler(stream, encoding="latin1").load()
    except _Refused as exc:
        raise UnsafePickleError(path, f"refused: unsafe pickle (class {exc.qualified}){what}") from None
    except Exception as exc:  # any failure on untrusted bytes is a bad file
        raise InputFileError(path, f"unreadable pickle{what} ({type(exc).__name__}: {exc})") from None


def _read_npy_stream(stream: BinaryIO, path: Path, what: str = "") -> Any:
    """The value stored in one ``.npy`` stream: plain arrays as arrays, a 0-d object array as its item."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    except Exception as exc:
        raise InputFileError(path, f"not a .npy array{what} ({type(exc).__name__}: {exc})") from None
    if not dtype.hasobject:
        stream.seek(0)
        try:
            return np.lib.format.read_array(stream, allow_pickle=False)
        except Exception as exc:
            raise InputFileError(path, f"truncated or unreadable array{what} ({type(exc).__name__}: {exc})") from None
    value = _unpickle(stream, path, what)
    if isinstance(value, np.ndarray) and value.dtype == object and value.shape == () and shape == ():
        return value.item()
    return value


def load_object_npy(path: str | Path) -> Any:
    """The object stored in a pickled ``.npy`` file (a 0-d object array gives its item).

    Raises:
        InputFileError: missing, truncated or not a ``.npy`` file.
        UnsafePickleError: the pickle names a disallowed class (nothing was executed).
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return _read_npy_stream(handle, path)
    except OSError as exc:
        raise InputFileError(path, f"cannot read ({exc.strerror or exc})") from None


def iter_object_npz(
    path: str | Path | zipfile.ZipFile, members: Iterable[str] | None = None
) -> Iterator[tuple[str, Any | InputFileError]]:
    """``(member name without .npy, value or the error reading it)`` for each member, one at a time.

    ``path`` may also be an open :class:`zipfile.ZipFile` (left open; saves re-reading a
    large archive's directory). ``members`` (names without ``.npy``) reads only those, in
    that order (random access; a name the archive lacks yields an error). A member that
    fails yields its :class:`InputFileError` (the caller records it and goes on); only a
    file that is not a zip at all raises.
    """
    if isinstance(path, zipfile.ZipFile):
        yield from _iter_archive(path, Path(path.filename or "<zip>"), members)
        return
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputFileError(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None
    with archive:
        yield from _iter_archive(archive, path, members)


def _iter_archive(
    archive: zipfile.ZipFile, path: Path, members: Iterable[str] | None
) -> Iterator[tuple[str, Any | InputFileError]]:
    if members is None:
        infos: Iterable[zipfile.ZipInfo | str] = archive.infolist()
    else:
        infos = (_member_info(archive, m) for m in members)
    for info in infos:
        if isinstance(info, str):
            yield info, InputFileError(path, f"member {info!r}: not in the archive")
            continue
        name = info.filename.removesuffix(".npy")
        try:
            data = archive.read(info)
        except Exception as exc:
            yield name, InputFileError(path, f"member {name!r}: unreadable ({type(exc).__name__}: {exc})")
            continue
        try:
            yield name, _read_npy_stream(io.BytesIO(data), path, f" in member {name!r}")
        except InputFileError as exc:
            yield name, exc


def _member_info(archive: zipfile.ZipFile, member: str) -> zipfile.ZipInfo | str:
    for candidate in (f"{member}.npy", member):
        try:
            return archive.getinfo(candidate)
        except KeyError:
            pass
    return member


def load_object_npz(path: str | Path) -> dict[str, Any]:
    """``{member: value}`` of an ``.npz`` whose members may be pickled object arrays.

    Raises:
        InputFileError / UnsafePickleError: the first member that cannot be read safely.
    """
    out = {}
    for name, value in iter_object_npz(path):
        if isinstance(value, InputFileError):
            raise value
        out[name] = value
    return out


def load_pickle(path: str | Path) -> Any:
    """The object in a ``.pkl`` file of plain containers and numpy arrays.

    Raises:
        InputFileError / UnsafePickleError: unreadable, or a disallowed class (nothing executed).
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return _unpickle(handle, path, "")
    except OSError as exc:
        raise InputFileError(path, f"cannot read ({exc.strerror or exc})") from None
