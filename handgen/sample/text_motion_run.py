"""What every text-to-motion run dir (diffusion or AR) holds besides its model: the resolved
config, ``model_info.json``, the data's ``data_meta.json`` and the text encoder it was trained with."""

from __future__ import annotations

from pathlib import Path

import torch

from handgen.models.motion_denoiser import BRANCHES
from handgen.io.run_dir import read_json, read_run_config
from handgen.text.encoder import TextEncoder, load_text_encoder
from handgen.text.token_budget import check_prompt_lengths


class TextMotionRun:
    """A trained text-to-motion run of one of ``model_types``; subclasses build the model.

    Raises:
        HandgenError / InputFileError: not a run dir of ``model_types``, or a file missing from it.
    """

    model_types: tuple[str, ...] = ()

    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        self.run_dir = Path(run_dir)
        self.cfg = read_run_config(self.run_dir, self.model_types)
        self.info = read_json(self.run_dir, "model_info.json")
        self.data_meta = read_json(self.run_dir, "data_meta.json")
        self.text_info = read_json(self.run_dir, "text_encoder.json")
        self.clip_len = int(self.info["clip_len"])
        self.device = torch.device(device)
        self._encoder: TextEncoder | None = None

    @property
    def fps(self) -> float:
        return float(self.data_meta.get("fps", 30.0))

    @property
    def encoder(self) -> TextEncoder:
        """The run's text encoder, loaded on first use."""
        if self._encoder is None:
            self._encoder = load_text_encoder(self.text_info["name"], int(self.text_info["max_tokens"]))
        return self._encoder

    @property
    def max_text_tokens(self) -> int:
        """Tokens per text the model reads (longer texts are refused, never cut)."""
        return int(self.text_info["max_tokens"])

    text_budget_holder = "this model's text encoder input (text.max_tokens)"

    def check_prompts(self, triplets: list[dict[str, str]]) -> None:
        """Raise HandgenError for a text longer than :attr:`max_text_tokens` (it would be cut)."""
        check_prompt_lengths(self.encoder.tokenizer, triplets, self.max_text_tokens, self.text_budget_holder)

    def encode(
        self, triplets: list[dict[str, str]], truncate: bool = False
    ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Token states (B, L, H) and mask (B, L) per branch for ``{left, right, both}`` texts (empty = unconditional).

        ``truncate``: cut texts over the budget as training cut them, instead of refusing them; only
        for texts from a data set (evaluation), whose caller reports how many were cut.

        Raises:
            HandgenError: without ``truncate``, a text over the model's token budget (:meth:`check_prompts`).
        """
        if not truncate:
            self.check_prompts(triplets)
        n = len(triplets)
        # the three branches' texts in one encoder call (B*3 texts, padded to the longest): at batch 1 one
        # MiniLM call instead of three; a text's states do not depend on the texts encoded with it
        enc = self.encoder.encode([t.get(branch, "") or "" for branch in BRANCHES for t in triplets])
        return {branch: (enc.states[i * n : (i + 1) * n].to(self.device), enc.mask[i * n : (i + 1) * n].to(self.device))
                for i, branch in enumerate(BRANCHES)}
