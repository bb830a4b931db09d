"""Mask an API key in text that is printed, logged or cached, even when the text holds an altered copy.

An endpoint's error message may echo the key it received, and that key may differ from ours
(a space typed into it, a truncated copy, one changed character): exact replacement would print
most of it. :func:`mask_secret` masks every run of at least ``min_run`` characters that also occurs
in the key (case-insensitively), so no long piece of the key survives.
"""

from __future__ import annotations

MASK = "***"


def _run_length(secret: str) -> int:
    return max(4, min(6, len(secret) // 2))


def mask_secret(text: str, secret: str | None, min_run: int | None = None) -> str:
    """``text`` with every stretch sharing ``min_run`` or more consecutive characters with ``secret``
    replaced by ``***`` (default run: 6 characters, fewer for short keys). No secret: ``text`` unchanged."""
    if not secret or not text:
        return text
    n = min_run or _run_length(secret)
    if len(secret) < n:
        return text.replace(secret, MASK)
    low_text, low_secret = text.lower(), secret.lower()
    pieces = {low_secret[i:i + n] for i in range(len(low_secret) - n + 1)}
    covered = [False] * len(text)
    for i in range(len(text) - n + 1):
        if low_text[i:i + n] in pieces:
            for j in range(i, i + n):
                covered[j] = True
    out, i = [], 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append(MASK)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
