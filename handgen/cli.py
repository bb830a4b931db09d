"""The ``handgen`` console script: one entry point, one sub-command per job.

Each sub-command lives in ``handgen/commands/<name>.py`` with ``register(subparsers)``;
heavy imports happen only when a command runs.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import os
import sys
from typing import NoReturn

from handgen import __version__
from handgen.errors import HandgenError

# command modules, in the order they appear in --help
COMMAND_MODULES: tuple[str, ...] = (
    "prep",
    "caption",
    "train",
    "sample",
    "grasp",
    "eval",
    "clip",
    "render",
    "export",
    "bench",
    "demo",
    "app",
)


class OneLineParser(argparse.ArgumentParser):
    """argparse with one-line errors (``handgen sample: error: argument --frames: ...``), exit status 2.

    Sub-command parsers inherit the class, so every bad option of every command is one line too.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="handgen", description="Bimanual hand motion and grasp generation (see README.md)."
    )
    parser.add_argument("--version", action="version", version=f"handgen {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print warnings and errors (no progress bars)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"handgen.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"handgen.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="handgen: %(message)s", stream=sys.stderr
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    bars = os.environ.get("TQDM_DISABLE")
    tqdm = tqdm_init = None
    if args.quiet:  # -q silences every progress bar, libraries' too (tqdm's default here, TQDM_DISABLE for children)
        from tqdm import tqdm

        os.environ["TQDM_DISABLE"] = "1"
        tqdm_init = tqdm.__init__
        tqdm.__init__ = functools.partialmethod(tqdm_init, disable=True)
    try:
        from handgen.commands.output_rules import check_command  # here: keeps `handgen --help` fast

        check_command(args)
        result = args.func(args)
    except HandgenError as exc:
        print(f"handgen {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # disk full, read-only folder, permission denied outside handgen's own checks
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"handgen {args.command}: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"handgen {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        if tqdm is not None:
            tqdm.__init__ = tqdm_init
        if bars is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = bars
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
