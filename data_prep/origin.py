"""A DATA_DIR / GRASP_DIR remembers the input it was made from (``origin.json``).

``prep arctic --src A --out D`` then ``prep arctic --src B --out D`` used to shrink D's manifest to
B's sequences, orphan A's shards and drop the LLM captions. Now the second run is refused unless
``--overwrite``, which first removes what prep and caption wrote in D (and lists it).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from handgen.errors import HandgenError
from handgen.io.atomic import atomic_write_json

ORIGIN_FILE = "origin.json"
# what prep (and caption, which writes into a DATA_DIR) own in an output folder
OWNED = ("manifest.jsonl", "meta.json", "stats.npz", "skipped.jsonl", ORIGIN_FILE, "shards", "objects",
         "motion_events", "llm_cache", "text_cache")
log = logging.getLogger(__name__)


def _read(out: Path) -> dict | None:
    try:
        data = json.loads((out / ORIGIN_FILE).read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def clear_prep_output(out: Path) -> list[str]:
    """Remove what prep/caption wrote in ``out``; returns the names removed."""
    removed = []
    for name in OWNED:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(name)
    return removed


def claim_origin(out: str | Path, kind: str, src: str | Path, overwrite: bool = False) -> None:
    """Check that ``out`` is empty or was made from ``src`` by ``prep kind``, then record that in origin.json.

    Raises:
        HandgenError: ``out`` holds a conversion of another source (or other files) and ``overwrite`` is off.
    """
    out, source = Path(out), str(Path(src).resolve())
    if out.exists() and not out.is_dir():
        raise HandgenError(f"--out {out} is an existing file; prep writes a folder there")
    here = {"kind": kind, "src": source}
    old = _read(out) if out.is_dir() else None
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if old == here:
        return
    if old is None and not entries:
        atomic_write_json(out / ORIGIN_FILE, here)
        return
    if old is None and (out / "manifest.jsonl").is_file():
        what = "a DATA_DIR of unknown source (made before origin.json)"
    elif old is None:
        what = f"{len(entries)} other files"
    else:
        what = f"a conversion of {old.get('src')} (prep {old.get('kind')})"
    if not overwrite:
        raise HandgenError(f"--out {out} already holds {what}; --src {src} is another source: pass --overwrite to "
                           f"replace it (removes its manifest, shards, captions and caches) or choose another --out")
    removed = clear_prep_output(out)
    log.warning("--overwrite: removed %s from %s (it held %s)", ", ".join(removed) or "nothing", out, what)
    atomic_write_json(out / ORIGIN_FILE, here)
