"""Frozen text encoders (token states + mask) and an on-disk cache of caption embeddings."""

from handgen.text.encoder import TextEncoder, TextStates, load_text_encoder

__all__ = ["TextEncoder", "TextStates", "load_text_encoder"]
