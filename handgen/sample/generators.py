"""Which generator samples a motion RUN_DIR (picked by the run's ``model_type``).

Minimal version (diffusion only) written for the evaluation commands; the AR branch brings
the full factory with the same ``open_generator`` entry point.
"""

from __future__ import annotations

from pathlib import Path

from handgen.errors import HandgenError


def open_generator(run_dir: str | Path, device: str = "cpu"):
    """The generator of a motion run dir: ``generate(triplets, frames, seed=..., **options)``.

    Raises:
        HandgenError: not a run dir, or a run of a model that does not sample motions.
    """
    from handgen.sample.run_dir import read_run_config

    model_type = read_run_config(run_dir).get("model_type")
    if model_type == "motion_diffusion":
        from handgen.sample.diffusion_generator import DiffusionMotionGenerator

        return DiffusionMotionGenerator(run_dir, device=device)
    raise HandgenError(f"{run_dir}: holds a {model_type!r} model, not a motion generator")


load_generator = open_generator
