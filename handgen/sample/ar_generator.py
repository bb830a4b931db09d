"""ARMotionGenerator: texts (+ optional start tokens) -> bimanual motion features, token by token."""

from __future__ import annotations

from pathlib import Path

import torch

from handgen.errors import HandgenError
from handgen.models.motion_ar import build_ar
from handgen.repr.features import SLICES, translate_features
from handgen.sample.ar_decoding import TokenSampling, sample_tokens
from handgen.sample.long_horizon import LONG_CONTEXT
from handgen.io.run_dir import TOKENIZER_DIR, load_weights
from handgen.sample.text_motion_run import TextMotionRun
from handgen.sample.tokenizer_run import TokenizerRun


SEAM_BLEND = 8  # frames over which a window's start is pulled onto the end of the previous one


def blend_seam(last: torch.Tensor, decoded: torch.Tensor, context_frames: int, blend: int = SEAM_BLEND) -> torch.Tensor:
    """The new frames of a decoded window (B, W, D) after its ``context_frames``, joined smoothly.

    The decoded context differs a little from the frames it re-encodes; the difference at
    the seam (``last`` (B, D) minus the decoded last context frame) is added to the first new
    frames with weights falling linearly to zero over ``blend`` frames.
    """
    new = decoded[:, context_frames:].clone()
    delta = last - decoded[:, context_frames - 1]
    n = min(blend, new.shape[1])
    weights = 1.0 - torch.arange(1, n + 1, dtype=new.dtype) / (blend + 1)
    new[:, :n] += weights[None, :, None] * delta[:, None]
    return new


class ARMotionGenerator(TextMotionRun):
    """A trained motion AR run (with its copy of the tokenizer), ready to sample.

    Features are in the DATA_DIR layout (D=324), raw (de-normalised).
    """

    model_types = ("motion_ar",)

    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        info = self.info
        self.tokenizer = TokenizerRun(self.run_dir / TOKENIZER_DIR, self.device)
        if self.tokenizer.codebook_size != int(info["codebook_size"]):
            raise HandgenError(f"{self.run_dir}: the tokenizer copy has {self.tokenizer.codebook_size} codes, "
                               f"the AR model {info['codebook_size']}")
        self.tokens_per_clip = int(info["tokens_per_clip"])
        self._max_text_tokens = int(info["max_text_tokens"])
        self.model = load_weights(build_ar(self.cfg, int(info["codebook_size"]), int(info["text_dim"]),
                                             int(info.get("groups", 1))), self.run_dir)
        self.model.to(self.device).requires_grad_(False)
        self.last_tokens: torch.Tensor | None = None

    @property
    def max_text_tokens(self) -> int:
        """Tokens per text that the model's text prefix holds (its context)."""
        return self._max_text_tokens

    @property
    def codebook_size(self) -> int:
        return self.tokenizer.codebook_size

    @property
    def downsample(self) -> int:
        return self.tokenizer.downsample

    def check_frames(self, frames: int) -> None:
        if frames < self.downsample:
            raise HandgenError(f"--frames must be at least {self.downsample} for this model, got {frames}")

    text_budget_holder = "this model's text prefix (its context)"

    def generate(
        self,
        triplets: list[dict[str, str]],
        frames: int,
        seed: int = 0,
        guidance: float = 1.0,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        greedy: bool = False,
        use_cache: bool = True,
        condition=None,
        progress: bool = False,
        truncate: bool = False,
    ) -> torch.Tensor:
        """Raw features (B, frames, D), one sample per triplet (``truncate``: as
        :meth:`~handgen.sample.text_motion_run.TextMotionRun.encode`).

        ``condition`` (:class:`~handgen.sample.ar_condition.TokenCondition`) gives the first
        motion tokens; the sample continues them (returned in the condition motion's
        coordinates when it came from a motion file). ``frames`` beyond the clip length are
        generated window by window, each window started from the tokens of the last
        ``LONG_CONTEXT`` frames of the previous one, re-encoded in its own canonical frame
        (right wrist at the origin at the window's first frame, as in training).
        ``self.last_tokens`` keeps the tokens (B, N) of a single-window sample (None otherwise).
        """
        self.check_frames(frames)
        sampling = TokenSampling(temperature, top_k, top_p, greedy, guidance)
        sampling.check()
        texts = self.encode(triplets, truncate)
        b = len(triplets)
        generator = torch.Generator().manual_seed(seed)
        start = None
        if condition is not None:
            start = condition.tokens[None].expand(b, -1).clone()
            given_frames = self.tokenizer.model.num_frames(start.shape[1])
            if start.shape[1] >= self.tokenizer.model.num_tokens(frames):
                raise HandgenError(f"the condition gives {start.shape[1]} tokens ({given_frames} frames): nothing "
                                   f"left to generate in {frames} frames; ask for more with --frames "
                                   f"(e.g. --frames {given_frames + self.clip_len})")

        def window(start_ids: torch.Tensor | None, total: int) -> torch.Tensor:
            given = 0 if start_ids is None else start_ids.shape[1]
            new = sample_tokens(self.model, texts, total - given, sampling, start_ids, generator, use_cache,
                                progress=progress)
            return new if start_ids is None else torch.cat([start_ids.to(new.device), new], 1)

        wanted = self.tokenizer.model.num_tokens(frames)
        if start is not None and start.shape[1] >= self.tokens_per_clip:
            # the condition fills a whole window (a full-length motion): it is the first part, windows follow
            tokens = start
        else:
            tokens = window(start, min(wanted, self.tokens_per_clip)).cpu()
        out = self.tokenizer.decode_raw(tokens, min(frames, self.tokenizer.model.num_frames(tokens.shape[1])))
        self.last_tokens = tokens if out.shape[1] >= frames else None
        context_tokens = self.tokenizer.model.num_tokens(LONG_CONTEXT)
        context_frames = self.tokenizer.model.num_frames(context_tokens)
        while out.shape[1] < frames:
            ctx = out[:, -context_frames:]
            shift = -ctx[:, 0, SLICES["right.wrist"]]  # (B,3) moves the right wrist at the seam to the origin
            ctx_ids = self.tokenizer.encode_raw(translate_features(ctx, shift))
            ids = window(ctx_ids, self.tokens_per_clip).cpu()
            decoded = translate_features(self.tokenizer.decode_raw(ids), -shift)
            out = torch.cat([out, blend_seam(out[:, -1], decoded, context_frames)], 1)
        out = out[:, :frames]
        if condition is not None and condition.offset is not None:
            out = translate_features(out, torch.as_tensor(-condition.offset, dtype=out.dtype).expand(b, 3))
        return out

    def sample_arrays(self) -> list[dict] | None:
        """Per-sample extra arrays for the output files: the motion tokens of a single-window sample."""
        if self.last_tokens is None:
            return None
        return [{"motion_tokens": t.numpy().astype("int64")} for t in self.last_tokens]
