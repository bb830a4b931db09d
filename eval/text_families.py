"""Does a motion model follow its text? Three A/B contrasts measured from the joints.

Each family samples two prompts that differ only in the hand or the direction named, and
scores every sample with a signed quantity that is positive when prompt A is followed and
negative when prompt B is:

- ``finger``: finger shape per hand. A: the left hand makes a fist (right relaxed), B: the
  mirror case. Score: left minus right mean curl of index..pinky over the second half (rad).
- ``wrist``: per-hand wrist direction. A: the left hand moves upward (right still), B: the
  mirror case. Score: left minus right wrist rise (m; mean height of the last quarter minus
  the first quarter, +y up).
- ``relation``: the two hands together vs apart. A: the hands come together, B: the hands
  move apart (the same per-hand texts). Score: wrist-to-wrist distance of the first quarter
  minus the last quarter (m; positive = closer at the end).

A family reports ``contrast`` = mean score under A minus under B, its ``noise`` (standard
error of that difference over the samples), and ``right_way``: the share of samples whose
score has the sign of its prompt (0.5 = chance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from eval.text_following import FIST_PROMPTS, joints_from_features, mean_curl

Triplet = dict[str, str]
NEUTRAL_BOTH = "The two hands move independently."

FAMILY_PROMPTS: dict[str, tuple[Triplet, Triplet]] = {
    "finger": (FIST_PROMPTS["left_fist"], FIST_PROMPTS["right_fist"]),
    "wrist": (
        {"left": "The left hand moves upward.", "right": "The right hand stays still.", "both": NEUTRAL_BOTH},
        {"left": "The left hand stays still.", "right": "The right hand moves upward.", "both": NEUTRAL_BOTH},
    ),
    "relation": (
        {"left": "The left hand stays relaxed.", "right": "The right hand stays relaxed.",
         "both": "The hands move toward each other."},
        {"left": "The left hand stays relaxed.", "right": "The right hand stays relaxed.",
         "both": "The hands move apart."},
    ),
}
UNITS = {"finger": "rad", "wrist": "m", "relation": "m"}


def _quarters(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = max(1, joints.shape[1] // 4)
    return joints[:, :q].mean(axis=1), joints[:, -q:].mean(axis=1)  # (N, 2, 21, 3) each


def finger_score(joints: np.ndarray) -> np.ndarray:
    """(N,) left minus right mean finger curl (rad) of joints (N, T, 2, 21, 3)."""
    curl = mean_curl(joints)
    return curl[:, 0] - curl[:, 1]


def wrist_rise_score(joints: np.ndarray) -> np.ndarray:
    """(N,) left minus right wrist rise (m): last-quarter minus first-quarter mean height."""
    start, end = _quarters(joints)
    rise = end[:, :, 0, 1] - start[:, :, 0, 1]  # (N, 2)
    return rise[:, 0] - rise[:, 1]


def approach_score(joints: np.ndarray) -> np.ndarray:
    """(N,) wrist-to-wrist distance of the first quarter minus the last quarter (m)."""
    start, end = _quarters(joints)
    gap = lambda x: np.linalg.norm(x[:, 0, 0] - x[:, 1, 0], axis=-1)  # noqa: E731
    return gap(start) - gap(end)


SCORES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "finger": finger_score, "wrist": wrist_rise_score, "relation": approach_score,
}


@dataclass
class FamilyResult:
    family: str
    scores_a: np.ndarray  # (N,) under prompt A (positive = followed)
    scores_b: np.ndarray  # (N,) under prompt B (negative = followed)

    @property
    def contrast(self) -> float:
        return float(self.scores_a.mean() - self.scores_b.mean())

    @property
    def noise(self) -> float:
        """Standard error of the contrast over the samples (NaN with one sample per prompt)."""
        if min(len(self.scores_a), len(self.scores_b)) < 2:
            return float("nan")
        var = self.scores_a.var(ddof=1) / len(self.scores_a) + self.scores_b.var(ddof=1) / len(self.scores_b)
        return float(np.sqrt(var))

    @property
    def right_way(self) -> float:
        return float(((self.scores_a > 0).sum() + (self.scores_b < 0).sum()) / (len(self.scores_a) + len(self.scores_b)))

    def line(self) -> str:
        unit, contrast, noise = UNITS[self.family], self.contrast, self.noise
        ratio = contrast / noise if noise != 0 else float("inf")  # NaN noise: NaN ratio
        return (f"{self.family:8s} contrast {contrast:+.3f} {unit} (noise {noise:.3f}, {ratio:+.1f}x), "
                f"{100 * self.right_way:.0f}% of {len(self.scores_a) + len(self.scores_b)} samples the right way")


def family_contrast(generate, family: str, num: int = 32, frames: int = 60) -> FamilyResult:
    """Run ``generate(triplets, frames) -> raw features (B, frames, 324)`` on the family's A and B prompts."""
    prompt_a, prompt_b = FAMILY_PROMPTS[family]
    score = SCORES[family]
    out = [score(joints_from_features(np.asarray(generate([p] * num, frames)))) for p in (prompt_a, prompt_b)]
    return FamilyResult(family, out[0], out[1])


def text_families(generate, num: int = 32, frames: int = 60, families=tuple(FAMILY_PROMPTS)) -> list[FamilyResult]:
    """All (or the chosen) families for one generator."""
    return [family_contrast(generate, f, num, frames) for f in families]
