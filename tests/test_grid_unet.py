"""The grid denoiser's Gaussian skip: the closed-form noise estimate it adds, its buffers, the training stats."""

from __future__ import annotations

import pytest
import torch

from handgen.diffusion.schedulers import training_scheduler
from handgen.models.grid_unet import GridUNet, GridUNetConfig


def _unet(skip: bool) -> GridUNet:
    cfg = GridUNetConfig(in_channels=3, channels=8, mult=(1, 2), res_blocks=1, attn_levels=(), heads=1, text_dim=16,
                         io_kernel=1, gaussian_skip=skip)
    return GridUNet(cfg).eval()


def _text(b: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return torch.zeros(b, 2, 16), torch.ones(b, 2, dtype=torch.bool), torch.zeros(b, 16)


@torch.no_grad()
def test_gaussian_skip_is_the_posterior_mean_of_the_noise():
    """With the UNet's zero-initialised output, the model is E[eps | x_t] for x0 ~ N(mean_c, var_c) per channel:
    exact for a constant channel, the posterior variance abar var / (abar var + 1 - abar) as its error otherwise."""
    sched = training_scheduler(1000, "linear", "epsilon")
    net = _unet(True)
    mean, var = torch.tensor([0.5, -1.0, 0.2]), torch.tensor([0.0, 1.0, 0.01])
    net.set_gaussian_skip(mean, var, sched.alphas_cumprod)
    g = torch.Generator().manual_seed(0)
    for t_val in (100, 500, 900):
        shape = (4, 3, 16, 16, 16)  # channel 0 constant
        x0 = mean.reshape(1, 3, 1, 1, 1) + var.sqrt().reshape(1, 3, 1, 1, 1) * torch.randn(shape, generator=g)
        noise = torch.randn(x0.shape, generator=g)
        t = torch.full((4,), t_val)
        err = (net(sched.add_noise(x0, noise, t), t, *_text(4)) - noise) ** 2  # (4, 3, 16, 16, 16)
        abar = float(sched.alphas_cumprod[t_val])
        assert err[:, 0].max() < 1e-6  # a constant channel: the noise exactly
        for c in (1, 2):
            expected = abar * var[c] / (abar * var[c] + 1 - abar)
            assert float(err[:, c].mean()) == pytest.approx(float(expected), rel=0.05)


@torch.no_grad()
def test_gaussian_skip_buffers_travel_with_the_weights():
    sched = training_scheduler(1000, "linear", "epsilon")
    net = _unet(True)
    net.set_gaussian_skip(torch.tensor([0.1, 0.2, 0.3]), torch.tensor([1.0, 2.0, 3.0]), sched.alphas_cumprod)
    torch.nn.init.normal_(net.out[-1].weight, std=0.1)
    state = net.state_dict()
    assert {"skip_mean", "skip_var", "skip_abar"} <= set(state)
    again = _unet(True)
    again.load_state_dict(state)
    x, t = torch.randn(2, 3, 16, 16, 16), torch.tensor([3, 700])
    torch.testing.assert_close(again(x, t, *_text(2)), net(x, t, *_text(2)))
    plain = _unet(False)  # runs trained without the skip have no such buffers and load as before
    assert not any(k.startswith("skip_") for k in plain.state_dict())
    with pytest.raises(ValueError, match="without gaussian_skip"):
        plain.set_gaussian_skip(torch.zeros(3), torch.ones(3), sched.alphas_cumprod)


def test_grid_channel_stats_match_the_stacked_grids():
    from handgen.grasp.prior_run import assemble_grid
    from handgen.train.tasks.grasp_prior import grid_channel_stats

    g = torch.Generator().manual_seed(1)
    latents = torch.randn(5, 3, 16, 16, 16, generator=g)
    joints = torch.rand(5, 2, 21, 3, generator=g) - 0.5
    mean, var = grid_channel_stats(latents, joints, batch_size=2)
    x = assemble_grid(latents, joints)  # (5, 43, 16, 16, 16)
    torch.testing.assert_close(mean, x.mean((0, 2, 3, 4)), atol=1e-5, rtol=0)
    torch.testing.assert_close(var, x.var((0, 2, 3, 4), unbiased=False), atol=1e-5, rtol=1e-4)
