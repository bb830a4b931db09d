"""The contract between the training loop and a model type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn


class TrainingTask:
    """What a model type provides to the training loop (:func:`handgen.train.loop.train`).

    Subclasses set ``model_type`` and implement the methods below. Batches are built
    from item indices so that the loop can make them deterministic (see batching.py).
    """

    model_type: str = ""

    def __init__(self, cfg: DictConfig, run_dir: Path) -> None:
        self.cfg = cfg
        self.run_dir = run_dir

    def build_model(self) -> nn.Module:
        raise NotImplementedError

    def num_train_items(self) -> int:
        raise NotImplementedError

    def prepare(self, device: torch.device) -> None:
        """Work done once before the first step, on the training device (default: none); not in samples/s."""

    def make_batch(self, indices: np.ndarray, split: str = "train") -> dict[str, torch.Tensor]:
        """Tensors of the items ``indices`` of ``split`` (on CPU; the loop moves them)."""
        raise NotImplementedError

    def compute_loss(self, model: nn.Module, batch: dict[str, torch.Tensor], train: bool) -> tuple[torch.Tensor, dict[str, float]]:
        """Scalar loss and named float logs. ``train`` is False for validation."""
        raise NotImplementedError

    def val_batches(self, batch_size: int) -> list[np.ndarray]:
        """Fixed index batches of the validation split (empty list: no validation)."""
        return []

    def write_artifacts(self, run_dir: Path) -> None:
        """Files sampling needs besides the weights (stats, text encoder name, ...); main process only."""

    def checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        """State the task keeps beside the model (target networks, auxiliary optimisers, counters), saved in
        every checkpoint so that ``resume=latest`` continues exactly (default: none). Names are free-form."""
        return {}

    def restore_checkpoint_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`checkpoint_tensors` saved; ``{}`` for a checkpoint that holds none (an older
        handgen's). Raises HandgenError when the tensors do not fit the task."""

    def val_metrics(self, model: nn.Module) -> dict[str, float]:
        """Extra validation figures computed with the EMA weights (optional)."""
        return {}
