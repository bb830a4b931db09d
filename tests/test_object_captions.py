"""Hand-object clips: the summary (who holds the object, reach before a grasp, what the object does),
the rule captions, and agreement with the synthetic generator's ground truth."""

from __future__ import annotations

import re
import shutil


from data_prep.captioning.rules import rules_captions
from data_prep.captioning.run import CaptionOptions, caption_data_dir
from data_prep.events.summary import summarise
from handgen.hand.topology import FINGERS, HANDS
from handgen.io.data_dir import DataDir


def _hand(contact: tuple[int, int] | None, translation: dict | None = None, turning: dict | None = None,
          shape: str = "open", palm: str = "inward") -> dict:
    ev = {"shape": [{"start": 0, "end": 60, "state": shape}],
          "fingers": {f: [{"start": 0, "end": 60, "state": "extended"}] for f in FINGERS},
          "palm_facing": [{"start": 0, "end": 60, "state": palm}],
          "fingers_pointing": [{"start": 0, "end": 60, "state": "forward"}]}
    if contact:
        ev["object_contact"] = [{"start": contact[0], "end": contact[1], "tips": ["ring"], "fraction": 0.1}]
    if translation:
        ev["translation"] = translation
    if turning:
        ev["turning"] = turning
    return ev


def _move(start: int, end: int, direction: str, cm: float) -> dict:
    return {"start": start, "end": end, "direction": direction, "speed": 15.0, "distance": cm}


def lid_events() -> dict:
    """Both hands reach for a lidded box and grasp it at frame 10; the right hand lifts the lid open."""
    left = _hand((10, 60), {"left_right": [_move(0, 16, "right", 9.5)]})
    right = _hand((11, 60), {"back_front": [_move(0, 17, "forward", 12.3)], "down_up": [_move(35, 60, "up", 12.0)]},
                  {"about_left_right": [{"start": 34, "end": 60, "direction": "tipping forward", "speed": 43,
                                         "angle": 37}]}, palm="forward")
    obj = {"name": "hingebox", "noun": "box with a lid", "held_by": ["left", "right"], "part": "lid",
           "articulation": [{"start": 34, "end": 60, "state": "opening", "speed": 44, "angle": 38}]}
    return {"fps": 30, "frames": 60, "object": obj, "left": left, "right": right, "both": {}}


def test_reaching_before_the_grasp_is_not_travel_while_holding():
    clip = summarise(lid_events())
    left, right = clip.left, clip.right
    assert left.holds and left.shape == "grasp" and left.shape_from == "open"
    assert left.reach == [("right", 9.5)] and left.travel == [] and left.still
    assert right.reach == [("forward", 12.3)] and right.travel == [("up", 12.0)] and not right.still
    assert clip.pair.relation == "hold_object" and clip.pair.holders == ["left", "right"]
    assert clip.object.action == "open" and clip.object.part == "lid"


def test_the_steady_hand_and_the_hand_opening_the_lid_are_told_apart():
    captions = rules_captions(lid_events())
    assert len(captions) == 5
    for triplet in captions:
        assert "left hand" in triplet["both"] and "right hand" in triplet["both"] and "lid" in triplet["both"]
        assert "open" in triplet["both"] and "box" in triplet["both"]
        assert ("steady" in triplet["left"] or "in place" in triplet["left"]) and "open" not in triplet["left"]
        assert "lid" in triplet["right"] and "open" in triplet["right"]
    moderate, detailed = captions[2], captions[4]
    assert "reaches to the right" in moderate["left"] and "reaches forward" in moderate["right"]
    assert "touches the box with the ring finger from 0.3 s to 2.0 s" in detailed["left"]
    assert "box with a lid's" not in " ".join(detailed.values())


def test_one_hand_holds_and_lifts_while_the_other_stays_still():
    events = {"fps": 30, "frames": 60, "left": _hand(None, shape="relaxed", palm="down"),
              "right": _hand((0, 60), {"down_up": [_move(10, 50, "up", 15.0)]}), "both": {},
              "object": {"name": "sphere", "noun": "ball", "held_by": ["right"],
                         "translation": {"down_up": [_move(10, 50, "up", 15.2)]}}}
    clip = summarise(events)
    assert clip.object.action == "lift" and clip.object.held_by == ["right"] and clip.left.shape == "relaxed"
    captions = rules_captions(events)
    for level, triplet in zip(("concise", "concise", "moderate", "moderate", "detailed"), captions):
        assert "ball" in triplet["right"] and re.search(r"\b(lift|raise)", triplet["right"])
        assert "ball" not in triplet["left"] and "holds the" not in triplet["left"]
        assert "right hand" in triplet["both"] and "ball" in triplet["both"] and "left hand" in triplet["both"]
        assert ("15 cm" in triplet["right"]) == (level != "concise")


# ------------------------------------------------------------------ synthetic hand-object data


def test_object_clips_agree_with_the_synthetic_ground_truth(synthetic_object_data_dir):
    from data_prep.synthetic.feature_agreement import measure_data_dir

    agreement = measure_data_dir(str(synthetic_object_data_dir))
    print("\n" + agreement.table())
    families: dict[str, list[int]] = {}
    for (family, _), (good, total) in agreement.counts.items():
        families.setdefault(family, [0, 0])
        families[family][0] += good
        families[family][1] += total
    assert set(families) == {"fingers", "wrist", "palm", "both", "object"}
    for family, (good, total) in families.items():
        assert good / total >= 0.95, (family, dict(agreement.failures))
    assert agreement.counts[("both", "hold_object")] == [12, 12]
    assert agreement.counts[("fingers", "grasp")] == [12, 12]
    assert {"rotate", "still"} <= {label for family, label in agreement.counts if family == "wrist"}
    assert {"open", "turn", "tilt", "push"} <= {label for family, label in agreement.counts if family == "object"}


def test_object_clip_captions_name_the_object_its_holders_and_their_contacts(synthetic_object_data_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synthetic_object_data_dir, data)
    summary = caption_data_dir(data, CaptionOptions(progress=False))
    assert summary.captioned == 12
    for row in DataDir(data).manifest:
        labels = row["gt_labels"]
        noun = labels["noun"].split(" with ")[0]
        holders = [side for side in HANDS if labels["roles"][side] != "free"]
        assert len(row["captions"]) == 5
        for triplet in row["captions"]:
            assert noun in triplet["both"], (row["id"], triplet["both"])
            assert all(f"{side} hand" in triplet["both"] for side in holders) or len(holders) == 2
            for side in HANDS:
                assert (noun in triplet[side]) == (side in holders), (row["id"], side, triplet[side])
        for side in holders:  # contacts are always reported
            assert f"touches the {noun}" in row["captions"][-1][side]


def test_a_hand_that_only_touches_the_object_and_turns_is_not_still():
    events = {"fps": 30, "frames": 60, "both": {},
              "left": _hand((20, 30), turning={"about_vertical": [{"start": 20, "end": 40, "direction":
                            "clockwise from above", "speed": 30, "angle": 12}]}),
              "right": _hand((0, 60)), "object": {"name": "box", "noun": "box", "held_by": ["right"], "still": True}}
    clip = summarise(events)
    assert not clip.left.holds and not clip.left.still and clip.right.holds and clip.right.still
    captions = rules_captions(events)
    assert all("turns slowly" in c["left"] for c in captions)
    assert all("touches it briefly" in c["both"] and "keep" in c["both"] for c in captions)
    assert "touches the box" in captions[-1]["left"]
