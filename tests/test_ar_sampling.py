"""AR training through handgen.train and ``handgen sample`` on AR runs: outputs, options, long horizon, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
import pytest

from handgen.cli import main as cli_main
from handgen.errors import HandgenError
from handgen.io.motion_npz import load_motion, save_motion
from tests.helpers import REPO, tiny_ar_overrides, tiny_tokenizer_overrides

LEFT, RIGHT, BOTH = "The left hand makes a fist.", "The right hand stays relaxed.", "The hands move apart."


def _sample(run: Path, out: Path, *extra: str) -> int:
    return cli_main(["-q", "sample", "--ckpt", str(run), "--left", LEFT, "--right", RIGHT, "--both", BOTH,
                     "--out", str(out), *map(str, extra)])


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "no error message"
    return err[-1]


def test_ar_run_dir_is_self_contained(trained_ar, trained_tokenizer):
    for name in ("config.yaml", "model.safetensors", "stats.npz", "data_meta.json", "text_encoder.json",
                 "model_info.json", "log.csv", "DONE"):
        assert (trained_ar / name).is_file(), name
    for name in ("config.yaml", "model.safetensors", "stats.npz", "model_info.json"):
        assert (trained_ar / "tokenizer" / name).read_bytes() == (trained_tokenizer / name).read_bytes(), name
    info = json.loads((trained_ar / "model_info.json").read_text())
    assert info["tokens_per_clip"] == 60 and info["codebook_size"] == 1000 and info["max_text_tokens"] == 12
    header = (trained_ar / "log.csv").read_text().splitlines()[0].split(",")
    assert "val_loss" in header and "token_acc" in header


def test_sample_writes_motions_with_their_tokens(trained_ar, tmp_path):
    out = tmp_path / "out"
    assert _sample(trained_ar, out, "--num", 2, "--top-k", 50, "--top-p", 0.9, "--seed", 3) == 0
    files = sorted(out.glob("sample_*.npz"))
    assert [f.name for f in files] == ["sample_000.npz", "sample_001.npz"]
    motion, extras = load_motion(files[0])
    assert motion.num_frames == 60 and extras["joints"].shape == (60, 2, 21, 3)
    assert extras["texts"] == {"left": LEFT, "right": RIGHT, "both": BOTH}
    assert str(extras["sampler"]) == "ar" and int(extras["top_k"]) == 50
    tokens = [np.load(f)["motion_tokens"] for f in files]
    assert tokens[0].shape == (60,)  # 30 steps x 2 groups
    assert tokens[0].min() >= 0 and tokens[0].max() < 1000
    assert not np.array_equal(tokens[0], tokens[1])  # two samples of one prompt differ


def test_greedy_is_deterministic_and_the_cache_changes_nothing(trained_ar, tmp_path):
    runs = [("a", ()), ("b", ("--seed", 9)), ("c", ("--no-kv-cache",))]
    for name, extra in runs:
        assert _sample(trained_ar, tmp_path / name, "--greedy", "--guidance", 2.0, *extra) == 0
    a, b, c = (np.load(tmp_path / name / "sample_000.npz")["motion_tokens"] for name, _ in runs)
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_long_horizon_and_prefix_condition(trained_ar, tmp_path, capsys):
    assert _sample(trained_ar, tmp_path / "long", "--frames", 100) == 0
    long = np.load(tmp_path / "long" / "sample_000.npz")
    assert long["joints"].shape == (100, 2, 21, 3) and np.isfinite(long["joints"]).all()
    assert "motion_tokens" not in long.files

    # token ids from a .npy start the new sample
    ids = np.arange(10, 21, dtype=np.int64)  # 11 ids: the condition may end inside a step (2 groups)
    np.save(tmp_path / "ids.npy", ids)
    assert _sample(trained_ar, tmp_path / "pre", "--mode", "prefix", "--condition", tmp_path / "ids.npy") == 0
    assert np.array_equal(np.load(tmp_path / "pre" / "sample_000.npz")["motion_tokens"][:11], ids)

    # a motion file: tokenised in its canonical frame, the sample comes back in its coordinates
    motion, extras = load_motion(tmp_path / "long" / "sample_000.npz")
    head = type(motion)(motion.global_orient[:20], motion.hand_pose[:20], motion.transl[:20] + [0.3, 0.0, 0.0],
                        motion.betas, motion.fps)
    save_motion(tmp_path / "head.npz", head, extras["joints"][:20] + [0.3, 0.0, 0.0], extras["texts"], "procedural",
                extras["hands_mean"])
    assert _sample(trained_ar, tmp_path / "cont", "--mode", "prefix", "--condition", tmp_path / "head.npz") == 0
    cont = np.load(tmp_path / "cont" / "sample_000.npz")
    assert cont["joints"].shape == (60, 2, 21, 3)
    start_shift = cont["joints"][0, 1, 0] - head_first_right_wrist(extras["joints"][0] + [0.3, 0.0, 0.0])
    assert np.linalg.norm(start_shift) < 0.5  # back near the condition's own position, not the origin

    # the whole window given: nothing left to generate
    np.save(tmp_path / "full.npy", np.zeros(60, dtype=np.int64))
    assert _sample(trained_ar, tmp_path / "x", "--mode", "prefix", "--condition", tmp_path / "full.npy") == 1
    assert "nothing left to generate" in _error(capsys)

    # ... unless --frames asks for more: the given window comes first, new windows follow (issue 24)
    assert _sample(trained_ar, tmp_path / "more", "--mode", "prefix", "--condition", tmp_path / "full.npy",
                   "--frames", 120) == 0
    more = np.load(tmp_path / "more" / "sample_000.npz")
    assert more["joints"].shape == (120, 2, 21, 3) and np.isfinite(more["joints"]).all()
    assert _sample(trained_ar, tmp_path / "same", "--mode", "prefix", "--condition", tmp_path / "full.npy",
                   "--frames", 120, "--seed", 5) == 0
    same = np.load(tmp_path / "same" / "sample_000.npz")
    np.testing.assert_allclose(same["joints"][:50], more["joints"][:50], atol=1e-6)  # the given part
    assert not np.allclose(same["joints"][70:], more["joints"][70:])  # the generated part


def head_first_right_wrist(joints_frame: np.ndarray) -> np.ndarray:
    return joints_frame[1, 0]


@pytest.mark.parametrize("ids,problem", [
    (np.array([3, 1000, 5]), "token id 1000 at position 1 is outside the codebook [0, 1000)"),
    (np.array([-1]), "token id -1 at position 0 is outside the codebook"),
    (np.array([1.0, 2.0]), "must be integers"),
    (np.zeros((2, 3), dtype=np.int64), "1-D"),
])
def test_bad_token_ids_in_a_condition_file(trained_ar, tmp_path, capsys, ids, problem):
    path = tmp_path / "bad.npy"
    np.save(path, ids)
    assert _sample(trained_ar, tmp_path / "out", "--mode", "prefix", "--condition", path) == 1
    line = _error(capsys)
    assert str(path) in line and problem in line
    np.savez(tmp_path / "bad.npz", motion_tokens=ids)
    assert _sample(trained_ar, tmp_path / "out", "--mode", "prefix", "--condition", tmp_path / "bad.npz") == 1
    assert problem in _error(capsys)


@pytest.mark.parametrize("extra,message", [
    (("--mode", "reaction", "--given", "left", "--condition", "x.npz"), "--mode reaction is not available for AR"),
    (("--sampler", "ddim"), "--sampler do(es) not apply to AR runs"),
    # --temperature 0 is refused by argparse now: test_hostile_outputs::test_numeric_options_are_range_checked
    (("--mode", "prefix"), "--mode prefix needs --condition"),
])
def test_options_that_do_not_apply_to_ar_runs(trained_ar, tmp_path, capsys, extra, message):
    assert _sample(trained_ar, tmp_path / "out", *extra) == 1
    assert message in _error(capsys)


def test_prompt_longer_than_the_prefix_is_refused(trained_ar, tmp_path, capsys):
    long_text = "The left hand slowly opens and closes its fingers many times while it moves far to the left side."
    assert cli_main(["-q", "sample", "--ckpt", str(trained_ar), "--left", long_text, "--out", str(tmp_path)]) == 1
    line = _error(capsys)
    assert "prompt 1: the left text is" in line and "at most 12 tokens per text" in line


def test_tokenizer_with_another_feature_layout_is_refused(trained_tokenizer, synthetic_data_dir, tmp_path):
    from handgen.train.loop import run_training

    bad = tmp_path / "tok"
    shutil.copytree(trained_tokenizer, bad)
    info = json.loads((bad / "model_info.json").read_text())
    info["feature_layout"]["slices"]["left.joints"] = [99, 160]
    (bad / "model_info.json").write_text(json.dumps(info))
    overrides = tiny_ar_overrides(bad, tmp_path / "ar", max_steps=1) + [f"data={synthetic_data_dir}"]
    with pytest.raises(HandgenError, match=r"another feature layout than .*block 'left.joints' at \[99, 160\]"):
        run_training(str(REPO / "configs" / "motion_ar_tiny.yaml"), overrides)
    with pytest.raises(HandgenError, match="config key 'tokenizer'"):
        run_training(str(REPO / "configs" / "motion_ar_tiny.yaml"), [f"output_dir={tmp_path / 'ar2'}"])


def test_hand_text_with_a_tokenizer_that_mixes_the_hands_is_refused(synthetic_data_dir, tmp_path):
    from handgen.train.loop import run_training

    mixed = run_training(str(REPO / "configs" / "fsq_tiny.yaml"), tiny_tokenizer_overrides(
        synthetic_data_dir, tmp_path / "tok", max_steps=1, **{"model.hand_split": "false",
                                                               "model.hand_split_decoder": "false"}))
    with pytest.raises(HandgenError, match="model.hand_text needs a per-hand tokenizer"):
        run_training(str(REPO / "configs" / "motion_ar_tiny.yaml"), tiny_ar_overrides(mixed, tmp_path / "ar", max_steps=1))
    with pytest.raises(HandgenError, match="model.hand_attention needs a per-hand tokenizer"):
        run_training(str(REPO / "configs" / "motion_ar_tiny.yaml"),
                     tiny_ar_overrides(mixed, tmp_path / "ar1", max_steps=1, **{"model.hand_text": "false"}))
    run = run_training(str(REPO / "configs" / "motion_ar_tiny.yaml"),
                       tiny_ar_overrides(mixed, tmp_path / "ar2", max_steps=1, **{"model.hand_text": "false",
                                                                                  "model.hand_attention": "false"}))
    assert (run / "model.safetensors").exists()


def test_sample_picks_the_generator_by_model_type(trained_tokenizer, tmp_path, capsys):
    from eval.benchmarks.sampling import untrained_diffusion_run

    assert _sample(trained_tokenizer, tmp_path / "out") == 1
    assert "holds a 'fsq_tokenizer' model" in _error(capsys)
    diffusion = untrained_diffusion_run(tmp_path)
    assert _sample(diffusion, tmp_path / "d", "--greedy", "--top-k", 5) == 1
    assert "--top-k, --greedy do(es) not apply to diffusion runs" in _error(capsys)
    assert _sample(diffusion, tmp_path / "d", "--mode", "prefix", "--condition", "x.npy") == 1
    assert "--mode prefix is for AR runs" in _error(capsys)
    assert _sample(diffusion, tmp_path / "d", "--steps", 2, "--frames", 20) == 0
    assert np.load(tmp_path / "d" / "sample_000.npz")["joints"].shape == (20, 2, 21, 3)


def test_load_dispatches_on_the_model_type(trained_ar, trained_tokenizer, tmp_path):
    import handgen
    from handgen.api import MotionGenerator
    from handgen.sample.ar_generator import ARMotionGenerator
    from handgen.sample.tokenizer_run import TokenizerRun

    generator = handgen.load(trained_ar, device="cpu")
    assert isinstance(generator, MotionGenerator) and isinstance(generator.engine, ARMotionGenerator)
    assert generator.clip_len == 60
    feats = generator.engine.generate([{"left": LEFT, "right": RIGHT, "both": BOTH}] * 3, 24, seed=1, greedy=True)
    assert feats.shape == (3, 24, 324) and torch.isfinite(feats).all()
    with pytest.raises(HandgenError, match="not a handgen run dir"):
        handgen.load(tmp_path)
    with pytest.raises(HandgenError, match="checkpoint folder not found"):
        handgen.load(tmp_path / "missing")
    assert isinstance(handgen.load(trained_tokenizer), TokenizerRun)
    with pytest.raises(HandgenError, match="holds a 'fsq_tokenizer' model.*tokenizer=THIS_DIR"):
        MotionGenerator(trained_tokenizer)
