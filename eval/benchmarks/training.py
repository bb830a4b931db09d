"""Training throughput: samples per second of every tiny config (configs/*_tiny.yaml) for a few steps.

The figure is the training loop's own ``samples_per_s`` after ``steps`` optimizer steps (it
includes the first, slower step). Models that need inputs the bench cannot make (a GRASP_DIR)
are listed as skipped with the reason.
"""

from __future__ import annotations

from eval.benchmarks.workspace import workspace


def bench_training(steps: int = 20) -> list[dict]:
    ws = workspace()
    rows = []
    for config in ws.tiny_configs():
        try:
            ws.train(config, steps)
            rows.append({"benchmark": "training", "case": f"{config.name}, {steps} steps",
                         "value": ws.samples_per_s[config.stem], "unit": "samples/s"})
        except Exception as exc:  # a benchmark reports, it does not stop
            ws.failures[config.stem] = str(exc)
            rows.append({"benchmark": "training", "case": f"{config.name}", "value": float("nan"),
                         "unit": f"skipped: {str(exc).splitlines()[0][:80]}"})
    return rows
