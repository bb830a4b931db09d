"""``python -m handgen.train --config CONFIG [key=value ...]`` (what ``accelerate launch -m`` runs)."""

from __future__ import annotations

import argparse
import logging
import sys

from handgen.errors import HandgenError
from handgen.train.loop import run_training


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="handgen.train", description="Train a handgen model from a YAML config.")
    parser.add_argument("--config", required=True, help="configs/<model>.yaml")
    parser.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. max_steps=100")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="handgen: %(message)s", stream=sys.stderr)

    try:
        run_dir = run_training(args.config, args.overrides)
    except HandgenError as exc:
        print(f"handgen train: error: {exc}", file=sys.stderr)
        return 1
    print(f"handgen train: run written to {run_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
