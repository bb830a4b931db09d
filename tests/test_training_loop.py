"""The shared training loop: run dir contents, exact resume after a kill, 2-process accelerate launch."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.helpers import REPO, run_cli, tiny_diffusion_overrides

CONFIG = str(REPO / "configs" / "motion_diffusion_tiny.yaml")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    return env


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "model.safetensors"))


def test_run_dir_holds_everything_sampling_needs(synthetic_data_dir, tmp_path):
    run = tmp_path / "run"
    run_cli("train", "--config", CONFIG, *tiny_diffusion_overrides(synthetic_data_dir, run, max_steps=4,
            **{"train.checkpoint_every": 2, "train.val_every": 2, "train.checkpoints_total_limit": 1}), check=True)
    for name in ("config.yaml", "model.safetensors", "stats.npz", "data_meta.json", "text_encoder.json",
                 "model_info.json", "log.csv", "DONE"):
        assert (run / name).is_file(), name
    ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert ckpts == ["step_0000004"]  # total limit 1, no partial folders left
    log = (run / "log.csv").read_text().splitlines()
    assert log[0].startswith("step,") and "val_loss" in log[0] and len(log) == 5
    # a second run into the same folder without resume is refused
    proc = run_cli("train", "--config", CONFIG, *tiny_diffusion_overrides(synthetic_data_dir, run, max_steps=4))
    assert proc.returncode == 1 and "resume=latest" in proc.stderr


def test_killed_run_resumes_exactly(synthetic_data_dir, tmp_path):
    common = {"train.checkpoint_every": 3, "train.lr_schedule": "constant", "train.val_every": 1000}
    ref = tmp_path / "ref"
    run_cli("train", "--config", CONFIG, *tiny_diffusion_overrides(synthetic_data_dir, ref, max_steps=6, **common),
            check=True)

    run = tmp_path / "killed"
    args = [sys.executable, "-m", "handgen", "train", "--config", CONFIG,
            *tiny_diffusion_overrides(synthetic_data_dir, run, max_steps=1000, **common)]
    proc = subprocess.Popen(args, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while not (run / "checkpoints" / "step_0000003").is_dir():
            assert proc.poll() is None, "training died before its first checkpoint"
            assert time.time() < deadline, "no checkpoint after 240 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    latest = max(int(p.name.split("_")[1]) for p in (run / "checkpoints").glob("step_???????"))
    assert latest in (3, 6)

    resumed = run_cli("train", "--config", CONFIG,
                      *tiny_diffusion_overrides(synthetic_data_dir, run, max_steps=6, resume="latest", **common))
    assert resumed.returncode == 0, resumed.stderr
    assert f"step {latest})" in resumed.stderr
    a, b = _weights(ref), _weights(run)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key  # same EMA weights as an uninterrupted run
    rows = (run / "log.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(1, 7))


def test_accelerate_launch_two_cpu_processes(synthetic_data_dir, tmp_path):
    if shutil.which("accelerate", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("accelerate launcher not installed next to this python")
    run = tmp_path / "ddp"
    cmd = [str(Path(sys.executable).parent / "accelerate"), "launch", "--cpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "handgen.train", "--config", CONFIG,
           *tiny_diffusion_overrides(synthetic_data_dir, run, max_steps=3, **{"train.checkpoint_every": 3})]
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (run / "DONE").is_file() and (run / "checkpoints" / "step_0000003").is_dir()
