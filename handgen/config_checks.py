"""Range and type checks for config values, so a nonsense setting is a one-line error, not a traceback
or a silently wrong run (``max_steps=-5``, ``train.batch_size=0``, ``train.lr=nan``, ``max_steps=abc``).

Two kinds of checks, both raising :class:`~handgen.errors.HandgenError` naming the key:

- type: an override must keep the kind of the value the YAML file gives (integer, number, boolean);
- range: every key in :data:`RULES` (and the pattern rules below) must be finite and inside its range.
  Keys a config does not have, and ``null`` values (use the default), are not checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from handgen.errors import HandgenError


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Rule:
    """``kind`` is "int" or "float"; the value must lie in [lo, hi] (open ends with lo_open / hi_open)."""

    kind: str
    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False

    def describe(self) -> str:
        lo = "" if self.lo == -math.inf else ("> " if self.lo_open else ">= ") + _num(self.lo)
        hi = "" if self.hi == math.inf else ("< " if self.hi_open else "<= ") + _num(self.hi)
        what = "an integer" if self.kind == "int" else "a number"
        return f"{what} {' and '.join(x for x in (lo, hi) if x)}".strip()

    def accepts(self, value: float) -> bool:
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return above and below


POSITIVE_INT, NONNEG_INT = Rule("int", 1), Rule("int", 0)
POSITIVE, NONNEG, UNIT = Rule("float", 0, lo_open=True), Rule("float", 0), Rule("float", 0, 1)
LOSS_SWITCHES = frozenset({"derivatives_in_data_units", "snr_weighting"})  # true/false keys of loss sections (no range)
RULES: dict[str, Rule] = {
    "max_steps": POSITIVE_INT,
    "seed": Rule("int", 0, 2**32 - 1),
    "train.batch_size": POSITIVE_INT,
    "train.lr": POSITIVE,
    "train.weight_decay": NONNEG,
    "train.warmup_steps": NONNEG_INT,
    "train.grad_accum": POSITIVE_INT,
    "train.grad_clip": NONNEG,
    "train.ema_decay": Rule("float", 0, 1, hi_open=True),
    "train.checkpoint_every": POSITIVE_INT,
    "train.checkpoints_total_limit": POSITIVE_INT,
    "train.val_every": POSITIVE_INT,
    "train.val_items": NONNEG_INT,
    "train.log_every": POSITIVE_INT,
    "train.crop_frames": POSITIVE_INT,
    "train.input_noise": NONNEG,
    "augment.jitter": NONNEG,
    "diffusion.num_train_timesteps": POSITIVE_INT,
    "text.max_tokens": POSITIVE_INT,
    "model.layers": POSITIVE_INT,
    "model.width": POSITIVE_INT,
    "model.heads": POSITIVE_INT,
    "model.ff": POSITIVE_INT,
    "model.max_frames": POSITIVE_INT,
    "model.max_positions": POSITIVE_INT,
    "model.latent": POSITIVE_INT,
    "model.channels": POSITIVE_INT,
    "model.groups": POSITIVE_INT,
    "model.frames_per_token": POSITIVE_INT,
    "model.res_blocks": NONNEG_INT,
    "model.band_limit": Rule("float", 0, 1, lo_open=True),
    "model.principal_components": POSITIVE_INT,
    "model.downsample": NONNEG_INT,
    "model.codebook_size": NONNEG_INT,
    "model.commitment": NONNEG,
    "sample.steps": POSITIVE_INT,
    "sample.guidance": NONNEG,
    "sample.noisy_guidance": NONNEG,
    "sample.noisy_from": NONNEG_INT,
    "sample.temperature": POSITIVE,
    "sample.top_p": Rule("float", 0, 1, lo_open=True),
    "sds.steps": POSITIVE_INT,
    "sds.inits": POSITIVE_INT,
    "sds.eval_draws": POSITIVE_INT,
    "sds.lr": POSITIVE,
    "sds.guidance": NONNEG,
    "refine.steps": NONNEG_INT,
    "sdf.cells": Rule("int", 8),
    "distill.guidance": NONNEG,
    "distill.solver_steps": POSITIVE_INT,
    "distill.target_ema": Rule("float", 0, 1, hi_open=True),
    "distill.timestep_scaling": POSITIVE,
    "distill.ode_pairs": NONNEG_INT,
    "distill.pair_weight": NONNEG,
    "distill.pair_solver_steps": POSITIVE_INT,
    "distill.dm_weight": NONNEG,
    "distill.dm_warmup": NONNEG_INT,
    "distill.fake_updates": POSITIVE_INT,
    "loss.derivative_scale": UNIT,
    "loss.max_weight": Rule("float", 1),
}


def _rule_for(key: str) -> Rule | None:
    if key in RULES:
        return RULES[key]
    leaf = key.rsplit(".", 1)[-1]
    if leaf.endswith("_prob") or leaf == "dropout":
        return UNIT
    if key.startswith("loss.") and leaf not in LOSS_SWITCHES:
        return Rule("float", 0) if leaf != "temperature" else POSITIVE
    return None


def _leaves(cfg: Any, prefix: str = ""):
    if isinstance(cfg, DictConfig):
        for key in cfg:
            node = cfg._get_node(key)
            value = None if node is None or node._is_missing() else cfg[key]
            yield from _leaves(value, f"{prefix}{key}.")
    else:
        yield prefix[:-1], cfg


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return None


def check_value(key: str, value: Any) -> None:
    """Check one value against its rule (no rule, ``None``: accepted).

    Raises:
        HandgenError: not a number of the right kind, not finite, or out of range.
    """
    rule = _rule_for(key)
    if rule is None or value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise HandgenError(f"{key}={value!r}: expected {rule.describe()}")
    if rule.kind == "int" and not (isinstance(value, int) or float(value).is_integer()):
        raise HandgenError(f"{key}={value!r}: expected {rule.describe()}")
    if not math.isfinite(value) or not rule.accepts(value):
        raise HandgenError(f"{key}={value!r}: must be {rule.describe()}")


def check_config(cfg: DictConfig, defaults: DictConfig | None = None) -> None:
    """Type-check ``cfg`` against the file's ``defaults`` and range-check every value with a rule.

    Raises:
        HandgenError: the first offending key, as ``key=value: expected ...``.
    """
    base = dict(_leaves(defaults)) if defaults is not None else {}
    for key, value in _leaves(cfg):
        if isinstance(value, ListConfig):
            value = OmegaConf.to_container(value)
        expected = _kind(base.get(key))
        got = _kind(value)
        if expected is not None and value is not None and got != expected and not (expected == "float" and got == "int"):
            what = {"int": "an integer", "float": "a number", "bool": "true or false"}[expected]
            raise HandgenError(f"{key}={value!r}: expected {what}")
        if isinstance(value, float) and not math.isfinite(value):
            raise HandgenError(f"{key}={value!r}: must be a finite number")
        if not isinstance(value, list):
            check_value(key, value)


def check_training_config(cfg: DictConfig) -> None:
    """The checks ``handgen train`` needs before any work starts (configs built in Python too).

    Raises:
        HandgenError: a missing required key or an out-of-range value.
    """
    for key in ("model_type", "output_dir", "max_steps", "seed"):
        if key not in cfg or cfg[key] is None:
            raise HandgenError(f"config key {key!r} is required")
    check_config(cfg)
