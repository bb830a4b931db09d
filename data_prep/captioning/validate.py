"""Checking an LLM's answer: JSON with exactly K ``{left, right, both}`` triplets of non-empty text."""

from __future__ import annotations

import json
import re
from typing import Any
from handgen.hand.topology import TEXT_BRANCHES

CAPTION_KEYS = TEXT_BRANCHES
# names an LLM may use for the relation field (HandX calls it two_hands_relation)
BOTH_ALIASES = ("both", "two_hands_relation", "two_hands", "relation")
MAX_CHARS = 1200
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)


class InvalidAnswer(ValueError):
    """The model's answer is not usable; the message says why (without echoing the whole answer)."""


def _triplet(item: Any, number: int) -> dict[str, str]:
    if not isinstance(item, dict):
        raise InvalidAnswer(f"caption {number} is not a JSON object")
    both = next((item[key] for key in BOTH_ALIASES if key in item), None)
    out = {"left": item.get("left"), "right": item.get("right"), "both": both}
    for key, value in out.items():
        if not isinstance(value, str) or not value.strip():
            raise InvalidAnswer(f"caption {number} has no non-empty string {key!r}")
        if len(value) > MAX_CHARS:
            raise InvalidAnswer(f"caption {number} {key!r} is longer than {MAX_CHARS} characters")
    return {key: " ".join(value.split()) for key, value in out.items()}


def parse_captions(text: str | None, k: int) -> list[dict[str, str]]:
    """The ``k`` triplets in an answer: ``{"captions": [...]}`` (or a bare list), code fences allowed.

    Raises:
        InvalidAnswer: not JSON, not a list of k objects, or a missing/empty/overlong string.
    """
    if not text or not text.strip():
        raise InvalidAnswer("empty answer")
    match = _FENCE.match(text)
    body = match.group(1) if match else text
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise InvalidAnswer(f"not valid JSON ({exc.msg}, character {exc.pos})") from None
    if isinstance(value, dict):
        value = value.get("captions")
    if not isinstance(value, list):
        raise InvalidAnswer('expected {"captions": [...]} holding a list')
    if len(value) != k:
        raise InvalidAnswer(f"expected {k} caption triplets, got {len(value)}")
    return [_triplet(item, i + 1) for i, item in enumerate(value)]
