"""``handgen demo --fast`` end to end: every stage's outputs exist and are valid, and a re-run resumes."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from handgen.demo.stages import Stage, run_stages
from handgen.errors import HandgenError
from tests.helpers import cli_in_process


def _gif_frames(path) -> int:
    with Image.open(path) as image:
        return image.n_frames


@pytest.fixture(scope="module")
def fast_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert cli_in_process("demo", "--fast", "--out", out) == 0
    return out


def test_demo_fast_writes_every_stage(fast_demo):
    out = fast_demo
    # data + captions
    manifest = [json.loads(line) for line in (out / "data" / "manifest.jsonl").read_text().splitlines()]
    assert manifest and all(clip["captions"] and clip["captions"][0]["left"] for clip in manifest)
    assert {clip["split"] for clip in manifest} >= {"train", "test"}
    assert any((out / "grasp_data").iterdir())
    # four trained runs, each with its resolved config and weights
    for name in ("motion_diffusion", "evaluator", "grasp_vqvae", "grasp_prior"):
        run = out / "runs" / name
        assert (run / "config.yaml").exists() and (run / "model.safetensors").stat().st_size > 0, name
    # samples: three prompts twice each (a GIF of each prompt's first), a reaction and a long-horizon motion
    text = out / "samples" / "text"
    assert sorted(p.name for p in text.glob("*.npz")) == [f"sample_{i:03d}.npz" for i in range(6)]
    assert sorted(p.name for p in text.glob("*.gif")) == ["sample_000.gif", "sample_002.gif", "sample_004.gif"]
    assert str(np.load(text / "sample_003.npz")["text_left"]) == str(np.load(text / "sample_002.npz")["text_left"])
    long = np.load(out / "samples" / "long_horizon" / "sample_000.npz")
    assert long["joints"].shape == (120, 2, 21, 3) and np.isfinite(long["joints"]).all()
    given = np.load(text / "sample_000.npz")["joints"][:, 0]
    reaction = np.load(out / "samples" / "reaction" / "sample_000.npz")["joints"]
    assert np.abs(reaction[:, 0] - given).max() < 0.01  # the given left hand is kept (metres)
    for folder in ("text", "reaction", "long_horizon"):
        assert _gif_frames(out / "samples" / folder / "sample_000.gif") > 10
    # grasp with its metrics and render
    grasp = np.load(out / "grasps" / "grasp_000.npz")
    assert grasp["joints"].shape == (2, 21, 3) and np.isfinite(grasp["joints"]).all()
    assert list((out / "grasps").glob("grasp_000*.png"))
    # reports
    motion = json.loads((out / "reports" / "motion.json").read_text())
    assert {"real", "model"} <= set(motion["rows"])
    assert json.loads((out / "reports" / "grasp.json").read_text())["num_grasps"] == 1
    summary = (out / "reports" / "summary.md").read_text()
    assert "| total |" in summary and "grasp_000.npz" in summary
    # issue 24: per-prompt checks on the joints, small samples marked, the hold test instead of "plausible"
    assert summary.count("follows: ") == 4 and "training clips showing each motion" in summary
    assert summary.count(" and 1 more (") == 4  # every prompt measured on its 2 samples
    assert re.search(r"follows: left open [012]/2 (yes|no) \(curl -?\d\.\d\d, -?\d\.\d\d rad\)", summary)
    assert "Small sample: n = " in summary and "hold test: " in summary
    # issue 21: even the fast budget's grasp (80 refinement steps from the strategy starts) holds the box
    assert "hold test: holds the object" in summary and bool(grasp["holds"])


def test_demo_rerun_resumes(fast_demo, capsys):
    assert cli_in_process("demo", "--fast", "--out", fast_demo) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert len(lines) == 9 and all("skipped" in line for line in lines)


def test_demo_refuses_other_size(fast_demo, capsys):
    assert cli_in_process("demo", "--out", fast_demo) == 1
    assert "holds a fast demo" in capsys.readouterr().err


def test_stage_without_outputs_is_an_error(tmp_path):
    stage = Stage("noop", "writes nothing", lambda: None, [tmp_path / "missing.txt"])
    with pytest.raises(HandgenError, match="did not write"):
        run_stages(tmp_path, [stage], "fast", log=lambda line: None)
    assert not (tmp_path / ".demo" / "noop.json").exists()
