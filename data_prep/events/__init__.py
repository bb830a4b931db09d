"""Feature streams -> events -> compact JSON (HandX's annotation, step 2).

:mod:`.segmentation` holds the generic pieces (hysteresis, runs, minimum run length);
:mod:`.clip` defines a clip's streams and their JSON. :func:`events_json` serialises.
"""

from __future__ import annotations

import json
from typing import Any

from data_prep.events.clip import clip_events
from data_prep.events.segmentation import MIN_FRAMES, Run, merge_short_runs, runs


def events_json(events: dict[str, Any]) -> str:
    """Compact, deterministic JSON text of :func:`clip_events`' output."""
    return json.dumps(events, sort_keys=True, separators=(",", ":"))


__all__ = ["MIN_FRAMES", "Run", "clip_events", "events_json", "merge_short_runs", "runs"]
