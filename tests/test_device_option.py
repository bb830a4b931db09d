"""``--device``: auto picks CUDA when present; devices this build lacks are one-line errors."""

from __future__ import annotations

import pytest
import torch
from conftest import run_cli

from handgen.device import resolve_device
from handgen.errors import HandgenError


def test_auto_is_cuda_only_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device(None) == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cpu") == "cpu"


def test_cuda_on_a_cpu_build_and_nonsense_are_errors(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(HandgenError, match="has no CUDA support"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(HandgenError, match="finds no GPU"):
        resolve_device("cuda:0")
    with pytest.raises(HandgenError, match="not a device"):
        resolve_device("gpu7")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
@pytest.mark.parametrize("command", [
    ("sample", "--ckpt", "nowhere", "--left", "a", "--out", "o"),
    ("grasp", "--ckpt", "nowhere", "--mesh", "m.obj", "--category", "box", "--out", "o"),
    ("eval", "motion", "--ckpt", "nowhere", "--data", "d", "--evaluator", "e", "--out", "r.json"),
])
def test_device_cuda_without_cuda_is_one_line(tmp_path, command):
    proc = run_cli(*command, "--device", "cuda", cwd=tmp_path)
    err = proc.stderr.strip()
    assert proc.returncode == 1 and "\n" not in err and "--device cuda" in err, err
