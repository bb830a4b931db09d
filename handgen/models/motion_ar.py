"""Text-prefix autoregressive model over FSQ motion tokens (HandX's AR branch).

A decoder-only LLaMA (``transformers.LlamaModel``, fed with ``inputs_embeds``) reads

    <sep0> left-text tokens <sep1> right-text tokens <sep2> two-hand-text tokens <bom> m_1 ... m_N

and predicts ``m_1 .. m_N`` and then an end token. The text tokens are the frozen text
encoder's token states, linearly projected, plus a learned segment embedding per text
(left / right / both, as BERT's segment embeddings: the three texts share words such as
"fist", and a small model does not reliably infer from the separators alone which hand a
text token speaks about); ``<sep0..2>`` and ``<bom>`` are learned embeddings. With a
grouped tokenizer (``groups`` codes per time step sharing one codebook) each motion token
also gets a learned slot embedding (its index mod ``groups``), since the same id means a
different thing in each slot. The loss is on the motion tokens (and the end token) only.

With a per-hand tokenizer (the first half of each step's slots code the left hand, the second
half the right) ``hand_text`` adds a direct path from each hand's text to that hand's tokens:
the masked mean of the left (right) text's encoder states, linearly projected (zero-initialised,
no bias), is added to every input whose *next* token is a left (right) slot, ``<bom>`` included.
The prefix alone leaves a small model to find "fist" among 80 prefix entries and route it to the
right slots; the added vector puts it where the prediction is made. Dropped or empty texts add
zero, so classifier-free guidance is unchanged.

``hand_attention`` (per-hand tokenizer) binds the texts in attention too: each text's tokens
attend only to their own text (and the separators), and every input whose next token is a left
(right) slot, ``<bom>`` included, attends to no right (left) text token. A hand's text then
reaches the other hand's tokens only through the motion tokens already generated (as the
diffusion model's ``hand_routing``): the inputs that predict a step's first left slots never see
the right text. The mask goes to LLaMA as a 4D boolean mask (causal, padding and the text rule).

Prefixes have different lengths (only real text tokens are kept). They are packed as
``<sep0>, padding..., texts..., <bom>``: padding sits after ``<sep0>`` so every position
sees at least one real key, and position ids count real tokens only, so a sequence means
the same whatever its padding. A dropped text (classifier-free guidance) or an empty one
simply contributes no tokens.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from handgen.models.sizes import resolve_size
from handgen.hand.topology import TEXT_BRANCHES

BRANCHES = TEXT_BRANCHES
# name -> (layers, width, heads, feed-forward); ~1 M, ~44 M and ~111 M parameters with 4375 codes
PRESETS: dict[str, tuple[int, int, int, int]] = {
    "tiny": (4, 128, 4, 512),
    "small": (10, 512, 8, 1920),
    "base": (12, 768, 12, 2752),
}
TextStates = dict[str, tuple[torch.Tensor, torch.Tensor]]  # branch -> (states (B,L,H), mask (B,L) bool)


@dataclass
class ARConfig:
    codebook_size: int
    text_dim: int
    preset: str = "tiny"
    layers: int | None = None
    width: int | None = None
    heads: int | None = None
    ff: int | None = None
    dropout: float = 0.1
    max_positions: int = 512
    groups: int = 1  # tokenizer codes per time step (slots of the token stream)
    hand_text: bool = False  # per-hand tokenizer: add each hand's pooled text to its slots' inputs
    hand_attention: bool = False  # per-hand tokenizer: a hand's slots (and each text) attend to no other hand's text

    def resolved(self) -> tuple[int, int, int, int]:
        return resolve_size(PRESETS, "AR", self.preset, self.layers, self.width, self.heads, self.ff)

    def to_dict(self) -> dict:
        return asdict(self)

    def __post_init__(self) -> None:
        for key in ("hand_text", "hand_attention"):
            if getattr(self, key) and (int(self.groups) < 2 or int(self.groups) % 2):
                raise ValueError(f"{key} needs a per-hand tokenizer (an even number of codes per step >= 2), "
                                 f"got groups={self.groups}")


def packed_positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids (B, S) that count only the real (mask True) entries, starting at 0."""
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


# hand codes of stream entries (``hand_attention``): which text a key is, which hand a query speaks for
NEUTRAL, LEFT, RIGHT = 0, 1, 2


def hand_attention_mask(mask: torch.Tensor, key_hands: torch.Tensor, query_hands: torch.Tensor) -> torch.Tensor:
    """4D boolean attention mask (B, 1, Q, K) of the last Q entries of a stream of K (True = attend).

    ``mask`` (B, K) bool: real entries; ``key_hands`` (B, K): LEFT / RIGHT for the left / right text's tokens,
    NEUTRAL otherwise; ``query_hands`` (B, Q): the hand each query speaks for (NEUTRAL: none). A query
    attends to the earlier real entries (itself included) that are not another hand's text.
    """
    k, q = mask.shape[1], query_hands.shape[1]
    keys = torch.arange(k, device=mask.device)
    causal = keys[None, :] <= (keys[k - q :])[:, None]  # (Q, K)
    text_ok = (key_hands[:, None, :] == NEUTRAL) | (key_hands[:, None, :] == query_hands[:, :, None])  # (B, Q, K)
    return (causal[None] & mask.bool()[:, None, :] & text_ok)[:, None]


class MotionAR(nn.Module):
    """LLaMA decoder + text projection, separators, begin embedding, motion-token embedding and head."""

    def __init__(self, config: ARConfig) -> None:
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import LlamaConfig, LlamaModel

        self.config = config
        layers, width, heads, ff = config.resolved()
        self.width = width
        llama = LlamaConfig(
            vocab_size=1, hidden_size=width, intermediate_size=ff, num_hidden_layers=layers,
            num_attention_heads=heads, max_position_embeddings=config.max_positions,
            attention_dropout=0.0, bos_token_id=None, eos_token_id=None, pad_token_id=None,
        )
        llama._attn_implementation = "sdpa"
        self.backbone = LlamaModel(llama)
        self.backbone.embed_tokens = nn.Identity()  # inputs arrive as embeddings; no unused weights
        # transformers 5 names the key-value cache ``cache`` (``past_key_values`` warns there and goes in 5.40);
        # 4.x knows only ``past_key_values``
        self.cache_kwarg = "cache" if "cache" in inspect.signature(LlamaModel.forward).parameters else "past_key_values"
        std = llama.initializer_range
        self.text_proj = nn.Linear(config.text_dim, width)
        self.separators = nn.Parameter(torch.randn(len(BRANCHES), width) * std)
        self.segments = nn.Parameter(torch.randn(len(BRANCHES), width) * std)  # added to each text's tokens
        self.slots = nn.Parameter(torch.randn(max(int(config.groups), 1), width) * std)  # added per token slot
        self.begin = nn.Parameter(torch.randn(width) * std)
        self.token_embed = nn.Embedding(config.codebook_size, width)
        nn.init.normal_(self.token_embed.weight, std=std)
        self.head = nn.Linear(width, config.codebook_size + 1)  # the last class is the end token
        groups = max(int(config.groups), 1)
        # hand of each slot: 0 (left) for the first half of a step's slots, 1 (right) for the second
        self.register_buffer("slot_hand", (torch.arange(groups) >= groups // 2).long(), persistent=False)
        self.hand_text_proj = None
        if config.hand_text:
            self.hand_text_proj = nn.Linear(config.text_dim, width, bias=False)
            nn.init.zeros_(self.hand_text_proj.weight)
        self.drop = nn.Dropout(config.dropout)  # on the input embeddings (attention dropout would force SDPA's slow path)

    @property
    def end_id(self) -> int:
        return int(self.config.codebook_size)

    @property
    def max_positions(self) -> int:
        return int(self.config.max_positions)

    # -- inputs -----------------------------------------------------------------------------
    def hand_text(self, texts: TextStates, keep: torch.Tensor | None = None) -> torch.Tensor | None:
        """Projected mean text state of the left and the right text, (B, 2, W); None without ``hand_text``.

        Rows with ``keep`` False, and empty texts, give zeros.
        """
        if self.hand_text_proj is None:
            return None
        dtype = self.head.weight.dtype
        pooled = []
        for branch in BRANCHES[:2]:
            states, mask = texts[branch]
            mask = mask.bool()
            if keep is not None:
                mask = mask & keep.to(mask.device)[:, None]
            weight = mask.to(dtype)[..., None]  # (B, L, 1)
            pooled.append((states.to(dtype) * weight).sum(1) / weight.sum(1).clamp(min=1.0))
        return self.hand_text_proj(torch.stack(pooled, 1))

    def prefix(self, texts: TextStates, keep: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Packed text prefix: embeddings (B, P, W) and mask (B, P) bool (False = padding).

        ``keep`` (B,) bool: False drops that row's texts (the unconditional prefix).
        """
        emb, mask, _ = self.prefix_with_hands(texts, keep)
        return emb, mask

    def prefix_with_hands(self, texts: TextStates, keep: torch.Tensor | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`prefix` and the hand code of each entry (B, P) long: LEFT / RIGHT for the left / right text's
        tokens, NEUTRAL for the rest (the two-hand text, separators, padding, ``<bom>``)."""
        first = texts[BRANCHES[0]][0]
        b, device = first.shape[0], first.device
        parts, valid, hands = [], [], []
        one = torch.ones(b, 1, dtype=torch.bool, device=device)
        for i, branch in enumerate(BRANCHES):
            states, mask = texts[branch]
            mask = mask.bool()
            if keep is not None:
                mask = mask & keep.to(device)[:, None]
            text = self.text_proj(states.to(self.head.weight.dtype)) + self.segments[i]
            parts += [self.separators[i].expand(b, 1, -1), text]
            valid += [one, mask]
            code = (LEFT, RIGHT, NEUTRAL)[i]
            hands += [torch.full((b, 1), NEUTRAL, device=device), torch.full(mask.shape, code, device=device)]
        begin = self.begin.expand(b, 1, -1)
        hand = self.hand_text(texts, keep)
        if hand is not None:  # <bom> predicts the first token (slot 0)
            begin = begin + hand[:, self.slot_hand[0]][:, None]
        parts.append(begin)
        valid.append(one)
        hands.append(torch.full((b, 1), NEUTRAL, device=device))
        emb, mask, hand_codes = torch.cat(parts, 1), torch.cat(valid, 1), torch.cat(hands, 1)
        # stable sort: <sep0> first, then the padding, then the real entries in their order
        s = mask.shape[1]
        order = torch.arange(s, device=device).expand(b, s)
        key = mask.long() * s + order
        key[:, 0] = -1
        perm = key.argsort(dim=1, stable=True)
        emb = emb.gather(1, perm[..., None].expand_as(emb))
        mask = mask.gather(1, perm)
        hand_codes = hand_codes.gather(1, perm)
        pad = int((~mask).sum(1).min())  # columns of padding shared by every row
        if pad:
            emb = torch.cat([emb[:, :1], emb[:, 1 + pad :]], 1)
            mask = torch.cat([mask[:, :1], mask[:, 1 + pad :]], 1)
            hand_codes = torch.cat([hand_codes[:, :1], hand_codes[:, 1 + pad :]], 1)
        return emb, mask, hand_codes

    def prefix_query_hands(self, hand_codes: torch.Tensor) -> torch.Tensor:
        """Query hands (B, P) of a prefix with hand codes (B, P): each text speaks for its own text, ``<bom>`` (the
        last entry) for the hand of slot 0."""
        query = hand_codes.clone()
        query[:, -1] = LEFT + self.slot_hand[0]
        return query

    def token_query_hands(self, start: int, count: int) -> torch.Tensor:
        """Query hands (count,) of the motion-token inputs at stream indices ``start ..``: the hand of the slot
        each predicts (input j predicts token j + 1)."""
        index = torch.arange(start, start + count, device=self.slot_hand.device)
        return LEFT + self.slot_hand[(index + 1) % self.slots.shape[0]]

    def attention(self, mask: torch.Tensor, key_hands: torch.Tensor, query_hands: torch.Tensor) -> torch.Tensor:
        """What :meth:`run` takes as its mask: ``mask`` (B, K) itself, or with ``hand_attention`` the 4D
        :func:`hand_attention_mask` of the last ``query_hands.shape[1]`` entries."""
        if not self.config.hand_attention:
            return mask
        return hand_attention_mask(mask, key_hands, query_hands)

    def embed_tokens(self, tokens: torch.Tensor, start: int = 0, hand_text: torch.Tensor | None = None) -> torch.Tensor:
        """Motion-token embeddings (B, N, W) of ids (B, N) that sit at stream indices ``start .. start + N - 1``.

        ``hand_text`` (B, 2, W) from :meth:`hand_text`: each input gets the text of the hand of the token it predicts.
        """
        index = torch.arange(start, start + tokens.shape[1], device=tokens.device)
        groups = self.slots.shape[0]
        emb = self.token_embed(tokens) + self.slots[index % groups]
        if hand_text is not None:
            emb = emb + hand_text[:, self.slot_hand[(index + 1) % groups]]
        return emb

    # -- network ----------------------------------------------------------------------------
    def run(self, embeds: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache=None):
        """Hidden states (B, S, W) of new inputs ``embeds`` (B, S, W) after ``cache`` (or from scratch).

        ``mask`` (B, past + S) covers the cached entries too (or a 4D mask (B, 1, S, past + S) from
        :meth:`attention`); ``positions`` (B, S). Returns (hidden, cache); the cache is updated in place when given.
        """
        attend = mask if mask.dim() == 4 else mask.long()
        out = self.backbone(inputs_embeds=self.drop(embeds), attention_mask=attend, position_ids=positions,
                            use_cache=cache is not None, **{self.cache_kwarg: cache})
        return out.last_hidden_state, getattr(out, self.cache_kwarg)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Next-token logits (..., codebook_size + 1); the last class is the end token."""
        return self.head(hidden)

    def forward(self, texts: TextStates, tokens: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits (B, N + 1, V): at ``<bom>`` and after each of the N motion tokens."""
        pre, pre_mask, pre_hands = self.prefix_with_hands(texts, keep)
        embeds = torch.cat([pre, self.embed_tokens(tokens, hand_text=self.hand_text(texts, keep))], 1)
        mask = torch.cat([pre_mask, torch.ones_like(tokens, dtype=torch.bool)], 1)
        if embeds.shape[1] > self.max_positions:
            raise ValueError(f"sequence of {embeds.shape[1]} entries exceeds the model's context of {self.max_positions}")
        n = tokens.shape[1]
        key_hands = torch.cat([pre_hands, torch.full_like(tokens, NEUTRAL)], 1)
        query_hands = torch.cat([self.prefix_query_hands(pre_hands),
                                 self.token_query_hands(0, n).expand(tokens.shape[0], n)], 1)
        hidden, _ = self.run(embeds, self.attention(mask, key_hands, query_hands), packed_positions(mask))
        return self.logits(hidden[:, pre.shape[1] - 1 :])

    def loss(self, texts: TextStates, tokens: torch.Tensor, keep: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """:func:`token_loss` of the teacher-forced logits."""
        return token_loss(self.forward(texts, tokens, keep), tokens, self.end_id)


def token_loss(logits: torch.Tensor, tokens: torch.Tensor, end_id: int) -> tuple[torch.Tensor, dict[str, float]]:
    """Cross-entropy of the motion tokens (B, N) and the end token from logits (B, N + 1, V); also the accuracy."""
    target = torch.cat([tokens, torch.full_like(tokens[:, :1], end_id)], 1)
    ce = F.cross_entropy(logits.flatten(0, 1).float(), target.flatten())
    acc = (logits.argmax(-1) == target).float().mean()
    return ce, {"token_acc": acc.item()}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_ar(cfg, codebook_size: int, text_dim: int, groups: int = 1) -> "MotionAR":
    """The AR model a run config's ``model`` section describes over ``codebook_size`` motion codes."""
    m = cfg.model
    return MotionAR(ARConfig(
        codebook_size=codebook_size, text_dim=text_dim, preset=str(m.preset), layers=m.layers,
        width=m.width, heads=m.heads, ff=m.ff, dropout=float(m.dropout),
        max_positions=int(m.max_positions), groups=groups, hand_text=bool(m.hand_text),
        hand_attention=bool(m.hand_attention),
    ))
