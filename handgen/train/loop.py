"""The training loop shared by every model type.

accelerate for devices, mixed precision, gradient accumulation and multi-process runs;
``diffusers.training_utils.EMAModel`` for the EMA; ``save_state`` checkpoints every
``train.checkpoint_every`` steps (at most ``train.checkpoints_total_limit`` kept) and
``resume=latest`` continues exactly (deterministic per-step batches and seeds).
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from omegaconf import DictConfig

from handgen.config import load_config, save_config
from handgen.config_checks import check_training_config
from handgen.errors import HandgenError
from handgen.io.atomic import atomic_path, atomic_write_json
from handgen.io.run_dir import WEIGHTS_FILE
from handgen.registry import task_class
from handgen.train.batching import StepSampler, step_seed
from handgen.train.checkpoint_state import (
    load_task_state,
    load_training_state,
    save_task_state,
    save_training_state,
    verify_checkpoint,
    write_digests,
)
from handgen.train.checkpoints import checkpoint_dir, latest_checkpoint, prune_checkpoints
from handgen.train.csv_log import append_log_row, truncate_log
from handgen.train.run_lock import RunLock

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> Path:
    """Train the model described by ``cfg``; returns the run dir."""
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration

    for key in ("model_type", "output_dir", "max_steps", "seed"):
        if key not in cfg or cfg[key] is None:
            raise HandgenError(f"config key {key!r} is required")
    check_training_config(cfg)
    run_dir = Path(cfg.output_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise HandgenError(f"output_dir={run_dir} is an existing file, not a folder")
    tc = cfg.train
    accelerator = Accelerator(
        gradient_accumulation_steps=int(tc.grad_accum),
        mixed_precision=str(tc.mixed_precision),
        project_config=ProjectConfiguration(project_dir=str(run_dir)),
        cpu=bool(tc.cpu),
    )
    resume = cfg.resume
    lock = RunLock(run_dir)
    if accelerator.is_main_process:
        lock.acquire()  # a second training into this folder stops here
    try:
        if accelerator.is_main_process:
            _check_run_dir(run_dir, cfg, resume)
        accelerator.wait_for_everyone()
        return _train_locked(cfg, accelerator, run_dir, resume)
    finally:
        lock.release()


def _train_locked(cfg: DictConfig, accelerator, run_dir: Path, resume) -> Path:
    from accelerate.utils import set_seed
    from diffusers.optimization import get_scheduler
    from diffusers.training_utils import EMAModel
    from tqdm.auto import tqdm

    tc = cfg.train

    set_seed(int(cfg.seed))  # the same initial weights on every process and every run of this config
    task = task_class(cfg.model_type)(cfg, run_dir)
    model = task.build_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(tc.lr), weight_decay=float(tc.weight_decay))
    lr_scheduler = get_scheduler(
        str(tc.lr_schedule), optimizer=optimizer,
        num_warmup_steps=int(tc.warmup_steps) * accelerator.num_processes,
        num_training_steps=int(cfg.max_steps) * accelerator.num_processes,
    )
    model, optimizer, lr_scheduler = accelerator.prepare(model, optimizer, lr_scheduler)
    ema = EMAModel(accelerator.unwrap_model(model).parameters(), decay=float(tc.ema_decay)) if tc.ema else None
    if ema is not None:
        ema.to(accelerator.device)
    progress = SimpleNamespace(step=0)

    if resume:
        found = _resume_point(run_dir, str(resume))
        if found is not None:
            progress.step = _load_checkpoint(accelerator, found, ema, task)
            log.info("resumed from %s (step %d)", found, progress.step)
            if accelerator.is_main_process:
                truncate_log(run_dir / "log.csv", progress.step)
    if accelerator.is_main_process:
        save_config(cfg, run_dir / "config.yaml")
        task.write_artifacts(run_dir)
    task.prepare(accelerator.device)

    sampler = StepSampler(task.num_train_items(), int(tc.batch_size) * accelerator.num_processes, int(cfg.seed))
    accum = int(tc.grad_accum)
    log_path = run_dir / "log.csv"
    bar = tqdm(total=int(cfg.max_steps), initial=progress.step, desc=f"train {cfg.model_type}",
               disable=not accelerator.is_local_main_process or bool(os.environ.get("TQDM_DISABLE")),
               dynamic_ncols=True)
    model.train()
    t0, samples = time.time(), 0
    while progress.step < int(cfg.max_steps):
        logs: dict[str, float] = {}
        for a in range(accum):
            micro = progress.step * accum + a
            torch.manual_seed(step_seed(int(cfg.seed), micro, accelerator.process_index))
            idx = sampler.local_batch(micro, accelerator.process_index, accelerator.num_processes)
            batch = {k: v.to(accelerator.device) for k, v in task.make_batch(idx, "train").items()}
            with accelerator.accumulate(model):
                loss, parts = task.compute_loss(model, batch, train=True)
                accelerator.backward(loss)
                if accelerator.sync_gradients and float(tc.grad_clip) > 0:
                    accelerator.clip_grad_norm_(model.parameters(), float(tc.grad_clip))
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            samples += len(idx) * accelerator.num_processes
            for k, v in {"loss": loss.item(), **parts}.items():
                logs[k] = logs.get(k, 0.0) + v / accum
        if ema is not None:
            ema.step(accelerator.unwrap_model(model).parameters())
        progress.step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{logs['loss']:.4f}")
        step = progress.step
        if step % int(tc.val_every) == 0 or step == int(cfg.max_steps):
            logs.update(_validate(task, accelerator, model, ema, int(tc.batch_size)))
        if accelerator.is_main_process and (step % int(tc.log_every) == 0 or "val_loss" in logs):
            logs["lr"] = lr_scheduler.get_last_lr()[0]
            logs["samples_per_s"] = samples / max(time.time() - t0, 1e-9)
            append_log_row(log_path, step, logs)
        if step % int(tc.checkpoint_every) == 0 or step == int(cfg.max_steps):
            _save_checkpoint(accelerator, run_dir, step, int(tc.checkpoints_total_limit), ema, task)
            if accelerator.is_main_process:
                _export_weights(accelerator, model, ema, run_dir)
    bar.close()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        _export_weights(accelerator, model, ema, run_dir)
        atomic_write_json(run_dir / "DONE", {"step": progress.step})
    accelerator.end_training()
    return run_dir


def _check_run_dir(run_dir: Path, cfg: DictConfig, resume) -> None:
    """Refuse to mix two different runs in one folder."""
    existing = run_dir / "config.yaml"
    if existing.exists() and not resume:
        if (run_dir / "checkpoints").exists():
            raise HandgenError(
                f"{run_dir} already holds a run; pass resume=latest to continue it or choose another output_dir"
            )
    if existing.exists():
        old = load_config(existing)
        if old.get("model_type") != cfg.model_type:
            raise HandgenError(f"{run_dir} holds a {old.get('model_type')!r} run, not {cfg.model_type!r}")
    run_dir.mkdir(parents=True, exist_ok=True)


def _resume_point(run_dir: Path, resume: str) -> Path | None:
    if resume == "latest":
        found = latest_checkpoint(run_dir)
        return found[1] if found else None
    path = Path(resume)
    if not path.is_dir():
        raise HandgenError(f"resume={resume}: not a checkpoint folder (use resume=latest)")
    return path


def _load_checkpoint(accelerator, folder: Path, ema, task) -> int:
    """Verify ``folder`` against its digest manifest, then restore it (model, optimiser, EMA, the task's own
    state); returns the optimizer step.

    Raises:
        HandgenError: a changed, added or missing file, or a file accelerate cannot read safely.
    """
    verify_checkpoint(folder)
    try:
        accelerator.load_state(str(folder))
    except (pickle.UnpicklingError, RuntimeError, KeyError, ValueError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise HandgenError(f"{folder}: cannot restore the checkpoint safely ({first[:200]})") from None
    step = load_training_state(folder, ema, accelerator.device)
    task.restore_checkpoint_tensors(load_task_state(folder))  # on the CPU: AdamW keeps its step counts there
    return step


def _save_checkpoint(accelerator, run_dir: Path, step: int, keep: int, ema=None, task=None) -> None:
    final = checkpoint_dir(run_dir, step)
    partial = final.with_name(final.name + ".partial")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process and partial.exists():
        shutil.rmtree(partial)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(partial))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        save_training_state(partial, step, ema)
        if task is not None:
            save_task_state(partial, task.checkpoint_tensors())
        write_digests(partial)
        if final.exists():
            shutil.rmtree(final)
        partial.rename(final)
        prune_checkpoints(run_dir, keep)
    accelerator.wait_for_everyone()


def _export_weights(accelerator, model, ema, run_dir: Path) -> None:
    """Write the weights sampling uses (the EMA weights when EMA is on) to RUN_DIR/model.safetensors."""
    from safetensors.torch import save_file

    net = accelerator.unwrap_model(model)
    if ema is not None:
        ema.store(net.parameters())
        ema.copy_to(net.parameters())
    # clone: on CPU .cpu() is the same storage, which ema.restore below would overwrite with the raw weights
    state = {k: v.detach().cpu().clone().contiguous() for k, v in net.state_dict().items()}
    if ema is not None:
        ema.restore(net.parameters())
    with atomic_path(run_dir / WEIGHTS_FILE, suffix=".safetensors") as tmp:
        save_file(state, str(tmp))


@torch.no_grad()
def _validate(task, accelerator, model, ema, batch_size: int) -> dict[str, float]:
    batches = task.val_batches(batch_size)
    if not batches:
        return {}
    net = accelerator.unwrap_model(model)
    if ema is not None:
        ema.store(net.parameters())
        ema.copy_to(net.parameters())
    net.eval()
    rng_state = torch.get_rng_state()
    torch.manual_seed(12345)  # the same noise at every validation
    total, count = 0.0, 0
    for idx in batches:
        batch = {k: v.to(accelerator.device) for k, v in task.make_batch(idx, "val").items()}
        loss, _ = task.compute_loss(net, batch, train=False)
        total += loss.item() * len(idx)
        count += len(idx)
    out = {"val_loss": total / max(count, 1)}
    out.update(task.val_metrics(net))
    torch.set_rng_state(rng_state)
    net.train()
    if ema is not None:
        ema.restore(net.parameters())
    return out


def run_training(config_path: str, overrides: list[str]) -> Path:
    """Entry used by ``handgen train`` and ``python -m handgen.train``."""
    cfg = load_config(config_path, overrides)
    return train(cfg)

