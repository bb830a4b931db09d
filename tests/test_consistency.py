"""The few-step student: consistency-distillation maths, a distilled session-fixture model, its sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eval.benchmarks.few_step import CallCounter
from handgen.diffusion.consistency import (
    consistency_output,
    consistency_scheduler,
    ddim_step,
    solver_grid,
)
from handgen.diffusion.guidance import guided_x0
from handgen.diffusion.schedulers import training_scheduler
from handgen.errors import HandgenError
from handgen.models.motion_denoiser import BRANCHES, DenoiserConfig, MotionDenoiser
from tests.helpers import REPO, cli_in_process


def test_boundary_condition_and_grid():
    lcm = consistency_scheduler(training_scheduler(), solver_steps=50, timestep_scaling=10.0)
    x, net = torch.randn(3, 8, 5), torch.randn(3, 8, 5)
    t0 = torch.zeros(3, dtype=torch.long)
    assert torch.equal(consistency_output(net, x, t0, lcm), x)  # c_skip(0) = 1, c_out(0) = 0
    far = consistency_output(net, x, torch.full((3,), 999), lcm)
    assert torch.allclose(far, net, atol=1e-4)  # at the noise end the network's x0 is the output
    start, prev = solver_grid(1000, 50, torch.tensor([0, 1, 49]))
    assert start.tolist() == [19, 39, 999] and prev.tolist() == [0, 19, 979]
    lcm.set_timesteps(4, original_inference_steps=50)
    assert len(lcm.timesteps) == 4 and int(lcm.timesteps[0]) == 999 and set(lcm.timesteps.tolist()) <= set(range(19, 1000, 20))
    with pytest.raises(HandgenError, match="1..50"):
        consistency_scheduler(training_scheduler(), 50, 10.0, steps=51)


def test_ddim_step_with_the_true_x0_stays_on_the_forward_trajectory():
    sched = training_scheduler()
    x0, eps = torch.randn(2, 6, 4), torch.randn(2, 6, 4)
    t, t_prev = torch.tensor([519, 19]), torch.tensor([499, 0])
    x_t = sched.add_noise(x0, eps, t)
    expected = sched.add_noise(x0, eps, t_prev)
    assert torch.allclose(ddim_step(x_t, x0, t, t_prev, sched.alphas_cumprod), expected, atol=1e-5)


def test_teacher_guidance_with_dropped_branches_is_one_batched_call_and_scale_one_is_the_conditional_pass():
    torch.manual_seed(0)
    net = MotionDenoiser(DenoiserConfig(feature_dim=6, text_dim=8, layers=1, width=16, heads=2, ff=32,
                                        branch_heads=True)).eval()
    for p in net.parameters():  # zero-initialised heads would make cond == uncond
        torch.nn.init.normal_(p, std=0.2)
    x, t = torch.randn(2, 5, 6), torch.tensor([10, 500])
    texts = {k: (torch.randn(2, 3, 8), torch.ones(2, 3, dtype=torch.bool)) for k in BRANCHES}
    keep = {k: torch.ones(2, dtype=torch.bool) for k in BRANCHES}
    with torch.no_grad(), CallCounter(net) as counter:
        cond = guided_x0(net, x, t, texts, 1.0, keep)
        guided = guided_x0(net, x, t, texts, 3.0, keep)
    assert counter.calls == 2
    with torch.no_grad():
        assert torch.allclose(cond, net(x, t, texts), atol=1e-5)
        uncond = net(x, t, texts, {k: torch.zeros(2, dtype=torch.bool) for k in BRANCHES})
    assert torch.allclose(guided, uncond + 3.0 * (cond - uncond), atol=1e-4)
    assert not torch.allclose(guided, cond, atol=1e-3)


@pytest.fixture(scope="module")
def student_run(tiny_diffusion_run, tmp_path_factory):
    """Four distillation steps of the session's tiny diffusion run (in-process)."""
    from handgen.train.loop import run_training

    out = tmp_path_factory.mktemp("student") / "run"
    return run_training(str(REPO / "configs" / "motion_consistency_tiny.yaml"), [
        f"teacher={tiny_diffusion_run}", f"output_dir={out}", "max_steps=4", "train.batch_size=8",
        "train.warmup_steps=0", "train.log_every=1", "train.val_items=8", "train.val_every=4",
        "train.checkpoint_every=4", "distill.ode_pairs=6", "distill.pair_solver_steps=3",
        "distill.dm_warmup=2"])


def test_distilled_student_is_a_normal_run_sampled_in_one_call_per_step(student_run, tiny_diffusion_run, tmp_path):
    import handgen
    from handgen.io.run_dir import read_run_config

    cfg, teacher_cfg = read_run_config(student_run), read_run_config(tiny_diffusion_run)
    assert cfg.model_type == "motion_consistency" and (student_run / "DONE").is_file()
    assert cfg.model == teacher_cfg.model and cfg.text.max_tokens == teacher_cfg.text.max_tokens
    assert cfg.sample.guidance == cfg.distill.guidance == teacher_cfg.sample.guidance
    gen = handgen.load(student_run)
    for steps in (1, 2, 4):
        with CallCounter(gen.engine.model) as counter:
            motion = gen.generate(left="the left hand makes a fist", right="", both="", num=3, seed=0, steps=steps)
        assert counter.calls == steps  # guidance is distilled in: one network call per step for the whole batch
        assert motion.joints.shape == (3, gen.clip_len, 2, 21, 3) and np.isfinite(motion.joints).all()
    again = gen.generate(left="the left hand makes a fist", right="", both="", num=3, seed=0, steps=4)
    assert np.array_equal(again.joints, motion.joints)
    guidance = float(teacher_cfg.sample.guidance)  # the tiny recipe's 3
    with pytest.raises(HandgenError, match=f"guidance {guidance:g} distilled"):
        gen.generate(left="a fist", guidance=4.0)
    with pytest.raises(HandgenError, match="own sampler"):
        gen.generate(left="a fist", sampler="dpmpp")
    with pytest.raises(HandgenError, match="noisy-step guidance needs its teacher"):
        gen.generate(left="a fist", noisy_guidance=5.0)
    # evaluation on a data set cuts over-long captions as training did (eval/motion_sets passes truncate=True)
    long_text = " ".join(["the left hand slowly closes into a tight fist"] * 8)
    with pytest.raises(HandgenError, match="tokens"):
        gen.engine.generate([{"left": long_text, "right": "", "both": ""}], 24, steps=1)
    cut = gen.engine.generate([{"left": long_text, "right": "", "both": ""}], 24, steps=1, truncate=True)
    assert cut.shape[:2] == (1, 24) and torch.isfinite(cut).all()

    out = tmp_path / "samples"
    assert cli_in_process("-q", "sample", "--ckpt", student_run, "--left", "a fist", "--num", "2", "--steps", "2",
                          "--out", out) == 0
    assert sorted(p.name for p in out.glob("sample_*.npz")) == ["sample_000.npz", "sample_001.npz"]
    with np.load(out / "sample_000.npz") as z:
        assert str(z["sampler"]) == "lcm" and float(z["guidance"]) == guidance


def test_teacher_pairs_are_the_teachers_own_samples_and_are_made_once(student_run, tiny_diffusion_run, monkeypatch):
    from handgen.io.run_dir import read_run_config
    from handgen.sample.diffusion_generator import DiffusionMotionGenerator
    from handgen.train.tasks.motion_consistency import PAIR_SEED, PAIRS_FILE, MotionConsistencyTask

    cfg = read_run_config(student_run)
    pairs = torch.load(student_run / PAIRS_FILE, weights_only=True)["pairs"]
    teacher = DiffusionMotionGenerator(tiny_diffusion_run)
    frames, dim = teacher.clip_len, teacher.stats.mean.shape[0]
    assert pairs["x0"].shape == pairs["noise"].shape == (6, frames, dim) and pairs["rows"].shape == (6, 3)
    task = MotionConsistencyTask(cfg, student_run)
    texts = {k: task.clips.text_states(pairs["rows"][:, j], "cpu") for j, k in enumerate(BRANCHES)}
    # the teacher's own sampler from the chunk's generator: same start noise, same DPM-Solver++ end
    x0 = teacher.sample_window(texts, frames, sampler="dpmpp", steps=3, guidance=float(cfg.distill.guidance),
                               generator=torch.Generator().manual_seed(int(cfg.seed) + PAIR_SEED))
    assert torch.allclose(x0, pairs["x0"], atol=1e-4)
    assert torch.equal(torch.randn(pairs["noise"].shape, generator=torch.Generator().manual_seed(int(cfg.seed) + PAIR_SEED)),
                       pairs["noise"])
    assert (pairs["x0"] - pairs["noise"]).abs().mean() > 0.1

    def refuse(device):
        raise AssertionError("pairs made again")

    monkeypatch.setattr(task, "_make_pairs", refuse)
    assert torch.equal(task._load_or_make_pairs("cpu")["x0"], pairs["x0"])  # resume=latest reuses them
    task.cfg.distill.pair_solver_steps = 4  # other settings: the file is not theirs
    with pytest.raises(AssertionError, match="made again"):
        task._load_or_make_pairs("cpu")


def test_student_keeps_the_inpainting_modes(student_run, tmp_path):
    import handgen

    gen = handgen.load(student_run)
    source = gen.generate(left="a fist", right="", both="", num=1, seed=3, steps=2)
    path = source.save(tmp_path / "src")[0]
    cond = gen.condition("reaction", path, given="left")
    out = gen.generate(left="", right="the right hand waves", both="", condition=cond, steps=2)
    assert np.allclose(out.joints[0, :, 0], source.joints[0, :, 0], atol=1e-3)  # the given hand is kept
    long = gen.generate(left="a fist", right="", both="", frames=gen.clip_len + 30, steps=2)
    assert long.joints.shape[1] == gen.clip_len + 30


def test_distribution_matching_trains_a_fake_denoiser_then_adds_its_term(student_run):
    from handgen.io.run_dir import read_run_config
    from handgen.train.tasks.motion_consistency import MotionConsistencyTask

    cfg = read_run_config(student_run)
    cfg.distill.dm_weight, cfg.distill.dm_warmup = 0.0, 1
    assert MotionConsistencyTask(cfg, student_run).fake is None  # off: no fake denoiser, no extra passes
    cfg.distill.dm_weight, cfg.sample.steps = 1.0, int(cfg.distill.solver_steps) + 1
    with pytest.raises(HandgenError, match="sample.steps"):  # the matching simulates the student's own sampler
        MotionConsistencyTask(cfg, student_run)
    cfg.sample.steps = 4
    task = MotionConsistencyTask(cfg, student_run)
    task.prepare("cpu")
    model = task.build_model()
    batch = task.make_batch(np.arange(4))
    fake_before = [p.detach().clone() for p in task.fake.parameters()]
    torch.manual_seed(0)
    _, warm = task.compute_loss(model, batch, train=True)
    assert warm["matching"] == 0.0  # warm-up: only the fake denoiser learns the student's samples
    assert any(not torch.equal(a, b) for a, b in zip(fake_before, task.fake.parameters()))
    loss, parts = task.compute_loss(model, batch, train=True)
    assert parts["matching"] > 0
    assert all(p.grad is None for p in model.parameters())  # the fake's update leaves the student's gradients alone
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    model.zero_grad(set_to_none=True)
    texts = {k: task.clips.text_states(batch[f"text_{k}"], "cpu") for k in BRANCHES}
    matching = task._matching_loss(model, batch["x0"].shape, texts, "cpu")
    matching.backward()  # the matching term alone reaches the student's weights
    assert sum(float(p.grad.abs().sum()) for p in model.parameters() if p.grad is not None) > 0


def test_a_resumed_distillation_continues_exactly(tiny_diffusion_run, tmp_path):
    """The target network, the fake denoiser, its optimiser and the warm-up counter are checkpointed."""
    from safetensors.torch import load_file

    from handgen.train.loop import run_training

    def train(out, steps, *extra):
        return run_training(str(REPO / "configs" / "motion_consistency_tiny.yaml"), [
            f"teacher={tiny_diffusion_run}", f"output_dir={out}", f"max_steps={steps}", "train.batch_size=4",
            "train.warmup_steps=0", "train.lr_schedule=constant", "train.val_every=1000", "train.checkpoint_every=2",
            "distill.ode_pairs=4", "distill.pair_solver_steps=2", "distill.dm_warmup=1", "distill.fake_updates=2",
            *extra])

    ref = train(tmp_path / "ref", 4)
    run = train(tmp_path / "cut", 2)
    state = load_file(str(run / "checkpoints" / "step_0000002" / "task_state.safetensors"))
    assert int(state["matching_calls"]) == 2
    assert int(state["fake_optimizer.0.step"]) == 4  # distill.fake_updates=2 optimiser steps per micro-batch
    teacher = load_file(str(tiny_diffusion_run / "model.safetensors"))
    assert not torch.equal(state["target." + next(iter(teacher))], next(iter(teacher.values())))  # it moved
    train(run, 4, "resume=latest")
    a, b = load_file(str(ref / "model.safetensors")), load_file(str(run / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key  # as if never interrupted
    a, b = (load_file(str(r / "checkpoints" / "step_0000004" / "task_state.safetensors")) for r in (ref, run))
    assert a.keys() == b.keys() and all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


def test_resuming_with_the_matching_newly_on_starts_its_fake_from_the_teacher(student_run):
    from handgen.io.run_dir import read_run_config
    from handgen.train.tasks.motion_consistency import MotionConsistencyTask

    cfg = read_run_config(student_run)
    cfg.distill.dm_weight = 0.0
    saved = MotionConsistencyTask(cfg, student_run).checkpoint_tensors()  # a checkpoint of a run without matching
    assert saved and all(k.startswith("target.") for k in saved)
    cfg.distill.dm_weight, cfg.distill.dm_warmup = 0.1, 1
    task = MotionConsistencyTask(cfg, student_run)
    fake = [p.detach().clone() for p in task.fake.parameters()]
    task.restore_checkpoint_tensors(saved)
    assert task.matching_calls == 0 and all(torch.equal(a, b) for a, b in zip(fake, task.fake.parameters()))
    task.prepare("cpu")  # moves the networks and any restored optimiser state to the device
