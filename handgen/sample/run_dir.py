"""Reading a RUN_DIR written by training: config, model type, stats, weights."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from omegaconf import DictConfig

from handgen.config import load_config
from handgen.errors import HandgenError, InputFileError
from handgen.train.loop import WEIGHTS_FILE


def read_run_config(run_dir: str | Path, expected: tuple[str, ...] | None = None) -> DictConfig:
    """The resolved config of a run; checks it is one of the ``expected`` model types.

    Raises:
        HandgenError: missing folder, not a run dir, or a run of another model type.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HandgenError(f"{run_dir}: checkpoint folder not found")
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise HandgenError(f"{run_dir}: not a handgen run dir (no config.yaml); pass the output_dir of `handgen train`")
    cfg = load_config(path)
    model_type = cfg.get("model_type")
    if expected is not None and model_type not in expected:
        raise HandgenError(f"{run_dir}: holds a {model_type!r} model, expected {' or '.join(expected)}")
    return cfg


def read_json(run_dir: Path, name: str) -> dict:
    path = Path(run_dir) / name
    if not path.is_file():
        raise InputFileError(path, "missing from the run dir (was training interrupted before its first checkpoint?)")
    return json.loads(path.read_text())


def load_weights(model: torch.nn.Module, run_dir: str | Path) -> torch.nn.Module:
    """Load RUN_DIR/model.safetensors (EMA weights when EMA was on) into ``model``."""
    from safetensors.torch import load_file

    path = Path(run_dir) / WEIGHTS_FILE
    if not path.is_file():
        raise InputFileError(path, "no trained weights (training writes them at each checkpoint)")
    try:
        state = load_file(str(path))
    except Exception as exc:
        raise InputFileError(path, f"unreadable weights ({exc})") from exc
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise InputFileError(path, f"weights do not match the model (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.eval()
