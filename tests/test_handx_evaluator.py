"""HandX's evaluator (--evaluator handx:DIR): a checkpoint written here in the documented key layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from eval.handx_evaluator import CKPT, MEAN, STD, T5_DIR, HandXEvaluator, text_string
from eval.handx_protocol import evaluator_input
from handgen.errors import InputFileError
from handgen.io.handx_format import UP_AXES
from handgen.models.temos_encoder import TemosEncoder

WORDS = "the left right hand hands both wave waves fist open clap touch index thumb a".split()


def tiny_t5(folder: Path) -> None:
    """A tiny T5 encoder (random weights from a T5Config) and a word-level tokenizer, saved locally."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(folder)
    torch.manual_seed(0)
    config = T5Config(vocab_size=len(vocab), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    T5EncoderModel(config).save_pretrained(folder)


class Hyper:
    """Stands for Lightning's pickled extras: a class weights_only loading refuses."""


@pytest.fixture(scope="module")
def handx_eval(tmp_path_factory):
    folder = tmp_path_factory.mktemp("handx_eval")
    tiny_t5(folder / T5_DIR)
    torch.manual_seed(1)
    motion, text = TemosEncoder(126).eval(), TemosEncoder(16, text=True).eval()
    state = {**{f"motionencoder.{k}": v for k, v in motion.state_dict().items()},
             **{f"textencoder.{k}": v for k, v in text.state_dict().items()},
             "motiondecoder.final.weight": torch.randn(4, 4)}
    torch.save({"state_dict": state, "epoch": 269, "pytorch-lightning_version": "2.0.0"}, folder / CKPT)
    rng = np.random.default_rng(0)
    np.save(folder / MEAN, rng.normal(0, 0.05, 126))
    np.save(folder / STD, rng.uniform(0.05, 0.2, 126))
    return folder, motion, text, state


def test_checkpoint_loads_strictly_and_embeddings_equal_the_direct_modules(handx_eval):
    folder, motion, text, _ = handx_eval
    ev = HandXEvaluator(folder)
    joints = np.random.default_rng(2).normal(0, 0.1, (3, 60, 2, 21, 3))
    # handgen's y-up joints go back to HandX's z-up coordinates before the evaluator input
    x = (evaluator_input(joints @ UP_AXES["z"]) - np.load(folder / MEAN)) / np.load(folder / STD)
    with torch.no_grad():
        expected = motion(torch.as_tensor(x, dtype=torch.float32)).numpy()
    assert np.allclose(ev.embed_motion(joints), expected, atol=1e-5)
    assert ev.embed_motion(joints).shape == (3, 256)

    from transformers import AutoTokenizer, T5EncoderModel

    triplets = [{"left": "the left hand waves", "right": "a fist", "both": "both hands clap"},
                {"left": "open", "right": "the right thumb", "both": "touch"}]
    tok = AutoTokenizer.from_pretrained(str(folder / T5_DIR))
    t5 = T5EncoderModel.from_pretrained(str(folder / T5_DIR)).eval()
    strings = [text_string(t) for t in triplets]
    assert strings[0] == "<extra_id0> the left hand waves <extra_id1> a fist <extra_id2> both hands clap <extra_id3>"
    batch = tok(strings, padding=True, return_tensors="pt")
    assert not batch["attention_mask"].all()  # the two strings differ in length: the padding mask matters
    with torch.no_grad():
        states = t5(**batch).last_hidden_state
        expected = text(states, batch["attention_mask"].bool()).numpy()
    assert np.allclose(ev.embed_text(triplets), expected, atol=1e-5)


def test_missing_key_shapes_and_files_are_clear_errors(handx_eval, tmp_path):
    import shutil

    folder, _, _, state = handx_eval
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    broken = {k: v for k, v in state.items() if k != "motionencoder.mu_token"}
    torch.save({"state_dict": broken}, bad / CKPT)
    with pytest.raises(InputFileError, match=r"missing \['motionencoder.mu_token'\]"):
        HandXEvaluator(bad)
    torch.save({"state_dict": state, "hyper_parameters": Hyper()}, bad / CKPT)
    with pytest.raises(InputFileError, match="refusing to run them"):
        HandXEvaluator(bad)
    (bad / MEAN).unlink()
    with pytest.raises(InputFileError, match="mean_can_pos.npy: not found"):
        HandXEvaluator(bad)


def test_eval_motion_with_the_handx_evaluator(handx_eval, tmp_path, hand_pair):
    from handx_files import write_handx_dir

    from data_prep.prep_handx import prep_handx
    from eval.handx_report import evaluate_handx

    folder = handx_eval[0]
    src = write_handx_dir(tmp_path / "src", hand_pair, train=2, test=4, corrupt=None, foreign=None)
    prep_handx(src, tmp_path / "data", progress=False)
    report = evaluate_handx(f"handx:{folder}", tmp_path / "data", real=True)
    assert report["clips"] == 4 and report["generations"] == 1
    assert report["metrics"]["FID"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert report["metrics"]["MPJPE"]["mean"] == 0.0


def test_export_handx_eval_round_trips_through_eval_samples(handx_eval, tmp_path, hand_pair, capsys):
    import pickle

    from conftest import cli_in_process
    from handx_files import NAME_MAP, make_member, write_handx_dir

    from data_prep.prep_handx import prep_handx
    from eval.handx_protocol import mpjpe_mm
    from handgen.io.data_dir import DataDir
    from handgen.io.handx_format import read_sample_files
    from handgen.io.motion_npz import save_motion

    folder = handx_eval[0]
    src = write_handx_dir(tmp_path / "src", hand_pair, train=2, test=4, corrupt=None, foreign=None)
    prep_handx(src, tmp_path / "data", progress=False)
    data = DataDir(tmp_path / "data")
    rows = data.clips("test")
    rng = np.random.default_rng(5)
    samples = tmp_path / "samples"
    generated = []
    for i, row in enumerate(rows):  # two samples per test clip, named for it by source_id
        clip = data.load_clip(row["id"])
        for g in range(2):
            joints = clip.joints + rng.normal(0, 0.01, clip.joints.shape)
            generated.append(joints)
            save_motion(samples / f"sample_{2 * i + g:03d}.npz", clip.motion, joints, row["captions"][0],
                        data.meta["hand_model"], data.meta["hands_mean"], source_id=row["id"])
    out = tmp_path / "handx_samples"
    assert cli_in_process("export", "--format", "handx-eval", "--motion", samples, "--out", out,
                          "--data", tmp_path / "data") == 0
    files = sorted(out.glob("val_sample_*_idx*.pkl"))
    assert len(files) == 4
    record = pickle.loads(files[1].read_bytes())  # our own file, written just now
    assert record["gt_motion_real"].shape == (60, 168) and record["generated_real"].shape == (2, 60, 168)
    assert record["text_prompt"]["two_hands_relation"] == "both hands variant 0 of clip 101"
    # xyz = the HandX file's own joints (HandX order, z up); the scalar rotation channel is 0
    can_pos, _ = make_member(101, hand_pair)
    rows168 = record["gt_motion_real"].reshape(60, 2, 21, 4)
    assert np.allclose(rows168[..., :3], can_pos["motion"], atol=1e-5) and not rows168[..., 3].any()
    assert NAME_MAP[4] == 16  # (handgen's thumb tip is HandX's joint 16: the files hold HandX's order)

    gt, groups, triplets = read_sample_files(out)
    assert np.allclose(gt, np.stack([data.load_clip(r["id"]).joints for r in rows]), atol=1e-5)
    assert np.allclose(groups.transpose(1, 0, 2, 3, 4, 5).reshape(8, 60, 2, 21, 3), np.stack(generated), atol=1e-5)
    assert triplets[0] == rows[0]["captions"][0]

    report_path = tmp_path / "report.json"
    assert cli_in_process("eval", "motion", "--samples", out, "--evaluator", f"handx:{folder}",
                          "--out", report_path) == 0
    import json

    report = json.loads(report_path.read_text())
    assert report["generations"] == 2 and report["clips"] == 4
    expected = np.mean([mpjpe_mm(groups[g], gt) for g in range(2)])
    assert report["metrics"]["MPJPE"]["mean"] == pytest.approx(expected)
    assert "MPJPE" in capsys.readouterr().out


def test_sample_files_with_a_foreign_class_are_refused(tmp_path):
    import pickle

    from handgen.errors import HandgenError
    from handgen.io.handx_format import read_sample_files
    from handgen.io.safe_pickle import UnsafePickleError

    class Opener:
        def __reduce__(self):
            return (open, (str(tmp_path / "canary.txt"), "w"))

    with pytest.raises(HandgenError, match="no val_sample"):
        read_sample_files(tmp_path)
    (tmp_path / "val_sample_000000_idx0.pkl").write_bytes(pickle.dumps({"text_prompt": Opener()}))
    with pytest.raises(UnsafePickleError, match="unsafe pickle"):
        read_sample_files(tmp_path)
    assert not (tmp_path / "canary.txt").exists()


def test_export_matches_samples_without_source_id_by_caption(tmp_path, hand_pair):
    from handx_files import write_handx_dir

    from data_prep.prep_handx import prep_handx
    from handgen.errors import HandgenError
    from handgen.export.handx_eval import export_handx_eval
    from handgen.io.data_dir import DataDir
    from handgen.io.handx_format import read_sample_files
    from handgen.io.motion_npz import save_motion

    src = write_handx_dir(tmp_path / "src", hand_pair, train=2, test=3, corrupt=None, foreign=None)
    prep_handx(src, tmp_path / "data", progress=False)
    data = DataDir(tmp_path / "data")
    rows = data.clips("test")
    samples = tmp_path / "samples"
    for i, row in enumerate(reversed(rows)):  # file order differs from the manifest's; one sample per caption
        clip = data.load_clip(row["id"])
        save_motion(samples / f"sample_{i:03d}.npz", clip.motion, clip.joints, row["captions"][0],
                    data.meta["hand_model"], data.meta["hands_mean"])
    export_handx_eval(samples, tmp_path / "out", tmp_path / "data")
    gt, groups, triplets = read_sample_files(tmp_path / "out")
    assert groups.shape[0] == 1 and np.allclose(groups[0], gt, atol=1e-5)  # each sample found its own clip
    assert [t["left"] for t in triplets] == [r["captions"][0]["left"] for r in reversed(rows)]
    save_motion(samples / "sample_999.npz", clip.motion, clip.joints, {"left": "no such caption"},
                data.meta["hand_model"], data.meta["hands_mean"])
    with pytest.raises(HandgenError, match="different numbers of samples|has the caption"):
        export_handx_eval(samples, tmp_path / "out2", tmp_path / "data")
