"""Text-prefix AR model: prefix packing, loss on a tiny overfit run, cached vs uncached decoding."""

from __future__ import annotations

import pytest
import torch

from handgen.errors import HandgenError
from handgen.models.motion_ar import ARConfig, MotionAR
from handgen.sample.ar_decoding import TokenSampling, sample_tokens

TEXT_DIM, TEXT_LEN, CODES = 16, 6, 50


def _texts(lengths: dict[str, list[int]], seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for branch, lens in lengths.items():
        states = torch.randn(len(lens), TEXT_LEN, TEXT_DIM, generator=gen)
        mask = torch.arange(TEXT_LEN)[None] < torch.tensor(lens)[:, None]
        out[branch] = (states, mask)
    return out


def _rows(texts, rows):
    return {k: (s[rows], m[rows]) for k, (s, m) in texts.items()}


@pytest.fixture(scope="module")
def model() -> MotionAR:
    torch.manual_seed(0)
    return MotionAR(ARConfig(codebook_size=CODES, text_dim=TEXT_DIM, preset="tiny", layers=2, width=32, heads=4,
                             ff=64, dropout=0.0, max_positions=64)).eval()


TEXTS = _texts({"left": [2, 6, 0], "right": [3, 1, 0], "both": [4, 2, 0]})


def test_prefix_packing(model):
    emb, mask = model.prefix(TEXTS)
    # <sep0> + texts + 3 separators/<bom>: rows of 13, 13 and 4 real entries, padding after <sep0>
    assert mask.sum(1).tolist() == [13, 13, 4]
    assert emb.shape == (3, 13, 32)
    assert mask[:, 0].all() and mask[:, -3:].all()
    assert torch.allclose(emb[2, 0], model.separators[0]) and torch.allclose(emb[2, -1], model.begin)
    assert not mask[2, 1:-3].any()
    # dropping a row's texts leaves only the separators and <bom>
    _, dropped = model.prefix(TEXTS, keep=torch.tensor([False, True, True]))
    assert dropped[0].sum() == 4


def test_padding_does_not_change_a_sequence(model):
    tokens = torch.randint(0, CODES, (3, 7), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        batched = model(TEXTS, tokens)
        for row in range(3):
            alone = model(_rows(TEXTS, [row]), tokens[row : row + 1])
            assert torch.allclose(alone[0], batched[row], atol=1e-5), row


def test_loss_falls_on_a_tiny_overfit_run():
    torch.manual_seed(0)
    net = MotionAR(ARConfig(codebook_size=CODES, text_dim=TEXT_DIM, layers=2, width=32, heads=4, ff=64,
                            dropout=0.0, max_positions=64))
    texts = _texts({"left": [3, 5, 2, 4], "right": [2, 2, 6, 1], "both": [4, 1, 3, 3]}, seed=3)
    tokens = torch.randint(0, CODES, (4, 12), generator=torch.Generator().manual_seed(2))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss, parts = net.loss(texts, tokens)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > 3.0  # about log(51) at the start
    assert losses[-1] < 0.1 * losses[0]
    assert parts["token_acc"] > 0.9
    # the memorised sequences come back by greedy decoding from their texts
    net.eval()
    out = sample_tokens(net, texts, 12, TokenSampling(greedy=True))
    assert (out == tokens).float().mean() > 0.9


@pytest.mark.parametrize("guidance", [1.0, 3.0])
def test_cached_and_uncached_greedy_decoding_agree(model, guidance):
    sampling = TokenSampling(greedy=True, guidance=guidance)
    cached = sample_tokens(model, TEXTS, 20, sampling, use_cache=True)
    uncached = sample_tokens(model, TEXTS, 20, sampling, use_cache=False)
    assert cached.shape == (3, 20)
    assert torch.equal(cached, uncached)
    assert cached.max() < CODES  # the end token is masked in fixed-length generation
    start = torch.randint(0, CODES, (3, 5), generator=torch.Generator().manual_seed(4))
    assert torch.equal(sample_tokens(model, TEXTS, 8, sampling, start=start),
                       sample_tokens(model, TEXTS, 8, sampling, start=start, use_cache=False))


def test_cached_decoding_uses_the_installed_transformers_cache_argument(model):
    # transformers 5 renamed LlamaModel's past_key_values to cache (the old name warns, then goes in 5.40);
    # pytest's filters hide FutureWarnings, so the decoding's warnings are recorded here
    import inspect
    import warnings

    from transformers import LlamaModel

    expected = "cache" if "cache" in inspect.signature(LlamaModel.forward).parameters else "past_key_values"
    assert model.cache_kwarg == expected
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = sample_tokens(model, TEXTS, 6, TokenSampling(greedy=True, guidance=2.0), use_cache=True)
    assert out.shape == (3, 6)
    assert not [str(w.message) for w in caught if "past_key_values" in str(w.message)]


def test_grouped_tokens_get_slot_embeddings_consistent_between_decoding_and_teacher_forcing():
    """With 3 codes per step the same id embeds differently in each slot, and greedy decoding (which embeds
    one token at a time at its stream index, after 4 given tokens) picks exactly the argmax of the
    teacher-forced logits of its own output."""
    torch.manual_seed(0)
    net = MotionAR(ARConfig(codebook_size=CODES, text_dim=TEXT_DIM, layers=2, width=32, heads=4, ff=64,
                            dropout=0.0, max_positions=64, groups=3)).eval()
    ids = torch.full((1, 7), 5)
    emb = net.embed_tokens(ids)
    assert not torch.allclose(emb[0, 0], emb[0, 1]) and torch.allclose(emb[0, 0], emb[0, 3])
    assert torch.allclose(net.embed_tokens(ids[:, :1], start=4)[0, 0], emb[0, 1])
    start = torch.randint(0, CODES, (3, 4), generator=torch.Generator().manual_seed(5))
    for use_cache in (True, False):
        out = sample_tokens(net, TEXTS, 8, TokenSampling(greedy=True), start=start, use_cache=use_cache)
        with torch.no_grad():
            logits = net(TEXTS, torch.cat([start, out], 1))  # (3, 13, CODES + 1): index j predicts token j
        assert torch.equal(logits[:, 4:12, :CODES].argmax(-1), out)


def _hand_text_model() -> MotionAR:
    torch.manual_seed(0)
    net = MotionAR(ARConfig(codebook_size=CODES, text_dim=TEXT_DIM, layers=2, width=32, heads=4, ff=64,
                            dropout=0.0, max_positions=64, groups=4, hand_text=True)).eval()
    assert torch.count_nonzero(net.hand_text_proj.weight) == 0  # zero-initialised: starts as the plain model
    torch.nn.init.normal_(net.hand_text_proj.weight)
    return net


def test_hand_text_reaches_only_the_inputs_that_predict_its_hands_slots():
    net = _hand_text_model()
    other = dict(TEXTS, left=_texts({"left": [2, 6, 0]}, seed=9)["left"])  # a different left text only
    ids = torch.randint(0, CODES, (3, 8), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        a, b = net.hand_text(TEXTS), net.hand_text(other)
        diff = (net.embed_tokens(ids, hand_text=a) - net.embed_tokens(ids, hand_text=b)).abs().sum(-1)  # (3, 8)
        # slots per step: L L R R; input j predicts token j + 1, so inputs 0, 3, 4, 7 predict left tokens
        left_inputs = torch.tensor([True, False, False, True, True, False, False, True])
        assert (diff[:2, left_inputs] > 1e-3).all() and (diff[:, ~left_inputs] == 0).all()
        assert (diff[2] == 0).all()  # row 2's left text is empty in both: it adds nothing
        # <bom> predicts slot 0 (left): the left text changes it, unless the row's texts are dropped
        assert not torch.allclose(net.prefix(TEXTS)[0][:2, -1], net.prefix(other)[0][:2, -1])
        keep = torch.tensor([False, True, True])
        assert torch.equal(net.hand_text(TEXTS, keep)[0], torch.zeros(2, 32))
        assert torch.allclose(net.prefix(TEXTS, keep)[0][0, -1], net.begin)


@pytest.mark.parametrize("make", ["hand_text", "hand_attention"])
def test_per_hand_text_decoding_matches_teacher_forcing(make):
    """KV-cache decoding = uncached decoding = teacher forcing, with each hand's pooled text (hand_text) and with
    the per-hand attention mask (hand_attention) alike."""
    net = _hand_text_model() if make == "hand_text" else _hand_attention_model()
    start = torch.randint(0, CODES, (3, 3), generator=torch.Generator().manual_seed(5))
    for guidance in (1.0, 2.5):
        sampling = TokenSampling(greedy=True, guidance=guidance)
        cached = sample_tokens(net, TEXTS, 9, sampling, start=start)
        assert torch.equal(cached, sample_tokens(net, TEXTS, 9, sampling, start=start, use_cache=False))
    out = sample_tokens(net, TEXTS, 9, TokenSampling(greedy=True), start=start)
    with torch.no_grad():
        logits = net(TEXTS, torch.cat([start, out], 1))
    assert torch.equal(logits[:, 3:12, :CODES].argmax(-1), out)


def _hand_attention_model(hand_attention: bool = True) -> MotionAR:
    torch.manual_seed(0)
    net = MotionAR(ARConfig(codebook_size=CODES, text_dim=TEXT_DIM, layers=2, width=32, heads=4, ff=64, dropout=0.0,
                            max_positions=64, groups=4, hand_text=True, hand_attention=hand_attention)).eval()
    torch.nn.init.normal_(net.hand_text_proj.weight)
    return net


def test_hand_attention_keeps_the_first_left_slots_blind_to_the_right_text():
    """Slots per step L L R R: the inputs that predict tokens 0 and 1 (<bom> and token 0) read no right text, in
    any layer; token 2 (right) reads it. Without the mask the right text reaches every prediction."""
    other_right = dict(TEXTS, right=_texts({"right": [3, 1, 0]}, seed=9)["right"])  # same lengths, other states
    other_left = dict(TEXTS, left=_texts({"left": [2, 6, 0]}, seed=9)["left"])
    tokens = torch.randint(0, CODES, (3, 6), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        net = _hand_attention_model()
        base, right, left = net(TEXTS, tokens), net(other_right, tokens), net(other_left, tokens)  # (3, 7, V)
        assert torch.allclose(base[:, :2], right[:, :2], atol=1e-6)
        assert (base[:2, 2] - right[:2, 2]).abs().amax() > 1e-3  # the right slots read it
        assert (base[:2, :2] - left[:2, :2]).abs().amax() > 1e-3  # the left slots read their own text
        plain = _hand_attention_model(hand_attention=False)
        assert (plain(TEXTS, tokens)[:2, :2] - plain(other_right, tokens)[:2, :2]).abs().amax() > 1e-3


def test_hand_text_needs_per_hand_slots():
    with pytest.raises(ValueError, match="per-hand tokenizer"):
        ARConfig(codebook_size=CODES, text_dim=TEXT_DIM, groups=3, hand_text=True)
    with pytest.raises(ValueError, match="hand_attention needs a per-hand tokenizer"):
        ARConfig(codebook_size=CODES, text_dim=TEXT_DIM, groups=1, hand_attention=True)


def test_cached_and_uncached_sampling_agree_with_the_same_seed(model):
    sampling = TokenSampling(temperature=0.8, top_k=20, top_p=0.9, guidance=2.0)
    a = sample_tokens(model, TEXTS, 15, sampling, generator=torch.Generator().manual_seed(7))
    b = sample_tokens(model, TEXTS, 15, sampling, generator=torch.Generator().manual_seed(7), use_cache=False)
    c = sample_tokens(model, TEXTS, 15, sampling, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_top_k_one_is_greedy(model):
    greedy = sample_tokens(model, TEXTS, 10, TokenSampling(greedy=True))
    top1 = sample_tokens(model, TEXTS, 10, TokenSampling(top_k=1), generator=torch.Generator().manual_seed(0))
    assert torch.equal(greedy, top1)


def test_context_and_setting_errors(model):
    with pytest.raises(HandgenError, match="context of 64"):
        sample_tokens(model, TEXTS, 60, TokenSampling(greedy=True))
    for bad, match in [(TokenSampling(temperature=0), "temperature"), (TokenSampling(top_k=0), "top-k"),
                       (TokenSampling(top_p=1.5), "top-p"), (TokenSampling(guidance=-1), "guidance")]:
        with pytest.raises(HandgenError, match=match):
            bad.check()


def test_long_horizon_seam_blend():
    from handgen.sample.ar_generator import blend_seam

    decoded = torch.zeros(1, 12, 2)
    decoded[0, :, 0] = torch.arange(12.0)  # a ramp; the context is the first 4 frames
    last = torch.tensor([[5.0, 1.0]])  # the previous window ended 2 above the decoded context's end (3)
    new = blend_seam(last, decoded, 4, blend=3)
    assert new.shape == (1, 8, 2)
    # the offset (2, 1) fades out: weights 3/4, 2/4, 1/4, then 0
    assert torch.allclose(new[0, :, 0], torch.tensor([4 + 1.5, 5 + 1.0, 6 + 0.5, 7, 8, 9, 10, 11]))
    assert torch.allclose(new[0, :, 1], torch.tensor([0.75, 0.5, 0.25, 0, 0, 0, 0, 0]))
