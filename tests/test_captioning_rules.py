"""The rule-based captioner and ``handgen caption --captioner rules`` on synthetic data."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from conftest import run_cli
from hand_clips import still_pair

from data_prep.captioning.features_io import EVENTS_DIR, read_events
from data_prep.captioning.rules import caption_levels, rules_captions
from data_prep.captioning.run import CaptionOptions, caption_data_dir
from data_prep.events import clip_events
from handgen.analysis import extract_clip_features
from data_prep.synthetic.captions import FINGER_KEYWORDS, WRIST_KEYWORDS, mentions
from data_prep.synthetic.finger_poses import finger_pose
from handgen.io.data_dir import DataDir

INTENT_WORDS = r"\b(in order to|wants?|tries|trying|intend|to grab|to pick|greet|goodbye|applau)"


@pytest.fixture(scope="module")
def captioned(synthetic_data_dir, tmp_path_factory):
    """A copy of the synthetic DATA_DIR captioned by the CLI with the rules; (path, rows before, CLI output)."""
    data = tmp_path_factory.mktemp("rules") / "data"
    shutil.copytree(synthetic_data_dir, data)
    before = {r["id"]: r for r in DataDir(data).manifest}
    proc = run_cli("caption", "--data", data, "--captioner", "rules", check=True)
    return data, before, proc.stdout


def test_caption_levels():
    assert caption_levels(5) == ["concise", "concise", "moderate", "moderate", "detailed"]
    assert caption_levels(1) == ["detailed"]
    assert caption_levels(10).count("detailed") == 2 and caption_levels(10).count("concise") == 4
    with pytest.raises(ValueError):
        caption_levels(0)


def test_cli_writes_five_triplets_per_clip_and_keeps_the_ground_truth(captioned):
    data, before, stdout = captioned
    rows = DataDir(data).manifest
    assert len(rows) == len(before) == 96
    assert re.search(r"caption: 96 clips captioned with rules", stdout)
    for row in rows:
        old = before[row["id"]]
        assert row["caption_source"] == "rules" and row["caption_model"] == "handgen-rules-2"
        assert len(row["captions"]) == 5
        assert len({json.dumps(c, sort_keys=True) for c in row["captions"]}) == 5  # five different phrasings
        for triplet in row["captions"]:
            assert set(triplet) == {"left", "right", "both"} and all(v.strip() for v in triplet.values())
            assert not re.search(INTENT_WORDS, " ".join(triplet.values()), re.IGNORECASE)
        assert row["gt_captions"] == old["gt_captions"] == old["captions"] and row["gt_labels"] == old["gt_labels"]
        events = read_events(data, row["motion_events"])
        assert row["motion_events"] == f"{EVENTS_DIR}/{row['id']}.json" and events["frames"] == 60
        assert row["captions"] == rules_captions(events)  # deterministic, from the stored events


def test_each_hand_caption_names_its_own_primitives_only(captioned):
    data, _, _ = captioned
    checked = good = 0
    for row in DataDir(data).manifest:
        truth = row["gt_labels"]
        for side, other in (("left", "right"), ("right", "left")):
            for field, keywords in (("fingers", FINGER_KEYWORDS), ("wrist", WRIST_KEYWORDS)):
                mine, theirs = truth[side][field], truth[other][field]
                for triplet in row["captions"]:
                    checked += 1
                    text = triplet[side]
                    good += mentions(text, keywords[mine]) and (mine == theirs or not mentions(text, keywords[theirs]))
    assert checked == 96 * 2 * 2 * 5 and good / checked >= 0.95


def test_contacts_are_always_reported(captioned):
    data, _, _ = captioned
    for row in DataDir(data).manifest:
        relation = row["gt_labels"]["both"]
        for triplet in row["captions"]:
            both = triplet["both"].lower()
            if relation == "touch_palm":
                toucher = row["gt_labels"]["toucher"]
                assert f"{toucher} index fingertip" in both or f"{toucher} hand's index fingertip" in both
                assert "palm" in both
            elif relation == "clap":
                assert "clap" in both or "palms meet" in both or "strike together" in both
        detailed = row["captions"][-1]["both"].lower()
        if relation in ("none", "approach", "separate", "mirror"):
            assert re.search(r"do not touch|no contact|never touch", detailed), detailed


def test_rerun_is_resumable_and_overwrite_and_limit_work(captioned, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(captioned[0], data)
    manifest = (data / "manifest.jsonl").read_bytes()
    summary = caption_data_dir(data, CaptionOptions(progress=False))
    assert summary.captioned == 0 and summary.already_done == 96
    assert (data / "manifest.jsonl").read_bytes() == manifest
    summary = caption_data_dir(data, CaptionOptions(progress=False, overwrite=True, limit=3))
    assert summary.captioned == 3 and summary.not_selected == 93
    assert (data / "manifest.jsonl").read_bytes() == manifest  # same input, same captions
    summary = caption_data_dir(data, CaptionOptions(progress=False, k=3, limit=2))  # another K is not "done"
    assert summary.captioned == 2
    assert sum(len(r["captions"]) == 3 for r in DataDir(data).manifest) == 2


def test_prep_rerun_keeps_the_captioner_work(captioned, synthetic_data_dir, tmp_path):
    from data_prep.prep_arctic import prep_arctic

    data = tmp_path / "data"
    shutil.copytree(captioned[0], data)
    before = {r["id"]: r for r in DataDir(data).manifest}
    prep_arctic(synthetic_data_dir.parent / "raw", data, progress=False)
    for row in DataDir(data).manifest:
        old = before[row["id"]]
        for key in ("captions", "caption_source", "caption_model", "motion_events", "gt_captions", "gt_labels"):
            assert row[key] == old[key], key


def test_dry_run_prints_and_writes_nothing(synthetic_data_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synthetic_data_dir, data)
    manifest = (data / "manifest.jsonl").read_bytes()
    text = caption_data_dir(data, CaptionOptions(progress=False, dry_run=True))
    assert isinstance(text, str) and "rules captions for" in text and '"left"' in text
    assert (data / "manifest.jsonl").read_bytes() == manifest and not (data / EVENTS_DIR).exists()


def test_object_contact_and_unusual_shapes_are_described(hand_pair):
    mixed = finger_pose("relaxed", "right").copy()
    mixed[3 * 3 + 2] = 1.5  # middle MCP bent fully; other fingers relaxed -> shape "other"
    mixed[3 * 4 + 2] = 1.6
    joints = still_pair(hand_pair, right_fingers=mixed)
    fraction = np.zeros((60, 2))
    fraction[20:50, 0] = 0.1
    events = clip_events(extract_clip_features(joints, object_contact=fraction), object_name="cup")
    captions = rules_captions(events)
    detailed = captions[-1]
    assert "touches the cup" in detailed["left"] and "cup" not in detailed["right"]
    assert "0.7 s to 1.7 s" in detailed["left"]
    assert "fully bent" in captions[0]["right"] and "middle" in captions[0]["right"]
    assert all("stays still" in c["left"] or "still" in c["left"] for c in captions)


def test_object_arrays_in_the_shard_are_read_and_bad_clips_are_listed(synthetic_data_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synthetic_data_dir, data)
    reader = DataDir(data)
    rows = reader.manifest
    first, broken = rows[0], rows[-1]
    shard = data / first["shard"]
    with np.load(shard) as npz:
        arrays = dict(npz)
    n = len(arrays["start"])
    arrays["object_contact"] = np.zeros((n, 60, 2), dtype=np.float32)
    arrays["object_contact"][first["index"], 30:, 1] = 0.3
    arrays["object_tips"] = np.zeros((n, 60, 2, 5), dtype=bool)
    np.savez(shard, **arrays)
    (data / broken["shard"]).write_bytes(b"not a zip file")
    reader.rewrite_manifest([dict(r, object="box") if r["id"] == first["id"] else r for r in rows])
    lost = sorted(r["id"] for r in rows if r["shard"] == broken["shard"])  # the broken shard's clips
    summary = caption_data_dir(data, CaptionOptions(progress=False))
    assert summary.captioned == 96 - len(lost) and sorted(f["id"] for f in summary.failed) == lost
    skipped = [json.loads(x) for x in (data / "caption_skipped.jsonl").read_text().splitlines()]
    assert sorted(s["id"] for s in skipped) == lost and "corrupt shard" in skipped[0]["reason"]
    after = {r["id"]: r for r in DataDir(data).manifest}
    assert after[broken["id"]]["caption_source"] == "synthetic"  # left as it was
    events = read_events(data, after[first["id"]]["motion_events"])
    assert events["object"]["name"] == "box" and events["right"]["object_contact"][0]["start"] == 30
    assert "touches the box" in after[first["id"]]["captions"][-1]["right"]  # 30 of 60 frames: held


def test_a_rules_captioner_failure_skips_only_that_clip(synthetic_data_dir, tmp_path, monkeypatch):
    import data_prep.captioning.run as caption_run

    data = tmp_path / "data"
    shutil.copytree(synthetic_data_dir, data)
    rows = DataDir(data).manifest
    real, calls = caption_run.rules_captions, []

    def flaky(events, k=5):
        calls.append(1)
        if len(calls) == 4:
            raise ValueError("no phrase for this event")
        return real(events, k)

    monkeypatch.setattr(caption_run, "rules_captions", flaky)
    summary = caption_data_dir(data, CaptionOptions(progress=False))
    assert len(summary.failed) == 1 and "no phrase" in summary.failed[0]["reason"]
    assert summary.captioned == len(rows) - 1
    after = DataDir(data).manifest
    sources = {r["id"]: r["caption_source"] for r in after}
    assert sources[summary.failed[0]["id"]] != "rules" and sum(v == "rules" for v in sources.values()) == len(rows) - 1
    skipped = (data / "caption_skipped.jsonl").read_text()
    assert summary.failed[0]["id"] in skipped


def test_fingertips_are_named_in_hand_order_and_in_one_phrase():
    from data_prep.captioning.phrases import tip_list

    assert tip_list(["index"]) == "index fingertip" and tip_list(["thumb"]) == "thumb tip"
    assert tip_list(["middle", "index"]) == "index and middle fingertips"
    assert tip_list(["index", "thumb"]) == "thumb tip and index fingertip"
    assert tip_list(["pinky", "thumb", "index"]) == "thumb tip and the index and little fingertips"


def test_contacts_are_grouped_per_palm_and_per_left_fingertip():
    """Seven contacts of two hands holding a can (ungrouped: seven sentences, a caption of 133 tokens, over the
    tiny configs' 128) make three sentences, each palm and left fingertip the subject of one."""
    from data_prep.captioning.rules import contact_parts
    from data_prep.events.summary import PairSummary

    touches = [{"hand": "left", "finger": f, "palm": "right"} for f in ("index", "thumb", "index")]
    tips = [{"left": a, "right": b} for a, b in (("middle", "index"), ("middle", "middle"), ("ring", "middle"),
                                                 ("middle", "index"))]
    pair = PairSummary(relation="touch", palm_contacts=0, palms_facing=False, touches=touches, tip_contacts=tips,
                       change=None, change_by=None, mirror=False, distance="near")
    assert contact_parts(pair, 0) == ["The left thumb tip and index fingertip touch the right palm.",
                                      "The left middle fingertip touches the right index and middle fingertips.",
                                      "The left ring fingertip touches the right middle fingertip."]
    assert contact_parts(pair, 1)[0] == "The left hand's thumb tip and index fingertip come to rest on the right palm."
    single = PairSummary(**{**pair.__dict__, "touches": touches[:1], "tip_contacts": []})
    assert contact_parts(single, 0) == ["The left index fingertip touches the right palm."]
