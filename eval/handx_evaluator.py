"""HandX's published text-motion evaluator (``--evaluator handx:DIR``), loaded without running pickled code.

``DIR`` holds (users download them; nothing is fetched here)::

    epoch=269.ckpt       Lightning checkpoint: state_dict with motionencoder.*, textencoder.*, motiondecoder.*
    mean_can_pos.npy     (126,) z-normalisation of the evaluator input
    std_can_pos.npy      (126,)
    t5-base/             a local Hugging Face T5 folder (tokenizer + weights; the encoder is used, frozen)

The checkpoint is read with ``torch.load(weights_only=True)``; the encoders are
:class:`handgen.models.temos_encoder.TemosEncoder` (motion 126 -> 256, text T5 width -> 256), loaded
strictly (``motiondecoder.*`` ignored; a copy of the frozen language model under
``textencoder.text_model.*``, if present, is ignored too: T5 comes from ``t5-base/``).

Motion input: handgen joints rotated back to HandX's coordinates (``up_axis``, as ``prep handx
--up-axis``; default z), then :func:`eval.handx_protocol.evaluator_input` (HandX joint order, per-frame
right-wrist-relative, (N, 60, 126)), normalised with the two ``.npy`` files, all frames
valid. Text: one string per triplet, ``"<extra_id0> {left} <extra_id1> {right} <extra_id2>
{relation} <extra_id3>"`` (tags without the underscore, so not T5's sentinels), T5 token
states with the tokenizer's attention mask as the padding mask. Embedding: mu (256).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from eval.handx_protocol import evaluator_input
from handgen.errors import HandgenError, InputFileError
from handgen.io.handx_format import UP_AXES
from handgen.models.temos_encoder import TemosEncoder

CKPT, MEAN, STD, T5_DIR = "epoch=269.ckpt", "mean_can_pos.npy", "std_can_pos.npy", "t5-base"
MOTION_PREFIX, TEXT_PREFIX = "motionencoder.", "textencoder."
IGNORED_TEXT_PREFIX = "text_model."
INPUT_DIM = 126


def text_string(triplet: dict[str, str]) -> str:
    """The evaluator's text for a caption triplet ({left, right, both | two_hands_relation})."""
    relation = triplet.get("both", triplet.get("two_hands_relation", ""))
    return f"<extra_id0> {triplet.get('left', '')} <extra_id1> {triplet.get('right', '')} <extra_id2> {relation} <extra_id3>"


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The checkpoint's ``state_dict`` (tensors only).

    Raises:
        InputFileError: missing, unreadable, holds pickled objects beyond tensors/containers, or no state_dict.
    """
    if not path.is_file():
        raise InputFileError(path, "not found (HandX's evaluator checkpoint)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise InputFileError(path, "holds pickled Python objects beyond tensors (e.g. Lightning hyper-parameters of "
                             "custom classes); refusing to run them. Re-save only its state_dict with torch.save "
                             f"in a trusted environment ({str(exc).splitlines()[0]})") from None
    except Exception as exc:  # noqa: BLE001 - any other failure is a bad file
        raise InputFileError(path, f"unreadable checkpoint ({type(exc).__name__}: {exc})") from None
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise InputFileError(path, "no state_dict in the checkpoint")
    return state


def _load_part(module: torch.nn.Module, state: dict[str, torch.Tensor], prefix: str, path: Path,
               ignore: str | None = None) -> None:
    part = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if ignore:
        part = {k: v for k, v in part.items() if not k.startswith(ignore)}
    own = module.state_dict()
    missing = sorted(set(own) - set(part))
    unexpected = sorted(set(part) - set(own))
    if missing or unexpected:
        detail = "; ".join(s for s in (f"missing {[prefix + k for k in missing[:4]]}" if missing else "",
                                       f"unexpected {[prefix + k for k in unexpected[:4]]}" if unexpected else "") if s)
        raise InputFileError(path, f"does not match HandX's evaluator layout ({detail})")
    for key, value in part.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise InputFileError(path, f"{prefix}{key} has shape {tuple(value.shape)}, expected {tuple(own[key].shape)}")
    module.load_state_dict(part, strict=True)


def _stats(path: Path) -> np.ndarray:
    if not path.is_file():
        raise InputFileError(path, "not found (HandX's evaluator normalisation)")
    try:
        value = np.load(path, allow_pickle=False).astype(np.float64).reshape(-1)
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"not a numeric .npy array ({exc})") from None
    if value.shape != (INPUT_DIM,):
        raise InputFileError(path, f"has {value.size} values, expected {INPUT_DIM}")
    return value


class HandXEvaluator:
    """``embed_motion(joints, fps)`` and ``embed_text(triplets)`` with HandX's weights (see the module docstring).

    Raises:
        HandgenError / InputFileError: a missing file (named), a checkpoint that does not load strictly.
    """

    caption_field = "captions"

    def __init__(self, folder: str | Path, device: str = "cpu", up_axis: str = "z") -> None:
        from transformers import AutoTokenizer, T5EncoderModel

        folder = Path(folder)
        if not folder.is_dir():
            raise HandgenError(f"--evaluator handx:{folder}: folder not found")
        if up_axis not in UP_AXES:
            raise HandgenError(f"up axis must be one of {sorted(UP_AXES)}, got {up_axis!r}")
        self.name, self.device, self.up_axis = f"HandX evaluator {folder}", torch.device(device), up_axis
        self.mean, self.std = _stats(folder / MEAN), _stats(folder / STD)
        t5 = folder / T5_DIR
        if not t5.is_dir():
            raise InputFileError(t5, "not found (a local Hugging Face T5 folder; nothing is downloaded)")
        state = read_state_dict(folder / CKPT)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(t5), local_files_only=True)
            self.t5 = T5EncoderModel.from_pretrained(str(t5), local_files_only=True).to(self.device).eval()
        except (OSError, ValueError) as exc:
            raise InputFileError(t5, f"not a usable T5 folder ({exc})") from None
        self.motion = TemosEncoder(INPUT_DIM)
        self.text = TemosEncoder(int(self.t5.config.d_model), text=True)
        _load_part(self.motion, state, MOTION_PREFIX, folder / CKPT)
        _load_part(self.text, state, TEXT_PREFIX, folder / CKPT, ignore=IGNORED_TEXT_PREFIX)
        self.motion.to(self.device).eval()
        self.text.to(self.device).eval()

    @torch.no_grad()
    def embed_motion(self, joints: np.ndarray, fps: float = 30.0, batch: int = 256) -> np.ndarray:
        """(N, T, 2, 21, 3) handgen joints (order and y-up frame; metres, 30 fps) -> (N, 256)."""
        if abs(fps - 30.0) > 1e-6:
            raise HandgenError(f"HandX's evaluator reads 30 fps clips, got {fps}")
        x = (evaluator_input(np.asarray(joints, dtype=np.float64) @ UP_AXES[self.up_axis]) - self.mean) / self.std
        out = [self.motion(torch.as_tensor(x[a : a + batch], dtype=torch.float32, device=self.device)).cpu()
               for a in range(0, len(x), batch)]
        return torch.cat(out).numpy().astype(np.float64)

    @torch.no_grad()
    def embed_text(self, triplets: list[dict[str, str]], batch: int = 64) -> np.ndarray:
        """N caption triplets -> (N, 256)."""
        out = []
        for a in range(0, len(triplets), batch):
            tokens = self.tokenizer([text_string(t) for t in triplets[a : a + batch]], padding=True,
                                    return_tensors="pt").to(self.device)
            states = self.t5(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).last_hidden_state
            out.append(self.text(states, tokens["attention_mask"].bool()).cpu())
        return torch.cat(out).numpy().astype(np.float64)
