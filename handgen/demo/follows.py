"""Does a demo sample do what its text says? Checks measured on the joints, and the data's coverage.

Each demo prompt lists what it asks for as checks (``fist`` / ``open`` / ``wave`` / ``still`` of
one hand, ``approach`` / ``apart`` of both). Every check is measured on the sample's keypoints
(T, 2, 21, 3) metres, as ``eval.text_following`` measures the fist contrast, and printed with
its number so a reader can judge the threshold: "follows: right fist yes (curl 1.31 rad), ...".
``coverage`` counts the training clips whose ground-truth labels show each checked motion: a
model cannot be expected to follow a text the data never showed it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.text_following import mean_curl

HAND_INDEX = {"left": 0, "right": 1}
FIST_CURL_RAD = 0.9  # mean curl of index..pinky over the second half at or above: a fist
OPEN_CURL_RAD = 0.6  # at or below: open / relaxed fingers
WAVE_SWING_M = 0.03  # back-and-forth swing of the middle fingertip about the wrist, metres
STILL_TRAVEL_M = 0.05  # wrist displacement from its first position, metres
APPROACH_M = 0.05  # the wrists end at least this much closer than they start, metres
MIDDLE_TIP, WRIST = 12, 0


@dataclass(frozen=True)
class Check:
    """One thing a prompt asks for: ``kind`` of ``hand`` ("left", "right" or "both")."""

    hand: str
    kind: str  # fist | open | wave | still | approach | apart

    @property
    def label(self) -> str:
        return f"{self.kind}" if self.hand == "both" else f"{self.hand} {self.kind}"


def _swing(joints: np.ndarray, h: int) -> tuple[float, int]:
    """Swing (m) of the middle fingertip about the wrist along its main direction of motion, and its reversals."""
    relative = joints[:, h, MIDDLE_TIP] - joints[:, h, WRIST]
    centred = relative - relative.mean(axis=0)
    direction = np.linalg.svd(centred, full_matrices=False)[2][0]
    lateral = centred @ direction
    velocity = np.diff(lateral)
    moving = velocity[np.abs(velocity) > 1e-4]
    reversals = int((np.diff(np.sign(moving)) != 0).sum()) if len(moving) > 1 else 0
    return float(lateral.max() - lateral.min()), reversals


def measure(joints: np.ndarray, check: Check) -> tuple[bool, str]:
    """(passes, the measured figure as text) of ``check`` on one sample's joints (T, 2, 21, 3) metres."""
    joints = np.asarray(joints, dtype=np.float64)
    if check.kind in ("fist", "open"):
        curl = float(mean_curl(joints[None])[0, HAND_INDEX[check.hand]])
        ok = curl >= FIST_CURL_RAD if check.kind == "fist" else curl <= OPEN_CURL_RAD
        return ok, f"curl {curl:.2f} rad"
    if check.kind == "wave":
        swing, reversals = _swing(joints, HAND_INDEX[check.hand])
        return swing >= WAVE_SWING_M and reversals >= 2, f"swing {100 * swing:.1f} cm, {reversals} reversals"
    if check.kind == "still":
        wrist = joints[:, HAND_INDEX[check.hand], WRIST]
        travel = float(np.linalg.norm(wrist - wrist[0], axis=1).max())
        return travel <= STILL_TRAVEL_M, f"wrist moves {100 * travel:.1f} cm"
    gap = np.linalg.norm(joints[:, 0, WRIST] - joints[:, 1, WRIST], axis=1)
    start, end = float(gap[: max(1, len(gap) // 6)].mean()), float(gap[-max(1, len(gap) // 6) :].mean())
    figure = f"wrists {100 * start:.0f} -> {100 * end:.0f} cm"
    if check.kind == "approach":
        return end <= start - APPROACH_M, figure
    if check.kind == "apart":
        return end >= start - APPROACH_M / 2, figure
    raise ValueError(f"unknown check {check.kind!r}")


def follows_line(joints: np.ndarray, checks: tuple[Check, ...]) -> str:
    """``"right fist yes (curl 1.31 rad), wave no (swing 0.4 cm, 0 reversals)"``."""
    parts = []
    for check in checks:
        ok, figure = measure(joints, check)
        parts.append(f"{check.label} {'yes' if ok else 'no'} ({figure})")
    return ", ".join(parts)


def label_matches(labels: dict, check: Check) -> bool:
    """True when synthetic ground-truth ``labels`` ({left, right: {fingers, wrist}, both}) show ``check``."""
    if check.hand == "both":
        relation = labels.get("both", "")
        return relation == "approach" if check.kind == "approach" else relation in ("none", "separate")
    hand = labels.get(check.hand) or {}
    if check.kind == "fist":
        return hand.get("fingers") == "fist"
    if check.kind == "open":
        return hand.get("fingers") in ("open", "relaxed")
    return hand.get("wrist") == check.kind


def coverage(data_dir: str | Path, checks: tuple[Check, ...], split: str = "train") -> dict[str, int]:
    """Training clips of ``data_dir`` whose ground-truth labels show each check's motion."""
    rows = [json.loads(line) for line in (Path(data_dir) / "manifest.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if r.get("split") == split and r.get("gt_labels")]
    return {c.label: sum(label_matches(r["gt_labels"], c) for r in rows) for c in checks}
