"""DATA_DIR format: writer helpers -> DataDir reader round trip, split arrays, bad files."""

from __future__ import annotations

import json
import shutil
import time
import zipfile

import numpy as np
import pytest

from data_prep.clipping import clip_arrays
from handgen.errors import InputFileError
from handgen.io import data_dir as fmt
from handgen.io.data_dir import DataDir
from handgen.repr.features import FEATURE_DIM, motion_to_features
from handgen.repr.motion import BimanualMotion
from handgen.repr.normalization import FeatureStats

CLIP = 20
SEQS = {("s01", "a"): ("train", [0, 10, 20]), ("s01", "b"): ("train", [0, 10]), ("s02", "c"): ("val", [5]),
        ("s02", "d"): ("test", [0, 20])}


def _motion(rng, frames=45) -> BimanualMotion:
    t = np.arange(frames)[:, None, None] / 30.0
    return BimanualMotion(
        global_orient=0.3 * np.sin(t + rng.uniform(0, 3, size=(1, 2, 3))),
        hand_pose=0.2 * np.cos(2 * t + rng.uniform(0, 3, size=(1, 2, 45))),
        transl=np.array([[0.15, 1.0, 0.4], [-0.15, 1.0, 0.4]]) + 0.05 * t,
        betas=rng.normal(size=(2, 10)),
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory, hand_pair):
    """A DATA_DIR built with the writer helpers only; returns (path, {id: (motion, start)})."""
    out = tmp_path_factory.mktemp("data_dir")
    rng = np.random.default_rng(0)
    rows, sources = [], {}
    for (subject, sequence), (split, starts) in SEQS.items():
        motion = _motion(rng)
        arrays = clip_arrays(motion, np.ones(motion.num_frames, bool), starts, CLIP, hand_pair)
        seq_rows = []
        for i, s in enumerate(starts):
            cid = fmt.clip_id(subject, sequence, s)
            seq_rows.append({
                "id": cid, "source": "test", "subject": subject, "sequence": sequence, "start": s, "end": s + CLIP,
                "fps": 30.0, "split": split, "captions": [{"left": "l", "right": "r", "both": cid}],
                "gt_captions": [], "gt_labels": None, "caption_source": None,
                "shard": fmt.shard_relpath(subject, sequence), "index": i, "hand_model": "procedural",
            })
            sources[cid] = (motion, s)
        fmt.write_shard(out, subject, sequence, arrays, {"rows": seq_rows})
        rows += seq_rows
    train = [r for r in rows if r["split"] == "train"]
    stats = fmt.compute_stats(out, train)
    meta = fmt.build_meta(
        source="test", fps=30.0, clip_len=CLIP, stride=10, hand_model="procedural",
        hands_mean={s: hand_pair[s].hands_mean.numpy() for s in ("left", "right")}, split_rule="by hand",
        rows=rows, skipped=[{"file": "x.npy", "reason": "bad", "partial": False}],
    )
    fmt.write_index(out, list(reversed(rows)), meta, [{"file": "x.npy", "reason": "bad", "partial": False}], stats)
    return out, sources


def test_round_trip_and_canonical_clips(written, hand_pair):
    out, sources = written
    data = DataDir(out)
    assert [r["id"] for r in data.manifest] == sorted(sources)
    assert data.meta["counts"]["clips"] == {"train": 5, "val": 1, "test": 2, "total": 8}
    assert data.meta["feature_layout"]["slices"]["right.joints"] == [261, 324]
    assert len(data.meta["hands_mean"]["left"]) == 45
    for cid, (motion, start) in sources.items():
        clip = data.load_clip(cid)
        assert clip.features.shape == (CLIP, FEATURE_DIM) and clip.joints.shape == (CLIP, 2, 21, 3)
        np.testing.assert_allclose(clip.motion.hand_pose, motion.hand_pose[start : start + CLIP], atol=1e-6)
        shift = clip.motion.transl - motion.transl[start : start + CLIP]
        np.testing.assert_allclose(shift, np.broadcast_to(shift[0, 0], shift.shape), atol=1e-6)  # translation only
        np.testing.assert_allclose(clip.joints[0, 1, 0], 0.0, atol=1e-6)
        np.testing.assert_allclose(motion_to_features(clip.motion, hand_pair), clip.features, atol=1e-5)
        assert clip.row["captions"][0]["both"] == cid


def test_a_shard_written_again_later_is_the_same_file(written, tmp_path, monkeypatch):
    # the clips alone make a shard's bytes: no clock in the zip headers (CI once saw a re-converted
    # shard differ from the first in its two-second time stamp only)
    out, _ = written
    row = DataDir(out).manifest[0]
    first = (out / row["shard"]).read_bytes()
    with np.load(out / row["shard"]) as npz:
        arrays = {k: npz[k] for k in npz.files}
    marker = json.loads((out / row["shard"]).with_suffix(".json").read_text())
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)  # 2033: another day, another second
    fmt.write_shard(tmp_path, row["subject"], row["sequence"], arrays, {"rows": marker["rows"]})
    again = tmp_path / row["shard"]
    assert again.read_bytes() == first
    assert json.loads(again.with_suffix(".json").read_text())["shard_sha256"] == marker["shard_sha256"]
    with zipfile.ZipFile(again) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_stats_are_the_train_frames_statistics(written):
    out, _ = written
    data = DataDir(out)
    feats, rows = data.split_arrays("train")
    direct = FeatureStats.from_features(feats)
    np.testing.assert_allclose(data.stats.mean, direct.mean, atol=1e-6)
    np.testing.assert_allclose(data.stats.std, direct.std, rtol=1e-5, atol=1e-7)


def test_split_arrays_shapes_and_order(written):
    out, _ = written
    data = DataDir(out)
    for split, n in (("train", 5), ("val", 1), ("test", 2)):
        feats, rows = data.split_arrays(split)
        assert feats.shape == (n, CLIP, FEATURE_DIM) and feats.dtype == np.float32
        assert [r["id"] for r in rows] == [r["id"] for r in data.clips(split)]
        for f, row in zip(feats, rows):
            np.testing.assert_array_equal(f, data.load_clip(row["id"]).features)
    with pytest.raises(ValueError):
        data.clips("training")


def test_rewrite_manifest_is_validated_and_persisted(written, tmp_path):
    out = tmp_path / "d"
    shutil.copytree(written[0], out)
    data = DataDir(out)
    rows = [dict(r, captions=[{"left": "a", "right": "b", "both": "c"}], caption_source="rules") for r in data.manifest]
    data.rewrite_manifest(list(reversed(rows)))
    again = DataDir(out)
    assert [r["id"] for r in again.manifest] == sorted(r["id"] for r in rows)
    assert all(r["caption_source"] == "rules" for r in again.manifest)
    with pytest.raises(ValueError, match="duplicate"):
        data.rewrite_manifest(rows + rows[:1])
    with pytest.raises(ValueError, match="missing key"):
        data.rewrite_manifest([{k: v for k, v in rows[0].items() if k != "shard"}])
    assert len(DataDir(out).manifest) == len(rows)  # a refused rewrite leaves the file alone


def test_merge_caption_fields_keeps_captioner_work():
    new = {"id": "x", "shard": "s.npz", "start": 0, "end": 60, "captions": [], "caption_source": None}
    old = dict(new, captions=[{"left": "a", "right": "b", "both": "c"}], caption_source="rules", note=1)
    assert fmt.merge_caption_fields(new, old)["captions"] == old["captions"]
    assert fmt.merge_caption_fields(new, old)["note"] == 1
    assert fmt.merge_caption_fields(new, dict(old, caption_source="synthetic")) == new
    assert fmt.merge_caption_fields(new, dict(old, end=90)) == new


@pytest.mark.parametrize(
    "damage, needle",
    [
        (lambda d: (d / "meta.json").unlink(), "meta.json: not found"),
        (lambda d: (d / "meta.json").write_text("{not json"), "meta.json: not valid JSON"),
        (lambda d: (d / "manifest.jsonl").unlink(), "manifest.jsonl: not found"),
        (lambda d: (d / "manifest.jsonl").write_text('{"id": 1}\n'), "manifest.jsonl: line 1: missing key"),
        (lambda d: (d / "manifest.jsonl").write_text("garbage\n"), "manifest.jsonl: line 1 is not valid JSON"),
    ],
)
def test_broken_index_files_raise_input_file_error(written, tmp_path, damage, needle):
    out = tmp_path / "d"
    shutil.copytree(written[0], out)
    damage(out)
    with pytest.raises(InputFileError) as info:
        DataDir(out)
    assert needle in str(info.value) and str(out) in str(info.value)


def test_broken_shards_and_stats_raise_input_file_error(written, tmp_path):
    out = tmp_path / "d"
    shutil.copytree(written[0], out)
    (out / "shards/s01/a.npz").write_bytes(b"PK\x03\x04 truncated")
    (out / "shards/s02/c.npz").unlink()
    (out / "stats.npz").unlink()
    data = DataDir(out)
    with pytest.raises(InputFileError, match="a.npz: corrupt shard"):
        data.load_clip("s01/a/000000")
    with pytest.raises(InputFileError, match="c.npz: shard file not found"):
        data.split_arrays("val")
    with pytest.raises(InputFileError, match="stats.npz"):
        data.stats
    with pytest.raises(KeyError):
        data.load_clip("s09/nope/000000")
    np.savez(out / "shards/s01/b.npz", features=np.zeros((2, CLIP, 7), np.float32))
    with pytest.raises(InputFileError, match="b.npz: features has shape"):
        data.load_clip("s01/b/000010")


def test_wrong_format_version_is_refused(written, tmp_path):
    out = tmp_path / "d"
    shutil.copytree(written[0], out)
    meta = json.loads((out / "meta.json").read_text())
    (out / "meta.json").write_text(json.dumps(dict(meta, format_version=99)))
    with pytest.raises(InputFileError, match="format version 99"):
        DataDir(out)
