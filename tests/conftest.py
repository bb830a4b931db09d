"""Shared pytest fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
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


@pytest.fixture(scope="session")
def synthetic_data_dir(tmp_path_factory) -> Path:
    """A small DATA_DIR from `handgen prep synthetic` + `handgen prep arctic` (made once per session)."""
    root = tmp_path_factory.mktemp("synthetic")
    raw, data = root / "raw", root / "data"
    run_cli("-q", "prep", "synthetic", "--out", raw, "--num-seqs", "24", "--seed", "0", check=True)
    run_cli("-q", "prep", "arctic", "--src", raw, "--out", data, check=True)
    return data


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
            "train.batch_size": 8, "train.warmup_steps": 0, "train.log_every": 1, "train.val_items": 8}
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]


def tiny_ar_overrides(tokenizer: Path, out: Path, **extra) -> list[str]:
    """Overrides that make configs/motion_ar_tiny.yaml train in seconds."""
    base = {"tokenizer": tokenizer, "output_dir": out, "model.layers": 1, "model.width": 32, "model.heads": 2,
            "model.ff": 64, "train.batch_size": 8, "train.warmup_steps": 0, "train.log_every": 1,
            "train.val_items": 8, "text.max_tokens": 12, "model.max_positions": 80}
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]


@pytest.fixture(scope="session")
def trained_tokenizer(synthetic_data_dir, tmp_path_factory) -> Path:
    """A tokenizer run dir from a few steps of configs/fsq_tiny.yaml (in-process)."""
    from handgen.train.loop import run_training

    run = tmp_path_factory.mktemp("fsq") / "run"
    return run_training(str(REPO / "configs" / "fsq_tiny.yaml"), tiny_tokenizer_overrides(
        synthetic_data_dir, run, max_steps=6, **{"train.val_every": 3, "train.checkpoint_every": 6}))


@pytest.fixture(scope="session")
def trained_ar(trained_tokenizer, tmp_path_factory) -> Path:
    """An AR run dir from a few steps of configs/motion_ar_tiny.yaml over ``trained_tokenizer`` (in-process)."""
    from handgen.train.loop import run_training

    run = tmp_path_factory.mktemp("ar") / "run"
    return run_training(str(REPO / "configs" / "motion_ar_tiny.yaml"), tiny_ar_overrides(
        trained_tokenizer, run, max_steps=6, **{"train.val_every": 3, "train.checkpoint_every": 6}))
