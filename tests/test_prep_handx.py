"""`handgen prep handx`: HandX-format files built from REFERENCE 4b -> DATA_DIR; then train and eval on it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, cli_in_process
from handx_files import FRAMES, HANDX_NAMES, NAME_MAP, make_member, npy_bytes, write_handx_dir, write_npz

from data_prep.handx_reader import UP_AXES, to_handgen_order, to_handx_order
from data_prep.prep_handx import carve_split, prep_handx
from handgen.errors import HandgenError, InputFileError
from handgen.hand.topology import KEYPOINT_NAMES
from handgen.io.data_dir import DataDir
from handgen.io.safe_pickle import iter_object_npz

TRAIN, TEST = 12, 3
VAL = {"val_fraction": 0.3, "val_block": 1}


@pytest.fixture(scope="module")
def handx(tmp_path_factory, hand_pair):
    root = tmp_path_factory.mktemp("handx")
    src = write_handx_dir(root / "src", hand_pair, train=TRAIN, test=TEST, canary=root / "canary.txt")
    summary = prep_handx(src, root / "data", progress=False, **VAL)
    return root, src, root / "data", summary


def test_permutation_on_known_joint_positions():
    joints = np.zeros((2, 21, 3))
    joints[..., 0] = np.arange(21)  # x = the HandX joint index
    ours = to_handgen_order(joints)
    for k, name in enumerate(KEYPOINT_NAMES):  # e.g. handgen's thumb1 (1) is HandX's thumb CMC (13)
        assert ours[0, k, 0] == HANDX_NAMES.index(name)
    assert ours[0, [1, 4, 5, 8, 17, 20], 0].tolist() == [13, 16, 1, 17, 7, 20]
    assert np.array_equal(to_handx_order(ours), joints)


def test_member_parsing_accepts_string_arrays_and_names_problems(hand_pair):
    from data_prep.handx_reader import parse_can_pos

    entry, _ = make_member(0, hand_pair)
    entry = dict(entry, right_annotation=np.array(entry["right_annotation"]))
    joints, captions = parse_can_pos(Path("x.npz"), "0", entry)
    assert joints.shape == (FRAMES, 2, 21, 3) and captions[4]["right"] == "right hand variant 4 of clip 0"
    with pytest.raises(InputFileError, match="annotation lists differ in length"):
        parse_can_pos(Path("x.npz"), "0", dict(entry, left_annotation=["one"]))
    with pytest.raises(InputFileError, match=r"member '0': motion has shape \(60, 2, 20, 3\)"):
        parse_can_pos(Path("x.npz"), "0", dict(entry, motion=entry["motion"][:, :, :20]))


def test_clips_captions_splits_and_metadata_land_in_the_data_dir(handx):
    root, src, data_dir, summary = handx
    data = DataDir(data_dir)
    rows = data.clips()
    assert len(rows) == TRAIN - 2 + TEST == summary.clips["total"]  # the corrupt and the foreign member are out
    assert {r["member"] for r in rows if r["subject"] == "train"} == {str(k) for k in range(TRAIN)} - {"2", "4"}
    assert {r["split"] for r in rows if r["subject"] == "test"} == {"test"}
    train_splits = [r["split"] for r in rows if r["subject"] == "train"]
    assert set(train_splits) == {"train", "val"}  # val carved from train only
    for r in rows:  # the documented rule: md5("handx-val/<key // block>") below the fraction -> val
        draw = int(hashlib.md5(f"handx-val/{r['member']}".encode()).hexdigest()[:8], 16) / 2**32
        assert r["split"] == ("test" if r["subject"] == "test" else "val" if draw < 0.3 else "train")
    assert carve_split("train", "250", 0.3, 100) == carve_split("train", "299", 0.3, 100)  # one block of 100
    row = data.row("test/0000001/000000")
    assert len(row["captions"]) == 5 and row["captions"] == row["gt_captions"]
    assert row["captions"][3] == {"left": "left hand variant 3 of clip 101", "right": "right hand variant 3 of clip 101",
                                  "both": "both hands variant 3 of clip 101"}
    assert row["dataset"] == "ARCTIC" and data.row("test/0000000/000000")["dataset"] == "GigaHands"
    assert data.meta["up_axis"] == "z" and data.meta["joints_source"] == "file" and data.meta["clip_len"] == 60


def test_joints_are_the_files_in_handgen_order_and_up_axis(handx, hand_pair):
    _, src, data_dir, summary = handx
    can_pos, _ = make_member(101, hand_pair)  # test member "1" (seeds 100 + k)
    expected = np.empty_like(can_pos["motion"])
    expected[:] = can_pos["motion"][:, :, NAME_MAP]  # handgen keypoint k = HandX joint NAME_MAP[k]
    expected = expected.astype(np.float64) @ UP_AXES["z"].T  # z up -> y up: (x, y, z) -> (x, z, -y)
    clip = DataDir(data_dir).load_clip("test/0000001/000000")
    assert clip.joints.shape == (FRAMES, 2, 21, 3)
    assert np.allclose(clip.joints, expected, atol=1e-6)
    assert np.allclose(clip.joints[..., 1], can_pos["motion"][:, :, NAME_MAP][..., 2], atol=1e-6)  # up = file z
    # the MANO fit goes through the same (procedural) hand: the features' joints agree with the file's
    assert summary.joint_disagreement_mm < 0.05
    from handgen.repr.features import SLICES
    model = clip.features[:, SLICES["right.joints"]].reshape(FRAMES, 21, 3)
    assert np.abs(model - clip.joints[:, 1]).max() < 1e-4


def test_up_axis_y_keeps_coordinates(handx, tmp_path):
    _, src, data_dir, _ = handx
    prep_handx(src, tmp_path / "y", up_axis="y", progress=False, **VAL)
    a = DataDir(data_dir).load_clip("test/0000002/000000")
    b = DataDir(tmp_path / "y").load_clip("test/0000002/000000")
    assert np.allclose(a.joints, b.joints @ UP_AXES["z"].T, atol=1e-6)
    assert json.loads((tmp_path / "y" / "meta.json").read_text())["joint_disagreement_mm"] < 0.05


def test_foreign_class_is_refused_and_nothing_runs(handx):
    root, src, data_dir, _ = handx
    assert not (root / "canary.txt").exists()
    # the raw member is refused by the reader on its own too
    (key, value), = iter_object_npz(src / "train_can_pos_all_wotextfeat.npz", ["4"])
    assert key == "4" and "unsafe pickle" in str(value) and "open" in str(value)
    assert not (root / "canary.txt").exists()


def test_corrupt_and_foreign_members_are_recorded_in_skipped(handx):
    _, _, data_dir, summary = handx
    lines = [json.loads(x) for x in (data_dir / "skipped.jsonl").read_text().splitlines()]
    by_member = {x["member"]: x for x in lines}
    assert set(by_member) == {"2", "4"} and summary.skipped_members == 2
    assert by_member["2"]["file"] == "train_can_pos_all_wotextfeat.npz"
    assert "truncated" in by_member["2"]["reason"]
    assert "unsafe pickle" in by_member["4"]["reason"]


def test_rerun_reuses_chunks_and_a_changed_file_is_redone(handx, tmp_path, hand_pair):
    _, src, _, _ = handx
    copy = tmp_path / "src"
    shutil.copytree(src, copy)
    out = tmp_path / "data"
    first = prep_handx(copy, out, chunk=4, progress=False, **VAL)
    manifest = (out / "manifest.jsonl").read_text()
    again = prep_handx(copy, out, chunk=4, progress=False, **VAL)
    assert again.converted_clips == 0 and again.reused_chunks == first.reused_chunks + 4  # 3 train + 1 test chunks
    assert (out / "manifest.jsonl").read_text() == manifest
    # a new test file with one more clip: only the test chunks are redone
    can, mano = {}, {}
    for k in range(TEST + 1):
        c, m = make_member(100 + k, hand_pair)
        can[str(k)], mano[str(k)] = npy_bytes(c), npy_bytes(m)
    write_npz(copy / "test_can_pos_all_wotextfeat.npz", can)
    write_npz(copy / "test_mano.npz", mano)
    third = prep_handx(copy, out, chunk=4, progress=False, **VAL)
    assert third.converted_clips == TEST + 1 and third.reused_chunks == 3
    assert third.clips["test"] == TEST + 1


def test_missing_files_and_bad_options_are_one_line_errors(tmp_path, handx, capsys):
    _, src, _, _ = handx
    with pytest.raises(HandgenError, match="no HandX data files"):
        prep_handx(tmp_path, tmp_path / "out", progress=False)
    half = tmp_path / "half"
    half.mkdir()
    shutil.copy(src / "test_can_pos_all_wotextfeat.npz", half)
    with pytest.raises(HandgenError, match="test_mano.npz is missing"):
        prep_handx(half, tmp_path / "out", progress=False)
    capsys.readouterr()
    assert cli_in_process("prep", "handx", "--src", half, "--out", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "test_mano.npz is missing" in err and len(err.strip().splitlines()) == 1


def test_train_then_eval_handx_protocol_on_the_result(handx, tmp_path, capsys):
    """The issue's end-to-end check (tiny sizes so it takes seconds): train, then eval --protocol handx."""
    _, _, data_dir, _ = handx
    small = ["model.layers=1", "model.width=64", "model.ff=128", "train.batch_size=8", "train.warmup_steps=0",
             "train.val_items=4", "text.max_tokens=12"]
    run = tmp_path / "run"
    assert cli_in_process("train", "--config", REPO / "configs" / "motion_diffusion_tiny.yaml", f"data={data_dir}",
                          "max_steps=20", f"output_dir={run}", *small) == 0
    evaluator = tmp_path / "evaluator"
    assert cli_in_process("train", "--config", REPO / "configs" / "evaluator_tiny.yaml", f"data={data_dir}",
                          f"output_dir={evaluator}", "model.width=32", "model.layers=1", "model.ff=64",
                          "model.latent=32", "train.batch_size=8", "train.warmup_steps=0", "text.max_tokens=12",
                          "max_steps=6", "train.val_every=6", "train.checkpoint_every=6") == 0
    out = tmp_path / "report.json"
    assert cli_in_process("eval", "motion", "--protocol", "handx", "--ckpt", run, "--data", data_dir, "--evaluator",
                          evaluator, "--generations", "2", "--out", out, "--sampler", "ddim", "--steps", "5") == 0
    report = json.loads(out.read_text())
    assert report["protocol"] == "handx" and report["generations"] == 2 and report["clips"] == TEST
    for key in ("R_precision_top1", "FID", "Matching_score", "Diversity", "MultiModality", "MPJPE",
                "inter_contact_f1", "contact_ratio", "joint_angular_velocity"):
        assert np.isfinite(report["metrics"][key]["mean"]), key
    assert report["metrics"]["R_precision_top3"]["mean"] == 1.0  # 3 clips: one batch of 3
    assert "R_precision_top1" in capsys.readouterr().out


@pytest.mark.slow
def test_two_workers_give_the_same_content(handx, tmp_path):
    """Slow (spawned workers import torch); the chunk conversion itself is covered by the fast tests above."""
    _, src, _, _ = handx
    one = prep_handx(src, tmp_path / "one", chunk=4, workers=1, progress=False, **VAL)
    two = prep_handx(src, tmp_path / "two", chunk=4, workers=2, progress=False, **VAL)
    assert one.clips == two.clips
    assert (tmp_path / "one" / "manifest.jsonl").read_text() == (tmp_path / "two" / "manifest.jsonl").read_text()
    for path in sorted((tmp_path / "one" / "shards").rglob("*.npz")):
        a, b = np.load(path), np.load(tmp_path / "two" / path.relative_to(tmp_path / "one"))
        assert all(np.array_equal(a[k], b[k]) for k in a.files)
