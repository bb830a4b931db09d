"""Text prompts for sampling: ``--left/--right/--both`` or a ``--prompts FILE.jsonl``."""

from __future__ import annotations

import json
from pathlib import Path

from handgen.errors import HandgenError, InputFileError
from handgen.hand.topology import TEXT_BRANCHES

BRANCH_KEYS = TEXT_BRANCHES


def read_prompts(path: str | Path) -> list[dict[str, str]]:
    """Prompts from a JSONL file: one ``{"left": ..., "right": ..., "both": ...}`` per line.

    Missing keys mean an empty (unconditional) text. Raises InputFileError on a bad line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "prompts file not found")
    prompts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(path, f"line {number} is not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or not any(k in item for k in BRANCH_KEYS):
            raise InputFileError(path, f"line {number} must be an object with 'left', 'right' and/or 'both'")
        bad = [k for k in BRANCH_KEYS if k in item and not isinstance(item[k], str)]
        if bad:
            raise InputFileError(path, f"line {number}: {bad[0]!r} must be a string")
        prompts.append({k: item.get(k, "") for k in BRANCH_KEYS})
    if not prompts:
        raise InputFileError(path, "no prompts in the file")
    return prompts


def prompts_from_args(left: str | None, right: str | None, both: str | None, prompts_file: str | None) -> list[dict[str, str]]:
    """The prompt list from the command line (texts may be empty: that branch is unconditional)."""
    if prompts_file:
        if any(t is not None for t in (left, right, both)):
            raise HandgenError("give either --prompts or --left/--right/--both, not both")
        return read_prompts(prompts_file)
    if all(t is None for t in (left, right, both)):
        raise HandgenError("give --left/--right/--both texts (empty strings are allowed) or --prompts FILE.jsonl")
    return [{"left": left or "", "right": right or "", "both": both or ""}]
