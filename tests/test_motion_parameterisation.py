"""Issue 22: the motion denoiser's parameterisation (x0 or v), its principal basis and its band limit over time
(known answers)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from scipy.fft import dct

from handgen.config import load_config
from handgen.diffusion.motion_loss import motion_x0_loss, prediction_weights
from handgen.diffusion.schedulers import diffusion_scheduler, sampling_scheduler, training_scheduler
from handgen.errors import HandgenError
from handgen.io.run_dir import load_weights, read_json, read_run_config
from handgen.models.motion_denoiser import MotionDenoiser, VPredictionDenoiser, build_denoiser
from handgen.models.time_band_limit import TimeBandLimit, dct_basis, kept_coefficients

FEATURES, TEXT = 12, 16
TIMESTEPS = torch.tensor([0, 3, 11, 100, 400, 900, 999])


def tiny_config(*overrides: str):
    # 12 feature channels: hand routing (on in the shipped configs) needs the two hands' 324; the tiny config's
    # band limit is off so that each option is seen alone (the band-limit test turns it on)
    return load_config("motion_diffusion_tiny.yaml", ["model.layers=1", "model.width=32", "model.ff=64",
                                                      "model.hand_routing=false", "model.band_limit=null", *overrides])


def clean_noise_and_state(batch: int = len(TIMESTEPS), frames: int = 20):
    torch.manual_seed(0)
    x0 = torch.randn(batch, frames, FEATURES)
    noise = torch.randn_like(x0)
    scheduler = training_scheduler()
    return x0, noise, scheduler.add_noise(x0, noise, TIMESTEPS[:batch]), scheduler


def test_the_true_v_gives_the_true_x0_at_every_timestep():
    x0, noise, x_t, scheduler = clean_noise_and_state()
    model = build_denoiser(tiny_config("diffusion.prediction_type=v_prediction"), FEATURES, TEXT)
    assert isinstance(model, VPredictionDenoiser)
    v = training_scheduler(prediction_type="v_prediction").get_velocity(x0, noise, TIMESTEPS)
    torch.testing.assert_close(model.x0_from_output(x_t, v, TIMESTEPS), x0, atol=2e-5, rtol=0)
    # near t = 0 x0 is the input itself whatever the network says; near t = 999 it is -v
    wrong = v + 1.0
    off = (model.x0_from_output(x_t, wrong, TIMESTEPS) - x0).abs().amax(dim=(1, 2))
    assert off[0] < 0.007 and off[-1] > 0.99


def test_the_v_loss_is_the_x0_loss_weighted_by_snr_plus_one():
    x0, noise, x_t, scheduler = clean_noise_and_state()
    model = build_denoiser(tiny_config("diffusion.prediction_type=v_prediction"), FEATURES, TEXT)
    v = training_scheduler(prediction_type="v_prediction").get_velocity(x0, noise, TIMESTEPS)
    weights = prediction_weights("v_prediction", scheduler.alphas_cumprod, TIMESTEPS)
    exact, _ = motion_x0_loss(model.x0_from_output(x_t, v, TIMESTEPS), x0, weights=weights)
    assert float(exact) < 1e-6
    v_wrong = v + 0.3 * torch.randn_like(v)
    loss, parts = motion_x0_loss(model.x0_from_output(x_t, v_wrong, TIMESTEPS), x0, 0.5, 0.2, 0.1, weights=weights)
    dv = v_wrong - v  # HandX's three terms, taken on v
    vel, acc = dv.diff(dim=1), dv.diff(dim=1).diff(dim=1)
    assert parts["mse"] == pytest.approx(float(dv.pow(2).mean()), rel=2e-3)
    assert parts["vel"] == pytest.approx(float(vel.pow(2).mean()), rel=2e-3)
    assert parts["acc"] == pytest.approx(float(acc.pow(2).mean()), rel=2e-3)
    capped = prediction_weights("v_prediction", scheduler.alphas_cumprod, TIMESTEPS, max_weight=5.0)
    assert float(weights[0]) > 2e4 and float(capped[0]) == 5.0 and float(capped[-1]) == pytest.approx(1.0, abs=1e-6)
    assert prediction_weights("sample", scheduler.alphas_cumprod, TIMESTEPS) is None
    x0_weights = prediction_weights("sample", scheduler.alphas_cumprod, TIMESTEPS, 5.0, snr_weighting=True)
    assert torch.equal(x0_weights, capped)  # loss.snr_weighting: an x0 run weighted as the v loss
    with pytest.raises(HandgenError, match="epsilon"):
        prediction_weights("epsilon", scheduler.alphas_cumprod, TIMESTEPS)


def test_both_parameterisations_share_weights_and_the_sampler_is_given_x0():
    cfg_x0, cfg_v = tiny_config(), tiny_config("diffusion.prediction_type=v_prediction")
    x0_net, v_net = build_denoiser(cfg_x0, FEATURES, TEXT), build_denoiser(cfg_v, FEATURES, TEXT)
    assert type(x0_net) is MotionDenoiser
    assert x0_net.state_dict().keys() == v_net.state_dict().keys()  # the schedule is not saved
    for cfg in (cfg_x0, cfg_v):
        scheduler = sampling_scheduler("dpmpp", diffusion_scheduler(cfg), 20)
        assert scheduler.config.prediction_type == "sample"


def test_a_motion_run_refuses_other_parameterisations():
    with pytest.raises(HandgenError, match="diffusion.prediction_type.*sample, v_prediction.*'epsilon'"):
        tiny_config("diffusion.prediction_type=epsilon")
    with pytest.raises(HandgenError, match="model.band_limit"):
        tiny_config("model.band_limit=0")


def test_the_band_limit_keeps_low_cosines_and_removes_high_ones():
    frames = 60
    basis = dct_basis(frames)
    x = np.random.default_rng(0).normal(size=frames)
    np.testing.assert_allclose(basis.double().numpy() @ x, dct(x, type=2, norm="ortho"), atol=1e-5)
    limit = TimeBandLimit(8 / 60)
    assert kept_coefficients(8 / 60, frames) == 8 and kept_coefficients(8 / 60, 30) == 4
    low = (2.0 * basis[3] - basis[7]).reshape(1, frames, 1)
    high = basis[8].reshape(1, frames, 1)
    torch.testing.assert_close(limit(low + high), low, atol=1e-5, rtol=0)
    once = limit(torch.randn(2, frames, 5))
    torch.testing.assert_close(limit(once), once, atol=1e-5, rtol=0)  # a projection
    model = build_denoiser(tiny_config("model.band_limit=0.1333", "diffusion.prediction_type=v_prediction"),
                           FEATURES, TEXT)
    _, _, x_t, _ = clean_noise_and_state(batch=2, frames=frames)
    texts = {k: (torch.randn(2, 3, TEXT), torch.ones(2, 3, dtype=torch.bool)) for k in ("left", "right", "both")}
    with torch.no_grad():
        x0 = model(x_t, torch.tensor([0, 500]), texts)
    coefficients = torch.einsum("kt,btd->bkd", basis, x0)
    assert float(coefficients[:, 8:].abs().max()) < 1e-4 < float(coefficients[:, :8].abs().max())


def test_the_principal_basis_spans_the_training_features_and_x0_stays_in_it():
    torch.manual_seed(0)
    directions = torch.linalg.qr(torch.randn(FEATURES, 3))[0]  # clips that move in 3 of the 12 feature dims
    train = torch.randn(6, 20, 3) @ directions.T
    model = build_denoiser(tiny_config("model.principal_components=3", "diffusion.prediction_type=v_prediction"),
                           FEATURES, TEXT)
    assert "principal_basis" in model.state_dict()  # saved with the weights: samples need it
    model.set_principal_basis(train)
    basis = model.principal_basis
    torch.testing.assert_close(basis.T @ basis, torch.eye(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(basis @ basis.T, directions @ directions.T, atol=1e-5, rtol=0)
    _, _, x_t, _ = clean_noise_and_state(batch=2)
    texts = {k: (torch.randn(2, 3, TEXT), torch.ones(2, 3, dtype=torch.bool)) for k in ("left", "right", "both")}
    with torch.no_grad():
        x0 = model(x_t, torch.tensor([0, 500]), texts)
    torch.testing.assert_close(x0 @ basis @ basis.T, x0, atol=1e-5, rtol=0)
    # at t = 0 x0 is (nearly) the input's projection: the noise outside the data's directions is gone
    near = x0[0] - x_t[0] @ basis @ basis.T
    assert float(near.abs().max()) < 0.05 < float((x_t[0] - x_t[0] @ basis @ basis.T).abs().max())


def test_a_run_dir_without_the_key_loads_as_an_x0_run(tiny_diffusion_run, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(tiny_diffusion_run, old, ignore=shutil.ignore_patterns("checkpoints"))
    text = (old / "config.yaml").read_text()
    assert "prediction_type: sample" in text
    assert "band_limit: 0.16" in text  # the tiny recipe's; a run dir from before the option has no such line
    (old / "config.yaml").write_text(text.replace("prediction_type: sample", "").replace("band_limit: 0.16", ""))
    cfg = read_run_config(old, ("motion_diffusion",))
    assert cfg.diffusion.prediction_type == "sample"
    info = read_json(old, "model_info.json")
    model = load_weights(build_denoiser(cfg, info["feature_dim"], info["text_dim"]), old)
    assert type(model) is MotionDenoiser and model.band_limit is None and model.principal_basis is None
    assert sampling_scheduler("dpmpp", diffusion_scheduler(cfg), 20).config.prediction_type == "sample"
    x_t = torch.randn(2, 24, info["feature_dim"])
    texts = {k: (torch.randn(2, 3, info["text_dim"]), torch.ones(2, 3, dtype=torch.bool)) for k in ("left", "right", "both")}
    t = torch.tensor([0, 700])
    with torch.no_grad():  # x0 is the network's output itself, as before the option existed
        torch.testing.assert_close(model(x_t, t, texts), model.network_output(x_t, t, texts), atol=0, rtol=0)
