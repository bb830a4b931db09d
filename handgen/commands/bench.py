"""``handgen bench``: speeds of hand models, prep, sampling, training and grasping, side by side."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from eval.bench import add_arguments

    parser = sub.add_parser("bench", help="measure handgen's speeds and print a table (not a pass/fail test)")
    add_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from eval.bench import SECTIONS, run

    run(args.only or list(SECTIONS), args.json)
    return 0
