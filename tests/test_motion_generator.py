"""eval.motion_generator: the factory of handgen.sample.generators when present, diffusion-only otherwise."""

from __future__ import annotations

import sys
import types

import pytest

from eval.motion_generator import open_motion_generator
from handgen.errors import HandgenError


def _run_dir(tmp_path, model_type: str):
    (tmp_path / "config.yaml").write_text(f"model_type: {model_type}\n")
    return tmp_path


def test_the_sampling_factory_is_used_when_present(tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("handgen.sample.generators")
    fake.open_generator = lambda run_dir, device="cpu": calls.append(("open", run_dir, device)) or "opened"
    monkeypatch.setitem(sys.modules, "handgen.sample.generators", fake)
    assert open_motion_generator(tmp_path, device="cuda") == "opened"
    fake.load_generator = lambda run_dir, device="cpu": calls.append(("load", run_dir, device)) or "loaded"
    assert open_motion_generator(tmp_path) == "loaded"
    assert calls == [("open", tmp_path, "cuda"), ("load", tmp_path, "cpu")]


def test_without_the_factory_only_diffusion_runs_open(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "handgen.sample.generators", None)  # import raises ModuleNotFoundError
    with pytest.raises(HandgenError, match="holds a 'motion_ar' model"):
        open_motion_generator(_run_dir(tmp_path, "motion_ar"))
    with pytest.raises(HandgenError, match="checkpoint folder not found"):
        open_motion_generator(tmp_path / "nowhere")


def test_without_the_factory_diffusion_runs_use_the_diffusion_generator(tmp_path, monkeypatch):
    import handgen.sample.diffusion_generator as dg

    monkeypatch.setitem(sys.modules, "handgen.sample.generators", None)
    monkeypatch.setattr(dg, "DiffusionMotionGenerator", lambda run_dir, device="cpu": ("diffusion", run_dir, device))
    run = _run_dir(tmp_path, "motion_diffusion")
    assert open_motion_generator(run, device="cpu") == ("diffusion", run, "cpu")
