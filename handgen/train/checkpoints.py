"""Checkpoint folders of a run: ``RUN_DIR/checkpoints/step_0000100`` (accelerate ``save_state`` layout).

A checkpoint is written to ``step_N.partial`` and renamed when complete, so a run killed
while saving never leaves a half checkpoint that resume would pick.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

_NAME = re.compile(r"^step_(\d{7,})$")


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    return run_dir / "checkpoints" / f"step_{step:07d}"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        match = _NAME.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_checkpoint(run_dir: Path) -> tuple[int, Path] | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` complete checkpoints, and stale partial ones."""
    for _, path in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(path, ignore_errors=True)
    root = run_dir / "checkpoints"
    if root.is_dir():
        for path in root.glob("*.partial"):
            shutil.rmtree(path, ignore_errors=True)
