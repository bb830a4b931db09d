"""Helpers shared by the tests (import them from here; fixtures live in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# ../shared from the project root; worktrees nested deeper find it further up
SHARED = next((p / "shared" for p in REPO.parents if (p / "shared" / "data").is_dir()), REPO.parent / "shared")
YCB_DIR = SHARED / "data" / "ycb"

# MANO's layout (docs/reference.md section 1), written out so that tests do not reuse the code under test
MANO_KEYPOINT_ORDER = [0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20]
MANO_PARENTS = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14]
MANO_TIPS = {"right": [745, 317, 444, 556, 673], "left": [745, 317, 445, 556, 673]}


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


def tiny_diffusion_overrides(data: Path, out: Path, **extra) -> list[str]:
    """Overrides that make configs/motion_diffusion_tiny.yaml train in seconds."""
    base = {
        "data": data, "output_dir": out, "model.layers": 1, "model.width": 64, "model.ff": 128,
        "train.batch_size": 8, "train.warmup_steps": 0, "train.log_every": 1, "train.val_items": 8,
        "text.max_tokens": 12,
    }
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]


def tiny_tokenizer_overrides(data: Path, out: Path, **extra) -> list[str]:
    """Overrides that make configs/fsq_tiny.yaml train in seconds."""
    base = {"data": data, "output_dir": out, "model.width": 32, "model.blocks": 1, "model.levels": "[8,5,5,5]",
            "model.groups": 2,
            "train.batch_size": 8, "train.warmup_steps": 0, "train.log_every": 1, "train.val_items": 8}
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]


def tiny_ar_overrides(tokenizer: Path, out: Path, **extra) -> list[str]:
    """Overrides that make configs/motion_ar_tiny.yaml train in seconds."""
    base = {"tokenizer": tokenizer, "output_dir": out, "model.layers": 1, "model.width": 32, "model.heads": 2,
            "model.ff": 64, "train.batch_size": 8, "train.warmup_steps": 0, "train.log_every": 1,
            "train.val_items": 8, "text.max_tokens": 12, "model.max_positions": 112}
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]


def cli_in_process(*args: str) -> int:
    """Run ``handgen ARGS`` in this process (fast: imports are shared); returns the exit code."""
    from handgen.cli import main

    return main([str(a) for a in args])


# seconds-sized variants of the tiny configs (coarser object SDF grids too)
TINY_AE = ["model.channels=8", "max_steps=20", "train.batch_size=4", "train.val_every=20", "train.checkpoint_every=20",
           "train.warmup_steps=5", "train.log_every=10", "sdf.cells=32"]
TINY_PRIOR = ["model.channels=8", "max_steps=20", "train.batch_size=4", "train.val_every=20", "train.checkpoint_every=20",
              "train.warmup_steps=10", "train.log_every=5", "train.lr=0.003", "sdf.cells=32"]
