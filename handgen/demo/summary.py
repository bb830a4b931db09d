"""The demo's closing summary: stage timings, headline metrics from the reports, and every path written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from handgen.demo.follows import FOLLOW_SHARE, coverage, follows_line
from handgen.demo.plan import ALL_CHECKS, PROMPT_CHECKS, PROMPTS
from handgen.demo.stages import StageResult

PROTOCOL_BATCH = 32
HOLD_MM = 20.0  # the hold test: the object moves less than 2 cm in the simulation
FREE_FALL_MM = 4905.0


def _number(value: Any) -> str:
    """``0.7396`` or, for a replicated metric ({"mean": m, "ci95": c, "n": k} with k > 1), ``0.7396 ± 0.05``."""
    ci = None
    if isinstance(value, dict):
        ci = value.get("ci95") if int(value.get("n", 1) or 1) > 1 else None
        value = value.get("mean")
    if not isinstance(value, (int, float)):
        return "-"
    shown = isinstance(ci, (int, float)) and ci > 1e-9 * max(1.0, abs(value))  # not float noise of a constant
    return f"{value:.4g} ± {ci:.2g}" if shown else f"{value:.4g}"


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


def small_sample_note(report: dict[str, Any]) -> list[str]:
    """A warning line when the report's figures come from fewer clips than the protocol's batch."""
    protocol = report.get("protocol", {})
    batch = int(protocol.get("r_precision_batch", PROTOCOL_BATCH))
    clips = int(report.get("clips", 0))
    if batch >= PROTOCOL_BATCH and clips >= PROTOCOL_BATCH:
        reps = int(report.get("replications", 1))
        return [f"n = {clips} test clips (R-Precision in batches of {batch}), {reps} replication(s); ± is the 95% "
                "interval over replications. The evaluator is the demo's own tiny one (stage 5): its R-Precision on "
                "the real clips is what it can rank at all, so a model row above the real one says the evaluator is "
                "weak, not that the model beats the data.", ""]
    note = (f"**Small sample: n = {clips} test clips, R-Precision in batches of {batch}, below the protocol's "
            f"batch of {PROTOCOL_BATCH}.** These figures show the pipeline running, not how good the model is; "
            "the rows are not a comparison (read the ± intervals in `motion.json`).")
    return [note, ""]


def hold_line(report: dict[str, Any]) -> str:
    """The hold test of the best grasp (:mod:`handgen.grasp.hold_test`: gravity along 6 axes, < 2 cm in >= 5)."""
    rows = report.get("grasps") or [{}]
    best = rows[0]
    held = best.get("hold_directions")
    if not isinstance(held, (int, float)):
        return "hold test: not simulated"
    verdict = "holds the object" if best.get("holds") else "does NOT hold the object"
    return (f"hold test: {verdict} (held against gravity in {int(held)} of 6 directions with the hands fixed; "
            f"holding is >= 5 directions with the object moving < {HOLD_MM:.0f} mm; free fall is {FREE_FALL_MM:.0f} mm)")


def _prompt_index(texts: dict[str, str]) -> int | None:
    """Which of :data:`PROMPTS` a sample's texts are (None: none of them)."""
    for index, prompt in enumerate(PROMPTS):
        if all(texts.get(k, "") == prompt[k] for k in ("left", "right", "both")):
            return index
    return None


def _samples_by_prompt(folder: Path) -> dict[int, list[tuple[Path, np.ndarray]]]:
    """``{prompt index: [(sample path, joints (T, 2, 21, 3))...]}`` of a samples folder, in file order."""
    grouped: dict[int, list[tuple[Path, np.ndarray]]] = {}
    for path in sorted(folder.glob("sample_*.npz")):
        with np.load(path) as npz:
            texts = {k: str(npz[f"text_{k}"]) if f"text_{k}" in npz.files else "" for k in ("left", "right", "both")}
            joints = npz["joints"]
        index = _prompt_index(texts)
        if index is not None:
            grouped.setdefault(index, []).append((path, joints))
    return grouped


def follows_lines(out: Path) -> list[str]:
    """Per sampled prompt: what the text asks for, measured on each of its samples, and the data's coverage."""
    lines = []
    for folder in (out / "samples" / "text", out / "samples" / "long_horizon"):
        for index, samples in sorted(_samples_by_prompt(folder).items()):
            prompt = PROMPTS[index]
            first = samples[0][0].relative_to(out)
            shown = f"`{first}`" + (f" and {len(samples) - 1} more" if len(samples) > 1 else "")
            lines.append(f"- {shown} ({prompt['left']}; {prompt['right']}; {prompt['both']}): follows: "
                         f"{follows_line([joints for _, joints in samples], PROMPT_CHECKS[index])}")
    manifest = out / "data" / "manifest.jsonl"
    if lines and manifest.exists():
        counts = coverage(out / "data", ALL_CHECKS)
        lines.append("- training clips showing each motion: " + ", ".join(f"{k} {v}" for k, v in counts.items())
                     + (" (none for some: the model cannot be expected to follow those words)"
                        if min(counts.values()) == 0 else ""))
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
        lines += ["", "## Motion (test split; `real` = the data itself)", ""] + small_sample_note(motion)
        lines += motion_table(motion)
    follows = follows_lines(out)
    if follows:
        rule = (f"A prompt's check says yes when at least {FOLLOW_SHARE:.0%} of its samples pass it; "
                "each sample's figure is in the brackets.")
        lines += ["", "## Does each sample do what its text says? (measured on its joints)", "", rule, ""] + follows
    grasp = _read(out / "reports" / "grasp.json")
    if grasp:
        lines += ["", "## Grasp", "", hold_line(grasp), ""] + grasp_table(grasp)
    lines += ["", "## Files", ""]
    for label, pattern in (
        ("data", "data/manifest.jsonl"), ("grasp data", "grasp_data"), ("runs", "runs/*"),
        ("samples", "samples/*/sample_*.*"), ("grasps", "grasps/grasp_*.*"), ("reports", "reports/*.json"),
    ):
        for path in sorted(out.glob(pattern)):
            lines.append(f"- {label}: `{path}`")
    return "\n".join(lines) + "\n"
