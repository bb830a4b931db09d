"""Per-dimension z-normalisation statistics of the motion features."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handgen.io.atomic import atomic_save_npz


@dataclass
class FeatureStats:
    """Mean and standard deviation (D,) of the features over the training split."""

    mean: np.ndarray
    std: np.ndarray

    STD_FLOOR = 1e-3

    @classmethod
    def from_features(cls, features: np.ndarray) -> "FeatureStats":
        """Statistics of features (N, D) (any leading dims are flattened)."""
        flat = np.asarray(features, dtype=np.float64).reshape(-1, features.shape[-1])
        if len(flat) == 0:
            raise ValueError("cannot compute feature statistics from zero frames")
        return cls(mean=flat.mean(axis=0), std=np.maximum(flat.std(axis=0), cls.STD_FLOOR))

    def normalize(self, x):
        return (x - self._as(x, self.mean)) / self._as(x, self.std)

    def denormalize(self, x):
        return x * self._as(x, self.std) + self._as(x, self.mean)

    @staticmethod
    def _as(x, value: np.ndarray):
        if isinstance(x, torch.Tensor):
            return torch.as_tensor(value, dtype=x.dtype, device=x.device)
        return value.astype(np.asarray(x).dtype, copy=False)

    def save(self, path: str | Path) -> None:
        atomic_save_npz(path, mean=self.mean, std=self.std)

    @classmethod
    def load(cls, path: str | Path) -> "FeatureStats":
        """Raises FileNotFoundError / ValueError on a missing or malformed file."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: normalisation statistics not found")
        with np.load(path, allow_pickle=False) as data:
            if "mean" not in data or "std" not in data:
                raise ValueError(f"{path}: expected arrays 'mean' and 'std'")
            mean, std = data["mean"], data["std"]
        if mean.shape != std.shape or mean.ndim != 1:
            raise ValueError(f"{path}: 'mean' and 'std' must be 1-D and the same shape")
        return cls(mean=mean, std=std)
