"""``RUN_DIR/log.csv``: one row per logged step, appended (and fsynced) as training goes.

Rows are appended, never rewritten, while the columns stay the same. When a row brings a new
column (the first validation adds ``val_loss``), the file is rewritten once, atomically, with the
wider header; a resume drops rows after the checkpoint step the same way.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from handgen.io.atomic import atomic_write_text, write_error


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.exists():
        return [], []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = [r for r in reader if r.get("step") not in (None, "")]  # a torn last line from a kill has no step
        return list(reader.fieldnames or []), rows


def _render(fields: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def append_log_row(path: Path, step: int, logs: dict[str, float]) -> None:
    """Append ``step`` and the finite values of ``logs`` to the CSV at ``path``.

    Raises:
        HandgenError: the file cannot be written (read-only or full disk).
    """
    path = Path(path)
    row = {"step": str(step), **{k: f"{v:.6g}" for k, v in logs.items() if math.isfinite(v)}}
    fields, _ = _read(path) if path.exists() else ([], [])
    if fields and set(row) <= set(fields):
        line = io.StringIO()
        csv.DictWriter(line, fieldnames=fields, lineterminator="\n").writerow(row)
        try:
            with path.open("a", newline="") as f:
                f.write(line.getvalue())
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise write_error(path, exc) from None
        return
    fields, rows = _read(path)
    new_fields = ["step"] + sorted((set(fields) | set(row)) - {"step"})
    atomic_write_text(path, _render(new_fields, [*rows, row]))


def truncate_log(path: Path, step: int) -> None:
    """Drop rows written after ``step`` (a run killed before its next checkpoint), atomically."""
    path = Path(path)
    if not path.exists():
        return
    fields, rows = _read(path)
    atomic_write_text(path, _render(fields or ["step"], [r for r in rows if int(float(r["step"])) <= step]))
