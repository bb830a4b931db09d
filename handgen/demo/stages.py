"""Resumable demo stages: each stage runs once, leaves a marker, and is skipped on re-runs.

A stage is finished when its marker ``OUT_DIR/.demo/<name>.json`` exists and every output it
declares is still on disk; the marker records the demo size it was made with, so a ``--fast``
folder is never silently mixed with a full one.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from handgen.demo.invoke import output_to
from handgen.demo.ticker import StageTicker
from handgen.errors import HandgenError
from handgen.io.atomic import atomic_write_json


@dataclass
class Stage:
    """One step of the demo.

    ``run`` does the work (it raises on failure); ``outputs`` are paths under OUT_DIR that must exist
    afterwards (checked, so a stage that "succeeds" without writing its files is an error).
    """

    name: str
    title: str
    run: Callable[[], None]
    outputs: list[Path] = field(default_factory=list)


@dataclass
class StageResult:
    name: str
    title: str
    seconds: float
    skipped: bool


def _marker(out_dir: Path, name: str) -> Path:
    return out_dir / ".demo" / f"{name}.json"


def stage_is_done(out_dir: Path, stage: Stage, size: str) -> bool:
    """True when ``stage`` finished before with the same demo ``size`` and its outputs still exist.

    Raises HandgenError when it finished with another size (``--fast`` vs full) in this folder.
    """
    marker = _marker(out_dir, stage.name)
    if not marker.exists():
        return False
    record = json.loads(marker.read_text())
    if record.get("size") != size:
        raise HandgenError(
            f"{out_dir} holds a {record.get('size')} demo; this run is {size}: use another --out "
            "or delete the folder"
        )
    return all(path.exists() for path in stage.outputs)


def run_stages(out_dir: Path, stages: list[Stage], size: str, log: Callable[[str], None] = print,
               ticker_every: float | None = None) -> list[StageResult]:
    """Run ``stages`` in order, skipping finished ones; prints a line per stage naming its log file.

    Each stage's own output (tables, progress bars, log records) goes to ``OUT_DIR/logs/<name>.log``;
    while it runs, its newest progress bar is shown on the console (:class:`StageTicker`, every
    ``ticker_every`` seconds: default 1 on a terminal, 30 otherwise).

    Raises HandgenError naming the stage when a stage fails or does not write its outputs.
    """
    results: list[StageResult] = []
    total = len(stages)
    for number, stage in enumerate(stages, start=1):
        head = f"[{number}/{total}] {stage.title}"
        if stage_is_done(out_dir, stage, size):
            seconds = json.loads(_marker(out_dir, stage.name).read_text()).get("seconds", 0.0)
            log(f"{head}: already done ({seconds:.0f} s earlier), skipped")
            results.append(StageResult(stage.name, stage.title, seconds, skipped=True))
            continue
        log_path = out_dir / "logs" / f"{stage.name}.log"
        log(f"{head} ... (log: {log_path})")
        start = time.perf_counter()
        console = sys.stdout
        try:
            with StageTicker(head, log_path, console, every=ticker_every), output_to(log_path):
                stage.run()
        except HandgenError as exc:
            raise HandgenError(f"demo stage '{stage.name}' failed (log: {log_path}): {exc}") from exc
        missing = [str(path) for path in stage.outputs if not path.exists()]
        if missing:
            raise HandgenError(f"demo stage '{stage.name}' did not write {', '.join(missing)}")
        seconds = time.perf_counter() - start
        atomic_write_json(_marker(out_dir, stage.name), {"size": size, "seconds": round(seconds, 2)})
        log(f"{head}: done in {seconds:.1f} s")
        results.append(StageResult(stage.name, stage.title, seconds, skipped=False))
    return results
