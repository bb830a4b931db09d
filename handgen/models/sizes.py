"""Transformer size presets: a named (layers, width, heads, feed-forward) with per-field overrides."""

from __future__ import annotations

Size = tuple[int, int, int, int]  # (layers, width, heads, feed-forward)


def resolve_size(presets: dict[str, Size], kind: str, preset: str, layers: int | None, width: int | None,
                 heads: int | None, ff: int | None) -> Size:
    """``presets[preset]`` with any field given (not None) replacing the preset's.

    Raises ValueError naming ``kind`` and the known presets for an unknown preset.
    """
    if preset not in presets:
        raise ValueError(f"unknown {kind} preset {preset!r}; choose from {sorted(presets)}")
    p_layers, p_width, p_heads, p_ff = presets[preset]
    return (layers or p_layers, width or p_width, heads or p_heads, ff or p_ff)
