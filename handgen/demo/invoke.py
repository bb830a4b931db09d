"""Run ``handgen`` sub-commands inside the demo's process, with their output sent to a log file."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Iterator

from handgen.errors import HandgenError


def handgen_command(*argv: object) -> None:
    """Run ``handgen ARGV...`` in this process (same code path as the console script).

    Raises the command's HandgenError unchanged, and HandgenError when it returns a non-zero code.
    """
    from handgen.cli import build_parser

    words = [str(a) for a in argv]
    args = build_parser().parse_args(words)
    code = int(args.func(args) or 0)
    if code != 0:
        raise HandgenError(f"`handgen {' '.join(words)}` exited with code {code}")


@contextlib.contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Send stdout, stderr (progress bars) and log records to ``log_path`` while the block runs."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    with open(log_path, "a", encoding="utf-8") as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("handgen: %(message)s"))
        saved = root.handlers[:]
        root.handlers = [handler]
        try:
            with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
                yield
        finally:
            root.handlers = saved
