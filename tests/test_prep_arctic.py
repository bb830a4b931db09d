"""`handgen prep arctic`: conversion, bad-file handling, canonical frame, splits, captions, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from arctic_files import load_mano, mano_dict, write_mano
from conftest import run_cli

from data_prep.arctic_reader import read_mano_sequence
from data_prep.caption_segments import CaptionSegment, match_segment
from data_prep.clipping import window_starts
from data_prep.prep_arctic import prep_arctic
from data_prep.splits import hash_split
from handgen import cli
from handgen.errors import HandgenError, InputFileError
from handgen.io.data_dir import ROW_KEYS, DataDir
from handgen.repr.features import SLICES, motion_to_features
from handgen.repr.motion import canonicalize

# good sequences and the clip starts expected with clip_len 60, stride 30
GOOD = {
    "s01/box_use_01": (150, [0, 30, 60, 90]),
    "s01/box_grab_01": (120, [0, 30, 60]),  # per-frame shape (F, 10)
    "s02/laptop_use_01": (95, [0, 30]),
    "s02/phone_use_02": (100, [0, 30]),
}
NAN_KEY, NAN_FRAMES, NAN_STARTS = "s03/mixer_use_01", 180, [0, 30, 120]  # frames 100-101 are NaN
BAD = {
    "raw_seqs/s03/truncated_use_01.mano.npy": "truncated",
    "raw_seqs/s03/noleft_use_01.mano.npy": "'left'",
    "raw_seqs/s03/wrongshape_use_01.mano.npy": "(F, 45)",
    "raw_seqs/s03/short_use_01.mano.npy": "shorter than one clip",
    NAN_KEY.join(["raw_seqs/", ".mano.npy"]): "NaN",
}


def build_root(root: Path) -> Path:
    for i, (key, (frames, _)) in enumerate(GOOD.items()):
        write_mano(root, key, mano_dict(frames, seed=i, per_frame_shape=key == "s01/box_grab_01"))
    good = write_mano(root, "s03/truncated_use_01", mano_dict(80, seed=9))
    good.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    no_left = mano_dict(80, seed=10)
    del no_left["left"]
    write_mano(root, "s03/noleft_use_01", no_left)
    wrong = mano_dict(80, seed=11)
    wrong["right"]["pose"] = wrong["right"]["pose"][:, :40]
    write_mano(root, "s03/wrongshape_use_01", wrong)
    write_mano(root, "s03/short_use_01", mano_dict(40, seed=12))
    nan = mano_dict(NAN_FRAMES, seed=13)
    nan["right"]["pose"][100:102, 7] = np.nan
    write_mano(root, NAN_KEY, nan)
    return root


@pytest.fixture(scope="module")
def prepped(tmp_path_factory):
    root = build_root(tmp_path_factory.mktemp("arctic"))
    out = tmp_path_factory.mktemp("data")
    summary = prep_arctic(root, out, clip_len=60, stride=30, progress=False)
    return root, out, summary


def _skipped(out: Path) -> dict[str, dict]:
    lines = (out / "skipped.jsonl").read_text().splitlines()
    return {rec["file"]: rec for rec in map(json.loads, lines)}


def test_good_files_converted_with_exact_clip_counts(prepped):
    root, out, summary = prepped
    data = DataDir(out)
    by_seq: dict[str, list[int]] = {}
    for row in data.manifest:
        by_seq.setdefault(f"{row['subject']}/{row['sequence']}", []).append(row["start"])
    expected = {k: starts for k, (_, starts) in GOOD.items()} | {NAN_KEY: NAN_STARTS}
    assert by_seq == expected
    assert summary.clips["total"] == sum(map(len, expected.values())) == len(data.manifest)
    assert data.meta["counts"]["clips"]["total"] == len(data.manifest)
    assert [r["id"] for r in data.manifest] == sorted(r["id"] for r in data.manifest)


def test_each_bad_file_has_one_skipped_line_with_a_reason(prepped):
    _, out, _ = prepped
    skipped = _skipped(out)
    assert set(skipped) == set(BAD)
    for file, needle in BAD.items():
        assert needle.lower() in skipped[file]["reason"].lower(), skipped[file]
    nan = skipped[NAN_KEY.join(["raw_seqs/", ".mano.npy"])]
    assert nan["partial"] is True and nan["bad_frames"] == 2
    assert all(rec["partial"] is False for f, rec in skipped.items() if "mixer" not in f)


def test_manifest_rows_are_complete_and_match_the_shards(prepped):
    _, out, _ = prepped
    data = DataDir(out)
    for row in data.manifest:
        assert set(ROW_KEYS) <= set(row)
        assert row["source"] == "arctic" and row["fps"] == 30.0 and row["hand_model"] == "procedural"
        assert row["end"] - row["start"] == 60
        assert row["id"] == f"{row['subject']}/{row['sequence']}/{row['start']:06d}"
        assert row["shard"] == f"shards/{row['subject']}/{row['sequence']}.npz"
        with np.load(out / row["shard"]) as shard:
            assert shard["start"][row["index"]] == row["start"]
            n = len(shard["start"])
            assert shard["features"].shape == (n, 60, 324) and shard["features"].dtype == np.float32
            assert shard["joints"].shape == (n, 60, 2, 21, 3) and shard["betas"].shape == (n, 2, 10)
        marker = json.loads((out / row["shard"]).with_suffix(".json").read_text())
        assert row in marker["rows"]
        assert marker["source"]["file"] == f"raw_seqs/{row['subject']}/{row['sequence']}.mano.npy"


def test_hand_pose_round_trip_and_canonical_frame(prepped, hand_pair):
    root, out, _ = prepped
    data = DataDir(out)
    means = np.stack([hand_pair[s].hands_mean.numpy() for s in ("left", "right")])
    for key in ("s01/box_use_01", "s01/box_grab_01"):
        src = load_mano(root / "raw_seqs" / f"{key}.mano.npy")
        for row in [r for r in data.manifest if r["id"].startswith(key + "/")]:
            clip = data.load_clip(row["id"])
            a, b = row["start"], row["end"]
            for h, side in enumerate(("left", "right")):
                np.testing.assert_allclose(clip.motion.hand_pose[:, h], src[side]["pose"][a:b] + means[h], atol=1e-6)
                np.testing.assert_allclose(clip.motion.global_orient[:, h], src[side]["rot"][a:b], atol=1e-7)
                shape = src[side]["shape"]
                np.testing.assert_allclose(clip.motion.betas[h], shape.mean(0) if shape.ndim == 2 else shape, atol=1e-6)
            with np.load(out / row["shard"]) as shard:
                offset = shard["canonical_offset"][row["index"]]
            for h, side in enumerate(("left", "right")):
                np.testing.assert_allclose(clip.motion.transl[:, h], src[side]["trans"][a:b] + offset, atol=1e-5)
            # canonical frame: the right wrist at the clip's first frame is the origin
            np.testing.assert_allclose(clip.joints[0, 1, 0], 0.0, atol=1e-5)
            # the stored joints/features are what the hand model gives for the stored parameters,
            # and equal the per-clip canonicalize + motion_to_features route
            np.testing.assert_allclose(clip.motion.joints(hand_pair), clip.joints, atol=1e-5)
            raw_clip, _ = read_mano_sequence(root / "raw_seqs" / f"{key}.mano.npy", hand_pair)
            canon, off = canonicalize(raw_clip.slice(a, b), hand_pair)
            np.testing.assert_allclose(off, offset, atol=1e-5)
            np.testing.assert_allclose(clip.features, motion_to_features(canon, hand_pair), atol=1e-5)
            np.testing.assert_allclose(clip.features[:, SLICES["right.joints"]].reshape(60, 21, 3), clip.joints[:, 1])


def test_clips_around_nan_frames_are_kept(prepped, hand_pair):
    root, out, _ = prepped
    motion, valid = read_mano_sequence(root / "raw_seqs" / f"{NAN_KEY}.mano.npy", hand_pair)
    assert motion.num_frames == NAN_FRAMES and list(np.flatnonzero(~valid)) == [100, 101]
    assert window_starts(valid, 60, 30) == NAN_STARTS
    data = DataDir(out)
    rows = [r for r in data.manifest if r["id"].startswith(NAN_KEY)]
    for row in rows:
        clip = data.load_clip(row["id"])
        assert np.isfinite(clip.features).all() and np.isfinite(clip.motion.hand_pose).all()


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda d: d.pop("right"), "missing key 'right'"),
        (lambda d: d["left"].pop("trans"), "left: missing key 'trans'"),
        (lambda d: d["left"].update(rot=d["left"]["rot"][:-3]), "frame counts disagree"),
        (lambda d: d["right"].update(rot=d["right"]["rot"][:-3], pose=d["right"]["pose"][:-3],
                                     trans=d["right"]["trans"][:-3], fitting_err=d["right"]["fitting_err"][:-3]),
         "left has 80 frames, right has 77"),
        (lambda d: d["left"].update(shape=np.zeros(7)), "left.shape has shape (7,)"),
        (lambda d: d["left"].update(rot="abc"), "not a numeric array"),
    ],
)
def test_reader_errors_name_the_file_and_problem(tmp_path, hand_pair, mutate, needle):
    data = mano_dict(80)
    mutate(data)
    path = write_mano(tmp_path, "s01/x", data)
    with pytest.raises(InputFileError) as info:
        read_mano_sequence(path, hand_pair)
    assert str(info.value).startswith(str(path)) and needle in str(info.value)


def test_reader_rejects_non_dicts_and_zero_frames(tmp_path, hand_pair):
    arr = write_mano(tmp_path, "s01/a", np.zeros((5, 3)))
    with pytest.raises(InputFileError, match="expected a pickled dict"):
        read_mano_sequence(arr, hand_pair)
    empty = mano_dict(0)
    with pytest.raises(InputFileError, match="zero frames"):
        read_mano_sequence(write_mano(tmp_path, "s01/b", empty), hand_pair)


def test_hash_split_is_deterministic_and_holds_out_sequences():
    keys = [f"s{i % 10 + 1:02d}/obj_use_{i:02d}" for i in range(25)]
    split = hash_split(keys)
    assert split == hash_split(list(reversed(keys)))
    counts = {s: sum(v == s for v in split.values()) for s in ("train", "val", "test")}
    assert counts == {"test": 3, "val": 3, "train": 19}  # ceil(2.5) = 3
    assert set(hash_split(keys[:3]).values()) == {"train", "val", "test"}
    assert set(hash_split(keys[:2]).values()) == {"train"}


def test_splits_assigned_per_sequence(prepped):
    _, out, _ = prepped
    data = DataDir(out)
    per_seq: dict[str, set] = {}
    for row in data.manifest:
        per_seq.setdefault(row["shard"], set()).add(row["split"])
    assert all(len(s) == 1 for s in per_seq.values())
    # 5 sequences with clips -> one test, one val, three train
    assert sorted(next(iter(s)) for s in per_seq.values()) == ["test", "train", "train", "train", "val"]
    assert data.meta["split_rule"].startswith("hash")


def test_protocol_split_file_is_honoured(tmp_path):
    root = tmp_path / "root"
    for i, (key, (frames, _)) in enumerate(GOOD.items()):
        write_mano(root, key, mano_dict(frames, seed=i))
    (root / "splits_json").mkdir()
    protocol = {"train": ["s01/box_use_01"], "val": ["s02/laptop_use_01"], "test": ["s02/phone_use_02"]}
    (root / "splits_json" / "protocol_p1.json").write_text(json.dumps(protocol))
    prep_arctic(root, tmp_path / "out", progress=False)
    data = DataDir(tmp_path / "out")
    split_of = {f"{r['subject']}/{r['sequence']}": r["split"] for r in data.manifest}
    assert split_of == {"s01/box_use_01": "train", "s02/laptop_use_01": "val", "s02/phone_use_02": "test",
                        "s01/box_grab_01": "train"}  # not listed -> train
    assert data.meta["split_rule"].startswith("protocol")


def test_match_segment_needs_two_thirds_overlap():
    seg = [CaptionSegment(0, 40, ({"left": "a", "right": "b", "both": "c"},), None)]
    assert match_segment(seg, 0, 60) is seg[0]  # 40/60 = 2/3
    assert match_segment(seg, 1, 61) is None  # 39/60
    two = [CaptionSegment(0, 50, (), "first"), CaptionSegment(50, 100, (), "second")]
    assert match_segment(two, 30, 90).labels == "second"  # 40 frames vs 20


def test_captions_side_file_fills_captions_and_gt(tmp_path):
    root = tmp_path / "root"
    write_mano(root, "s01/hands_use_0001", mano_dict(150))
    cap = lambda w: {"left": f"left {w}", "right": f"right {w}", "both": f"both {w}"}  # noqa: E731
    lines = [
        {"sequence": "s01/hands_use_0001", "start": 0, "end": 90, "captions": [cap("a"), cap("a2")], "labels": {"k": 1}},
        {"sequence": "s01/hands_use_0001", "start": 90, "end": 150, "captions": [cap("b")], "labels": {"k": 2}},
    ]
    (root / "captions.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    prep_arctic(root, tmp_path / "out", progress=False)
    rows = {r["start"]: r for r in DataDir(tmp_path / "out").manifest}
    assert rows[0]["captions"] == [cap("a"), cap("a2")] == rows[0]["gt_captions"]
    assert rows[0]["gt_labels"] == {"k": 1} and rows[0]["caption_source"] == "synthetic"
    assert rows[30]["captions"] == [cap("a"), cap("a2")]  # [30, 90): 60 of 60 frames
    assert rows[60]["captions"] == [] and rows[60]["caption_source"] is None  # 30/60 with either segment
    assert rows[60]["gt_labels"] is None and rows[60]["gt_captions"] == []
    assert rows[90]["captions"] == [cap("b")] and rows[90]["gt_labels"] == {"k": 2}


def _shard_state(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted((out / "shards").rglob("*.npz"))}


def test_rerun_is_a_noop_and_changed_files_are_redone(prepped, tmp_path):
    root, first_out, _ = prepped
    out = tmp_path / "out"
    shutil.copytree(first_out, out)
    before = _shard_state(out)
    manifest = (out / "manifest.jsonl").read_text()
    summary = prep_arctic(root, out, progress=False)
    assert summary.converted == 0 and summary.reused == 5 and summary.frames_converted == 0
    assert _shard_state(out) == before
    assert (out / "manifest.jsonl").read_text() == manifest
    assert (out / "skipped.jsonl").read_text() == (first_out / "skipped.jsonl").read_text()

    # a changed source file is converted again; the others are not touched
    changed = root.parent / "root_changed"
    shutil.copytree(root, changed)
    write_mano(changed, "s02/laptop_use_01", mano_dict(125, seed=42))
    summary = prep_arctic(changed, out, progress=False)
    after = _shard_state(out)
    assert summary.converted == 1 and summary.reused == 4
    assert after.pop("shards/s02/laptop_use_01.npz") != before.pop("shards/s02/laptop_use_01.npz")
    assert after == before
    assert [r["start"] for r in DataDir(out).manifest if "laptop" in r["id"]] == [0, 30, 60]


def _content(out: Path) -> tuple:
    shards = {}
    for path in sorted((out / "shards").rglob("*.npz")):
        with np.load(path) as data:
            shards[str(path.relative_to(out))] = {k: data[k] for k in data.files}
    return (out / "manifest.jsonl").read_text(), (out / "skipped.jsonl").read_text(), shards


def test_two_workers_give_the_same_content(prepped, tmp_path):
    root, first_out, _ = prepped
    summary = prep_arctic(root, tmp_path / "out2", workers=2, progress=False)
    assert summary.converted == 5
    manifest1, skipped1, shards1 = _content(first_out)
    manifest2, skipped2, shards2 = _content(tmp_path / "out2")
    assert (manifest1, skipped1) == (manifest2, skipped2)
    assert shards1.keys() == shards2.keys()
    for name, arrays in shards1.items():
        for key, value in arrays.items():
            np.testing.assert_array_equal(shards2[name][key], value, err_msg=f"{name}:{key}")
    stats1, stats2 = DataDir(first_out).stats, DataDir(tmp_path / "out2").stats
    np.testing.assert_array_equal(stats1.mean, stats2.mean)


def test_cli_converts_and_exits_zero(prepped, tmp_path):
    root, _, _ = prepped
    proc = run_cli("prep", "arctic", "--src", root, "--out", tmp_path / "out", "--clip-len", "50", "--stride", "50")
    assert proc.returncode == 0, proc.stderr
    assert "frames/s" in proc.stdout and "5 files skipped" in proc.stdout
    data = DataDir(tmp_path / "out")
    assert data.meta["clip_len"] == 50 and data.meta["run"]["frames_per_second"] > 0
    assert {r["start"] for r in data.manifest if r["sequence"] == "box_use_01"} == {0, 50, 100}


@pytest.mark.parametrize("layout", ["missing", "no_raw_seqs", "empty_raw_seqs"])
def test_missing_or_empty_src_is_a_one_line_error(tmp_path, capsys, layout):
    src = tmp_path / "src"
    if layout != "missing":
        src.mkdir()
    if layout == "empty_raw_seqs":
        (src / "raw_seqs" / "s01").mkdir(parents=True)
    rc = cli.main(["-q", "prep", "arctic", "--src", str(src), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "\n" not in err and str(src) in err
    assert {"missing": "not found", "no_raw_seqs": "raw_seqs", "empty_raw_seqs": "no <subject>"}[layout] in err


def test_all_files_bad_is_an_error_with_skipped_list(tmp_path):
    root = tmp_path / "root"
    write_mano(root, "s01/short", mano_dict(10))
    with pytest.raises(HandgenError, match="no clip"):
        prep_arctic(root, tmp_path / "out", progress=False)
    assert "shorter than one clip" in (tmp_path / "out" / "skipped.jsonl").read_text()


@pytest.mark.parametrize(
    "name, text, needle",
    [
        ("captions.jsonl", '{"sequence": "s01/a", "start": 0, "end": 90}\nnot json\n', "captions.jsonl: line 2"),
        ("captions.jsonl", '{"sequence": "s01/a", "start": 9, "end": 3}\n', "integer 'start' < 'end'"),
        ("splits_json/protocol_p1.json", '{"train": ["s01/a"], "test": ["s01/a"]}', "listed in both"),
        ("splits_json/protocol_p1.json", '{"training": []}', "protocol_p1.json: expected an object"),
    ],
)
def test_bad_side_files_fail_before_converting(tmp_path, name, text, needle):
    root = tmp_path / "root"
    write_mano(root, "s01/a", mano_dict(70))
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)
    with pytest.raises(InputFileError, match=needle):
        prep_arctic(root, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "shards").exists()
