"""Token-by-token decoding of the motion AR model: KV cache, classifier-free guidance, sampling filters.

With ``use_cache`` the text prefix (and any given start tokens) is run once and every new
token costs one single-position forward pass over the cached keys and values
(``transformers.DynamicCache``); without it the whole sequence is re-run for every token
(kept for checking and benchmarking). Both give the same tokens.

Classifier-free guidance runs the conditional and the unconditional (text-free) prefix as
one batch of 2B sequences and mixes the logits ``uncond + g * (cond - uncond)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from handgen.errors import HandgenError
from handgen.models.motion_ar import NEUTRAL, MotionAR, TextStates, packed_positions


@dataclass
class TokenSampling:
    """How the next token is chosen from the (guided) logits."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    greedy: bool = False
    guidance: float = 1.0

    def check(self) -> None:
        """Raise HandgenError on out-of-range settings."""
        if not self.greedy and not self.temperature > 0:
            raise HandgenError(f"--temperature must be > 0, got {self.temperature} (use --greedy for argmax decoding)")
        if self.top_k is not None and self.top_k < 1:
            raise HandgenError(f"--top-k must be at least 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise HandgenError(f"--top-p must be in (0, 1], got {self.top_p}")
        if self.guidance < 0:
            raise HandgenError(f"--guidance must be >= 0, got {self.guidance}")

    def choose(self, logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Token ids (B,) from logits (B, V)."""
        from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

        if self.greedy:
            return logits.argmax(-1)
        scores = TemperatureLogitsWarper(self.temperature)(None, logits)
        if self.top_k is not None:
            scores = TopKLogitsWarper(self.top_k)(None, scores)
        if self.top_p is not None and self.top_p < 1:
            scores = TopPLogitsWarper(self.top_p)(None, scores)
        probs = torch.softmax(scores, dim=-1)
        return torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(-1).to(logits.device)


def _duplicate_texts(texts: TextStates) -> TextStates:
    return {k: (torch.cat([s, s]), torch.cat([m, m])) for k, (s, m) in texts.items()}


@torch.no_grad()
def sample_tokens(
    model: MotionAR,
    texts: TextStates,
    num_new: int,
    sampling: TokenSampling,
    start: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    allow_end: bool = False,
    progress: bool = False,
) -> torch.Tensor:
    """``num_new`` motion token ids (B, num_new) after the prefix of ``texts`` and the ``start`` ids (B, n0).

    The end token is masked out unless ``allow_end`` (fixed-length generation); with
    ``allow_end`` an ended row keeps emitting the end id.

    Raises:
        HandgenError: the sequence would not fit in the model's context.
    """
    from tqdm.auto import tqdm

    first = texts[next(iter(texts))][0]
    b, device = first.shape[0], first.device
    guided = sampling.guidance != 1.0
    if guided:
        keep = torch.cat([torch.ones(b, dtype=torch.bool), torch.zeros(b, dtype=torch.bool)]).to(device)
        prefix, mask, key_hands = model.prefix_with_hands(_duplicate_texts(texts), keep)
        hand = model.hand_text(_duplicate_texts(texts), keep)
    else:
        prefix, mask, key_hands = model.prefix_with_hands(texts)
        hand = model.hand_text(texts)
    rows = prefix.shape[0]
    embeds = prefix
    query_hands = model.prefix_query_hands(key_hands)
    n_start = 0 if start is None else int(start.shape[1])  # stream index of the first new token
    if start is not None and start.shape[1]:
        start = start.to(device)
        embeds = torch.cat([prefix, model.embed_tokens(start.repeat(rows // b, 1), hand_text=hand)], 1)
        mask = torch.cat([mask, torch.ones(rows, start.shape[1], dtype=torch.bool, device=device)], 1)
        key_hands = torch.cat([key_hands, torch.full((rows, n_start), NEUTRAL, device=device)], 1)
        query_hands = torch.cat([query_hands, model.token_query_hands(0, n_start).expand(rows, n_start)], 1)
    longest = embeds.shape[1] + num_new - 1  # inputs of the last step
    if longest > model.max_positions:
        raise HandgenError(f"a text prefix of {prefix.shape[1]} entries plus {embeds.shape[1] - prefix.shape[1] + num_new} "
                           f"motion tokens exceeds the model's context of {model.max_positions}")
    ones = torch.ones(rows, 1, dtype=torch.bool, device=device)
    ended = torch.zeros(b, dtype=torch.bool, device=device)
    out = []
    cache = None
    if use_cache:
        from transformers import DynamicCache

        cache = DynamicCache(config=model.backbone.config)
    positions = packed_positions(mask)
    hidden, cache = model.run(embeds, model.attention(mask, key_hands, query_hands), positions, cache)
    position = positions[:, -1:]
    for step in tqdm(range(num_new), desc="tokens", disable=not progress, leave=False):
        logits = model.logits(hidden[:, -1]).float()
        if guided:
            cond, uncond = logits[:b], logits[b:]
            logits = uncond + sampling.guidance * (cond - uncond)
        if not allow_end:
            logits[:, model.end_id] = float("-inf")
        token = sampling.choose(logits, generator)
        if allow_end:
            token = torch.where(ended, torch.full_like(token, model.end_id), token)
            ended |= token == model.end_id
        out.append(token)
        if step == num_new - 1:
            break
        new = model.embed_tokens(token.clamp(max=model.end_id - 1).repeat(rows // b)[:, None], n_start + step, hand)
        mask = torch.cat([mask, ones], 1)
        key_hands = torch.cat([key_hands, torch.full_like(ones, NEUTRAL, dtype=key_hands.dtype)], 1)
        query_hands = torch.cat([query_hands, model.token_query_hands(n_start + step, 1).expand(rows, 1)], 1)
        position = position + 1
        if use_cache:
            hidden, cache = model.run(new, model.attention(mask, key_hands, query_hands[:, -1:]), position, cache)
        else:
            embeds = torch.cat([embeds, new], 1)
            hidden, _ = model.run(embeds, model.attention(mask, key_hands, query_hands), packed_positions(mask))
    return torch.stack(out, 1) if out else torch.zeros(b, 0, dtype=torch.long, device=device)
