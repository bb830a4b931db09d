"""``handgen train --config configs/<model>.yaml [key=value ...]``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train", help="train a model from a YAML config (same code as `accelerate launch -m handgen.train`)"
    )
    parser.add_argument("--config", required=True, help="configs/<model>.yaml")
    parser.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. data=DATA_DIR max_steps=100")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from handgen.train.loop import run_training

    run_dir = run_training(args.config, args.overrides)
    print(f"handgen train: run written to {run_dir}")
    return 0
