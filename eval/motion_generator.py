"""Open the generator of any motion RUN_DIR for evaluation and benchmarks.

``handgen.sample.generators`` (the factory that picks diffusion or AR by the run's
``model_type``) is used when this handgen has it; otherwise only diffusion runs can be
opened, directly through :class:`~handgen.sample.diffusion_generator.DiffusionMotionGenerator`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from handgen.errors import HandgenError


def open_motion_generator(run_dir: str | Path, device: str = "cpu"):
    """A generator with ``cfg`` and ``generate(triplets, frames, seed=..., **options)``.

    Raises:
        HandgenError: not a run dir, or a run whose model this handgen cannot sample.
    """
    try:
        factory = importlib.import_module("handgen.sample.generators")
    except ModuleNotFoundError as exc:
        if exc.name != "handgen.sample.generators":
            raise
        factory = None
    opener = getattr(factory, "load_generator", None) or getattr(factory, "open_generator", None)
    if opener is not None:
        return opener(run_dir, device=device)
    from handgen.sample.run_dir import read_run_config

    model_type = read_run_config(run_dir).get("model_type")
    if model_type != "motion_diffusion":
        raise HandgenError(f"{run_dir}: holds a {model_type!r} model; this handgen evaluates motion_diffusion runs "
                           "(the AR model needs handgen.sample.generators)")
    from handgen.sample.diffusion_generator import DiffusionMotionGenerator

    return DiffusionMotionGenerator(run_dir, device=device)
