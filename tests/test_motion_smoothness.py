"""Issue 22: what keeps diffusion samples from trembling (known answers, no training)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from eval.jitter_stages import block_joints
from handgen.config import load_config
from handgen.diffusion.motion_loss import (
    derivative_scale_exponent,
    derivative_scales,
    loss_derivative_scales,
    motion_x0_loss,
)
from handgen.diffusion.schedulers import quadratic_timesteps, sampling_scheduler, training_scheduler
from handgen.errors import HandgenError
from handgen.repr.features import FEATURE_DIM, SLICES


def test_derivative_scales_of_a_parabola():
    x = torch.arange(5.0).pow(2).reshape(1, 5, 1)  # 0 1 4 9 16: velocity 1 3 5 7, acceleration 2 2 2
    vel_ms, acc_ms = derivative_scales(x)
    assert vel_ms == pytest.approx((1 + 9 + 25 + 49) / 4) and acc_ms == pytest.approx(4.0)


def test_trembling_costs_what_the_data_units_say():
    x0 = torch.linspace(0, 1, 8).reshape(1, 8, 1)
    e = 0.01
    tremble = x0 + e * torch.tensor([(-1.0) ** t for t in range(8)]).reshape(1, 8, 1)  # +-e frame to frame
    offset = x0 + e  # the same MSE, smooth
    # alternating +-e: velocity error +-2e, acceleration error +-4e
    raw, parts = motion_x0_loss(tremble, x0, 0.5, 0.2, 0.1)
    assert parts["mse"] == pytest.approx(e**2, rel=1e-4) and parts["vel"] == pytest.approx(4 * e**2, rel=1e-4)
    assert parts["acc"] == pytest.approx(16 * e**2, rel=1e-4)
    assert float(raw) == pytest.approx(0.5 * e**2 + 0.2 * 4 * e**2 + 0.1 * 16 * e**2, rel=1e-4)
    # in units of the data's mean squared velocity (README data: 2.1e-3) the tremble dominates the loss
    scaled, _ = motion_x0_loss(tremble, x0, 0.5, 0.2, 0.1, 2.1e-3, 2.1e-3)
    assert float(scaled) == pytest.approx(0.5 * e**2 + (0.2 * 4 * e**2 + 0.1 * 16 * e**2) / 2.1e-3, rel=1e-4)
    smooth, _ = motion_x0_loss(offset, x0, 0.5, 0.2, 0.1, 2.1e-3, 2.1e-3)
    assert float(smooth) == pytest.approx(0.5 * e**2, rel=1e-3)
    assert float(scaled) > 1000 * float(smooth) and float(raw) < 6 * float(smooth)  # raw: 5.8x


def test_a_static_pose_costs_more_than_copying_a_nearly_clean_input():
    # the failure of scaling the acceleration term by the data's own acceleration: near t = 0 the
    # denoiser's input is the clip plus noise of std ~0.006; copying it must cost less than a static pose
    torch.manual_seed(0)
    t = torch.arange(60.0).reshape(1, 60, 1)
    x0 = 0.3 * torch.sin(2 * torch.pi * t / 40).expand(64, 60, 8)  # smooth motion, 1.5 cycles per clip
    vel_ms, acc_ms = derivative_scales(x0)
    copy = x0 + 0.006 * torch.randn_like(x0)
    static = x0.mean(dim=1, keepdim=True).expand_as(x0)
    with_vel_units = [float(motion_x0_loss(p, x0, 0.5, 0.2, 0.1, vel_ms, vel_ms)[0]) for p in (copy, static)]
    with_acc_units = [float(motion_x0_loss(p, x0, 0.5, 0.2, 0.1, vel_ms, acc_ms)[0]) for p in (copy, static)]
    assert with_vel_units[0] < 0.2 * with_vel_units[1]
    assert with_acc_units[0] > with_acc_units[1]  # the collapse: the static pose wins


@pytest.mark.parametrize("exponent, penalty", [(0.0, 5.8), (0.5, 105.7), (1.0, 2286.7)])
def test_derivative_scale_sets_what_a_tremble_costs(exponent, penalty):
    # loss.derivative_scale = s divides both terms by (the data's mean squared velocity) ** s; the README
    # data's is 2.1e-3 (a 4-frame clip 0, 0.0458, 0.0917, 0.1375: constant velocity sqrt(2.1e-3))
    data = (torch.arange(4.0) * 2.1e-3**0.5).reshape(1, 4, 1)
    vel_scale, acc_scale = loss_derivative_scales(exponent, data)
    assert vel_scale == acc_scale == pytest.approx(2.1e-3**exponent, rel=1e-5)
    x0 = torch.linspace(0, 1, 8).reshape(1, 8, 1)
    e = 0.01
    tremble = x0 + e * torch.tensor([(-1.0) ** t for t in range(8)]).reshape(1, 8, 1)
    offset = x0 + e  # same MSE, smooth: costs 0.5 e^2 whatever s is
    cost = [float(motion_x0_loss(p, x0, 0.5, 0.2, 0.1, vel_scale, acc_scale)[0]) for p in (tremble, offset)]
    assert cost[1] == pytest.approx(0.5 * e**2, rel=1e-3)
    # tremble / offset = 1 + (0.2 * 4 + 0.1 * 16) / (0.5 * 2.1e-3 ** s): 5.8x raw, 106x at s = 0.5, 2287x at s = 1
    assert cost[0] / cost[1] == pytest.approx(penalty, rel=2e-3)


def test_derivative_scale_is_a_checked_config_key():
    for name in ("motion_diffusion.yaml", "motion_diffusion_tiny.yaml"):  # raw as shipped (docs/motion_eval.md)
        assert derivative_scale_exponent(load_config(f"configs/{name}").loss) == 0.0
    half = load_config("configs/motion_diffusion_tiny.yaml", ["loss.derivative_scale=0.5"])
    assert half.loss.derivative_scale == 0.5 and derivative_scale_exponent(half.loss) == 0.5
    for bad in ("1.5", "-0.1", "nan", "abc"):
        with pytest.raises(HandgenError, match="loss.derivative_scale"):
            load_config("configs/motion_diffusion_tiny.yaml", [f"loss.derivative_scale={bad}"])
    # the old switch still reads (run dirs trained before the exponent), as s = 1; with a contradicting s it fails
    old = load_config("configs/motion_diffusion_tiny.yaml", ["loss.derivatives_in_data_units=true"])
    assert derivative_scale_exponent(old.loss) == 1.0
    with pytest.raises(HandgenError, match="derivatives_in_data_units"):
        load_config("configs/motion_diffusion_tiny.yaml", ["loss.derivatives_in_data_units=0.5"])
    both = load_config("configs/motion_diffusion_tiny.yaml",
                       ["loss.derivatives_in_data_units=true", "loss.derivative_scale=0.5"])
    with pytest.raises(HandgenError, match="loss.derivative_scale=0.5"):
        derivative_scale_exponent(both.loss)


def test_quadratic_timesteps_end_at_zero():
    ts = quadratic_timesteps(20)
    assert ts[:3] == [999, 897, 800] and ts[-4:] == [25, 11, 3, 0] and len(set(ts)) == 20
    assert quadratic_timesteps(1) == [999] and quadratic_timesteps(2) == [999, 0]
    long = quadratic_timesteps(200)  # the low end is every timestep, still 200 distinct
    assert len(set(long)) == 200 and long[-3:] == [2, 1, 0] and all(a > b for a, b in itertools.pairwise(long))
    sched = sampling_scheduler("dpmpp", training_scheduler(), 20)
    assert sched.timesteps.tolist() == ts
    # the last x0 is predicted where x_t is nearly clean: std of the noise at t=0 vs t=50 (the old last step)
    abar = training_scheduler().alphas_cumprod
    assert float((1 - abar[0]).sqrt()) < 0.1 * float((1 - abar[50]).sqrt())


def test_block_joints_reads_the_joint_blocks():
    f = np.zeros((2, 3, FEATURE_DIM), dtype=np.float32)
    f[..., SLICES["right.joints"]] = np.arange(63)
    j = block_joints(f)
    assert j.shape == (2, 3, 2, 21, 3) and (j[:, :, 0] == 0).all() and j[0, 0, 1, 20, 2] == 62
