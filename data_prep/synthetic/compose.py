"""One caption segment: sample what each hand and the pair do, then compose the motion.

A :class:`SegmentPlan` holds the ground-truth labels (per hand: finger primitive,
wrist primitive, which way the palm faces; for the pair: the relation). It is
sampled so that the labels are compatible (``touch_palm`` sets one pointing and
one open hand, ``clap`` two open hands, ``mirror`` the same primitives on both
hands, ``none`` two different, non-colliding wrist primitives), and
:func:`compose_segment` turns it into per-frame MANO-style parameters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from handgen.hand.topology import HANDS

from data_prep.synthetic import relations
from data_prep.synthetic.finger_poses import FINGER_PRIMITIVES, finger_pose, finger_trajectory
from data_prep.synthetic.wrist_paths import WRIST_PRIMITIVES, palm_facing

# per-hand wrist labels: the primitives plus the in-and-out swing of a clapping hand
WRIST_LABELS: tuple[str, ...] = WRIST_PRIMITIVES + ("in_out",)
PALM_LABELS: tuple[str, ...] = ("down", "forward", "inward", "up")
RELATION_WEIGHTS: dict[str, float] = {
    "none": 0.4,
    "approach": 0.12,
    "separate": 0.12,
    "clap": 0.12,
    "touch_palm": 0.12,
    "mirror": 0.12,
}


@dataclass(frozen=True)
class HandLabel:
    fingers: str
    wrist: str
    palm: str = "down"


@dataclass(frozen=True)
class SegmentPlan:
    """Ground truth of one segment; ``toucher`` names the pointing hand of a ``touch_palm``."""

    left: HandLabel
    right: HandLabel
    relation: str
    toucher: str | None = None

    def hand(self, side: str) -> HandLabel:
        return self.left if side == "left" else self.right

    def labels(self) -> dict:
        """JSON labels: ``{"left": {fingers, wrist, palm}, "right": {...}, "both": relation[, "toucher"]}``."""
        out: dict = {"left": asdict(self.left), "right": asdict(self.right), "both": self.relation}
        if self.toucher is not None:
            out["toucher"] = self.toucher
        return out


@dataclass
class HandMotion:
    """One hand over a segment: world orientation (F,3), absolute finger pose (F,45), wrist joint (F,3)."""

    global_orient: np.ndarray
    hand_pose: np.ndarray
    wrist: np.ndarray


def _pick(rng: np.random.Generator, options) -> str:
    return str(options[int(rng.integers(len(options)))])


def _independent_wrists(rng: np.random.Generator) -> tuple[str, str]:
    """Two different wrist primitives that do not read as a relation (no mirrored sideways pair)."""
    while True:
        left, right = _pick(rng, WRIST_PRIMITIVES), _pick(rng, WRIST_PRIMITIVES)
        both_sideways = left in ("left", "right") and right in ("left", "right")
        if left != right and not both_sideways:
            return left, right


def sample_plan(rng: np.random.Generator) -> SegmentPlan:
    """Draw a compatible combination of per-hand primitives and a relation."""
    names = list(RELATION_WEIGHTS)
    weights = np.array([RELATION_WEIGHTS[n] for n in names])
    relation = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    fingers = (_pick(rng, FINGER_PRIMITIVES), _pick(rng, FINGER_PRIMITIVES))
    if relation == "none":
        wl, wr = _independent_wrists(rng)
        left, right = HandLabel(fingers[0], wl, palm_facing(wl)), HandLabel(fingers[1], wr, palm_facing(wr))
        return SegmentPlan(left, right, relation)
    if relation in ("approach", "separate"):
        inward = relation == "approach"
        return SegmentPlan(
            HandLabel(fingers[0], "right" if inward else "left"),
            HandLabel(fingers[1], "left" if inward else "right"),
            relation,
        )
    if relation == "clap":
        hand = HandLabel("open", "in_out", "inward")
        return SegmentPlan(hand, hand, relation)
    if relation == "touch_palm":
        toucher = _pick(rng, HANDS)
        pointing, receiving = HandLabel("point", "down", "down"), HandLabel("open", "still", "up")
        if toucher == "left":
            return SegmentPlan(pointing, receiving, relation, toucher)
        return SegmentPlan(receiving, pointing, relation, toucher)
    if relation == "mirror":
        wrist = _pick(rng, relations.MIRROR_WRISTS)
        hand = HandLabel(fingers[0], wrist, palm_facing(wrist))
        return SegmentPlan(hand, hand, relation)
    raise AssertionError(relation)


def relaxed_start(side: str, rng: np.random.Generator) -> np.ndarray:
    """A loose starting finger pose (45,): the relaxed primitive with 0.03 rad jitter."""
    return finger_pose("relaxed", side) + rng.normal(0.0, 0.03, 45)


def compose_segment(
    plan: SegmentPlan, frames: int, betas: np.ndarray, rng: np.random.Generator
) -> dict[str, HandMotion]:
    """The motion of both hands for ``plan`` over ``frames`` frames (subject shape ``betas`` (10,))."""
    fingers = {}
    for side in HANDS:
        label = plan.hand(side).fingers
        # hands start loose and form their primitive in the first frames, except clapping hands
        # (open from the start so that every clap is palm against palm) and the touching hand
        # (already pointing, so that its whole movement is the descent onto the palm)
        formed = plan.relation == "clap" or (plan.relation == "touch_palm" and side == plan.toucher)
        start = finger_pose(label, side) if formed else relaxed_start(side, rng)
        fingers[side] = finger_trajectory(label, side, start, frames, rng)
    if plan.relation == "none":
        paths = relations.independent({side: plan.hand(side).wrist for side in HANDS}, frames, rng)
    elif plan.relation in ("approach", "separate"):
        paths = relations.approach_or_separate(plan.relation, fingers, betas, rng)
    elif plan.relation == "clap":
        paths = relations.clap(fingers, betas, rng)
    elif plan.relation == "touch_palm":
        paths = relations.touch_palm(plan.toucher or "right", fingers, betas, rng)
    elif plan.relation == "mirror":
        paths = relations.mirror(plan.left.wrist, frames, rng)
    else:
        raise ValueError(f"unknown relation {plan.relation!r}")
    return {
        side: HandMotion(global_orient=paths[side].rotvec(side), hand_pose=fingers[side], wrist=paths[side].position)
        for side in HANDS
    }
