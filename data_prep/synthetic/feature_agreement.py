"""How often the extracted motion features agree with the synthetic generator's ground truth.

For every label value (a finger primitive, a wrist primitive, a palm direction, a relation)
and every clip whose truth holds it, the clip agrees when the features (read through
:func:`data_prep.events.summary.summarise`) say so for each hand that has it and not for a
hand that does not. Run ``python -m data_prep.synthetic.feature_agreement DATA_DIR`` for
the table.

Hand-object clips (truth ``both: hold_object``; the holders are the hands whose ``roles`` are
not ``free``):

- ``fingers: grasp`` agrees when exactly the holding hands hold the object (the summary's
  ``grasp`` shape) and a hand that does not hold it does not touch it either;
- ``both: hold_object`` agrees when the hands holding the object, and the hands touching it at
  all, are exactly the holders;
- ``object: <action>`` (lift, lower, move_left, move_right, push, pull, turn, tilt, open)
  agrees when the object's main motion, measured on its own pose, is that action;
- wrist labels as for hand-only clips, of the hand while it holds the object (the summary's
  ``travel``: a hand that reaches for the object first has that move in ``reach``), except ``rotate`` of a holding hand: a hand turning an
  object turns slowly with it about a world axis (40-70 degrees over two seconds, under the
  wrist's own rotation thresholds), so it agrees when the hand's slow ``turning`` (or a
  supination) is measured.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from data_prep.captioning.features_io import clip_event_json
from data_prep.events.summary import ClipSummary, HandSummary, summarise
from handgen.hand.topology import HANDS
from handgen.io.data_dir import DataDir

DIRECTIONS = ("left", "right", "up", "down", "forward", "back")


def finger_says(hand: HandSummary, label: str) -> bool:
    return hand.shape == label


def wrist_says(hand: HandSummary, label: str) -> bool:
    if label == "still":
        return hand.still
    if label == "wave":
        return "deviation" in hand.rotations
    if label == "rotate":
        return "supination" in hand.rotations or (hand.holds and bool(hand.turning))
    if label == "in_out":
        return "left_right" in hand.oscillations
    if label in DIRECTIONS:
        return label in dict(hand.travel)
    raise ValueError(f"unknown wrist label {label!r}")


def palm_says(hand: HandSummary, label: str, lenient: bool = True) -> bool:
    """The palm faces ``label`` (with ``lenient``, also when it is the run's secondary direction)."""
    return hand.palm == label or (lenient and hand.palm_also == label)


@dataclass
class Agreement:
    """Per (field, label): clips with that truth and how many agree."""

    counts: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    failures: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    groups: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # clip kind totals

    def add(self, key: tuple[str, str], ok: bool, clip: str, group: str = "hand-only") -> None:
        self.counts[key][0] += int(ok)
        self.counts[key][1] += 1
        self.groups[group][0] += int(ok)
        self.groups[group][1] += 1
        if not ok:
            self.failures[key].append(clip)

    def fraction(self, key: tuple[str, str]) -> float:
        good, total = self.counts[key]
        return good / total if total else float("nan")

    def overall(self) -> float:
        good = sum(c[0] for c in self.counts.values())
        total = sum(c[1] for c in self.counts.values())
        return good / total if total else float("nan")

    def table(self) -> str:
        lines = [f"{'field':8s} {'label':12s} {'agree':>6s} {'clips':>6s}"]
        for key in sorted(self.counts):
            good, total = self.counts[key]
            lines.append(f"{key[0]:8s} {key[1]:12s} {good / total:6.1%} {total:6d}")
        lines.append(f"overall agreement {self.overall():.1%}")
        if len(self.groups) > 1:
            for group, (good, total) in sorted(self.groups.items()):
                lines.append(f"  on {group} clips {good / total:.1%} ({total} checks)")
        return "\n".join(lines)


def truth_holders(truth: dict) -> set[str]:
    """The hands that hold the object in an object clip's labels (roles other than ``free``)."""
    roles = truth.get("roles")
    if isinstance(roles, dict):
        return {side for side in HANDS if roles.get(side, "free") != "free"}
    holder = truth.get("holder", "both")
    return set(HANDS) if holder == "both" else {holder}


def _per_hand(agreement: Agreement, field_name: str, clip: str, truth: dict, summary: ClipSummary, says,
              group: str) -> None:
    values = {truth[side][field_name] for side in HANDS}
    for value in values:
        ok = all(says(summary.hand(side), value) == (truth[side][field_name] == value) for side in HANDS)
        if field_name == "fingers" and value == "grasp":  # a hand that does not hold it does not touch it
            touching = set(summary.object.touched_by) if summary.object else set()
            ok = ok and touching <= {side for side in HANDS if truth[side]["fingers"] == "grasp"}
        agreement.add((field_name, value), ok, clip, group)


def _object_checks(agreement: Agreement, clip: str, truth: dict, summary: ClipSummary) -> None:
    obj = summary.object
    holders = truth_holders(truth)
    ok = summary.pair.relation == "hold_object" and obj is not None
    ok = ok and set(obj.held_by) == holders and set(obj.touched_by) == holders
    agreement.add(("both", "hold_object"), ok, clip, "object")
    if truth.get("action"):
        agreement.add(("object", truth["action"]), obj is not None and obj.action == truth["action"], clip, "object")


def measure(items: Iterable[tuple[str, dict[str, Any], ClipSummary]], lenient_palm: bool = True) -> Agreement:
    """Agreement over ``(clip id, gt_labels, summary)`` triples."""
    agreement = Agreement()
    for clip, truth, summary in items:
        group = "object" if truth["both"] == "hold_object" else "hand-only"
        _per_hand(agreement, "fingers", clip, truth, summary, finger_says, group)
        _per_hand(agreement, "wrist", clip, truth, summary, wrist_says, group)
        _per_hand(agreement, "palm", clip, truth, summary, lambda h, v: palm_says(h, v, lenient_palm), group)
        if group == "object":
            _object_checks(agreement, clip, truth, summary)
            continue
        agreement.add(("both", truth["both"]), summary.pair.relation == truth["both"], clip, group)
        if truth["both"] == "touch_palm":
            touchers = {t["hand"] for t in summary.pair.touches}
            agreement.add(("both", "toucher"), touchers == {truth.get("toucher")}, clip, group)
    return agreement


def measure_data_dir(path: str, lenient_palm: bool = True) -> Agreement:
    """Extract, segment and summarise every clip with ``gt_labels`` in the DATA_DIR ``path``."""
    data = DataDir(path)
    items = []
    for row in data.manifest:
        if row.get("gt_labels"):
            items.append((row["id"], row["gt_labels"], summarise(clip_event_json(data, row))))
    return measure(items, lenient_palm)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--strict-palm", action="store_true", help="the palm's main direction only")
    parser.add_argument("--failures", action="store_true", help="list the clips that disagree")
    args = parser.parse_args(argv)
    agreement = measure_data_dir(args.data_dir, lenient_palm=not args.strict_palm)
    print(agreement.table())
    if args.failures:
        for key, clips in sorted(agreement.failures.items()):
            print(f"{key[0]}/{key[1]}: {', '.join(clips)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
