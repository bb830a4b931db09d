"""HandX's evaluator (--evaluator handx:DIR): a checkpoint written here in the documented key layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from eval.handx_evaluator import CKPT, MEAN, STD, T5_DIR, HandXEvaluator, text_string
from eval.handx_protocol import evaluator_input
from handgen.errors import InputFileError
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
    x = (evaluator_input(joints) - np.load(folder / MEAN)) / np.load(folder / STD)
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
