"""The reverse-diffusion loop for x0-predicting motion denoisers."""

from __future__ import annotations

from typing import Callable

import torch
from tqdm.auto import tqdm

from handgen.diffusion.inpainting import InpaintingCondition


@torch.no_grad()
def reverse_diffusion(
    predict_x0: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    scheduler,
    train_scheduler,
    shape: tuple[int, ...],
    generator: torch.Generator,
    condition: InpaintingCondition | None = None,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> torch.Tensor:
    """Run ``scheduler`` (already ``set_timesteps``) from noise to a sample of ``shape``.

    ``predict_x0(x_t, timesteps (B,)) -> x0 (B, ...)`` is the (guided) denoiser. With a
    ``condition`` the given values are inpainted at every step and blended in at the end
    (:meth:`InpaintingCondition.finish`).
    """
    x = torch.randn(shape, generator=generator, device="cpu").to(device) * scheduler.init_noise_sigma
    timesteps = list(scheduler.timesteps)
    cond = condition.to(device) if condition is not None else None
    for i, t in enumerate(tqdm(timesteps, desc="sampling", disable=not progress, leave=False)):
        t_batch = torch.full((shape[0],), int(t), device=device, dtype=torch.long)
        x0 = predict_x0(scheduler.scale_model_input(x, t), t_batch)
        if cond is not None:
            x0 = cond.warp_x0(x0)
        x = scheduler.step(x0, t, x, generator=generator).prev_sample
        if cond is not None and i + 1 < len(timesteps):
            t_next = torch.full((shape[0],), int(timesteps[i + 1]), dtype=torch.long)
            noise = torch.randn(shape, generator=generator, device="cpu").to(device)
            x = cond.apply_xt(x, train_scheduler.add_noise(cond.known, noise, t_next.to(device)))
    if cond is not None:
        x = cond.finish(x)
    return x
