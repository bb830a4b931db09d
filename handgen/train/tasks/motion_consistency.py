"""Training task of the few-step student: consistency distillation of a trained motion diffusion run.

``cfg.teacher`` is the run dir of a ``motion_diffusion`` training (``teacher=PATH``). The
student takes the teacher's architecture, text encoder, noise schedule and loss weights
(they are copied into the student's config, so the run dir samples like any other), starts
from the teacher's weights and learns ``f(x_t, t)`` of :mod:`handgen.diffusion.consistency`
with classifier-free guidance at ``distill.guidance`` baked in: one network call per step.

With ``distill.ode_pairs`` N > 0 the teacher first samples N motions with its own sampler
(DPM-Solver++ at ``distill.pair_solver_steps``, guidance ``distill.guidance``) from training
captions, and each step adds ``distill.pair_weight`` x the loss between the student at
``x_t = sqrt(abar_t) x0* + sqrt(1 - abar_t) z`` (z the pair's starting noise, t on the grid)
and the teacher's sample x0*: the student is taught the teacher's ODE end directly, which
200 steps of the bootstrapped consistency loss alone do not reach (docs/few_step.md).

With ``distill.dm_weight`` > 0 each step also adds distribution matching
(:mod:`handgen.diffusion.distribution_matching`): the student samples with its own few-step
sampler, the samples are noised to a random level, and the teacher's guided x0 and a "fake"
denoiser's x0 (a copy of the teacher trained alongside on the student's samples,
``distill.fake_updates`` AdamW steps at ``train.lr`` per micro-batch) give the direction that moves them toward the
teacher's distribution. For the first ``distill.dm_warmup`` steps only the fake learns.

The EMA target network (decay ``distill.target_ema``, LCM's 0.95) and the fake denoiser live
in the task and start from the teacher's weights; every checkpoint also holds them, the fake's
optimiser and the matching's step counter (``task_state.safetensors``), so ``resume=latest``
continues exactly. Under several processes the fake's gradients are averaged over them before
each of its steps (as DDP does for the student), so every process keeps the same fake.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from torch import nn
from tqdm.auto import tqdm

from handgen.diffusion.consistency import (
    consistency_output,
    consistency_scheduler,
    ddim_step,
    solver_grid,
    update_target,
)
from handgen.diffusion.distribution_matching import distribution_matching_loss, matching_timesteps
from handgen.diffusion.guidance import guided_x0, training_keep
from handgen.diffusion.motion_loss import derivative_scale_exponent, loss_derivative_scales, motion_x0_loss
from handgen.diffusion.sampling_loop import reverse_diffusion
from handgen.diffusion.schedulers import diffusion_scheduler, sampling_scheduler
from handgen.errors import HandgenError
from handgen.io.run_dir import load_weights, read_json, read_run_config
from handgen.models.motion_denoiser import BRANCHES, build_denoiser
from handgen.train.motion_captions import CaptionedClips, load_captioned_clips
from handgen.train.task import TrainingTask

log = logging.getLogger(__name__)

PAIR_SEED, PAIR_CHUNK = 7919, 64  # the teacher pairs' generator seeds (cfg.seed + PAIR_SEED + chunk) and chunk size
PAIRS_FILE = "teacher_pairs.pt"  # distill.ode_pairs' teacher samples, reused by resume=latest
TEACHER_SECTIONS: tuple[str, ...] = ("model", "diffusion", "loss")  # copied whole from the teacher's config


def adopt_teacher_config(cfg, teacher_cfg) -> None:
    """Give ``cfg`` the teacher's architecture, noise schedule, loss weights and text encoder (in place).

    ``data`` defaults to the teacher's DATA_DIR; ``text.cache_dir`` and ``text.caption_field`` stay the student's;
    ``distill.guidance`` defaults to the teacher's ``sample.guidance`` and becomes the student's ``sample.guidance``.
    """
    for section in TEACHER_SECTIONS:
        for key, value in OmegaConf.to_container(teacher_cfg[section], resolve=True).items():
            cfg[section][key] = value
    cfg.text.encoder = teacher_cfg.text.encoder
    cfg.text.max_tokens = teacher_cfg.text.max_tokens
    if not cfg.data:
        cfg.data = teacher_cfg.data
    if cfg.distill.guidance is None:
        cfg.distill.guidance = float(teacher_cfg.sample.guidance)
    cfg.sample.guidance = float(cfg.distill.guidance)


class MotionConsistencyTask(TrainingTask):
    model_type = "motion_consistency"

    def __init__(self, cfg, run_dir: Path) -> None:
        super().__init__(cfg, run_dir)
        if not cfg.teacher:
            raise HandgenError("config key 'teacher' (the run dir of a motion_diffusion training) is required; "
                               "pass teacher=PATH")
        teacher_cfg = read_run_config(cfg.teacher, ("motion_diffusion",))
        adopt_teacher_config(cfg, teacher_cfg)
        self.clips: CaptionedClips = load_captioned_clips(cfg)
        # the teacher's loss section, derivative units included (adopt_teacher_config copied it)
        self.derivative_scales = loss_derivative_scales(derivative_scale_exponent(cfg.loss),
                                                        self.clips.train.features)
        info = read_json(Path(cfg.teacher), "model_info.json")
        if (info["feature_dim"], info["text_dim"]) != (self.clips.feature_dim, self.clips.text_dim):
            raise HandgenError(f"data={cfg.data} has {self.clips.feature_dim} features / text width "
                               f"{self.clips.text_dim}; the teacher was trained on {info['feature_dim']} / {info['text_dim']}")
        self.train_scheduler = diffusion_scheduler(cfg)
        d = cfg.distill
        if cfg.diffusion.num_train_timesteps % int(d.solver_steps):
            raise HandgenError(f"distill.solver_steps={d.solver_steps} must divide diffusion.num_train_timesteps="
                               f"{cfg.diffusion.num_train_timesteps}")
        self.lcm = consistency_scheduler(self.train_scheduler, int(d.solver_steps), float(d.timestep_scaling))
        self.teacher = self._teacher_net(teacher_cfg)
        self.target = copy.deepcopy(self.teacher)
        self.pairs: dict[str, torch.Tensor] | None = None  # made by prepare() (teacher on the training device)
        self.fake: nn.Module | None = None  # distribution matching's denoiser of the student's samples
        self.matching_calls = 0  # micro-batches seen by the matching (checkpointed with the fake)
        if float(d.dm_weight) > 0:
            try:  # the sampler the matching simulates
                sampler = consistency_scheduler(self.train_scheduler, int(d.solver_steps), float(d.timestep_scaling),
                                                int(cfg.sample.steps))
            except HandgenError as exc:
                raise HandgenError(f"sample.steps={cfg.sample.steps}: {exc} (distribution matching simulates the "
                                   f"student's sampler)") from None
            self.sample_timesteps = [int(v) for v in sampler.timesteps]
            self.fake = copy.deepcopy(self.teacher).train().requires_grad_(True)
            self.fake_optimizer = torch.optim.AdamW(self.fake.parameters(), lr=float(cfg.train.lr), weight_decay=0.0)

    def checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        """The target network, and with the matching on the fake denoiser, its AdamW state and step counter."""
        out = {f"target.{k}": v for k, v in self.target.state_dict().items()}
        if self.fake is not None:
            out.update({f"fake.{k}": v for k, v in self.fake.state_dict().items()})
            for i, state in self.fake_optimizer.state_dict()["state"].items():
                out.update({f"fake_optimizer.{i}.{name}": v for name, v in state.items()})
            out["matching_calls"] = torch.tensor(self.matching_calls)
        return out

    def restore_checkpoint_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if not tensors:
            log.warning("the checkpoint holds no target network (an older handgen): the target restarts from the "
                        "teacher and the fake denoiser warms up again")
            return
        try:
            self.target.load_state_dict(_under(tensors, "target."))
            if self.fake is not None and "matching_calls" not in tensors:
                log.info("the checkpoint was saved without distribution matching: its fake denoiser starts from the "
                         "teacher and warms up")
            elif self.fake is not None:
                self.fake.load_state_dict(_under(tensors, "fake."))
                state: dict[int, dict[str, torch.Tensor]] = {}
                for key, v in _under(tensors, "fake_optimizer.").items():
                    i, name = key.split(".")
                    state.setdefault(int(i), {})[name] = v
                groups = self.fake_optimizer.state_dict()["param_groups"]
                self.fake_optimizer.load_state_dict({"state": state, "param_groups": groups})
                self.matching_calls = int(tensors["matching_calls"])
        except (RuntimeError, KeyError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            raise HandgenError(f"the checkpoint's task state does not fit this distillation ({first[:200]}); "
                               "was distill.dm_weight changed? start a new run") from None

    def _teacher_net(self, teacher_cfg) -> nn.Module:
        net = load_weights(build_denoiser(teacher_cfg, self.clips.feature_dim, self.clips.text_dim), self.cfg.teacher)
        for p in net.parameters():
            p.requires_grad_(False)
        return net.eval()

    def build_model(self) -> nn.Module:
        """The student: the teacher's network and weights."""
        return load_weights(build_denoiser(self.cfg, self.clips.feature_dim, self.clips.text_dim),
                            self.cfg.teacher).train()

    def num_train_items(self) -> int:
        return len(self.clips.train)

    def make_batch(self, indices: np.ndarray, split: str = "train") -> dict[str, torch.Tensor]:
        return self.clips.batch(split, indices)

    def compute_loss(self, model, batch, train: bool):
        """Consistency loss (HandX's x0 + velocity + acceleration weights) between student and EMA target."""
        x0 = batch["x0"]  # (B, T, D) normalised
        b, device = x0.shape[0], x0.device
        online = model.module if hasattr(model, "module") else model
        self.teacher.to(device)
        self.target.to(device)
        if train:
            update_target(self.target, online, float(self.cfg.distill.target_ema))
        d = self.cfg.distill
        index = torch.randint(0, int(d.solver_steps), (b,), device=device)
        t, t_prev = solver_grid(int(self.cfg.diffusion.num_train_timesteps), int(d.solver_steps), index)
        x_t = self.train_scheduler.add_noise(x0, torch.randn_like(x0), t)
        texts = {k: self.clips.text_states(batch[f"text_{k}"], device) for k in BRANCHES}
        tc = self.cfg.train
        keep = training_keep(b, device, float(tc.cond_drop_prob) if train else 0.0,
                             float(tc.uncond_prob) if train else 0.0)
        student = consistency_output(model(x_t, t, texts, keep), x_t, t, self.lcm)
        with torch.no_grad():
            x0_teacher = guided_x0(self.teacher, x_t, t, texts, float(d.guidance), keep)
            x_prev = ddim_step(x_t, x0_teacher, t, t_prev, self.train_scheduler.alphas_cumprod)
            target = consistency_output(self.target(x_prev, t_prev, texts, keep), x_prev, t_prev, self.lcm)
        loss, parts = self._x0_loss(student, target)
        if train and self._uses_pairs():
            pair_loss, _ = self._pair_loss(model, b, device)
            loss = loss + float(d.pair_weight) * pair_loss
            parts["pair"] = pair_loss.item()
        if train and self.fake is not None:
            matching = self._matching_loss(model, x0.shape, texts, device)
            loss = loss + float(d.dm_weight) * matching
            parts["matching"] = matching.item()
        return loss, parts

    def _student_samples(self, model, shape: tuple[int, ...], texts, device) -> torch.Tensor:
        """Student samples (B, T, D) with gradient through their last call: k in 0..steps-1 student steps run
        without gradient from noise (the sampler's own LCM steps), then one call with it (DMD2's backward
        simulation, so the matching sees what sampling sees)."""
        steps = self.sample_timesteps
        k = int(torch.randint(0, len(steps), ()))
        x = torch.randn(shape, device=device)
        with torch.no_grad():
            for i in range(k):
                t = torch.full((shape[0],), steps[i], device=device, dtype=torch.long)
                x0 = consistency_output(model(x, t, texts), x, t, self.lcm)
                x = self.train_scheduler.add_noise(x0, torch.randn_like(x0), torch.full_like(t, steps[i + 1]))
        t = torch.full((shape[0],), steps[k], device=device, dtype=torch.long)
        return consistency_output(model(x, t, texts), x, t, self.lcm)

    def _matching_loss(self, model, shape: tuple[int, ...], texts, device) -> torch.Tensor:
        """Distribution matching of the student's samples to the teacher's guided denoiser (a scalar; zero for the
        first ``distill.dm_warmup`` steps, while only the fake denoiser learns); trains the fake one step."""
        d = self.cfg.distill
        self.fake.to(device)
        self.matching_calls += 1
        warm_up = self.matching_calls <= int(d.dm_warmup) * int(self.cfg.train.grad_accum)  # warm-up in steps
        with torch.set_grad_enabled(not warm_up):
            sample = self._student_samples(model, shape, texts, device)
        loss = torch.zeros((), device=device)
        if not warm_up:
            tau = matching_timesteps(shape[0], int(self.cfg.diffusion.num_train_timesteps), device)
            x_tau = self.train_scheduler.add_noise(sample.detach(), torch.randn_like(sample), tau)
            with torch.no_grad():
                real = guided_x0(self.teacher, x_tau, tau, texts, float(d.guidance))
                fake = self.fake.eval()(x_tau, tau, texts)
            loss = distribution_matching_loss(sample, real, fake)
        for _ in range(int(d.fake_updates)):
            self._update_fake(sample.detach(), texts)
        return loss

    def _update_fake(self, samples: torch.Tensor, texts) -> None:
        """One optimiser step of the fake denoiser on the student's samples (B, T, D), noised at uniform t
        (``distill.fake_updates`` per micro-batch, ``train.grad_accum`` micro-batches per training step)."""
        self.fake.train()
        t = torch.randint(0, int(self.cfg.diffusion.num_train_timesteps), (samples.shape[0],), device=samples.device)
        x_t = self.train_scheduler.add_noise(samples, torch.randn_like(samples), t)
        loss, _ = self._x0_loss(self.fake(x_t, t, texts), samples)
        self.fake_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        _average_over_processes(self.fake)
        if float(self.cfg.train.grad_clip) > 0:  # 0: no clipping, as for the student
            nn.utils.clip_grad_norm_(self.fake.parameters(), float(self.cfg.train.grad_clip))
        self.fake_optimizer.step()

    def _x0_loss(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        lw = self.cfg.loss
        return motion_x0_loss(pred, target, float(lw.mse), float(lw.velocity), float(lw.acceleration),
                              *self.derivative_scales)

    def _pairs_key(self) -> dict:
        d = self.cfg.distill
        return {"teacher": str(Path(self.cfg.teacher).resolve()), "n": int(d.ode_pairs), "guidance": float(d.guidance),
                "steps": int(d.pair_solver_steps), "seed": int(self.cfg.seed), "data": str(Path(self.cfg.data).resolve())}

    def _load_or_make_pairs(self, device) -> dict[str, torch.Tensor]:
        """The teacher pairs of RUN_DIR/teacher_pairs.pt when made with the same settings, else new ones (saved there)."""
        path, key = self.run_dir / PAIRS_FILE, self._pairs_key()
        if path.exists():
            saved = torch.load(path, weights_only=True)
            if saved.get("key") == key:
                return saved["pairs"]
        pairs = self._make_pairs(device)
        partial = path.with_name(f"{PAIRS_FILE}.{os.getpid()}.partial")  # every process makes the same pairs
        torch.save({"key": key, "pairs": pairs}, partial)
        os.replace(partial, path)
        return pairs

    @torch.no_grad()
    def _make_pairs(self, device) -> dict[str, torch.Tensor]:
        """``distill.ode_pairs`` teacher samples: noise z (N, T, D), the sample x0* (N, T, D), text rows (N, 3).

        Chunk i of PAIR_CHUNK samples starts from ``torch.Generator().manual_seed(seed + PAIR_SEED + i)``, as
        the teacher's own sampler (``DiffusionMotionGenerator.sample_window``) would from that generator.
        """
        d, n = self.cfg.distill, int(self.cfg.distill.ode_pairs)
        seed = int(self.cfg.seed) + PAIR_SEED
        rows_np = torch.randint(0, len(self.clips.train), (n,), generator=torch.Generator().manual_seed(seed)).numpy()
        batch = self.clips.batch("train", rows_np)
        rows = torch.stack([batch[f"text_{k}"] for k in BRANCHES], dim=1)  # (N, 3)
        noise, samples = [], []
        for i, start in enumerate(tqdm(range(0, n, PAIR_CHUNK), desc="teacher samples for distillation", leave=False)):
            sl = slice(start, min(start + PAIR_CHUNK, n))
            shape = (sl.stop - sl.start, self.clips.clip_len, self.clips.feature_dim)
            noise.append(torch.randn(shape, generator=torch.Generator().manual_seed(seed + i)))
            texts = {k: self.clips.text_states(rows[sl, j], device) for j, k in enumerate(BRANCHES)}
            scheduler = sampling_scheduler("dpmpp", self.train_scheduler, int(d.pair_solver_steps))
            samples.append(reverse_diffusion(
                lambda x, t, texts=texts: guided_x0(self.teacher, x, t, texts, float(d.guidance)),
                scheduler, self.train_scheduler, shape, torch.Generator().manual_seed(seed + i), device=device).cpu())
        return {"noise": torch.cat(noise), "x0": torch.cat(samples), "rows": rows}

    def _uses_pairs(self) -> bool:
        """Whether the teacher pairs enter the loss (``distill.ode_pairs`` and ``distill.pair_weight`` both > 0)."""
        return int(self.cfg.distill.ode_pairs) > 0 and float(self.cfg.distill.pair_weight) > 0

    def prepare(self, device: torch.device) -> None:
        """Move the task's networks (and a restored optimiser state) to ``device``; make (or load) the teacher pairs
        when they enter the loss."""
        self.teacher.to(device)
        self.target.to(device)
        if self.fake is not None:
            self.fake.to(device)
            for state in self.fake_optimizer.state.values():  # restored on the CPU; AdamW keeps "step" there
                for name, value in state.items():
                    if name != "step" and torch.is_tensor(value):
                        state[name] = value.to(device)
        if self._uses_pairs():
            self.pairs = self._load_or_make_pairs(device)

    def _pair_loss(self, model, b: int, device) -> tuple[torch.Tensor, dict[str, float]]:
        """The student at a noised teacher sample (its own starting noise) against that sample."""
        if self.pairs is None:
            raise HandgenError("the teacher pairs are made by prepare(device) before training")
        d = self.cfg.distill
        pick = torch.randint(0, self.pairs["x0"].shape[0], (b,))
        x0, noise = self.pairs["x0"][pick].to(device), self.pairs["noise"][pick].to(device)
        index = torch.randint(0, int(d.solver_steps), (b,), device=device)
        t, _ = solver_grid(int(self.cfg.diffusion.num_train_timesteps), int(d.solver_steps), index)
        x_t = self.train_scheduler.add_noise(x0, noise, t)
        texts = {k: self.clips.text_states(self.pairs["rows"][pick, j], device) for j, k in enumerate(BRANCHES)}
        student = consistency_output(model(x_t, t, texts), x_t, t, self.lcm)
        return self._x0_loss(student, x0)

    def val_batches(self, batch_size: int) -> list[np.ndarray]:
        return self.clips.val_batches(batch_size, self.cfg.train.val_items)

    def write_artifacts(self, run_dir: Path) -> None:
        self.clips.write_motion_run_files(run_dir, self.model_type, teacher=str(self.cfg.teacher))


def _under(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of ``tensors`` whose names start with ``prefix``, the prefix removed."""
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def _average_over_processes(net: nn.Module) -> None:
    """Average ``net``'s gradients over the processes of a distributed run (nothing in a single process)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])  # one reduce for the whole network
    torch.distributed.all_reduce(flat)
    flat.div_(torch.distributed.get_world_size())
    for g, part in zip(grads, flat.split([g.numel() for g in grads])):
        g.copy_(part.view_as(g))
