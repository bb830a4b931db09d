"""diffusers schedulers for training (DDPM) and sampling (DDPM, DDIM, DPM-Solver++).

Motion features are z-scored, so ``clip_sample`` is always off; the denoiser predicts
x0 (``prediction_type="sample"``) unless a config says otherwise.
"""

from __future__ import annotations

from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

from handgen.errors import HandgenError

SAMPLERS: tuple[str, ...] = ("ddpm", "ddim", "dpmpp")


def training_scheduler(
    num_train_timesteps: int = 1000, beta_schedule: str = "squaredcos_cap_v2", prediction_type: str = "sample"
) -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=num_train_timesteps,
        beta_schedule=beta_schedule,
        prediction_type=prediction_type,
        clip_sample=False,
    )


def sampling_scheduler(name: str, train_scheduler: DDPMScheduler, steps: int | None = None):
    """A sampler sharing the training noise schedule, with ``set_timesteps(steps)`` applied.

    ``steps`` defaults to the training length for DDPM, 50 for DDIM and 20 for DPM-Solver++.

    Raises:
        HandgenError: unknown sampler name or a non-positive step count.
    """
    config = train_scheduler.config
    if name == "ddpm":
        scheduler = DDPMScheduler.from_config(config, clip_sample=False)
        steps = config.num_train_timesteps if steps is None else steps
    elif name == "ddim":
        scheduler = DDIMScheduler.from_config(config, clip_sample=False, set_alpha_to_one=True)
        steps = 50 if steps is None else steps
    elif name == "dpmpp":
        scheduler = DPMSolverMultistepScheduler.from_config(
            config, algorithm_type="dpmsolver++", solver_order=2, thresholding=False, lower_order_final=True
        )
        steps = 20 if steps is None else steps
    else:
        raise HandgenError(f"unknown sampler {name!r}; choose from {', '.join(SAMPLERS)}")
    if steps <= 0 or steps > config.num_train_timesteps:
        raise HandgenError(f"--steps must be in 1..{config.num_train_timesteps}, got {steps}")
    scheduler.set_timesteps(steps)
    return scheduler


def diffusion_scheduler(cfg) -> DDPMScheduler:
    """The training noise schedule of a run config's ``diffusion`` section."""
    d = cfg.diffusion
    return training_scheduler(int(d.num_train_timesteps), str(d.beta_schedule), str(d.prediction_type))
