"""Write MANO-layout pickles the way the official (Python 2, chumpy) files are written.

Used by :mod:`handgen.testing.synthetic_mano` (tests, benchmarks) to produce files
that exercise the same reading path as the licensed originals, without chumpy
or an old scipy installed:

* protocol 2, with ``str``/``bytes`` as Python 2 byte strings (BINSTRING), so the
  file loads in Python 2 and needs ``encoding="latin1"`` in Python 3;
* numpy arrays reconstructed through ``numpy.core.multiarray._reconstruct``
  (the pre-numpy-2 path found in the official files);
* ``shapedirs`` as a chumpy ``chumpy.ch.Ch`` object: NEWOBJ of that class plus
  BUILD with chumpy's pickled ``__dict__`` (``x`` holds the array, plus the
  bookkeeping entries ``_dirty_vars``, ``_itr``, ``_make_dense``,
  ``_make_sparse``, ``_depends_on_deps``);
* ``J_regressor`` as ``scipy.sparse.csc.csc_matrix`` with the old scipy state
  (``_shape``, ``maxprint``, ``format``, ``data``, ``indices``, ``indptr``).

The chumpy and scipy classes are written by name only (stand-in classes below
whose global reference is rewritten); nothing from chumpy is imported.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np

from handgen.io.atomic import atomic_path


class ChumpyArray:
    """Stand-in pickled as ``chumpy.ch.Ch`` wrapping ``array`` (as chumpy pickles a plain Ch)."""

    def __init__(self, array: np.ndarray) -> None:
        self.__dict__.update({
            "x": np.asarray(array, dtype=np.float64),
            "_dirty_vars": set(),
            "_itr": None,
            "_make_dense": False,
            "_make_sparse": False,
            "_depends_on_deps": {},
        })


class OldScipyCsc:
    """Stand-in pickled as ``scipy.sparse.csc.csc_matrix`` with the pre-1.0 scipy state."""

    def __init__(self, dense: np.ndarray) -> None:
        import scipy.sparse as sp

        matrix = sp.csc_matrix(np.asarray(dense, dtype=np.float64))
        matrix.sort_indices()
        self.__dict__.update({
            "_shape": tuple(int(n) for n in matrix.shape),
            "maxprint": 50,
            "format": "csc",
            "data": matrix.data.copy(),
            "indices": matrix.indices.astype(np.int32),
            "indptr": matrix.indptr.astype(np.int32),
        })


def _aliases() -> dict[int, tuple[str, str]]:
    reconstruct = np.empty(0).__reduce_ex__(2)[0]
    scalar = np.float64(0.0).__reduce__()[0]
    return {
        id(ChumpyArray): ("chumpy.ch", "Ch"),
        id(OldScipyCsc): ("scipy.sparse.csc", "csc_matrix"),
        id(reconstruct): ("numpy.core.multiarray", "_reconstruct"),
        id(scalar): ("numpy.core.multiarray", "scalar"),
    }


class Py2StylePickler(pickle._Pickler):  # the pure-Python pickler lets us override opcodes
    """Protocol-2 pickler writing Python 2 byte strings and aliased global names."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file: Any) -> None:
        super().__init__(file, protocol=2, fix_imports=True)
        self._global_aliases = _aliases()

    def save_global(self, obj: Any, name: str | None = None) -> None:
        alias = self._global_aliases.get(id(obj))
        if alias is None:
            super().save_global(obj, name)
            return
        module, qualname = alias
        self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode("ascii"))
        self.memoize(obj)

    def _save_byte_string(self, raw: bytes, obj: Any) -> None:
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + struct.pack("<B", len(raw)) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    def save_py2_bytes(self, obj: bytes) -> None:
        self._save_byte_string(obj, obj)

    def save_py2_str(self, obj: str) -> None:
        if obj.isascii():
            self._save_byte_string(obj.encode("ascii"), obj)
        else:
            pickle._Pickler.save_str(self, obj)

    dispatch[bytes] = save_py2_bytes
    dispatch[str] = save_py2_str


def write_mano_pickle(path: str | Path, arrays: dict[str, Any]) -> Path:
    """Write ``arrays`` (MANO keys, numpy values) as an official-style MANO ``.pkl``, atomically.

    ``shapedirs`` is stored as a chumpy object and ``J_regressor`` (dense or
    scipy sparse) as an old-scipy csc matrix; everything else as given.
    """
    content = dict(arrays)
    if "shapedirs" in content and isinstance(content["shapedirs"], np.ndarray):
        content["shapedirs"] = ChumpyArray(content["shapedirs"])
    if "J_regressor" in content:
        regressor = content["J_regressor"]
        if hasattr(regressor, "toarray"):
            regressor = regressor.toarray()
        content["J_regressor"] = OldScipyCsc(regressor)
    path = Path(path)
    with atomic_path(path, suffix=".pkl") as tmp:
        with open(tmp, "wb") as handle:
            Py2StylePickler(handle).dump(content)
    return path
