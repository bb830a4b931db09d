"""Hand-model forward throughput: procedural hand vs smplx MANO (synthetic MANO file), in one run.

Each case (model x joints-only/mesh x batch) is timed best-of-``repeats`` with the
cases interleaved, so machine load hits them alike; the ratio rows divide the two
models' times measured in that same loop.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from handgen.hand.procedural import ProceduralHand

BATCHES = (64, 4096)


def _inputs(batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return (torch.randn(batch, 3, generator=gen) * 0.5, torch.randn(batch, 45, generator=gen) * 0.3,
            torch.randn(batch, 10, generator=gen) * 0.5)


def _best_times(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time (s) of each call over ``repeats`` interleaved rounds, after one warm-up each."""
    best = {name: float("inf") for name in calls}
    with torch.no_grad():
        for call in calls.values():
            call()
        for _ in range(repeats):
            for name, call in calls.items():
                start = time.perf_counter()
                call()
                best[name] = min(best[name], time.perf_counter() - start)
    return best


def bench_hands(batches: tuple[int, ...] = BATCHES, repeats: int | None = None) -> list[dict]:
    """Rows: frames/s of each model, joints only and with the mesh, at each batch; then the speed-up ratios.

    ``repeats`` defaults to 30 rounds at batch <= 256 and 5 above.
    """
    from handgen.hand.mano import ManoHand
    from handgen.testing.synthetic_mano import write_synthetic_mano_dir

    rows = []
    procedural = ProceduralHand("right")
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_mano_dir(Path(tmp))
        mano = ManoHand(Path(tmp), side="right")
        models = {f"procedural ({procedural.num_vertices} verts)": procedural,
                  f"smplx MANO, synthetic file ({mano.num_vertices} verts)": mano}
        for batch in batches:
            go, hp, betas = _inputs(batch)
            calls = {}
            for label, hand in models.items():
                calls[(label, "joints")] = lambda hand=hand: hand.joints(go, hp, betas)
                calls[(label, "mesh")] = lambda hand=hand: hand(go, hp, betas)
            best = _best_times(calls, repeats or (30 if batch <= 256 else 5))
            for (label, kind), seconds in best.items():
                rows.append({"benchmark": "hand forward", "case": f"{label}, {kind}, batch {batch}",
                             "value": batch / seconds, "unit": "frames/s"})
            proc_label, mano_label = list(models)
            for kind in ("joints", "mesh"):
                rows.append({"benchmark": "hand forward", "case": f"procedural / MANO speed, {kind}, batch {batch}",
                             "value": best[(mano_label, kind)] / best[(proc_label, kind)], "unit": "x"})
    return rows
