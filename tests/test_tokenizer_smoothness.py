"""The FSQ tokenizer's smoothness options (issue 22): the acceleration loss term, linear upsampling in the
decoder, and run dirs written before both keys existed."""

from __future__ import annotations

import shutil

import pytest
import torch
import yaml
from omegaconf import OmegaConf
from torch import nn
from vector_quantize_pytorch import FSQ

from handgen.errors import HandgenError
from handgen.io.data_dir import DataDir
from handgen.models.motion_tokenizer import MotionTokenizer, TokenizerConfig, perturb_indices, upsample_x2
from handgen.sample.tokenizer_run import TokenizerRun
from handgen.train.loop import run_training
from handgen.train.tasks.fsq_tokenizer import reconstruction_loss
from tests.helpers import REPO, tiny_tokenizer_overrides

WEIGHTS = {"recon": 1.0, "velocity": 0.5, "joints": 0.0, "beta": 0.03}


def _loss(recon: torch.Tensor, x: torch.Tensor, acceleration: float) -> tuple[float, dict[str, float]]:
    loss, parts = reconstruction_loss(recon, x, OmegaConf.create({**WEIGHTS, "acceleration": acceleration}))
    return loss.item(), parts


def test_acceleration_term_is_zero_for_a_linear_error_and_prices_a_tremble():
    """An error linear in time has no second differences; a +-a frame-to-frame tremble has them of 4a."""
    torch.manual_seed(0)
    x = torch.randn(2, 12, 6) * 0.1  # (B, T, D)
    t = torch.arange(12, dtype=torch.float32)[None, :, None]
    drift = x + 0.002 + 0.001 * t  # offset + constant velocity error
    _, parts = _loss(drift, x, acceleration=2.0)
    assert parts["acceleration"] == pytest.approx(0.0, abs=1e-9)
    assert parts["velocity"] > 0

    a = 0.001  # 4a = 0.004 < beta: the quadratic branch, 0.5 * (4a)**2 / beta
    tremble = x + a * (-1.0) ** t
    total, parts = _loss(tremble, x, acceleration=2.0)
    assert parts["acceleration"] == pytest.approx(0.5 * (4 * a) ** 2 / 0.03, rel=1e-4)
    without, parts0 = _loss(tremble, x, acceleration=0.0)
    assert "acceleration" not in parts0  # 0 leaves the term out: the loss of runs before issue 22
    assert total - without == pytest.approx(2.0 * parts["acceleration"], rel=1e-4)


def test_linear_upsampling_reproduces_a_ramp_and_nearest_makes_a_staircase():
    steps = torch.arange(8, dtype=torch.float32).expand(1, 3, 8)  # (B, C, N): a ramp of slope 1 per step
    linear = upsample_x2("linear")(steps)  # (1, 3, 16)
    assert linear.shape == (1, 3, 16)
    inner = linear[..., 1:-1]  # frame i at step i / 2 - 0.25; the two end frames replicate the end steps
    assert torch.allclose(inner, torch.arange(1, 15, dtype=torch.float32) / 2 - 0.25)
    assert torch.allclose(inner.diff(n=2, dim=-1), torch.zeros(1, 3, 12))
    assert linear[..., 0].eq(0).all() and linear[..., -1].eq(7).all()
    nearest = upsample_x2("nearest")(steps)
    assert torch.equal(nearest, steps.repeat_interleave(2, dim=-1))
    assert nearest.diff(n=2, dim=-1).abs().max() == 1.0  # the staircase's kinks


def test_unknown_upsample_mode_is_refused():
    with pytest.raises(ValueError, match="upsample must be one of"):
        MotionTokenizer(TokenizerConfig(feature_dim=8, preset="tiny", width=16, upsample="cubic"))


class _Repeat(nn.Module):
    """The decoder's upsampling as it was before issue 22, written out: each step's activations twice."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.repeat_interleave(2, dim=-1)


def _strip(config_path, keys: dict[str, str]) -> None:
    cfg = yaml.safe_load(config_path.read_text())
    for section, key in keys.items():
        cfg[section].pop(key, None)
    config_path.write_text(yaml.safe_dump(cfg))


def test_a_run_dir_without_the_smoothness_keys_decodes_as_before(trained_tokenizer, tmp_path):
    """A run dir written before ``model.upsample`` / ``loss.acceleration`` existed loads with nearest upsampling
    and no acceleration term, and decodes exactly as a decoder with the old repeat upsampling would."""
    from handgen.sample.tokenizer_run import TokenizerRun

    old = tmp_path / "old"
    shutil.copytree(trained_tokenizer, old)
    _strip(old / "config.yaml", {"model": "upsample", "loss": "acceleration"})
    run = TokenizerRun(old)
    assert run.cfg.model.upsample == "nearest" and run.cfg.loss.acceleration == 0.0
    ids = torch.randint(0, run.codebook_size, (3, 2 * run.model.groups * 5))  # 10 steps: 20 frames
    decoded = run.model.decode(ids)

    reference = run.model
    decoders = reference.decoders if reference.config.hand_split_decoder else [reference.decoder]
    swapped = 0
    for decoder in decoders:
        for i, layer in enumerate(decoder):
            if isinstance(layer, nn.Upsample):
                decoder[i] = _Repeat()
                swapped += 1
    assert swapped == len(decoders) * 1  # x2 downsampling: one upsampling stage per decoder
    assert torch.equal(decoded, reference.decode(ids))



def test_perturb_indices_moves_a_share_of_tokens_one_level_in_one_digit():
    levels = [7, 5, 5, 5, 5]
    lv = torch.tensor(levels)
    basis = torch.cumprod(torch.cat([torch.ones(1, dtype=torch.long), lv[:-1]]), 0)
    assert torch.equal(basis, FSQ(levels=levels, dim=5)._basis.long())  # the numbering FSQ's ids use
    torch.manual_seed(0)
    ids = torch.randint(0, 4375, (40, 500))
    assert torch.equal(perturb_indices(ids, levels, 0.0), ids)
    moved = perturb_indices(ids, levels, 0.3)
    assert moved.min() >= 0 and moved.max() < 4375
    step = (moved[..., None] // basis) % lv - (ids[..., None] // basis) % lv  # (40, 500, 5) digit changes
    changed = moved != ids
    assert (step.abs().sum(-1)[changed] == 1).all() and (step[~changed] == 0).all()
    # a move off the grid's end is dropped: a digit of L levels is at the end it moves toward with chance 1 / L,
    # so 0.3 x (1 - mean(1/7, 1/5, 1/5, 1/5, 1/5)) = 0.243 of the ids change
    assert abs(changed.float().mean().item() - 0.3 * (1 - (1 / 7 + 4 / 5) / 5)) < 0.01


def test_decoder_fine_tune_keeps_the_token_ids(trained_tokenizer, synthetic_data_dir, tmp_path):
    """configs/fsq_tiny_decoder.yaml: the encoder is init_from's (so every clip's ids), the decoder trains."""
    config = str(REPO / "configs" / "fsq_tiny_decoder.yaml")
    overrides = tiny_tokenizer_overrides(synthetic_data_dir, tmp_path / "dec", max_steps=3,
                                         **{"train.val_every": 3, "train.checkpoint_every": 3})
    with pytest.raises(HandgenError, match="freeze_encoder needs init_from"):
        run_training(config, overrides)
    run = run_training(config, [*overrides, f"init_from={trained_tokenizer}"])
    first, tuned = TokenizerRun(trained_tokenizer), TokenizerRun(run)
    a, b = first.model.state_dict(), tuned.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("encoders."))
    assert any(not torch.equal(a[k], b[k]) for k in a if k.startswith("decoders."))
    raw = DataDir(synthetic_data_dir).split_arrays("val")[0][:4]
    assert torch.equal(first.encode_raw(raw), tuned.encode_raw(raw))
    assert not torch.allclose(first.decode_raw(first.encode_raw(raw)), tuned.decode_raw(tuned.encode_raw(raw)))
