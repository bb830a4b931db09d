"""Console progress of a running demo stage: the state of the progress bar in its log, with the log's name.

A stage's own output goes to ``OUT_DIR/logs/<stage>.log``; while it runs, a thread reads the
newest tqdm bar written there (training steps, SDS iterations, sampling, evaluation replications)
and shows ``[4/9] title: train motion_diffusion 46% (230/500), ETA 01:13, 01:02 elapsed (log: ...)``
on the console: one line rewritten in place on a terminal, a new line every ``every`` seconds otherwise.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import TextIO

_BAR = re.compile(r"(?P<desc>[^|]*?):?\s*(?P<pct>\d+)%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)\s*"
                  r"\[(?P<elapsed>[\d:]+)<(?P<eta>[\d:?]+)")


def latest_bar(log_path: Path, tail_bytes: int = 8192) -> str | None:
    """``"train motion_diffusion 46% (230/500), ETA 01:13"`` from the newest tqdm update in the log, or None."""
    try:
        with open(log_path, "rb") as stream:
            stream.seek(0, 2)
            size = stream.tell()
            stream.seek(max(0, size - tail_bytes))
            text = stream.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    for piece in reversed(re.split(r"[\r\n]", text)):
        match = _BAR.search(piece)
        if match:
            desc = match["desc"].strip() or "progress"
            return f"{desc} {match['pct']}% ({match['n']}/{match['total']}), ETA {match['eta']}"
    return None


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


class StageTicker:
    """Shows a running stage's progress on ``console`` until :meth:`stop` (a context manager)."""

    def __init__(self, head: str, log_path: Path, console: TextIO, every: float | None = None) -> None:
        self.head, self.log_path, self.console = head, log_path, console
        self.tty = bool(getattr(console, "isatty", lambda: False)())
        self.every = every if every is not None else (1.0 if self.tty else 30.0)
        self.started = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._width = 0

    def line(self) -> str:
        bar = latest_bar(self.log_path)
        elapsed = f"{_clock(time.perf_counter() - self.started)} elapsed"
        return f"{self.head}: {bar + ', ' if bar else ''}{elapsed} (log: {self.log_path})"

    def _show(self) -> None:
        text = self.line()
        if self.tty:
            self.console.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self.console.write(text + "\n")
        self.console.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._show()

    def __enter__(self) -> StageTicker:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self.tty and self._width:
            self.console.write("\r" + " " * self._width + "\r")
            self.console.flush()
