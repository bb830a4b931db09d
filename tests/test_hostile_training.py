"""Issue 23 items 2, 7, 9, 12 for training: safe resume, the run lock, config range checks, log and DONE writes."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pickle
import shutil
import socket
import stat
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from handgen import cli
from handgen.config import load_config
from handgen.errors import HandgenError
from handgen.train.checkpoint_state import verify_checkpoint, write_digests
from handgen.train.csv_log import append_log_row, truncate_log
from handgen.train.run_lock import LOCK_FILE, RunLock
from tests.conftest import REPO, run_cli, tiny_diffusion_overrides

CONFIG = str(REPO / "configs" / "motion_diffusion_tiny.yaml")


class Payload:
    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def trained(synthetic_data_dir, tmp_path_factory):
    """A 2-step run with one checkpoint (shared; tests copy it before changing it)."""
    run = tmp_path_factory.mktemp("hostile_train") / "run"
    run_cli("train", "--config", CONFIG, *tiny_diffusion_overrides(
        synthetic_data_dir, run, max_steps=2, **{"train.checkpoint_every": 2, "train.val_every": 1000}), check=True)
    return run


def _copy(run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(run, dst)
    return dst


def _train(*overrides: str) -> SimpleNamespace:
    """``handgen train --config CONFIG OVERRIDES`` in this process (no interpreter start-up);
    returns (returncode, stderr with the log)."""
    err = io.StringIO()
    handler = logging.StreamHandler(err)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    try:
        with contextlib.redirect_stderr(err):
            code = cli.main(["train", "--config", CONFIG, *overrides])
    finally:
        logging.getLogger().removeHandler(handler)
    return SimpleNamespace(returncode=code, stderr=err.getvalue())


def _resume(data, run, steps=3):
    return _train(*tiny_diffusion_overrides(data, run, max_steps=steps, resume="latest",
                                            **{"train.checkpoint_every": 2, "train.val_every": 1000}))


def test_checkpoint_holds_no_custom_pickles_and_a_manifest(trained):
    ckpt = trained / "checkpoints" / "step_0000002"
    names = sorted(p.name for p in ckpt.iterdir())
    assert not [n for n in names if n.startswith("custom_checkpoint")]
    assert {"digests.json", "training_state.json", "ema.safetensors"} <= set(names)
    assert json.loads((ckpt / "training_state.json").read_text())["step"] == 2
    verify_checkpoint(ckpt)  # what was saved verifies


@pytest.mark.parametrize("target", ["random_states_0.pkl", "optimizer.bin", "custom_checkpoint_0.pkl"])
def test_poisoned_checkpoint_is_refused_and_never_runs(trained, synthetic_data_dir, tmp_path, target):
    run = _copy(trained, tmp_path)
    marker = tmp_path / "pwned"
    ckpt = run / "checkpoints" / "step_0000002"
    (ckpt / target).write_bytes(pickle.dumps({"step": Payload(marker)}))
    proc = _resume(synthetic_data_dir, run)
    assert proc.returncode == 1, proc.stderr
    assert "refusing to resume" in proc.stderr and "Traceback" not in proc.stderr
    assert not marker.exists()


def test_poisoned_checkpoint_with_forged_manifest_still_never_runs(trained, synthetic_data_dir, tmp_path):
    run = _copy(trained, tmp_path)
    marker = tmp_path / "pwned"
    ckpt = run / "checkpoints" / "step_0000002"
    torch.save({"state": Payload(marker)}, ckpt / "optimizer.bin")
    write_digests(ckpt)  # the attacker rewrites the manifest too: accelerate's weights_only load refuses
    proc = _resume(synthetic_data_dir, run)
    assert proc.returncode == 1 and "cannot restore the checkpoint safely" in proc.stderr, proc.stderr
    assert not marker.exists()


def test_clean_resume_still_works(trained, synthetic_data_dir, tmp_path):
    run = _copy(trained, tmp_path)
    proc = _resume(synthetic_data_dir, run)
    assert proc.returncode == 0, proc.stderr
    assert "step 2)" in proc.stderr and json.loads((run / "DONE").read_text())["step"] == 3


def test_run_files_have_normal_permissions(trained):
    umask = os.umask(0)
    os.umask(umask)
    for name in ("DONE", "config.yaml", "model.safetensors", "log.csv"):
        assert stat.S_IMODE((trained / name).stat().st_mode) == 0o666 & ~umask, name
    assert not (trained / LOCK_FILE).exists()  # released at the end


def test_second_training_into_a_locked_folder_is_refused(synthetic_data_dir, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / LOCK_FILE).write_text(json.dumps({"pid": sleeper.pid, "host": socket.gethostname(),
                                                 "started": "2026-01-01T00:00:00Z"}))
        proc = _train(*tiny_diffusion_overrides(synthetic_data_dir, run, max_steps=1))
        assert proc.returncode == 1 and f"being trained by process {sleeper.pid}" in proc.stderr, proc.stderr
        assert not (run / "config.yaml").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "started": "x"}))
    with RunLock(tmp_path):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
        with pytest.raises(HandgenError, match="being trained by process"):
            RunLock(tmp_path).acquire()  # held by a live process (this one)
    assert not (tmp_path / LOCK_FILE).exists()


def test_lock_on_another_host_is_refused(tmp_path):
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": 1, "host": "elsewhere", "started": "x"}))
    with pytest.raises(HandgenError, match="on elsewhere"):
        RunLock(tmp_path).acquire()


@pytest.mark.parametrize("override, message", [
    ("max_steps=-5", "max_steps=-5: must be an integer >= 1"),
    ("max_steps=0", "max_steps=0: must be"),
    ("max_steps=abc", "config key 'max_steps'"),  # type errors: the schema (handgen.config_schema)
    ("max_steps=2.5", "could not be converted to Integer"),
    ("train.lr=nan", "train.lr=nan: must be a finite number"),
    ("train.lr=-1e-3", "train.lr=-0.001: must be a number > 0"),
    ("train.lr=.inf", "must be a finite number"),
    ("train.batch_size=0", "train.batch_size=0: must be an integer >= 1"),
    ("train.grad_accum=0", "train.grad_accum=0"),
    ("train.checkpoint_every=0", "train.checkpoint_every=0"),
    ("train.val_every=-1", "train.val_every=-1"),
    ("train.log_every=0", "train.log_every=0"),
    ("train.ema_decay=1.5", "train.ema_decay=1.5"),
    ("train.cond_drop_prob=2", "train.cond_drop_prob=2"),
    ("train.uncond_prob=1.5", "train.uncond_prob=1.5"),
    ("train.ema=maybe", "not a valid bool"),
    ("model.dropout=-0.1", "model.dropout=-0.1"),
    ("model.width=0", "model.width=0"),
    ("seed=-1", "seed=-1"),
    ("loss.mse=-1", "loss.mse=-1"),
    ("sample.steps=0", "sample.steps=0"),
    ("sample.guidance=-2", "sample.guidance=-2"),
    ("sample.noisy_guidance=-1", "sample.noisy_guidance=-1.0: must be a number >= 0"),
    ("sample.noisy_from=-5", "sample.noisy_from=-5: must be an integer >= 0"),
    ("diffusion.num_train_timesteps=0", "diffusion.num_train_timesteps=0"),
    ("text.max_tokens=0", "text.max_tokens=0"),
])
def test_nonsense_config_values_are_one_line_errors(override, message):
    with pytest.raises(HandgenError) as info:
        load_config(CONFIG, [override])
    assert message in str(info.value) and "\n" not in str(info.value)


def test_every_shipped_config_passes_the_checks():
    for path in sorted((REPO / "configs").glob("*.yaml")):
        load_config(path)


def test_negative_max_steps_writes_no_done(synthetic_data_dir, tmp_path):
    run = tmp_path / "run"
    proc = _train(*tiny_diffusion_overrides(synthetic_data_dir, run, max_steps=-5))
    assert proc.returncode == 1 and "max_steps=-5" in proc.stderr and "Traceback" not in proc.stderr
    assert not (run / "DONE").exists()


def test_log_rows_are_appended_not_rewritten(tmp_path):
    log = tmp_path / "log.csv"
    append_log_row(log, 1, {"loss": 1.0})
    append_log_row(log, 2, {"loss": 0.5})
    inode = log.stat().st_ino
    append_log_row(log, 3, {"loss": 0.25})
    assert log.stat().st_ino == inode  # same file, appended in place
    append_log_row(log, 4, {"loss": 0.2, "val_loss": 0.3})  # a new column: one atomic rewrite
    lines = log.read_text().splitlines()
    assert lines[0] == "step,loss,val_loss" and lines[-1] == "4,0.2,0.3" and len(lines) == 5
    with log.open("a") as f:
        f.write("5,0.1")  # torn last line of a killed run (no newline)
    truncate_log(log, 3)
    assert log.read_text().splitlines() == ["step,loss,val_loss", "1,1,", "2,0.5,", "3,0.25,"]


def _fake_checkpoint(folder):
    folder.mkdir(parents=True)
    (folder / "optimizer.bin").write_bytes(b"opt")
    (folder / "random_states_0.pkl").write_bytes(b"rng")
    write_digests(folder)
    verify_checkpoint(folder)
    return folder


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "optimizer.bin").write_bytes(b"opX"), "digest mismatch"),
    (lambda f: (f / "optimizer.bin").unlink(), "missing"),
    (lambda f: (f / "extra.pkl").write_bytes(b"x"), "added after saving"),
    (lambda f: (f / "digests.json").unlink(), "no digests.json"),
    (lambda f: (f / "digests.json").write_text("{not json"), "malformed digest manifest"),
    (lambda f: (f / "digests.json").write_text('{"files": []}'), "malformed digest manifest"),
    (lambda f: (f / "custom_checkpoint_0.pkl").write_bytes(b"x"), "weights_only=False"),
])
def test_checkpoint_verification_failures(tmp_path, damage, message):
    folder = _fake_checkpoint(tmp_path / "step_0000002")
    damage(folder)
    with pytest.raises(HandgenError, match=message) as info:
        verify_checkpoint(folder)
    assert "\n" not in str(info.value)


def test_unreadable_lock_is_refused_while_fresh_and_taken_over_when_old(tmp_path):
    lock = tmp_path / LOCK_FILE
    lock.write_text("garbage")
    with pytest.raises(HandgenError, match="unreadable"):
        RunLock(tmp_path).acquire()
    os.utime(lock, (0, 0))  # a half-written lock from long ago
    with RunLock(tmp_path):
        assert json.loads(lock.read_text())["pid"] == os.getpid()


@pytest.mark.parametrize("override, message", [
    ("model.layers=0", "model.layers=0"),
    ("model.layers=abc", "config key 'model.layers'"),
    ("train.warmup_steps=-1", "train.warmup_steps=-1"),
    ("train.weight_decay=-0.1", "train.weight_decay=-0.1"),
    ("train.checkpoints_total_limit=0", "train.checkpoints_total_limit=0"),
    ("train.grad_clip=-1", "train.grad_clip=-1"),
    ("model.max_frames=0", "model.max_frames=0"),
])
def test_more_nonsense_config_values(override, message):
    with pytest.raises(HandgenError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(CONFIG, [override])


def test_good_values_still_pass():
    cfg = load_config(CONFIG, ["train.lr=1e-3", "max_steps=10", "model.layers=3", "train.ema=false", "train.val_items=0"])
    assert cfg.max_steps == 10 and cfg.model.layers == 3 and cfg.train.lr == 1e-3
