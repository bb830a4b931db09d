"""TextEncoder.encode pads each chunk to its longest text (distinct non-empty texts only): same states and mask as
max-length padding."""

from __future__ import annotations

import pytest
import torch

from handgen.text.encoder import load_text_encoder

MAX_TOKENS = 16  # the long text has 22 tokens: it is cut
TEXTS = ["The left hand makes a fist.", "", "wave", "   ",
         "The left hand slowly opens and closes its fingers many times while it moves far to the left side."]


@pytest.fixture(scope="module")
def encoder():
    return load_text_encoder("minilm", MAX_TOKENS)


def max_length_reference(encoder, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """States (N, max_tokens, H) and mask of the encoder run on texts padded to max_tokens (the old path)."""
    batch = encoder.tokenizer(texts, padding="max_length", truncation=True, max_length=encoder.max_tokens,
                              return_tensors="pt")
    with torch.no_grad():
        states = encoder.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    mask = batch["attention_mask"].bool()
    mask[[not t.strip() for t in texts]] = False
    return states.float(), mask


def test_longest_padding_matches_max_length_padding(encoder):
    seen = []
    hook = encoder.model.register_forward_pre_hook(lambda _, args, kwargs: seen.append(kwargs["input_ids"].shape),
                                                   with_kwargs=True)
    try:
        enc = encoder.encode(TEXTS)
        repeated = encoder.encode(["wave", "", "wave", "wave"])
    finally:
        hook.remove()
    # the network runs on each distinct non-empty text once, padded to the longest of the call only
    assert seen == [(3, MAX_TOKENS), (1, 3)]
    assert repeated.mask.sum(1).tolist() == [3, 0, 3, 3]
    assert torch.equal(repeated.states[0], repeated.states[3]) and not repeated.states[1].any()
    states, mask = max_length_reference(encoder, TEXTS)
    assert enc.states.shape == (len(TEXTS), MAX_TOKENS, encoder.hidden_size)
    assert enc.mask.shape == (len(TEXTS), MAX_TOKENS)
    assert torch.equal(enc.mask, mask)
    assert enc.mask.sum(1).tolist() == [9, 0, 3, 0, MAX_TOKENS]  # the long text is cut at the budget, as before
    assert torch.allclose(enc.states[mask], states[mask], atol=1e-4)
    assert float(states[mask].abs().max()) > 1.0  # the comparison is of real, non-trivial states
    assert not enc.states[~enc.mask].any()  # padding (and empty texts) are zeros


def test_states_do_not_depend_on_the_other_texts_of_a_chunk(encoder):
    short_alone = encoder.encode(["wave"])
    with_long = encoder.encode(["wave", TEXTS[-1]])
    chunked = encoder.encode(TEXTS, batch_size=2)  # chunks of different longest lengths
    assert torch.allclose(short_alone.states[0], with_long.states[0], atol=1e-5)
    assert torch.equal(short_alone.mask[0], with_long.mask[0])
    whole = encoder.encode(TEXTS)
    assert torch.equal(chunked.mask, whole.mask)
    assert torch.allclose(chunked.states, whole.states, atol=1e-5)
    empty = encoder.encode([])
    assert empty.states.shape == (0, MAX_TOKENS, encoder.hidden_size) and empty.mask.shape == (0, MAX_TOKENS)
