"""Distribution matching of the few-step student: the surrogate loss's gradient is DMD's update."""

from __future__ import annotations

import torch

from handgen.diffusion.distribution_matching import distribution_matching_loss, matching_timesteps


def test_the_loss_gradient_is_the_normalised_fake_minus_real_direction():
    torch.manual_seed(0)
    x0 = torch.randn(3, 8, 5, requires_grad=True)
    real, fake = torch.randn(3, 8, 5), torch.randn(3, 8, 5)
    distribution_matching_loss(x0, real, fake).backward()
    scale = (x0.detach() - real).abs().mean(dim=(1, 2), keepdim=True)
    expected = (fake - real) / scale / x0.numel()  # d/dx 0.5 mean((x - sg(x - g))^2) = g / N
    assert torch.allclose(x0.grad, expected, atol=1e-7)
    # a descent step moves each sample against fake - real, i.e. from the student's distribution toward the teacher's
    step = x0.detach() - 100.0 * x0.grad
    assert ((step - x0.detach()) * (fake - real)).sum() < 0


def test_no_update_where_the_two_denoisers_agree_and_the_update_is_scale_free():
    x0 = torch.randn(2, 4, 3, requires_grad=True)
    real = torch.randn(2, 4, 3)
    distribution_matching_loss(x0, real, real.clone()).backward()
    assert torch.count_nonzero(x0.grad) == 0
    # DMD's normalisation: scaling both the sample's distance to the teacher and the two estimates' gap by k
    # leaves the update unchanged, so far-off samples (high noise levels) do not dominate
    x, a, b = x0.detach(), torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    losses = [distribution_matching_loss(x, x + k * a, x + k * (a + b)) for k in (1.0, 10.0)]
    assert losses[0] > 0 and torch.allclose(losses[0], losses[1], rtol=1e-5)


def test_matching_timesteps_stay_inside_the_schedule_ends():
    t = matching_timesteps(4096, 1000, "cpu")
    assert t.dtype == torch.long and int(t.min()) >= 20 and int(t.max()) < 980 and t.float().std() > 200
