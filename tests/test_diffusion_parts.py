"""Diffusion building blocks: schedulers, CFG batching, inpainting, deterministic batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handgen.diffusion.guidance import guided_x0
from handgen.diffusion.inpainting import InpaintingCondition, frame_mask
from handgen.diffusion.sampling_loop import reverse_diffusion
from handgen.diffusion.schedulers import sampling_scheduler, training_scheduler
from handgen.errors import HandgenError
from handgen.models.motion_denoiser import DenoiserConfig, MotionDenoiser
from handgen.repr.features import FEATURE_DIM, HAND_DIM
from handgen.train.batching import StepSampler


def _texts(batch, length=5, dim=16, empty=False):
    mask = torch.zeros(batch, length, dtype=torch.bool) if empty else torch.ones(batch, length, dtype=torch.bool)
    return {k: (torch.randn(batch, length, dim), mask) for k in ("left", "right", "both")}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    net = MotionDenoiser(DenoiserConfig(feature_dim=12, text_dim=16, layers=1, width=32, heads=2, ff=64, dropout=0.0))
    torch.nn.init.normal_(net.output.weight, std=0.1)  # zero-init output would make every test trivial
    return net.eval()


def test_training_scheduler_matches_handx():
    sched = training_scheduler()
    assert sched.config.prediction_type == "sample" and sched.config.clip_sample is False
    assert sched.config.beta_schedule == "squaredcos_cap_v2" and sched.config.num_train_timesteps == 1000


@pytest.mark.parametrize("name,steps", [("ddpm", None), ("ddim", 50), ("dpmpp", 20)])
def test_sampling_schedulers_step_counts(name, steps):
    sched = sampling_scheduler(name, training_scheduler(), steps)
    assert len(sched.timesteps) == (steps or 1000)


def test_bad_sampler_options():
    with pytest.raises(HandgenError, match="unknown sampler"):
        sampling_scheduler("euler", training_scheduler())
    with pytest.raises(HandgenError, match="--steps"):
        sampling_scheduler("ddim", training_scheduler(), 0)


def test_cfg_combines_separate_passes(model):
    torch.manual_seed(1)
    x, t, texts = torch.randn(3, 8, 12), torch.tensor([10, 500, 900]), _texts(3)
    with torch.no_grad():
        cond = model(x, t, texts)
        drop = {k: torch.zeros(3, dtype=torch.bool) for k in texts}
        uncond = model(x, t, texts, drop)
        guided = guided_x0(model, x, t, texts, 2.5)
    assert torch.allclose(guided, uncond + 2.5 * (cond - uncond), atol=1e-5)
    assert not torch.allclose(cond, uncond, atol=1e-4)  # the text matters
    # an empty text is the unconditional branch
    with torch.no_grad():
        empty = model(x, t, _texts(3, empty=True))
    assert torch.allclose(empty, uncond, atol=1e-5)


def test_branch_weights_are_shared(model):
    # one decoder for the three branches: only the CLS and null embeddings are per-branch
    names = [n for n, _ in model.named_parameters()]
    assert sum("decoder.layers.0.self_attn.in_proj_weight" in n for n in names) == 1
    assert model.cls.shape[0] == 3 and model.null_text.shape[0] == 3


@pytest.mark.parametrize("branch_heads", [False, True])
def test_hand_routing_keeps_each_hand_text_on_its_own_channels(branch_heads):
    torch.manual_seed(2)
    net = MotionDenoiser(DenoiserConfig(feature_dim=FEATURE_DIM, text_dim=16, layers=1, width=32, heads=2, ff=64,
                                        dropout=0.0, branch_heads=branch_heads, hand_routing=True)).eval()
    for p in (net.output.weight, *([h[1].weight for h in net.branch_heads] if branch_heads else [])):
        torch.nn.init.normal_(p, std=0.1)
    x, t, texts = torch.randn(2, 6, FEATURE_DIM), torch.tensor([10, 700]), _texts(2)
    other_left = dict(texts, left=(torch.randn(2, 5, 16), texts["left"][1]))
    other_right = dict(texts, right=(torch.randn(2, 5, 16), texts["right"][1]))
    other_both = dict(texts, both=(torch.randn(2, 5, 16), texts["both"][1]))
    with torch.no_grad():
        base, new_left, new_right, new_both = (net(x, t, c) for c in (texts, other_left, other_right, other_both))
    left, right = slice(0, HAND_DIM), slice(HAND_DIM, 2 * HAND_DIM)
    # a hand's text moves its own hand's channels and never the other hand's
    assert torch.equal(new_left[..., right], base[..., right])
    assert (new_left[..., left] - base[..., left]).abs().max() > 1e-3
    assert torch.equal(new_right[..., left], base[..., left])
    assert (new_right[..., right] - base[..., right]).abs().max() > 1e-3
    # the two-hand text moves both
    assert (new_both[..., left] - base[..., left]).abs().max() > 1e-3
    assert (new_both[..., right] - base[..., right]).abs().max() > 1e-3
    # without routing the left text reaches the right hand too
    net.config.hand_routing = False
    with torch.no_grad():
        assert (net(x, t, other_left)[..., right] - net(x, t, texts)[..., right]).abs().max() > 1e-3


def test_hand_routing_needs_both_hands_channels():
    with pytest.raises(ValueError, match="hand_routing"):
        MotionDenoiser(DenoiserConfig(feature_dim=12, text_dim=16, layers=1, width=32, heads=2, ff=64, hand_routing=True))


@pytest.mark.parametrize("sampler", ["ddim", "dpmpp"])
def test_inpainting_reproduces_known_part(model, sampler):
    torch.manual_seed(2)
    known = torch.randn(2, 8, 12)
    mask = torch.zeros(2, 8, 12)
    mask[:, :3] = 1.0
    mask[:, :, :4] = 1.0
    train = training_scheduler()
    sched = sampling_scheduler(sampler, train, 10)
    texts = _texts(2)

    def predict(x_t, t):
        return guided_x0(model, x_t, t, texts, 2.0)

    out = reverse_diffusion(predict, sched, train, (2, 8, 12), torch.Generator().manual_seed(0),
                            InpaintingCondition(known, mask))
    given = mask.bool()
    assert torch.allclose(out[given], known[given], atol=1e-5)
    assert (out[~given] - known[~given]).abs().mean() > 0.1  # the rest is generated


def test_frame_mask_feathering():
    assert frame_mask(6, [0, 1, 2]).tolist() == [1, 1, 1, 0, 0, 0]
    soft = frame_mask(8, range(4), feather=3).tolist()
    assert soft[:4] == pytest.approx([1.0, 0.75, 0.5, 0.25]) and soft[4:] == [0, 0, 0, 0]


def test_step_sampler_is_a_pure_function_of_the_step():
    a = StepSampler(10, 4, seed=3)
    b = StepSampler(10, 4, seed=3)
    seq = [a.global_batch(s).tolist() for s in range(6)]
    assert [b.global_batch(s).tolist() for s in reversed(range(6))][::-1] == seq
    # every epoch is a permutation
    flat = np.concatenate([a.global_batch(s) for s in range(5)])[:20]
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:20]) == list(range(10))
    # ranks split the global batch
    assert sorted(a.local_batch(2, 0, 2).tolist() + a.local_batch(2, 1, 2).tolist()) == sorted(seq[2])
