"""``handgen bench`` / ``python -m eval.bench``: measure handgen's speeds side by side and print a table.

Benchmarks print figures; they are not pass/fail tests. Sections can be chosen with ``--only``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from typing import Callable

SECTIONS: dict[str, str] = {
    "hands": "eval.benchmarks.hands:bench_hands",
    "prep": "eval.benchmarks.prep:bench_prep",
    "prep_handx": "eval.benchmarks.prep_handx:bench_prep_handx",
    "training": "eval.benchmarks.training:bench_training",
    "grasp": "eval.benchmarks.grasp:bench_grasp",
    "sampling": "eval.benchmarks.sampling:bench_sampling",
    "few_step": "eval.benchmarks.few_step:bench_few_step",
    "few_step_large": "eval.benchmarks.few_step:bench_few_step_large",
}


def machine_line() -> str:
    import torch

    return (f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, CUDA {'yes' if torch.cuda.is_available() else 'no'}")


def _load(target: str) -> Callable[..., list[dict]]:
    import importlib

    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def format_table(rows: list[dict]) -> str:
    width = max([len(r["benchmark"]) for r in rows] + [9])
    case_width = max([len(r["case"]) for r in rows] + [4])
    lines = [f"{'benchmark':<{width}}  {'case':<{case_width}}  {'value':>12}  unit",
             "-" * (width + case_width + 26)]
    for r in rows:
        value = r["value"]
        if value != value:  # NaN: a skipped case
            shown = f"{'-':>12}"
        else:
            shown = f"{value:12.3f}" if abs(value) < 100 else f"{value:12,.0f}"
        lines.append(f"{r['benchmark']:<{width}}  {r['case']:<{case_width}}  {shown}  {r['unit']}")
    return "\n".join(lines)


def run(sections: list[str], json_out: str | None = None) -> list[dict]:
    rows: list[dict] = []
    for name in sections:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        rows += _load(SECTIONS[name])()
    print(machine_line())
    print(format_table(rows))
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"machine": machine_line(), "rows": rows}, f, indent=2)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="handgen bench", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    run(args.only or list(SECTIONS), args.json)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", nargs="*", choices=list(SECTIONS), help="sections to run (default: all)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")


if __name__ == "__main__":
    raise SystemExit(main())
