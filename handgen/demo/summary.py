"""The demo's closing summary: stage timings, headline metrics from the reports, and every path written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from handgen.demo.stages import StageResult


def _number(value: Any) -> str:
    if isinstance(value, dict):  # {"mean": m, "ci95": c} from replicated metrics
        value = value.get("mean")
    if isinstance(value, (int, float)):
        return f"{value:.4g}"
    return "-"


def motion_table(report: dict[str, Any]) -> list[str]:
    """Rows ``metric | real | model`` from an ``eval motion`` report (mean over replications)."""
    rows = report.get("rows", {})
    names = list(rows)
    keys: list[str] = []
    for name in names:
        keys += [k for k in rows[name].get("metrics", {}) if k not in keys]
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(_number(rows[n].get("metrics", {}).get(key)) for n in names) + " |")
    return lines


def grasp_table(report: dict[str, Any]) -> list[str]:
    """Rows ``metric | mean`` from an ``eval grasp`` report."""
    mean = report.get("mean", {})
    return ["| grasp metric | mean |", "|---|---|"] + [f"| {k} | {_number(v)} |" for k, v in mean.items()]


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def demo_summary(out: Path, results: list[StageResult]) -> str:
    """Markdown summary of a finished demo (also written to ``OUT_DIR/reports/summary.md``)."""
    lines = ["# handgen demo", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {r.title} | {r.seconds:.1f}{' (earlier run)' if r.skipped else ''} |" for r in results]
    lines.append(f"| total | {sum(r.seconds for r in results):.1f} |")
    motion = _read(out / "reports" / "motion.json")
    if motion:
        lines += ["", "## Motion (test split; `real` = the data itself)", ""] + motion_table(motion)
    grasp = _read(out / "reports" / "grasp.json")
    if grasp:
        lines += ["", "## Grasp", ""] + grasp_table(grasp)
    lines += ["", "## Files", ""]
    for label, pattern in (
        ("data", "data/manifest.jsonl"), ("grasp data", "grasp_data"), ("runs", "runs/*"),
        ("samples", "samples/*/sample_*.*"), ("grasps", "grasps/grasp_*.*"), ("reports", "reports/*.json"),
    ):
        for path in sorted(out.glob(pattern)):
            lines.append(f"- {label}: `{path}`")
    return "\n".join(lines) + "\n"
