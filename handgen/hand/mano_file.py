"""Load official MANO model files safely: no chumpy, no trusted pickle.

Accepted layouts (one file per hand, ``MANO_RIGHT.*`` / ``MANO_LEFT.*``):

* ``.pkl``: the official MANO v1.2 pickles (Python 2, read with
  ``encoding="latin1"``) or any later re-save of them (protocols 0-5). They hold a
  dict whose ``shapedirs`` is a chumpy ``Ch`` object, ``J_regressor`` a
  ``scipy.sparse`` csc matrix and every other array a numpy array. They are read
  with :class:`RestrictedUnpickler`, which resolves only numpy array/dtype/scalar
  reconstruction, scipy sparse matrices (csc/csr/coo, any scipy module path) and
  ``chumpy.*`` classes; everything else (``os.system``, ``builtins.eval`` ...) is
  refused before it can run. Sparse matrices and chumpy objects are never
  rebuilt through their own classes: they become inert stubs whose pickled
  state is read back into plain arrays. chumpy itself is not needed.
* ``.npz``: plain arrays under the same key names (``J_regressor`` dense),
  read with ``allow_pickle=False``.

Required keys and shapes (docs/reference.md section 1): ``v_template (778,3)``,
``shapedirs (778,3,10)``, ``posedirs (778,3,135)``, ``J_regressor (16,778)``
(sparse or dense), ``weights (778,16)``, ``kintree_table (2,16)`` whose first
row holds the MANO parents (the root's parent is ``-1`` or uint32 max),
``f (1538,3)`` vertex indices, ``hands_components (45,45)``, ``hands_mean (45,)``.
Other keys (``J``, ``hands_coeffs``, ``bs_style`` ...) are ignored.
"""

from __future__ import annotations

import codecs
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from handgen.errors import InputFileError
from handgen.hand.topology import MANO_PARENTS
from handgen.io.safe_pickle import RestrictedUnpickler as DataUnpickler

MANO_URL = "https://mano.is.tue.mpg.de"
MANO_FILE_HINT = (
    f"MANO is licensed and not shipped with handgen; download it from {MANO_URL} and point "
    "--mano-dir or HANDGEN_MANO_DIR at the folder holding MANO_RIGHT.pkl and MANO_LEFT.pkl "
    "(or .npz conversions)"
)

# key -> expected shape; J_regressor may also be a scipy sparse matrix
MANO_SHAPES: dict[str, tuple[int, ...]] = {
    "v_template": (778, 3),
    "shapedirs": (778, 3, 10),
    "posedirs": (778, 3, 135),
    "J_regressor": (16, 778),
    "weights": (778, 16),
    "kintree_table": (2, 16),
    "f": (1538, 3),
    "hands_components": (45, 45),
    "hands_mean": (45,),
}
_INTEGER_KEYS = ("kintree_table", "f")
_UINT32_MAX = 2**32 - 1

DATA_GLOBALS = DataUnpickler.allowed


class ChumpyStub:
    """Inert stand-in for a pickled chumpy object (``chumpy.ch.Ch`` and friends).

    chumpy's ``Ch.__getstate__`` pickles the instance ``__dict__`` without its
    ``_parents``/``_cache`` entries; a plain ``Ch`` keeps its value in ``x``.
    Unpickling stores that dict in :attr:`state`; :attr:`array` returns ``x``.
    """

    chumpy_class = "chumpy.ch.Ch"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: dict = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {"state": state}

    @property
    def array(self) -> np.ndarray | None:
        """The wrapped array (``state["x"]``), or None for a chumpy expression."""
        value: Any = self
        for _ in range(8):  # a Ch may wrap another Ch; never follow a cycle for long
            if not isinstance(value, ChumpyStub):
                break
            value = getattr(value, "state", {}).get("x")
        return value if isinstance(value, np.ndarray) else None


class SparseStub:
    """Inert stand-in for a pickled scipy sparse matrix; see :meth:`to_dense`."""

    scipy_class = "scipy.sparse.csc_matrix"
    sparse_format = "csc"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: dict = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {}

    def to_dense(self) -> np.ndarray:
        """Dense float64 array rebuilt from the pickled index arrays.

        Raises:
            ValueError: when the pickled state is not a csc/csr/coo layout.
        """
        import scipy.sparse as sp

        s = getattr(self, "state", {})
        shape = s.get("_shape", s.get("shape"))
        if shape is None or len(tuple(shape)) != 2:
            raise ValueError(f"sparse matrix {self.scipy_class} has no 2-D shape in its pickled state")
        shape = tuple(int(n) for n in shape)
        if shape[0] * shape[1] > 10**8:
            raise ValueError(f"sparse matrix of shape {shape} is implausibly large for a MANO file")
        data = np.asarray(s.get("data"), dtype=np.float64)
        if self.sparse_format in ("csc", "csr"):
            maker = sp.csc_matrix if self.sparse_format == "csc" else sp.csr_matrix
            matrix = maker((data, np.asarray(s["indices"]), np.asarray(s["indptr"])), shape=shape)
        else:
            coords = s.get("coords") or (s.get("row"), s.get("col"))
            matrix = sp.coo_matrix((data, (np.asarray(coords[0]), np.asarray(coords[1]))), shape=shape)
        return np.asarray(matrix.toarray(), dtype=np.float64)


def _safe_reconstructor(cls: type, base: type, state: Any) -> Any:
    """``copyreg._reconstructor`` (protocol 0/1 pickles) limited to ``base is object``."""
    if base is not object:
        raise pickle.UnpicklingError(f"refusing copyreg._reconstructor with base {base!r}")
    return object.__new__(cls)


def _safe_codecs_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as Python 3 protocol-2 pickles use it for bytes, text codecs only."""
    if not isinstance(text, str) or codecs.lookup(encoding).name not in ("latin-1", "iso8859-1", "utf-8"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, encoding)


def _numpy_globals() -> dict[tuple[str, str], Any]:
    """numpy's array/scalar/dtype reconstruction (the data files' set) plus ``numpy.matrix``, which MANO files use."""
    return {**DATA_GLOBALS, ("numpy", "matrix"): np.matrix, ("numpy.matrixlib.defmatrix", "matrix"): np.matrix}


_BUILTIN_GLOBALS: dict[tuple[str, str], Any] = {}
for _mod in ("builtins", "__builtin__"):
    _BUILTIN_GLOBALS.update({(_mod, "set"): set, (_mod, "frozenset"): frozenset, (_mod, "object"): object})
for _mod in ("copyreg", "copy_reg"):
    _BUILTIN_GLOBALS[(_mod, "_reconstructor")] = _safe_reconstructor
_BUILTIN_GLOBALS[("_codecs", "encode")] = _safe_codecs_encode

_SPARSE_NAMES = {
    f"{fmt}_{kind}": fmt for fmt in ("csc", "csr", "coo") for kind in ("matrix", "array")
}
_stub_classes: dict[str, type] = {}


def _stub_class(base: type, qualified: str, **attrs: Any) -> type:
    """One stub subclass per pickled class name (so error messages can name it)."""
    if qualified not in _stub_classes:
        name = qualified.rpartition(".")[2]
        attr_name = "chumpy_class" if base is ChumpyStub else "scipy_class"
        _stub_classes[qualified] = type(name, (base,), {attr_name: qualified, **attrs})
    return _stub_classes[qualified]


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only what a MANO file needs (see the module docstring).

    Anything else raises ``pickle.UnpicklingError("refusing to unpickle disallowed
    class module.name")`` before the object is created or called.
    """

    _allowed = {**_numpy_globals(), **_BUILTIN_GLOBALS}

    def find_class(self, module: str, name: str) -> Any:
        found = self._allowed.get((module, name))
        if found is not None:
            return found
        if module == "chumpy" or module.startswith("chumpy."):
            return _stub_class(ChumpyStub, f"{module}.{name}")
        if (module == "scipy.sparse" or module.startswith("scipy.sparse.")) and name in _SPARSE_NAMES:
            return _stub_class(SparseStub, f"{module}.{name}", sparse_format=_SPARSE_NAMES[name])
        raise pickle.UnpicklingError(f"refusing to unpickle disallowed class {module}.{name}")


def _read_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            data = RestrictedUnpickler(handle, encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        message = str(exc)
        if message.startswith("refusing"):
            raise InputFileError(path, f"{message} (not a MANO model file, or an unsafe one)") from None
        raise InputFileError(path, f"not a readable MANO pickle: {message}") from None
    except Exception as exc:  # any failure while reading untrusted bytes is a bad file
        raise InputFileError(path, f"not a readable MANO pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise InputFileError(path, f"a MANO pickle holds a dict, this one holds {type(data).__name__}")
    return data


def _read_npz(path: Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as exc:
        raise InputFileError(path, f"not a plain-array MANO .npz ({exc})") from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise InputFileError(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None


def _as_array(path: Path, key: str, value: Any) -> np.ndarray:
    """Plain ndarray from an array, chumpy stub or sparse stub; InputFileError otherwise."""
    if isinstance(value, ChumpyStub):
        array = value.array
        if array is None:
            raise InputFileError(
                path, f"key {key!r} is a chumpy expression ({value.chumpy_class}), not a stored array; "
                "convert the file to .npz with real chumpy"
            )
        value = array
    elif isinstance(value, SparseStub):
        try:
            value = value.to_dense()
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise InputFileError(path, f"key {key!r}: unreadable sparse matrix ({exc})") from None
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise InputFileError(path, f"key {key!r} is not a numeric array (got {type(value).__name__})")
    return np.asarray(value)


def validate_mano_arrays(path: str | Path, raw: dict) -> dict[str, np.ndarray]:
    """Check required keys, shapes, finiteness and index ranges; return clean arrays.

    Floats come back as float64, ``f`` as int64, ``kintree_table`` as int64 with
    the root parent set to -1.

    Raises:
        InputFileError: naming the file and the offending key.
    """
    path = Path(path)
    out: dict[str, np.ndarray] = {}
    for key, shape in MANO_SHAPES.items():
        if key not in raw:
            raise InputFileError(path, f"missing key {key!r} (a MANO model needs {', '.join(MANO_SHAPES)})")
        array = _as_array(path, key, raw[key])
        if array.shape != shape:
            raise InputFileError(path, f"key {key!r} has shape {array.shape}, expected {shape}")
        if key in _INTEGER_KEYS:
            if array.dtype.kind == "f":
                if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
                    raise InputFileError(path, f"key {key!r} must hold integers")
            out[key] = array.astype(np.int64)
        else:
            array = array.astype(np.float64)
            if not np.all(np.isfinite(array)):
                raise InputFileError(path, f"key {key!r} contains NaN or inf")
            out[key] = array
    faces = out["f"]
    if faces.min() < 0 or faces.max() >= MANO_SHAPES["v_template"][0]:
        raise InputFileError(path, f"key 'f' indexes vertices {faces.min()}..{faces.max()}, outside 0..777")
    kintree = out["kintree_table"].copy()
    if kintree[0, 0] in (-1, _UINT32_MAX):
        kintree[0, 0] = -1
    if tuple(int(p) for p in kintree[0]) != MANO_PARENTS:
        raise InputFileError(
            path, f"key 'kintree_table' parents {kintree[0].tolist()} differ from MANO's {list(MANO_PARENTS)}"
        )
    out["kintree_table"] = kintree
    return out


def load_mano_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Read one MANO model file (``.pkl`` or ``.npz``) into validated numpy arrays.

    Returns the keys of :data:`MANO_SHAPES` (``J_regressor`` dense, metres,
    float64; ``f``/``kintree_table`` int64).

    Raises:
        InputFileError: missing file (with where-to-get-MANO hint), disallowed
            pickle content, unreadable file, missing key, wrong shape, NaN/inf.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, f"MANO file not found; {MANO_FILE_HINT}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        raw = _read_npz(path)
    elif suffix == ".pkl":
        raw = _read_pickle(path)
    else:
        raise InputFileError(path, "unknown MANO file type; expected .pkl or .npz")
    return validate_mano_arrays(path, raw)
