"""The benchmark table and the sections that need nothing trained (benchmarks are not pass/fail on speed)."""

from __future__ import annotations

import math

import pytest

from eval.bench import SECTIONS, format_table


def test_sections_are_registered_and_skips_are_shown(monkeypatch):
    assert {"hands", "prep", "training", "sampling", "grasp"} <= set(SECTIONS)
    from eval.benchmarks.grasp import bench_grasp

    monkeypatch.delenv("HANDGEN_BENCH_GRASP_RUN", raising=False)
    rows = bench_grasp()
    assert len(rows) == 1 and math.isnan(rows[0]["value"]) and rows[0]["unit"].startswith("skipped: set HANDGEN_BENCH")
    timed = {"benchmark": "sample 60 frames", "case": "DDIM-50", "value": 0.25, "unit": "s/motion"}
    table = format_table(rows + [timed])
    lines = table.splitlines()
    assert "handgen grasp             -  skipped: set HANDGEN_BENCH_GRASP_RUN" in lines[2]
    assert "0.250" in lines[3]


def test_hand_rows_give_both_models_and_their_ratio_per_batch():
    from eval.benchmarks.hands import bench_hands

    rows = bench_hands(batches=(8,), repeats=1)
    cases = [r["case"] for r in rows]
    assert len(rows) == 6 and all(r["value"] > 0 for r in rows)
    assert "procedural / MANO speed, mesh, batch 8" in cases and "procedural / MANO speed, joints, batch 8" in cases
    by_case = {r["case"]: r["value"] for r in rows}
    proc = next(v for c, v in by_case.items() if c.startswith("procedural (") and "mesh" in c)
    mano = next(v for c, v in by_case.items() if c.startswith("smplx MANO") and "mesh" in c)
    assert by_case["procedural / MANO speed, mesh, batch 8"] == pytest.approx(proc / mano)
