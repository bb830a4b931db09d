"""handgen's own training state in safe formats, and a digest manifest for accelerate's files.

A checkpoint folder ``RUN_DIR/checkpoints/step_N/`` holds:

- accelerate's ``save_state`` files (``model.safetensors``, ``optimizer.bin``, ``scheduler.bin``,
  ``random_states_<rank>.pkl``); accelerate reads the ``.bin``/``.pkl`` ones with
  ``torch.load(weights_only=True)``;
- ``training_state.json``: the optimizer step and the EMA's scalar settings (JSON);
- ``ema.safetensors``: the EMA shadow weights (``shadow.<i>``, in parameter order);
- ``task_state.safetensors``: the task's own state (:meth:`TrainingTask.checkpoint_tensors`), when it has any;
- ``digests.json``: size and SHA-256 of every other file, written when the checkpoint is saved.

Resume verifies the whole folder against ``digests.json`` before anything is read: a changed,
added or missing file, or an old-style pickled ``custom_checkpoint_*.pkl`` (which accelerate
unpickles with ``weights_only=False``), is refused with one clear error. Nothing in the folder is
unpickled by handgen itself.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from handgen.errors import HandgenError
from handgen.io.atomic import atomic_path, atomic_write_json

DIGESTS_FILE = "digests.json"
STATE_FILE = "training_state.json"
EMA_FILE = "ema.safetensors"
TASK_FILE = "task_state.safetensors"
_EMA_SCALARS = ("decay", "min_decay", "optimization_step", "update_after_step", "use_ema_warmup", "inv_gamma", "power")


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def save_training_state(folder: Path, step: int, ema: Any | None) -> None:
    """Write ``training_state.json`` (+ ``ema.safetensors`` when EMA is on) into a checkpoint folder."""
    folder = Path(folder)
    state: dict[str, Any] = {"step": int(step), "ema": None}
    if ema is not None:
        full = ema.state_dict()
        state["ema"] = {k: full[k] for k in _EMA_SCALARS}
        tensors = {f"shadow.{i}": p.detach().cpu().clone().contiguous() for i, p in enumerate(full["shadow_params"])}
        with atomic_path(folder / EMA_FILE, suffix=".safetensors") as tmp:
            save_file(tensors, str(tmp))
    atomic_write_json(folder / STATE_FILE, state)


def load_training_state(folder: Path, ema: Any | None, device: torch.device | str = "cpu") -> int:
    """Restore the EMA from a checkpoint folder; returns the optimizer step.

    Raises:
        HandgenError: missing or malformed state files, or an EMA that does not match the model.
    """
    folder = Path(folder)
    try:
        state = json.loads((folder / STATE_FILE).read_text())
        step = int(state["step"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HandgenError(f"{folder / STATE_FILE}: unreadable training state ({exc})") from None
    if ema is not None:
        if not state.get("ema") or not (folder / EMA_FILE).is_file():
            raise HandgenError(f"{folder}: the checkpoint has no EMA state but train.ema is on")
        tensors = load_file(str(folder / EMA_FILE), device=str(device))
        n = len(ema.shadow_params)
        if sorted(tensors) != sorted(f"shadow.{i}" for i in range(n)):
            raise HandgenError(f"{folder / EMA_FILE}: holds {len(tensors)} EMA tensors, the model has {n}")
        shadow = [tensors[f"shadow.{i}"] for i in range(n)]
        for i, (new, old) in enumerate(zip(shadow, ema.shadow_params)):
            if new.shape != old.shape:
                raise HandgenError(f"{folder / EMA_FILE}: EMA tensor {i} has shape {tuple(new.shape)}, "
                                   f"the model's parameter {tuple(old.shape)}")
        try:
            ema.load_state_dict({**state["ema"], "shadow_params": shadow})
        except (ValueError, TypeError) as exc:
            raise HandgenError(f"{folder / STATE_FILE}: bad EMA settings ({exc})") from None
    return step


def save_task_state(folder: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Write a task's checkpoint tensors to ``task_state.safetensors`` (nothing when there are none)."""
    if not tensors:
        return
    cpu = {k: v.detach().cpu().clone().contiguous() for k, v in tensors.items()}  # clone: no shared storage
    with atomic_path(Path(folder) / TASK_FILE, suffix=".safetensors") as tmp:
        save_file(cpu, str(tmp))


def load_task_state(folder: Path, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """The task tensors of a checkpoint folder; ``{}`` when it holds none."""
    path = Path(folder) / TASK_FILE
    return load_file(str(path), device=str(device)) if path.is_file() else {}


def write_digests(folder: Path) -> dict[str, dict[str, Any]]:
    """Record size and SHA-256 of every file under ``folder`` in ``folder/digests.json``."""
    folder = Path(folder)
    entries = {
        p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": file_digest(p)}
        for p in sorted(folder.rglob("*")) if p.is_file() and p.name != DIGESTS_FILE
    }
    atomic_write_json(folder / DIGESTS_FILE, {"format": 1, "files": entries})
    return entries


def verify_checkpoint(folder: Path) -> None:
    """Refuse a checkpoint folder that is not exactly what handgen saved.

    Raises:
        HandgenError: no digest manifest, a pickled custom state file, or a file added, missing or changed
            since the checkpoint was saved (named in the message).
    """
    folder = Path(folder)
    pickled = sorted(p.name for p in folder.glob("custom_checkpoint_*.pkl"))
    if pickled:
        raise HandgenError(f"{folder}: refusing to resume: {pickled[0]} is a pickle that would be loaded with "
                           "weights_only=False (a checkpoint from an older handgen); start a new run")
    try:
        listed = json.loads((folder / DIGESTS_FILE).read_text())["files"]
        assert isinstance(listed, dict)
    except FileNotFoundError:
        raise HandgenError(f"{folder}: refusing to resume: no {DIGESTS_FILE} (a checkpoint not saved by this "
                           "handgen, or an incomplete one); start a new run") from None
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise HandgenError(f"{folder / DIGESTS_FILE}: malformed digest manifest; refusing to resume") from None
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != DIGESTS_FILE}
    for name in sorted(present - set(listed)):
        raise HandgenError(f"{folder / name}: not in the checkpoint's {DIGESTS_FILE} (added after saving); "
                           "refusing to resume")
    for name, entry in sorted(listed.items()):
        path = folder / name
        if name not in present:
            raise HandgenError(f"{path}: listed in {DIGESTS_FILE} but missing; refusing to resume")
        if path.stat().st_size != entry.get("size") or file_digest(path) != entry.get("sha256"):
            raise HandgenError(f"{path}: changed since the checkpoint was saved (digest mismatch); "
                               "refusing to resume")
