"""``handgen sample`` with the diffusion model: outputs, conditioning modes, long horizon, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from handgen.io.data_dir import DataDir
from handgen.io.motion_npz import load_motion
from tests.helpers import cli_in_process, run_cli

TEXTS = ("--left", "The left hand makes a fist.", "--right", "The right hand waves.", "--both",
         "The hands move independently.")


def _sample(run, out, *extra):
    assert cli_in_process("sample", "--ckpt", run, *TEXTS, "--out", out, "--steps", "8", *extra) == 0
    return [load_motion(p) for p in sorted(out.glob("sample_*.npz"))]


def test_text_sampling_writes_the_motion_format(tiny_diffusion_run, tmp_path):
    out = tmp_path / "s"
    samples = _sample(tiny_diffusion_run, out, "--num", "2", "--render", "--seed", "3")
    assert len(samples) == 2 and len(list(out.glob("sample_*.gif"))) == 2
    motion, extras = samples[0]
    assert motion.num_frames == 60 and extras["joints"].shape == (60, 2, 21, 3)
    assert extras["texts"]["left"] == "The left hand makes a fist." and extras["hand_model"] == "procedural"
    assert np.all(np.isfinite(motion.hand_pose))
    # the two samples of one prompt differ; the same seed reproduces them
    assert not np.allclose(samples[0][1]["joints"], samples[1][1]["joints"])
    again = _sample(tiny_diffusion_run, tmp_path / "again", "--num", "2", "--seed", "3")
    np.testing.assert_allclose(again[0][1]["joints"], extras["joints"], atol=1e-5)


def test_empty_texts_are_unconditional(tiny_diffusion_run, tmp_path):
    code = cli_in_process("sample", "--ckpt", tiny_diffusion_run, "--left", "", "--right", "", "--both", "",
                          "--out", tmp_path / "u", "--steps", "4")
    assert code == 0 and len(list((tmp_path / "u").glob("*.npz"))) == 1


@pytest.mark.parametrize("mode,extra", [
    ("reaction", ("--given", "left")),
    ("reaction", ("--given", "right")),
    ("wrist", ()),
    ("inbetween", ()),
    ("keyframe", ("--frames-given", "0,25,59")),
])
def test_conditioning_modes_reproduce_the_given_part(tiny_diffusion_run, condition_clip, tmp_path, mode, extra):
    cond_motion, cond = load_motion(condition_clip)
    (motion, out), = _sample(tiny_diffusion_run, tmp_path / mode, "--mode", mode, "--condition", condition_clip,
                             *extra)
    joints, given = out["joints"], cond["joints"]
    if mode == "reaction":
        h = 0 if extra[1] == "left" else 1
        np.testing.assert_allclose(joints[:, h], given[:, h], atol=2e-4)
        assert np.abs(joints[:, 1 - h] - given[:, 1 - h]).mean() > 1e-3  # the other hand is generated
    elif mode == "wrist":
        np.testing.assert_allclose(joints[:, :, 0], given[:, :, 0], atol=2e-4)
        assert np.abs(joints[:, :, 1:] - given[:, :, 1:]).mean() > 1e-3
    else:
        frames = list(range(10)) + list(range(50, 60)) if mode == "inbetween" else [0, 25, 59]
        np.testing.assert_allclose(joints[frames], given[frames], atol=2e-4)
        free = [f for f in range(60) if f not in frames]
        assert np.abs(joints[free] - given[free]).mean() > 1e-3


def _largest_joint_steps(joints: np.ndarray) -> np.ndarray:
    """Largest joint displacement (m) between consecutive frames: (T-1,) from (T, 2, 21, 3)."""
    return np.linalg.norm(np.diff(joints, axis=0), axis=-1).max(axis=(1, 2))


SEAMS = (60, 110, 160)  # 180 frames from windows of 60 overlapping by 10


def test_long_horizon_seams_are_no_worse_than_the_motion(tiny_diffusion_run, tmp_path):
    (motion, out), = _sample(tiny_diffusion_run, tmp_path / "long", "--frames", "180")
    assert out["joints"].shape == (180, 2, 21, 3)
    step = _largest_joint_steps(out["joints"])
    inside = np.delete(step, [s - 1 for s in SEAMS])
    for seam in SEAMS:
        assert step[seam - 1] <= np.percentile(inside, 95), f"jump of {step[seam - 1]:.4f} m at frame {seam}"


@pytest.mark.slow
def test_long_horizon_seams_within_data_motion(synthetic_data_dir, tmp_path):
    """A properly trained tiny model (minutes): seams no larger than the data's own frame-to-frame motion."""
    from tests.helpers import REPO, tiny_diffusion_overrides

    run = tmp_path / "run"
    overrides = tiny_diffusion_overrides(synthetic_data_dir, run, max_steps=1500, **{
        "model.layers": 2, "model.width": 128, "model.ff": 256, "train.batch_size": 32,
        "train.checkpoint_every": 1500, "train.val_every": 1500, "text.max_tokens": 24})
    run_cli("-q", "train", "--config", REPO / "configs" / "motion_diffusion_tiny.yaml", *overrides, check=True)
    (motion, out), = _sample(run, tmp_path / "long", "--frames", "180")
    step = _largest_joint_steps(out["joints"])
    data_feats, _ = DataDir(synthetic_data_dir).split_arrays("train")
    joints = np.concatenate([data_feats[..., 99:162], data_feats[..., 162 + 99:]], -1)
    data_steps = np.linalg.norm(np.diff(joints.reshape(*joints.shape[:2], 42, 3), axis=1), axis=-1).max(-1)
    for seam in SEAMS:
        assert step[seam - 1] <= data_steps.max(), f"jump of {step[seam - 1]:.4f} m at frame {seam}"


def test_bad_input_is_a_one_line_error(tiny_diffusion_run, condition_clip, tmp_path, capsys):
    out = tmp_path / "never"
    cases = [
        (["--ckpt", tiny_diffusion_run, *TEXTS, "--frames", "4"], "--frames"),
        (["--ckpt", tiny_diffusion_run, *TEXTS, "--mode", "reaction", "--given", "left", "--condition",
          condition_clip, "--frames", "40"], "has 60 frames"),
        (["--ckpt", tiny_diffusion_run, *TEXTS, "--mode", "inbetween"], "--condition"),
        (["--ckpt", tiny_diffusion_run, *TEXTS, "--mode", "keyframe", "--condition", condition_clip,
          "--frames-given", "0,99"], "outside"),
        (["--ckpt", tiny_diffusion_run], "--left"),
    ]
    for args, message in cases:
        capsys.readouterr()
        assert cli_in_process("sample", *args, "--out", out) == 1
        err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("handgen: ")]
        assert len(err) == 1 and message in err[0], err
    assert not out.exists()
    # the real console behaviour: exit status 1 and one line, no traceback
    proc = run_cli("sample", "--ckpt", tmp_path / "missing", *TEXTS, "--out", out)
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0 and "not found" in proc.stderr
    assert not out.exists()


def test_wrong_model_type_is_refused(tmp_path):
    run = tmp_path / "other"
    run.mkdir()
    (run / "config.yaml").write_text("model_type: grasp_prior\n")
    proc = run_cli("sample", "--ckpt", run, *TEXTS, "--out", tmp_path / "o")
    assert proc.returncode == 1 and "grasp_prior" in proc.stderr
