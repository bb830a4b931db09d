"""Texts are never cut silently: token lengths, the share of captions a budget cuts, refusing long prompts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import handgen
from handgen.errors import HandgenError
from handgen.text.encoder import load_text_encoder
from handgen.text.token_budget import budget_report, check_prompt_lengths, token_lengths
from tests.helpers import cli_in_process

REPO = Path(__file__).resolve().parents[1]
LONG = "The left hand slowly opens and closes its fingers many times while it moves far to the left side."


@pytest.fixture(scope="module")
def tokenizer():
    return load_text_encoder("minilm", 24).tokenizer


def test_token_lengths_count_special_tokens(tokenizer):
    lengths = token_lengths(tokenizer, ["fist", "", "   ", "The left hand makes a fist."])
    # [CLS] fist [SEP]; empty texts have no tokens; 7 word pieces + 2 special tokens
    assert lengths.tolist() == [3, 0, 0, 9]


def test_budget_report_counts_distinct_cut_texts(tokenizer):
    texts = ["fist", "fist", "The left hand makes a fist.", LONG, ""]
    report = budget_report(tokenizer, texts, max_tokens=9)
    assert (report.count, report.cut, report.longest) == (3, 1, int(token_lengths(tokenizer, [LONG])[0]))
    assert report.cut_share == pytest.approx(1 / 3)
    assert "1 of 3 captions (33.3%)" in report.line()
    assert budget_report(tokenizer, texts, max_tokens=report.longest).cut == 0


def test_long_prompt_is_refused_with_its_length(tokenizer):
    check_prompt_lengths(tokenizer, [{"left": "fist", "right": "", "both": "The hands clap."}], 9, "the budget")
    with pytest.raises(HandgenError, match=r"prompt 2: the both text is \d+ tokens long; the budget holds at most 9"):
        check_prompt_lengths(tokenizer, [{"left": "fist"}, {"both": LONG}], 9, "the budget")


def test_shipped_tiny_configs_have_room_for_the_captions():
    """The tiny motion configs read 128 tokens per text (synthetic rules captions reach 115, docs/motion_eval.md)."""
    for name in ("motion_diffusion_tiny", "motion_ar_tiny", "evaluator_tiny"):
        cfg = yaml.safe_load((REPO / "configs" / f"{name}.yaml").read_text())
        assert cfg["text"]["max_tokens"] >= 128, name
    ar = yaml.safe_load((REPO / "configs" / "motion_ar_tiny.yaml").read_text())
    assert ar["model"]["max_positions"] >= 3 * ar["text"]["max_tokens"] + 4 + 120 + 1


def test_diffusion_sampling_refuses_a_prompt_over_the_budget(tiny_diffusion_run, tmp_path, capsys):
    """The test run reads 12 tokens per text: a longer prompt is refused, as the AR model does, not cut."""
    assert cli_in_process("sample", "--ckpt", tiny_diffusion_run, "--left", LONG, "--out", tmp_path) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "prompt 1: the left text is" in line and "at most 12 tokens per text" in line
    assert not list(tmp_path.glob("sample_*.npz"))


def test_training_prints_the_share_of_cut_captions(tokenizer, capsys):
    from types import SimpleNamespace

    from handgen.train.motion_captions import report_token_budget

    encoder = SimpleNamespace(tokenizer=tokenizer, max_tokens=9)
    triplets = [[("fist", "The left hand makes a fist.", LONG)], [("fist", "", "")]]
    report = report_token_budget(encoder, triplets)
    assert (report.count, report.cut) == (3, 1)
    assert "handgen train: 1 of 3 distinct training captions (33.3%) are longer than text.max_tokens 9" in \
        capsys.readouterr().err


def test_evaluation_cuts_data_set_captions_as_training_did(tiny_diffusion_run):
    """``generate(truncate=True)`` (evaluation on a data set's captions) cuts a text at the budget (12 tokens
    in the test run) instead of refusing it: two texts that differ only after the budget give the same sample."""
    engine = handgen.load(tiny_diffusion_run).engine
    other = LONG.replace("far to the left side.", "back to the right edge of the table.")
    kwargs = {"frames": engine.clip_len, "seed": 3, "sampler": "ddim", "steps": 2}
    cut = [engine.generate([{"left": text, "right": "", "both": ""}], truncate=True, **kwargs) for text in (LONG, other)]
    assert cut[0].shape == (1, engine.clip_len, cut[0].shape[-1]) and bool(cut[0].isfinite().all())
    assert cut[0].equal(cut[1])
    with pytest.raises(HandgenError, match="at most 12 tokens per text"):
        engine.generate([{"left": LONG, "right": "", "both": ""}], **kwargs)
