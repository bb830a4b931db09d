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


@pytest.fixture(scope="session")
def synthetic_data_dir(tmp_path_factory) -> Path:
    """A DATA_DIR of hand-only ``prep synthetic`` data (48 sequences of 90 frames -> 96 clips, seed 5)
    converted by ``prep arctic``, with ground-truth captions and labels. Shared by many tests: copy it
    before changing it. (Hand-object sequences have their own fixtures.)"""
    from data_prep.prep_arctic import prep_arctic
    from data_prep.synthetic.generate import generate

    root = tmp_path_factory.mktemp("synthetic")
    generate(root / "raw", num_seqs=48, seed=5, frames=90, progress=False, objects=0.0)
    prep_arctic(root / "raw", root / "data", progress=False)
    return root / "data"


@pytest.fixture(scope="session")
def synthetic_object_data_dir(tmp_path_factory) -> Path:
    """A DATA_DIR of hand-object ``prep synthetic`` data converted by ``prep arctic``: 6 sequences of 90
    frames, all with an object (seed 10, primitives only: box, cylinder, sphere, lidded box), 12 clips
    that turn, tilt, open the lid and push, with one hand free in some and hands reaching for the
    object in others. Shared: copy it before changing it."""
    from data_prep.prep_arctic import prep_arctic
    from data_prep.synthetic.generate import generate

    root = tmp_path_factory.mktemp("synthetic_objects")
    generate(root / "raw", num_seqs=6, seed=10, frames=90, progress=False, objects=1.0, ycb_dir=root / "no_ycb")
    prep_arctic(root / "raw", root / "data", progress=False)
    return root / "data"


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


@pytest.fixture(scope="session")
def trained_tokenizer(synthetic_data_dir, tmp_path_factory) -> Path:
    """A tokenizer run dir from a few steps of configs/fsq_tiny.yaml (in-process)."""
    from handgen.train.loop import run_training

    run = tmp_path_factory.mktemp("fsq") / "run"
    return run_training(str(REPO / "configs" / "fsq_tiny.yaml"), tiny_tokenizer_overrides(
        synthetic_data_dir, run, max_steps=12, **{"train.val_every": 6, "train.checkpoint_every": 12}))


@pytest.fixture(scope="session")
def trained_ar(trained_tokenizer, tmp_path_factory) -> Path:
    """An AR run dir from a few steps of configs/motion_ar_tiny.yaml over ``trained_tokenizer`` (in-process)."""
    from handgen.train.loop import run_training

    run = tmp_path_factory.mktemp("ar") / "run"
    return run_training(str(REPO / "configs" / "motion_ar_tiny.yaml"), tiny_ar_overrides(
        trained_tokenizer, run, max_steps=6, **{"train.val_every": 3, "train.checkpoint_every": 6}))


@pytest.fixture(scope="session")
def tiny_diffusion_run(synthetic_data_dir, tmp_path_factory) -> Path:
    """A tiny motion diffusion model trained for a few dozen steps (once per session)."""
    run = tmp_path_factory.mktemp("diffusion") / "run"
    config = str(REPO / "configs" / "motion_diffusion_tiny.yaml")
    overrides = tiny_diffusion_overrides(synthetic_data_dir, run, max_steps=60, **{
        "train.checkpoint_every": 60, "train.val_every": 60, "train.lr": 0.002, "train.batch_size": 16})
    run_cli("-q", "train", "--config", config, *overrides, check=True)
    return run


def cli_in_process(*args: str) -> int:
    """Run ``handgen ARGS`` in this process (fast: imports are shared); returns the exit code."""
    from handgen.cli import main

    return main([str(a) for a in args])

