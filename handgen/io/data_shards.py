"""DATA_DIR shards: one npz per source sequence (the clips' arrays) and its ``.json`` resume marker.

Layout and shapes: :mod:`handgen.io.data_format`. A shard is written atomically, then its marker
(the sequence's manifest rows, the source file's size/mtime, the settings, and the shard's own
size and digest, so a later prep notices a shard damaged or replaced since). Neither is fsynced
(``handgen.io.atomic``, ``durable=False``): a shard or marker that a power loss kept from the disk
fails that check and is converted again by the next ``prep``; the index files are fsynced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from handgen.errors import InputFileError
from handgen.io.atomic import atomic_write_bytes, atomic_write_text
from handgen.io.data_format import (
    ALL_ARRAYS,
    FORMAT_VERSION,
    OBJECT_ARRAYS,
    SHARD_ARRAYS,
    SHARD_DTYPES,
    shard_relpath,
)
from handgen.io.npz_bytes import SAVEZ_DATE_TIME, npz_bytes

log = logging.getLogger(__name__)

# every member of a shard is stamped 1980-01-01 00:00:00 (the zip format's first date, np.savez's own stamp),
# as reproducible builds do: a shard's bytes depend on its clips only, so converting the same sequence again,
# a minute or a year later, writes the same file
SHARD_DATE_TIME = SAVEZ_DATE_TIME


def validate_shard_arrays(arrays: Mapping[str, np.ndarray]) -> int:
    """Check a shard's arrays against :data:`SHARD_ARRAYS` (+ all or none of :data:`OBJECT_ARRAYS`); returns N.

    Raises:
        ValueError: a missing, unknown or wrongly shaped array.
    """
    missing = set(SHARD_ARRAYS) - set(arrays)
    if missing:
        raise ValueError(f"shard arrays missing {sorted(missing)}")
    unknown = set(arrays) - set(ALL_ARRAYS)
    if unknown:
        raise ValueError(f"unknown shard arrays {sorted(unknown)}")
    objects = set(OBJECT_ARRAYS) & set(arrays)
    if objects and objects != set(OBJECT_ARRAYS):
        raise ValueError(f"object arrays come together; missing {sorted(set(OBJECT_ARRAYS) - objects)}")
    n = int(np.asarray(arrays["start"]).shape[0])
    t = int(np.asarray(arrays["features"]).shape[1]) if np.ndim(arrays["features"]) > 1 else -1
    for key in arrays:
        tail = ALL_ARRAYS[key]
        want = (n, *(t if d == "T" else d for d in tail))
        if tuple(np.shape(arrays[key])) != want:
            raise ValueError(f"shard array {key} has shape {np.shape(arrays[key])}, expected {want}")
    return n


def write_shard(
    data_dir: str | Path, subject: str, sequence: str, arrays: Mapping[str, np.ndarray], marker: Mapping[str, Any]
) -> None:
    """Write ``shards/<subject>/<sequence>.npz`` then its ``.json`` marker, both atomically.

    ``marker`` must hold ``rows`` (the sequence's manifest rows); it usually also holds
    ``source`` (file, size, mtime_ns) and ``settings`` for resuming.
    """
    n = validate_shard_arrays(arrays)
    if len(marker.get("rows", ())) != n:
        raise ValueError(f"marker has {len(marker.get('rows', ()))} rows for {n} clips")
    data_dir = Path(data_dir)
    typed = {k: np.asarray(v, dtype=SHARD_DTYPES.get(k, np.float32)) for k, v in arrays.items()}
    # np.savez's bytes made in memory (handgen.io.npz_bytes), written with one call, digested (not read back);
    # stamped SHARD_DATE_TIME, not the clock: the same clips give the same bytes (and digest) whenever written
    data = npz_bytes(typed, date_time=SHARD_DATE_TIME)
    atomic_write_bytes(data_dir / shard_relpath(subject, sequence), data, suffix=".npz", durable=False)
    # size + digest of the npz: a later prep notices a shard damaged or replaced since (and redoes it)
    write_shard_marker(data_dir, subject, sequence, {**marker, **_fingerprint(len(data), hashlib.sha256(data))})


def shard_fingerprint(npz: Path) -> dict[str, Any]:
    """``{"shard_size": bytes, "shard_sha256": hex}`` of a shard file (what :func:`write_shard` stores)."""
    digest = hashlib.sha256()
    with Path(npz).open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return _fingerprint(Path(npz).stat().st_size, digest)


def _fingerprint(size: int, digest: hashlib._Hash) -> dict[str, Any]:
    """The marker's record of a shard: its size in bytes and SHA-256 (one place for write and check)."""
    return {"shard_size": size, "shard_sha256": digest.hexdigest()}


def write_shard_marker(data_dir: str | Path, subject: str, sequence: str, marker: Mapping[str, Any]) -> None:
    path = Path(data_dir) / shard_relpath(subject, sequence)
    # one line (json's C encoder; indenting runs the pure-Python one, ~1 ms per marker)
    text = json.dumps({"format_version": FORMAT_VERSION, **marker}, sort_keys=True, separators=(",", ":")) + "\n"
    atomic_write_text(path.with_suffix(".json"), text, durable=False)


def read_shard_marker(data_dir: str | Path, subject: str, sequence: str) -> dict[str, Any] | None:
    """The ``.json`` marker of a finished shard, or None (missing, unreadable, npz gone, old format)."""
    npz = Path(data_dir) / shard_relpath(subject, sequence)
    try:
        marker = json.loads(npz.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not npz.is_file() or not isinstance(marker, dict) or marker.get("format_version") != FORMAT_VERSION:
        return None
    if "shard_sha256" in marker and (found := shard_fingerprint(npz)) != {k: marker.get(k) for k in found}:
        log.warning("%s: changed or damaged since prep wrote it (size/digest differ from its marker); converting again",
                    npz)
        return None
    return marker


def load_shard_arrays(path: Path, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """Arrays ``keys`` of the shard at ``path``. Raises InputFileError (missing, corrupt, arrays missing)."""
    if not path.is_file():
        raise InputFileError(path, "shard file not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise InputFileError(path, f"shard is missing array(s) {missing}")
            return {k: npz[k] for k in keys}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, InputFileError):
            raise
        raise InputFileError(path, f"corrupt shard ({exc})") from None
