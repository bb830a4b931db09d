"""On-disk cache of validated LLM answers: ``DATA_DIR/llm_cache/<sha256>.json``, one file per prompt.

The key is :func:`data_prep.captioning.prompt.prompt_key` (model + prompt + settings), so a
re-run with the same model and features sends nothing. Only validated answers are stored;
files are written atomically and unreadable ones are ignored (and overwritten later).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from handgen.io.atomic import atomic_write_json

CACHE_DIR = "llm_cache"
_KEY = re.compile(r"^[0-9a-f]{64}$")


class AnswerCache:
    """Validated answers keyed by prompt hash, under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"cache keys are sha256 hex digests, got {key!r}")
        return self.root / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored record (``captions``, ``model``, ``usage``...) or None."""
        try:
            record = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or not isinstance(record.get("captions"), list):
            return None
        return record

    def put(self, key: str, record: dict[str, Any]) -> None:
        atomic_write_json(self.path(key), {"key": key, **record})

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*.json")) if self.root.is_dir() else 0
