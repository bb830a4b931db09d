"""Shared pytest fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared from the project root; worktrees nested deeper find it further up
SHARED = next((p / "shared" for p in REPO.parents if (p / "shared" / "data").is_dir()), REPO.parent / "shared")
YCB_DIR = SHARED / "data" / "ycb"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def hand_pair():
    from handgen.hand import HandPair, ProceduralHand

    return HandPair(ProceduralHand("left"), ProceduralHand("right"))


def run_cli(*args: str, cwd: str | Path | None = None, env: dict | None = None, check: bool = False):
    """Run ``python -m handgen ARGS`` in a subprocess; returns CompletedProcess (text)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.pop("HANDGEN_MANO_DIR", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "handgen", *map(str, args)],
        cwd=cwd or REPO, env=full_env, capture_output=True, text=True,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"handgen {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc
