"""DiffusionMotionGenerator: texts (+ optional inpainting condition) -> bimanual motion features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from handgen.diffusion.guidance import GuidanceSchedule, guided_x0
from handgen.diffusion.inpainting import InpaintingCondition
from handgen.diffusion.sampling_loop import reverse_diffusion
from handgen.diffusion.schedulers import SchedulerCache, diffusion_scheduler, sampling_scheduler
from handgen.errors import HandgenError
from handgen.io.run_dir import load_weights
from handgen.models.motion_denoiser import build_denoiser
from handgen.repr.features import translate_features
from handgen.repr.normalization import FeatureStats
from handgen.sample.conditioning import condition_tensors
from handgen.sample.long_horizon import chain_windows
from handgen.sample.text_motion_run import TextMotionRun

MIN_FRAMES = 16


class DiffusionMotionGenerator(TextMotionRun):
    """A trained motion diffusion run, ready to sample. Features are in the DATA_DIR layout (D=324)."""

    model_types = ("motion_diffusion",)

    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        super().__init__(run_dir, device)
        self.stats = FeatureStats.load(self.run_dir / "stats.npz")
        self.model = load_weights(build_denoiser(self.cfg, self.info["feature_dim"], self.info["text_dim"]),
                                  self.run_dir)
        self.model.to(self.device)
        self.train_scheduler = diffusion_scheduler(self.cfg)
        self.schedulers = SchedulerCache()  # sampling schedulers by (sampler, steps), copied per sample

    def check_frames(self, frames: int) -> None:
        if frames < MIN_FRAMES:
            raise HandgenError(f"--frames must be at least {MIN_FRAMES} for this model, got {frames}")

    @torch.no_grad()
    def sample_window(
        self,
        texts: dict[str, tuple[torch.Tensor, torch.Tensor]],
        frames: int,
        sampler: str = "dpmpp",
        steps: int | None = None,
        guidance: float | GuidanceSchedule = 2.5,
        generator: torch.Generator | None = None,
        condition: InpaintingCondition | None = None,
        progress: bool = False,
    ) -> torch.Tensor:
        """One window of normalised features (B, frames, D); ``guidance`` a scale or a per-step schedule."""
        self.check_frames(frames)
        batch = texts["left"][0].shape[0]
        scheduler = self.schedulers.get((sampler, steps), lambda: sampling_scheduler(sampler, self.train_scheduler, steps))
        generator = generator if generator is not None else torch.Generator().manual_seed(0)

        schedule = GuidanceSchedule.of(guidance)

        def predict(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return guided_x0(self.model, x_t, t, texts, schedule.at(int(t[0])))

        shape = (batch, frames, self.stats.mean.shape[0])
        return reverse_diffusion(predict, scheduler, self.train_scheduler, shape, generator, condition,
                                 self.device, progress)

    def normalize(self, features: np.ndarray | torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.stats.normalize(np.asarray(features, dtype=np.float32)))

    def denormalize(self, features: torch.Tensor) -> np.ndarray:
        return self.stats.denormalize(features.detach().cpu().numpy().astype(np.float32))

    def generate(
        self,
        triplets: list[dict[str, str]],
        frames: int,
        seed: int = 0,
        sampler: str = "dpmpp",
        steps: int | None = None,
        guidance: float | GuidanceSchedule = 2.5,
        condition=None,
        progress: bool = False,
        truncate: bool = False,
    ) -> torch.Tensor:
        """Raw features (B, frames, D), one sample per triplet.

        ``truncate``: texts over the model's token budget are cut (as in training) instead of
        refused (:meth:`~handgen.sample.text_motion_run.TextMotionRun.encode`). Without a condition the sample is in the canonical frame (right wrist at frame 0 near
        the origin); ``frames`` beyond the clip length are generated window by window
        (long horizon). With a :class:`~handgen.sample.conditioning.MotionCondition` the sample
        is returned in the condition's own coordinates.
        """
        self.check_frames(frames)
        texts = self.encode(triplets, truncate)
        generator = torch.Generator().manual_seed(seed)

        def window(n: int, cond: InpaintingCondition | None) -> torch.Tensor:
            x = self.sample_window(texts, n, sampler, steps, guidance, generator, cond, progress)
            return torch.as_tensor(self.denormalize(x))

        def normalize(raw: torch.Tensor) -> torch.Tensor:
            return self.normalize(raw.numpy())

        if condition is not None:
            if frames > self.cfg.model.max_frames:
                raise HandgenError(f"conditioned sampling is limited to {self.cfg.model.max_frames} frames")
            known, mask = condition_tensors(condition, self.normalize, len(triplets))
            out = window(frames, InpaintingCondition(known, mask))
            return translate_features(out, torch.as_tensor(-condition.offset, dtype=out.dtype).expand(len(triplets), 3))
        if frames <= self.clip_len:
            return window(frames, None)
        return chain_windows(window, normalize, frames, self.clip_len)
