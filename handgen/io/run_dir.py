"""The layout of a RUN_DIR (what ``handgen train`` writes and every loader reads), in one place.

A run dir holds:

- ``config.yaml``: the resolved config (``model_type`` says which model; see :mod:`handgen.registry`);
- ``model.safetensors`` (:data:`WEIGHTS_FILE`): the weights sampling uses (EMA weights when EMA is on);
- ``model_info.json``: sizes derived from the data (feature_dim, text_dim, clip_len, ...);
- ``data_meta.json``, ``stats.npz`` (feature normalisation), ``text_encoder.json`` (text runs);
- ``tokenizer/`` (:data:`TOKENIZER_DIR`, AR runs: a copy of the tokenizer run),
  ``object_encoder/`` (:data:`ENCODER_DIR`, grasp priors: a copy of the autoencoder run),
  ``evaluator_stats.npz`` (:data:`EVALUATOR_INPUT_STATS`, evaluator runs);
- ``log.csv``, ``checkpoints/step_NNNNNNN/`` (accelerate state), ``DONE`` when training finished.

``read_run_config`` / ``read_json`` / ``load_weights`` read them (``from_pretrained``-style),
``write_json`` / ``save_weights`` write them (``save_pretrained``-style).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from omegaconf import DictConfig

from handgen.config import load_config, read_yaml
from handgen.errors import HandgenError, InputFileError
from handgen.io.atomic import atomic_path, atomic_write_text

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.yaml"
MODEL_INFO_FILE = "model_info.json"
DONE_FILE = "DONE"
TOKENIZER_DIR = "tokenizer"
TOKENIZER_FILES: tuple[str, ...] = (CONFIG_FILE, WEIGHTS_FILE, "stats.npz", MODEL_INFO_FILE, "data_meta.json")
ENCODER_DIR = "object_encoder"
EVALUATOR_INPUT_STATS = "evaluator_stats.npz"


def run_model_type(run_dir: str | Path) -> str | None:
    """The ``model_type`` a run dir's config names (read without validating the rest).

    Raises:
        HandgenError: missing folder, or not a run dir.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HandgenError(f"{run_dir}: checkpoint folder not found")
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise HandgenError(f"{run_dir}: not a handgen run dir (no config.yaml); pass the output_dir of `handgen train`")
    return read_yaml(path).get("model_type")


def read_run_config(run_dir: str | Path, expected: tuple[str, ...] | None = None) -> DictConfig:
    """The resolved (validated) config of a run; checks it is one of the ``expected`` model types first.

    Raises:
        HandgenError: missing folder, not a run dir, a run of another model type, or an invalid config.
    """
    model_type = run_model_type(run_dir)
    if expected is not None and model_type not in expected:
        raise HandgenError(f"{run_dir}: holds a {model_type!r} model, expected {' or '.join(expected)}")
    return load_config(Path(run_dir) / CONFIG_FILE)


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


def write_json(run_dir: str | Path, name: str, data: dict) -> None:
    """Write ``RUN_DIR/name`` as indented JSON (atomically)."""
    atomic_write_text(Path(run_dir) / name, json.dumps(data, indent=2) + "\n")


def save_weights(state: dict[str, torch.Tensor], run_dir: str | Path) -> None:
    """Write ``RUN_DIR/model.safetensors`` (atomically) from a CPU state dict."""
    from safetensors.torch import save_file

    with atomic_path(Path(run_dir) / WEIGHTS_FILE, suffix=".safetensors") as tmp:
        save_file(state, str(tmp))
