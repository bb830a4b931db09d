"""diffusers schedulers for training (DDPM) and sampling (DDPM, DDIM, DPM-Solver++).

Motion features are z-scored, so ``clip_sample`` is always off. The motion denoiser module always
returns x0 (a ``v_prediction`` network converts its v inside, handgen/models/motion_denoiser.py), so the
motion schedulers are given x0 (``prediction_type="sample"``) whatever the config's ``prediction_type``.

DPM-Solver++ runs on :func:`quadratic_timesteps` (dense near t = 0, last step at t = 0). With
diffusers' evenly spaced timesteps its last x0 is predicted from t = 50 of 1000 (20 steps), where x_t
still carries noise of std 0.09 (cosine schedule) and a small denoiser lets part of it through frame by
frame: that residue was most of the samples' jitter (docs/motion_eval.md, "Jitter and intensity by stage").
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from typing import TypeVar

from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

from handgen.errors import HandgenError

SAMPLERS: tuple[str, ...] = ("ddpm", "ddim", "dpmpp")

Scheduler = TypeVar("Scheduler")


class SchedulerCache:
    """Sampling schedulers set up once per key and handed out as copies.

    Setting one up (diffusers' ``from_config``, the beta schedule in a Python loop, ``set_timesteps``)
    costs 1.5-2 ms on a CPU core, a copy 0.3 ms: a few percent of a few-step sample. A scheduler keeps
    its step index (and DPM-Solver++ its past model outputs), so every sampling loop gets its own copy.
    """

    def __init__(self) -> None:
        self._built: dict[Hashable, object] = {}

    def get(self, key: Hashable, build: Callable[[], Scheduler]) -> Scheduler:
        """A fresh copy of the scheduler ``build()`` makes for ``key`` (built on the key's first use)."""
        if key not in self._built:
            self._built[key] = build()
        return copy.deepcopy(self._built[key])


def training_scheduler(
    num_train_timesteps: int = 1000, beta_schedule: str = "squaredcos_cap_v2", prediction_type: str = "sample"
) -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=num_train_timesteps,
        beta_schedule=beta_schedule,
        prediction_type=prediction_type,
        clip_sample=False,
    )


def quadratic_timesteps(steps: int, num_train_timesteps: int = 1000) -> list[int]:
    """``steps`` distinct timesteps from ``num_train_timesteps - 1`` down to 0, spaced as (i / (steps - 1))^2.

    Each is at least one above the next (the low end of a long schedule is then every timestep).
    """
    if steps == 1:
        return [num_train_timesteps - 1]
    out: list[int] = []
    for i in range(steps):
        t = round((num_train_timesteps - 1) * (i / (steps - 1)) ** 2)
        out.append(max(t, out[-1] + 1) if out else t)
    return out[::-1]


def sampling_scheduler(name: str, train_scheduler: DDPMScheduler, steps: int | None = None):
    """A sampler sharing the training noise schedule, with ``set_timesteps(steps)`` applied.

    ``steps`` defaults to the training length for DDPM, 50 for DDIM and 20 for DPM-Solver++
    (on :func:`quadratic_timesteps`; DDIM's evenly spaced steps already end at t = 0).

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
    if name == "dpmpp":
        scheduler.set_timesteps(timesteps=quadratic_timesteps(steps, config.num_train_timesteps))
    else:
        scheduler.set_timesteps(steps)
    return scheduler


def diffusion_scheduler(cfg) -> DDPMScheduler:
    """The noise schedule of a motion run config's ``diffusion`` section, stepped on x0 (``prediction_type``
    "sample" for either parameterisation: the denoiser module returns x0)."""
    d = cfg.diffusion
    return training_scheduler(int(d.num_train_timesteps), str(d.beta_schedule), "sample")
