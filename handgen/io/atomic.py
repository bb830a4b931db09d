"""Atomic file writing: write to a temporary file in the same folder, fsync it, then rename.

``durable=False`` skips the two fsyncs (file and folder): the rename still makes the write atomic
for readers and after a crash of the process, but after a power loss the file may be missing or
empty. For files whose reader checks them anyway (DATA_DIR shards, whose marker holds their size
and digest) that costs a re-conversion, not a wrong result, and saves ~5 ms of waiting per file.

The temporary file is created with ``O_EXCL`` and mode 0666, so the file gets the permissions a plain
``open(path, "w")`` would give (0666 minus the umask; ``mkstemp`` would give 0600 and need a chmod).
:func:`atomic_path` still sets that mode after its block, since a writer may re-create the file (safetensors
writes 0600).
Write errors (read-only folder, full disk, a folder where the file should be) become one-line
:class:`~handgen.errors.HandgenError` messages and leave the old file untouched.
"""

from __future__ import annotations

import errno
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from handgen.errors import HandgenError, OutputWriteError

_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _create_temp(path: Path, suffix: str) -> tuple[int, Path]:
    """A new file beside ``path``, open for writing (fd), and its path. ``O_EXCL`` with mode 0666: the umask
    gives it the permissions ``open(path, "w")`` would (no chmod); a missing folder is made."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{os.urandom(5).hex()}{suffix or '.tmp'}"
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def _remove(tmp: Path) -> None:
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder
        pass
    finally:
        os.close(fd)


def write_error(path: str | Path, exc: OSError) -> OutputWriteError:
    """A one-line error for a failed write to ``path`` (read-only, full disk, not a folder, ...)."""
    reason = {errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on the device",
              errno.EDQUOT: "disk quota exceeded", errno.EACCES: "permission denied",
              errno.EPERM: "permission denied", errno.ENOTDIR: "a parent path is a file, not a folder",
              errno.EISDIR: "is a folder"}.get(exc.errno or 0, exc.strerror or str(exc))
    return OutputWriteError(f"cannot write {path}: {reason}")


def _open_temp(path: Path, suffix: str) -> tuple[int, Path]:
    """:func:`_create_temp` with the module's errors: a folder at ``path`` or an unwritable folder."""
    if path.is_dir():
        raise HandgenError(f"cannot write {path}: is a folder")
    try:
        return _create_temp(path, suffix)
    except OSError as exc:
        raise write_error(path, exc) from None


@contextmanager
def atomic_path(path: str | Path, suffix: str = "", durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block succeeds.

    The temporary file is fsynced before the rename and the folder after it (``durable``; see the module).

    Raises:
        HandgenError: the folder cannot be written (read-only, full, not a folder); ``path`` is untouched.
    """
    path = Path(path)
    fd, tmp_path = _open_temp(path, suffix)
    os.close(fd)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # a writer that re-created the file (safetensors: 0600) gets open()'s mode
        if durable:
            _fsync_file(tmp_path)
        os.replace(tmp_path, path)
        if durable:
            _fsync_dir(path.parent)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | Path, data: bytes, suffix: str = "", durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: a new file beside it, written with one descriptor, then renamed
    (errors as :func:`atomic_path`; a prep shard costs 4 system calls besides the write and the rename's)."""
    path = Path(path)
    fd, tmp = _open_temp(path, suffix)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if durable:
            _fsync_dir(path.parent)
    except OSError as exc:
        _remove(tmp)
        raise write_error(path, exc) from None
    except BaseException:
        _remove(tmp)
        raise


def atomic_write_text(path: str | Path, text: str, durable: bool = True) -> None:
    """``text`` as UTF-8 (no newline translation), written like :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def atomic_write_json(path: str | Path, obj, durable: bool = True) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n", durable)


def atomic_write_jsonl(path: str | Path, rows) -> None:
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def atomic_save_npz(path: str | Path, compressed: bool = False, durable: bool = True, **arrays: np.ndarray) -> None:
    """``np.savez`` to ``path`` atomically (the suffix must be .npz)."""
    with atomic_path(path, suffix=".npz", durable=durable) as tmp:
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)
