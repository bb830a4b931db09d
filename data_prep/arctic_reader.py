"""Read ARCTIC's per-sequence MANO files (``raw_seqs/sXX/<name>.mano.npy``).

A ``.mano.npy`` file is a pickled dict (docs/reference.md section 2)::

    {"left":  {"rot": (F,3), "pose": (F,45), "trans": (F,3), "shape": (10,) or (F,10), "fitting_err": (F,)},
     "right": {...}}

fitted with ``use_pca=False, flat_hand_mean=False``: ``pose`` is the finger rotation
relative to MANO's ``hands_mean``. handgen stores ABSOLUTE finger poses, so the reader
returns ``pose + hands_mean`` of the given hand model. Units are metres and radians.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from handgen.errors import InputFileError
from handgen.io.safe_pickle import load_object_npy
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS, NUM_BETAS
from handgen.repr.motion import BimanualMotion

ARCTIC_FPS = 30.0
MANO_SUFFIX = ".mano.npy"
_PER_FRAME_WIDTH = {"rot": 3, "pose": 45, "trans": 3}


class ManoSequence(NamedTuple):
    """A read sequence: the motion (absolute hand_pose) and which frames are usable.

    ``valid`` (F,) bool is False where any of rot/pose/trans (or a per-frame shape) of either
    hand is NaN/inf; those frames of ``motion`` keep their non-finite values.
    """

    motion: BimanualMotion
    valid: np.ndarray


def _load_dict(path: Path) -> dict:
    """The pickled dict of a ``.mano.npy``, read by the restricted unpickler (nothing in the file runs)."""
    data = load_object_npy(path)
    if not isinstance(data, dict):
        raise InputFileError(path, f"expected a pickled dict, got {type(data).__name__}")
    return data


def _numeric(path: Path, value: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputFileError(path, f"{name} is not a numeric array") from None
    return array


def _read_hand(path: Path, side: str, entry: Any) -> dict[str, np.ndarray]:
    if not isinstance(entry, dict):
        raise InputFileError(path, f"{side!r} is {type(entry).__name__}, expected a dict")
    out: dict[str, np.ndarray] = {}
    for key in ("rot", "pose", "trans", "shape", "fitting_err"):
        if key not in entry:
            raise InputFileError(path, f"{side}: missing key {key!r}")
        out[key] = _numeric(path, entry[key], f"{side}.{key}")
    frames = out["rot"].shape[0] if out["rot"].ndim == 2 else -1
    for key, width in _PER_FRAME_WIDTH.items():
        if out[key].ndim != 2 or out[key].shape[1] != width:
            raise InputFileError(path, f"{side}.{key} has shape {out[key].shape}, expected (F, {width})")
        if out[key].shape[0] != frames:
            raise InputFileError(
                path, f"{side}: frame counts disagree (rot {frames}, {key} {out[key].shape[0]})"
            )
    shape = out["shape"]
    if shape.shape not in ((NUM_BETAS,), (frames, NUM_BETAS)):
        raise InputFileError(path, f"{side}.shape has shape {shape.shape}, expected (10,) or ({frames}, 10)")
    if out["fitting_err"].reshape(-1).shape != (frames,):
        raise InputFileError(path, f"{side}.fitting_err has shape {out['fitting_err'].shape}, expected ({frames},)")
    return out


def read_mano_sequence(path: str | Path, hands: HandPair) -> ManoSequence:
    """Read one ARCTIC ``.mano.npy`` file into a :class:`ManoSequence` at 30 fps.

    ``pose`` is converted to absolute (``pose + hands[side].hands_mean``); a per-frame
    ``shape`` (F,10) becomes its mean over the valid frames.

    Raises:
        InputFileError: unreadable/truncated file, not a dict, missing ``left``/``right`` or
            a sub-key, wrong shapes, frame counts that disagree, zero frames.
    """
    path = Path(path)
    data = _load_dict(path)
    for side in HANDS:
        if side not in data:
            raise InputFileError(path, f"missing key {side!r} (found {sorted(map(str, data))})")
    per_hand = {side: _read_hand(path, side, data[side]) for side in HANDS}
    frames = {side: per_hand[side]["rot"].shape[0] for side in HANDS}
    if frames["left"] != frames["right"]:
        raise InputFileError(path, f"left has {frames['left']} frames, right has {frames['right']}")
    num_frames = frames["right"]
    if num_frames == 0:
        raise InputFileError(path, "zero frames")

    valid = np.ones(num_frames, dtype=bool)
    for side in HANDS:
        for key in ("rot", "pose", "trans"):
            valid &= np.isfinite(per_hand[side][key]).all(axis=1)
        if per_hand[side]["shape"].ndim == 2:
            valid &= np.isfinite(per_hand[side]["shape"]).all(axis=1)
    betas = np.zeros((2, NUM_BETAS))
    for i, side in enumerate(HANDS):
        shape = per_hand[side]["shape"]
        if shape.ndim == 2:
            shape = shape[valid].mean(axis=0) if valid.any() else np.zeros(NUM_BETAS)
        if not np.isfinite(shape).all():
            valid[:] = False  # a non-finite constant shape spoils every frame
            shape = np.zeros(NUM_BETAS)
        betas[i] = shape

    means = np.stack([hands[side].hands_mean.detach().cpu().double().numpy() for side in HANDS])  # (2,45)
    motion = BimanualMotion(
        global_orient=np.stack([per_hand[s]["rot"] for s in HANDS], axis=1),
        hand_pose=np.stack([per_hand[s]["pose"] for s in HANDS], axis=1) + means[None],
        transl=np.stack([per_hand[s]["trans"] for s in HANDS], axis=1),
        betas=betas,
        fps=ARCTIC_FPS,
    )
    return ManoSequence(motion=motion, valid=valid)
