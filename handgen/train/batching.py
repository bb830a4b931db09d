"""Deterministic batches: the items of micro-batch m are a pure function of (seed, m).

This makes resuming exact without saving data-loader state: after a restart at step s the
run sees the same batches (and, with per-step seeding, the same noise) as an
uninterrupted run.
"""

from __future__ import annotations

import numpy as np


class StepSampler:
    """Epoch-wise random permutations of ``num_items``, cut into global batches."""

    def __init__(self, num_items: int, batch_size: int, seed: int) -> None:
        if num_items <= 0:
            raise ValueError("cannot sample batches from an empty dataset")
        self.num_items = num_items
        self.batch_size = batch_size
        self.seed = seed
        self._perms: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            if len(self._perms) > 4:
                self._perms.clear()
            self._perms[epoch] = np.random.default_rng([self.seed, epoch]).permutation(self.num_items)
        return self._perms[epoch]

    def global_batch(self, micro_step: int) -> np.ndarray:
        """Item indices (batch_size,) of a micro-batch across all processes."""
        start = micro_step * self.batch_size
        out = np.empty(self.batch_size, dtype=np.int64)
        for i in range(self.batch_size):
            pos = start + i
            out[i] = self._perm(pos // self.num_items)[pos % self.num_items]
        return out

    def local_batch(self, micro_step: int, rank: int, world: int) -> np.ndarray:
        """This process's share of the micro-batch (every ``world``-th item from ``rank``)."""
        return self.global_batch(micro_step)[rank::world]


def step_seed(seed: int, micro_step: int, rank: int) -> int:
    """A 63-bit seed for the random numbers (noise, timesteps, dropout) of one micro-step."""
    return int(np.random.default_rng([seed, micro_step, rank, 7]).integers(0, 2**63 - 1))
