"""Token budgets: how long texts are in a tokenizer's tokens, how many a budget cuts, and refusing prompts.

A text longer than a model's ``text.max_tokens`` would lose its end (the encoder truncates),
so training reports the share of its captions that are cut, and sampling refuses a prompt
over the budget with a message instead of cutting it silently. Lengths count the
tokenizer's special tokens (``[CLS]``/``[SEP]`` for MiniLM), as the budget does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from handgen.errors import HandgenError
from handgen.hand.topology import TEXT_BRANCHES

BRANCHES = TEXT_BRANCHES


def token_lengths(tokenizer, texts: Sequence[str]) -> np.ndarray:
    """(N,) int: tokens of each text including special tokens; 0 for an empty text."""
    stripped = [t.strip() for t in texts]
    nonempty = [t for t in stripped if t]
    lengths = iter(len(ids) for ids in tokenizer(nonempty, truncation=False)["input_ids"]) if nonempty else iter(())
    return np.array([next(lengths) if t else 0 for t in stripped], dtype=np.int64)


@dataclass(frozen=True)
class BudgetReport:
    """Token lengths of a set of texts against a budget."""

    count: int  # non-empty texts
    cut: int  # texts longer than the budget
    max_tokens: int
    longest: int
    percentiles: dict[int, float]  # 50, 95, 99 -> tokens

    @property
    def cut_share(self) -> float:
        return self.cut / self.count if self.count else 0.0

    def line(self, what: str = "captions") -> str:
        pct = ", ".join(f"p{p} {v:.0f}" for p, v in self.percentiles.items())
        return (f"{self.cut} of {self.count} {what} ({100 * self.cut_share:.1f}%) are longer than text.max_tokens "
                f"{self.max_tokens} and lose their ends (lengths in tokens: {pct}, longest {self.longest})")


def budget_report(tokenizer, texts: Iterable[str], max_tokens: int) -> BudgetReport:
    """Lengths of the distinct non-empty ``texts`` against ``max_tokens``."""
    unique = sorted({t.strip() for t in texts if t and t.strip()})
    lengths = token_lengths(tokenizer, unique)
    if len(lengths) == 0:
        return BudgetReport(0, 0, max_tokens, 0, {50: 0.0, 95: 0.0, 99: 0.0})
    return BudgetReport(
        count=len(lengths), cut=int((lengths > max_tokens).sum()), max_tokens=int(max_tokens),
        longest=int(lengths.max()), percentiles={p: float(np.percentile(lengths, p)) for p in (50, 95, 99)},
    )


def check_prompt_lengths(tokenizer, triplets: Sequence[dict[str, str]], max_tokens: int, holder: str) -> None:
    """Refuse any ``{left, right, both}`` text longer than ``max_tokens`` (it would be cut).

    ``holder`` names what holds the budget in the message, e.g. "this model's text encoder input".

    Raises:
        HandgenError: naming the prompt number, the branch, its length and the budget.
    """
    for number, triplet in enumerate(triplets, start=1):
        texts = [(triplet.get(branch) or "") for branch in BRANCHES]
        for branch, length in zip(BRANCHES, token_lengths(tokenizer, texts)):
            if length > max_tokens:
                raise HandgenError(
                    f"prompt {number}: the {branch} text is {int(length)} tokens long; {holder} holds "
                    f"at most {max_tokens} tokens per text: shorten it")
