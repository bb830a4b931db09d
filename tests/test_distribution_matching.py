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


def _average_in_process(rank: int, world: int, init_file: str) -> None:
    from handgen.train.tasks.motion_consistency import _average_over_processes

    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        net = torch.nn.Linear(3, 2)
        net(torch.full((1, 3), float(rank + 1))).sum().backward()  # rank r's input is r + 1 everywhere
        _average_over_processes(net)
        assert torch.allclose(net.weight.grad, torch.full((2, 3), 1.5))  # mean of 1 and 2
        assert torch.allclose(net.bias.grad, torch.ones(2))
    finally:
        torch.distributed.destroy_process_group()


def test_the_fake_denoisers_gradients_are_averaged_over_processes(tmp_path):
    import torch.multiprocessing as mp

    from handgen.train.tasks.motion_consistency import _average_over_processes

    net = torch.nn.Linear(3, 2)
    net(torch.ones(1, 3)).sum().backward()
    before = net.weight.grad.clone()
    _average_over_processes(net)  # a single process: untouched
    assert torch.equal(net.weight.grad, before)
    mp.spawn(_average_in_process, args=(2, str(tmp_path / "rendezvous")), nprocs=2, join=True)
