"""``handgen.load(run_dir)``: the ready-to-use object of any trained run."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from handgen.device import resolve_device
from handgen.io.run_dir import run_model_type
from handgen.registry import model_kind, resolve


def load(run_dir: str | Path, device: str | None = "auto", **options: Any) -> Any:
    """The object for a run dir, chosen by its ``model_type`` (see :mod:`handgen.registry`):

    ``motion_diffusion`` / ``motion_ar`` -> :class:`~handgen.api.motion_generator.MotionGenerator`,
    ``grasp_prior`` -> :class:`~handgen.api.grasp_synthesizer.GraspSynthesizer`,
    ``fsq_tokenizer`` -> :class:`~handgen.sample.tokenizer_run.TokenizerRun`,
    ``motion_evaluator`` -> :class:`~handgen.sample.evaluator_run.Evaluator`,
    ``grasp_vqvae`` -> the frozen object autoencoder.
    ``options`` (e.g. ``mano_dir``) go to that class when it takes them.

    Raises:
        HandgenError: not a run dir, or a run of an unknown model type.
    """
    kind = model_kind(run_model_type(run_dir))
    target = resolve(kind.run)
    params = inspect.signature(target).parameters
    kwargs = {k: v for k, v in {"device": device, **options}.items() if k in params}
    if "device" in kwargs:
        kwargs["device"] = resolve_device(kwargs["device"])
    return target(run_dir, **kwargs)
