"""Hand-model forward throughput: procedural hand vs smplx MANO on the synthetic MANO file."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from handgen.hand.mano import ManoHand
from handgen.hand.procedural import ProceduralHand
from handgen.testing.synthetic_mano import write_synthetic_mano_dir


def _frames_per_second(hand, batch: int, repeats: int, joints_only: bool = False) -> float:
    gen = torch.Generator().manual_seed(0)
    go = torch.randn(batch, 3, generator=gen) * 0.5
    hp = torch.randn(batch, 45, generator=gen) * 0.3
    betas = torch.randn(batch, 10, generator=gen) * 0.5
    call = hand.joints if joints_only else hand
    with torch.no_grad():
        call(go, hp, betas)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            call(go, hp, betas)
            best = min(best, time.perf_counter() - start)
    return batch / best


def bench_hands(batch: int = 4096, repeats: int = 5) -> list[dict]:
    """Rows: model, vertices, frames/s (best of ``repeats``) at ``batch`` frames per call."""
    rows = []
    procedural = ProceduralHand("right")
    rows.append({"benchmark": "hand forward", "case": f"procedural ({procedural.num_vertices} verts)",
                 "value": _frames_per_second(procedural, batch, repeats), "unit": "frames/s"})
    rows.append({"benchmark": "hand forward", "case": "procedural, joints only",
                 "value": _frames_per_second(procedural, batch, repeats, joints_only=True), "unit": "frames/s"})
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_mano_dir(Path(tmp))
        mano = ManoHand(Path(tmp), side="right")
        rows.append({"benchmark": "hand forward", "case": f"smplx MANO, synthetic file ({mano.num_vertices} verts)",
                     "value": _frames_per_second(mano, batch, repeats), "unit": "frames/s"})
    return rows
