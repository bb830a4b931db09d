"""``handgen prep ahx``: SMPL-X sequences (+ keypoints, + action labels) -> DATA_DIR clips."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli
from test_ahx_reader import make_sequence, smplx_dict, write_npy

from data_prep.hand_keypoints import handgen_to_assemblyhands
from data_prep.prep_ahx import prep_ahx
from handgen.errors import HandgenError
from handgen.io.data_dir import DataDir

FRAMES = 100
LABELS = "video,start_frame,end_frame,verb\ntake1/C10_cam.mp4,0,44,pick_up\ntake1/C10_cam.mp4,45,99,Screw\n"


@pytest.fixture(scope="module")
def ahx_root(tmp_path_factory, hand_pair):
    root = tmp_path_factory.mktemp("ahx")
    seq = make_sequence(hand_pair, seed=11, frames=FRAMES)
    (root / "user01").mkdir()
    write_npy(root / "user01" / "take1.smplx.npy", smplx_dict(seq))
    np.save(root / "user01" / "take1.keypoints3d.npy", handgen_to_assemblyhands(seq["keypoints"]) * 1000.0)
    # bad files: arrays of different lengths; keypoints with 20 joints per hand
    bad = smplx_dict(make_sequence(hand_pair, seed=12, frames=FRAMES))
    bad["right_hand_pose"] = bad["right_hand_pose"][:-5]
    write_npy(root / "user01" / "short_hand.smplx.npy", bad)
    seq3 = make_sequence(hand_pair, seed=13, frames=FRAMES)
    np.savez(root / "joints20.npz", **smplx_dict(seq3), keypoints3d=seq3["keypoints"][:, :, :20])
    (root / "labels.csv").write_text(LABELS)
    return root, seq


def test_clips_reproduce_the_source_hand_poses(ahx_root, tmp_path, hand_pair):
    root, seq = ahx_root
    summary = prep_ahx(root, tmp_path / "out", labels=str(root / "labels.csv"), clip_len=40, stride=30, progress=False)
    data = DataDir(tmp_path / "out")
    rows = data.manifest
    assert [r["id"] for r in rows] == ["user01/take1/000000", "user01/take1/000030", "user01/take1/000060"]
    assert summary.clips["total"] == 3 and data.meta["source"] == "ahx"
    for row in rows:
        assert row["source"] == "ahx" and row["fps"] == 30.0 and row["subject"] == "user01"
        clip = data.load_clip(row["id"])
        a, b = row["start"], row["end"]
        np.testing.assert_allclose(clip.motion.hand_pose, seq["hand_abs"][a:b], atol=1e-5)
        # canonical frame: the clip's joints are the source keypoints shifted by the clip's offset
        shift = clip.joints[0, 1, 0] - seq["keypoints"][a, 1, 0]
        np.testing.assert_allclose(clip.joints, seq["keypoints"][a:b] + shift, atol=1e-4)
        np.testing.assert_allclose(clip.joints[0, 1, 0], 0.0, atol=1e-5)
    # labels: the verb covering most of each clip (pick up 0-44, screw 45-99)
    assert [r["verb"] for r in rows] == ["pick up", "screw", "screw"]
    assert data.meta["labels"]["sequences_with_labels"] == 1

    skipped = {r["file"]: r for r in map(json.loads, (tmp_path / "out" / "skipped.jsonl").read_text().splitlines())}
    assert set(skipped) == {"user01/short_hand.smplx.npy", "joints20.npz"}
    assert "disagree in length" in skipped["user01/short_hand.smplx.npy"]["reason"]
    reason = skipped["joints20.npz"]["reason"]
    assert "(F,2,21,3)" in reason and "got (100, 2, 20, 3)" in reason

    # labels are attached at index time: a changed csv reconverts nothing
    (root / "labels2.csv").write_text(LABELS.replace("Screw", "unscrew"))
    again = prep_ahx(root, tmp_path / "out", labels=str(root / "labels2.csv"), clip_len=40, stride=30, progress=False)
    assert again.converted == 0 and again.reused == 1
    assert [r["verb"] for r in DataDir(tmp_path / "out").manifest] == ["pick up", "unscrew", "unscrew"]


def test_options_are_checked_before_any_work(ahx_root, tmp_path):
    root, _ = ahx_root
    with pytest.raises(HandgenError, match="--keypoint-unit"):
        prep_ahx(root, tmp_path / "o", keypoint_unit="inch", progress=False)
    with pytest.raises(HandgenError, match="--wrist-offset"):
        prep_ahx(root, tmp_path / "o", wrist_offset="1,2", progress=False)
    with pytest.raises(HandgenError, match="no SMPL-X sequences"):
        prep_ahx(tmp_path, tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


def test_cli(ahx_root, tmp_path):
    root, _ = ahx_root
    proc = run_cli("prep", "ahx", "--src", root, "--out", tmp_path / "out", "--labels", root / "labels.csv",
                   "--keypoint-unit", "mm", "--benchmark-verbs", "--clip-len", "50", "--stride", "50")
    assert proc.returncode == 0, proc.stderr
    assert "prep ahx: 1 sequences" in proc.stdout and "2 files skipped" in proc.stdout
    rows = DataDir(tmp_path / "out").manifest
    assert [(r["start"], r["verb"]) for r in rows] == [(0, "pick up"), (50, "screw")]
