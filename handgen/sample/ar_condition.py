"""``--mode prefix`` of the AR model: the first motion tokens given by a file, the rest generated.

The condition file is one of

- a ``.npy`` array of token ids (N,) (integers in ``[0, codebook_size)``);
- an ``.npz`` holding ``motion_tokens`` (N,), as every single-window AR sample file does;
- a handgen motion file (``.npz``): canonicalised like the training clips and tokenised;
  the sample is returned in that motion's own coordinates.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handgen.errors import InputFileError
from handgen.hand.pair import HandPair
from handgen.io.motion_npz import load_motion
from handgen.repr.features import motion_to_features
from handgen.repr.motion import canonicalize
from handgen.sample.tokenizer_run import TokenizerRun

TOKENS_KEY = "motion_tokens"


@dataclass
class TokenCondition:
    tokens: torch.Tensor  # (N,) long, the first motion tokens
    offset: np.ndarray | None  # (3,) added by canonicalisation (motion files only)
    betas: np.ndarray | None  # (2, 10) of the condition motion (motion files only)


def check_token_ids(path: Path, ids: np.ndarray, codebook_size: int) -> torch.Tensor:
    """Validated token ids (N,) long. Raises InputFileError naming the file and the problem."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.size == 0:
        raise InputFileError(path, f"token ids must be a non-empty 1-D array, got shape {ids.shape}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise InputFileError(path, f"token ids must be integers, got dtype {ids.dtype}")
    bad = np.flatnonzero((ids < 0) | (ids >= codebook_size))
    if bad.size:
        raise InputFileError(path, f"token id {int(ids[bad[0]])} at position {int(bad[0])} is outside the "
                                   f"codebook [0, {codebook_size})")
    return torch.as_tensor(ids.astype(np.int64))


def read_token_condition(path: str | Path, tokenizer: TokenizerRun, hands: HandPair) -> TokenCondition:
    """The start tokens of ``--mode prefix`` from ``path`` (see the module docstring).

    Raises:
        InputFileError: unreadable file, ids outside the codebook, a malformed motion.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "condition file not found")
    if path.suffix == ".npy":
        try:
            ids = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise InputFileError(path, f"not a readable .npy array ({exc})") from None
        return TokenCondition(check_token_ids(path, ids, tokenizer.codebook_size), None, None)
    try:
        with np.load(path, allow_pickle=False) as npz:
            stored = npz[TOKENS_KEY] if TOKENS_KEY in npz.files else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(path, f"not a readable .npz file ({exc})") from None
    if stored is not None:
        return TokenCondition(check_token_ids(path, stored, tokenizer.codebook_size), None, None)

    motion, _ = load_motion(path)
    canon, offset = canonicalize(motion, hands)
    feats = motion_to_features(canon, hands)
    tokens = tokenizer.encode_raw(np.asarray(feats, dtype=np.float32)[None])[0]
    return TokenCondition(tokens, np.asarray(offset, dtype=np.float64), motion.betas)
