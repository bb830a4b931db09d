"""Does a demo sample do what its text says? Checks measured on the joints, and the data's coverage.

Each demo prompt lists what it asks for as checks (``fist`` / ``open`` / ``point`` / ``pinch`` /
``wave`` / ``still`` of one hand, ``approach`` / ``apart`` of both). Every check is measured on the sample's keypoints
(T, 2, 21, 3) metres, as ``eval.text_following`` measures the fist contrast, and printed with
its numbers so a reader can judge the threshold. One sample per prompt is a coin flip for a weak
model, so the demo samples each prompt several times and a prompt is followed when a clear
majority (:data:`FOLLOW_SHARE`) of its samples pass: "right fist 4/4 yes (curl 1.31, ... rad)".
On the synthetic data itself every check passes on every clip whose labels show its motion
(the README's 256 sequences, hand-only clips: fist 110/110, open 222/222, point 140/140 and pinch 108/108
on both hands, left still 32/32, right wave 18/18, approach 34/34; relaxed fingers curl 0.67-0.70 rad and
are not "open").
``coverage`` counts the training clips whose ground-truth labels show each checked motion: a
model cannot be expected to follow a text the data never showed it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handgen.analysis.fingers import finger_curl, flexion

HAND_INDEX = {"left": 0, "right": 1}
FIST_CURL_RAD = 0.9  # mean curl of index..pinky over the second half at or above: a fist
OPEN_CURL_RAD = 0.6  # at or below: open fingers (open 0.04-0.06 rad in the data, relaxed 0.68)
WAVE_SWING_M = 0.03  # back-and-forth swing of the middle fingertip about the wrist, metres
STILL_TRAVEL_M = 0.05  # wrist displacement from its first position, metres
APPROACH_M = 0.05  # the wrists end at least this much closer than they start, metres
PINCH_GAP_M = 0.015  # thumb tip to index tip over the second half at or below: a pinch (data 0.5-0.9 cm, relaxed 2.7+)
MIDDLE_TIP, WRIST, THUMB_TIP, INDEX_TIP = 12, 0, 4, 8
FOLLOW_SHARE = 0.75  # a prompt's check is followed when at least this share of its samples pass it


@dataclass(frozen=True)
class Check:
    """One thing a prompt asks for: ``kind`` of ``hand`` ("left", "right" or "both")."""

    hand: str
    kind: str  # fist | open | point | pinch | wave | still | approach | apart

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


def _second_half(joints: np.ndarray, h: int) -> np.ndarray:
    """Hand ``h``'s joints (T // 2, 21, 3) over the second half of a sample: the pose a text asks for is held there."""
    return joints[len(joints) // 2 :, h]


def measure(joints: np.ndarray, check: Check) -> tuple[bool, str]:
    """(passes, the measured figure as text) of ``check`` on one sample's joints (T, 2, 21, 3) metres."""
    joints = np.asarray(joints, dtype=np.float64)
    if check.kind in ("fist", "open", "point"):
        h = HAND_INDEX[check.hand]
        curl = finger_curl(flexion(_second_half(joints, h), h)).mean(axis=0)  # (5,) thumb..pinky, radians
        if check.kind == "point":  # the index straight, the other long fingers curled (data: 0.02-0.09 / 1.59-1.65 rad)
            index, others = float(curl[1]), float(curl[2:].mean())
            return index <= OPEN_CURL_RAD and others >= FIST_CURL_RAD, f"index {index:.2f} / others {others:.2f} rad"
        fingers = float(curl[1:].mean())  # index..pinky, as eval.text_following.mean_curl
        ok = fingers >= FIST_CURL_RAD if check.kind == "fist" else fingers <= OPEN_CURL_RAD
        return ok, f"curl {fingers:.2f} rad"
    if check.kind == "pinch":
        tips = _second_half(joints, HAND_INDEX[check.hand])
        gap = float(np.linalg.norm(tips[:, THUMB_TIP] - tips[:, INDEX_TIP], axis=-1).mean())
        return gap <= PINCH_GAP_M, f"thumb-index tips {100 * gap:.1f} cm"
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


def followed(passed: int, total: int) -> bool:
    """A clear majority: at least :data:`FOLLOW_SHARE` of ``total`` samples passed (all of 1 or 2, 3 of 4)."""
    return total > 0 and passed >= FOLLOW_SHARE * total


def follows_line(samples: list[np.ndarray], checks: tuple[Check, ...]) -> str:
    """``"right fist 4/4 yes (curl 1.31, 1.40, 1.29, 1.35 rad), approach 1/4 no (wrists 36 -> 37 cm; ...)"``.

    ``samples``: the joints (T, 2, 21, 3) of each sample of one prompt; "yes" is :func:`followed`.
    """
    parts = []
    for check in checks:
        results = [measure(joints, check) for joints in samples]
        passed = sum(ok for ok, _ in results)
        figures = _join_figures([figure for _, figure in results])
        parts.append(f"{check.label} {passed}/{len(results)} {'yes' if followed(passed, len(results)) else 'no'} "
                     f"({figures})")
    return ", ".join(parts)


def _join_figures(figures: list[str]) -> str:
    """``["curl 1.31 rad", "curl 1.40 rad"]`` -> ``"curl 1.31, 1.40 rad"``; other figures joined by "; "."""
    heads = {f.split(" ", 1)[0] for f in figures}
    units = {f.rsplit(" ", 1)[-1] for f in figures}
    if len(heads) == 1 and len(units) == 1 and all(len(f.split(" ")) == 3 for f in figures):
        head, unit = heads.pop(), units.pop()
        return f"{head} " + ", ".join(f.split(" ")[1] for f in figures) + f" {unit}"
    return "; ".join(figures)


def label_matches(labels: dict, check: Check) -> bool:
    """True when synthetic ground-truth ``labels`` ({left, right: {fingers, wrist}, both}) show ``check``."""
    if check.hand == "both":
        relation = labels.get("both", "")
        return relation == "approach" if check.kind == "approach" else relation in ("none", "separate")
    hand = labels.get(check.hand) or {}
    if check.kind in ("fist", "open", "point", "pinch"):  # relaxed fingers (curl 0.68 rad) are not "open"
        return hand.get("fingers") == check.kind
    return hand.get("wrist") == check.kind


def coverage(data_dir: str | Path, checks: tuple[Check, ...], split: str = "train") -> dict[str, int]:
    """Training clips of ``data_dir`` whose ground-truth labels show each check's motion."""
    rows = [json.loads(line) for line in (Path(data_dir) / "manifest.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if r.get("split") == split and r.get("gt_labels")]
    return {c.label: sum(label_matches(r["gt_labels"], c) for r in rows) for c in checks}
