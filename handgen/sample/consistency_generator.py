"""ConsistencyMotionGenerator: a distilled few-step student (``motion_consistency`` run), sampled like the teacher.

One student call per step (guidance is baked in) through diffusers' ``LCMScheduler``; the
inpainting modes and long horizon reuse the teacher's loop (:func:`reverse_diffusion`):
the given values replace the student's x0 at every step and blend in at the end.
"""

from __future__ import annotations

import math

import torch

from handgen.diffusion.consistency import consistency_scheduler
from handgen.diffusion.guidance import GuidanceSchedule
from handgen.diffusion.inpainting import InpaintingCondition
from handgen.diffusion.sampling_loop import reverse_diffusion
from handgen.errors import HandgenError
from handgen.sample.diffusion_generator import DiffusionMotionGenerator

SAMPLER = "lcm"


class ConsistencyMotionGenerator(DiffusionMotionGenerator):
    """A trained student run; features in the DATA_DIR layout, as for its teacher."""

    model_types = ("motion_consistency",)

    @property
    def distilled_guidance(self) -> float:
        return float(self.cfg.distill.guidance)

    def check_options(self, sampler: str | None, guidance: float | GuidanceSchedule | None) -> None:
        """Raise HandgenError for a sampler other than ``lcm`` or a guidance scale other than the distilled one."""
        if isinstance(guidance, GuidanceSchedule):
            if guidance.noisy is not None:
                raise HandgenError(f"this student has guidance {self.distilled_guidance:g} distilled in at every "
                                   f"step; a noisy-step guidance needs its teacher ({self.cfg.teacher})")
            guidance = guidance.scale
        if sampler not in (None, SAMPLER):
            raise HandgenError(f"a consistency student samples with its own sampler ({SAMPLER}, 1-4 --steps), "
                               f"not {sampler}; sample its teacher ({self.cfg.teacher}) for {sampler}")
        if guidance is not None and not math.isclose(float(guidance), self.distilled_guidance, abs_tol=1e-6):
            raise HandgenError(f"this student has guidance {self.distilled_guidance:g} distilled in; distil again "
                               f"with distill.guidance={guidance:g}, or sample the teacher ({self.cfg.teacher})")

    @torch.no_grad()
    def sample_window(
        self,
        texts: dict[str, tuple[torch.Tensor, torch.Tensor]],
        frames: int,
        sampler: str | None = SAMPLER,
        steps: int | None = None,
        guidance: float | None = None,
        generator: torch.Generator | None = None,
        condition: InpaintingCondition | None = None,
        progress: bool = False,
    ) -> torch.Tensor:
        """One window of normalised features (B, frames, D) in ``steps`` student calls."""
        self.check_frames(frames)
        self.check_options(sampler, guidance)
        d = self.cfg.distill
        steps = int(self.cfg.sample.steps) if steps is None else int(steps)
        scheduler = self.schedulers.get((SAMPLER, steps), lambda: consistency_scheduler(
            self.train_scheduler, int(d.solver_steps), float(d.timestep_scaling), steps))
        generator = generator if generator is not None else torch.Generator().manual_seed(0)

        def predict(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.model(x_t, t, texts)  # the network's x0; the scheduler applies c_skip / c_out

        shape = (texts["left"][0].shape[0], frames, self.stats.mean.shape[0])
        return reverse_diffusion(predict, scheduler, self.train_scheduler, shape, generator, condition,
                                 self.device, progress)

    def generate(self, triplets, frames, seed=0, sampler=SAMPLER, steps=None, guidance=None, condition=None,
                 progress=False, truncate=False):
        """Raw features (B, frames, D), as :meth:`DiffusionMotionGenerator.generate` (sampler ``lcm`` only)."""
        self.check_options(sampler, guidance)
        return super().generate(triplets, frames, seed=seed, sampler=sampler, steps=steps, guidance=guidance,
                                condition=condition, progress=progress, truncate=truncate)
