"""The synthetic bimanual dataset (``handgen prep synthetic``): ARCTIC's file layout, determinism,
smooth motion, the captions file and the CLI. That every label is visible in the motion:
tests/test_synthetic_motion.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from data_prep.synthetic import captions as captioning
from data_prep.synthetic.compose import compose_segment, sample_plan
from data_prep.synthetic.generate import generate
from data_prep.synthetic.readback import load_mano_npy, pose_sequence
from data_prep.synthetic.sequences import make_sequence, sequence_rngs, subject_betas
from handgen.hand import ProceduralHand
from tests.helpers import run_cli

FRAMES = 90


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "raw"
    generate(out, num_seqs=12, seed=7, frames=FRAMES, progress=False, objects=0)
    return out


def caption_rows(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "captions.jsonl").read_text().splitlines()]




# ------------------------------------------------------------------ format


def test_files_follow_arctic_layout(dataset):
    files = sorted((dataset / "raw_seqs").rglob("*.mano.npy"))
    assert len(files) == 12
    subjects = {f.parent.name for f in files}
    assert subjects == {f"s{i:02d}" for i in range(1, 11)}
    for path in files:
        assert re.fullmatch(r"hands_use_\d{4}\.mano\.npy", path.name)
        data = np.load(path, allow_pickle=True).item()
        assert set(data) == {"left", "right"}
        betas = subject_betas(path.parent.name)
        for side in ("left", "right"):
            d = data[side]
            assert set(d) == {"rot", "pose", "trans", "shape", "fitting_err"}
            expected = {
                "rot": (FRAMES, 3), "pose": (FRAMES, 45), "trans": (FRAMES, 3), "shape": (10,), "fitting_err": (FRAMES,)
            }
            for key, shape in expected.items():
                assert d[key].shape == shape and d[key].dtype == np.float32, (path, side, key)
                assert np.isfinite(d[key]).all()
            np.testing.assert_allclose(d["shape"], betas, atol=1e-6)  # the subject's betas, both hands
    info = json.loads((dataset / "synthetic_info.json").read_text())
    assert info["fps"] == 30 and info["seed"] == 7 and info["num_seqs"] == 12 and info["complete"]
    assert set(info["vocabulary"]["fingers"]) >= {"fist", "open", "pinch", "point", "relaxed"}


def test_subjects_have_distinct_plausible_shapes():
    betas = np.stack([subject_betas(f"s{i:02d}") for i in range(1, 11)])
    assert np.abs(betas).max() <= 1.4 + 1e-9 and 0.4 < betas.std() < 1.0
    assert len({tuple(b.round(6)) for b in betas}) == 10


def test_pose_is_offset_from_hands_mean_and_trans_is_mano_transl():
    seq = make_sequence(seed=1, index=4, frames=FRAMES)
    betas = subject_betas(seq.subject)
    plan_rng, motion_rng, _ = sequence_rngs(1, 4)
    motion = compose_segment(sample_plan(plan_rng), FRAMES, betas, motion_rng)  # the absolute motion behind it
    back = pose_sequence(seq.arrays)
    for h, side in enumerate(("left", "right")):
        np.testing.assert_allclose(back.hand_pose[:, h], motion[side].hand_pose, atol=2e-6)
        np.testing.assert_allclose(back.joints[:, h, 0], motion[side].wrist, atol=2e-6)
        hand = ProceduralHand(side)
        np.testing.assert_array_equal(seq.arrays[side]["pose"] + hand.hands_mean.numpy(), back.hand_pose[:, h])


def test_captions_file_contract(dataset):
    rows = caption_rows(dataset)
    root = dataset / "raw_seqs"
    keys = {str(p.relative_to(root)).removesuffix(".mano.npy") for p in root.rglob("*.mano.npy")}
    assert {r["sequence"] for r in rows} == keys
    for row in rows:
        assert (row["start"], row["end"]) == (0, FRAMES)
        assert len(row["captions"]) >= 3
        assert len({json.dumps(c, sort_keys=True) for c in row["captions"]}) == len(row["captions"])
        for c in row["captions"]:
            assert set(c) == {"left", "right", "both"} and all(isinstance(v, str) and v for v in c.values())
        labels = row["labels"]
        assert set(labels["left"]) >= {"fingers", "wrist"} and set(labels["right"]) >= {"fingers", "wrist"}
        assert isinstance(labels["both"], str)


# ------------------------------------------------------------------ determinism


def test_same_seed_gives_identical_bytes_and_different_seed_differs(tmp_path, dataset):
    again = tmp_path / "again"
    generate(again, num_seqs=12, seed=7, frames=FRAMES, progress=False, objects=0)
    for path in (dataset / "raw_seqs").rglob("*.mano.npy"):
        assert path.read_bytes() == (again / path.relative_to(dataset)).read_bytes()
    assert (dataset / "captions.jsonl").read_bytes() == (again / "captions.jsonl").read_bytes()

    fewer = tmp_path / "fewer"
    # sequence k does not depend on num_seqs
    generate(fewer, num_seqs=3, seed=7, frames=FRAMES, progress=False, objects=0)
    for path in (fewer / "raw_seqs").rglob("*.mano.npy"):
        assert path.read_bytes() == (dataset / path.relative_to(fewer)).read_bytes()

    other = tmp_path / "other"
    generate(other, num_seqs=3, seed=8, frames=FRAMES, progress=False, objects=0)
    a = load_mano_npy(dataset / "raw_seqs" / "s01" / "hands_use_0000.mano.npy")
    b = load_mano_npy(other / "raw_seqs" / "s01" / "hands_use_0000.mano.npy")
    assert not np.allclose(a["right"]["trans"], b["right"]["trans"])



def test_motion_is_smooth(dataset):
    for path in (dataset / "raw_seqs").rglob("*.mano.npy"):
        joints = pose_sequence(load_mano_npy(path)).joints
        step = np.linalg.norm(np.diff(joints, axis=0), axis=-1)
        assert step.max() < 0.025, path  # metres per frame at 30 fps (0.75 m/s)
        accel = np.linalg.norm(np.diff(joints, n=2, axis=0), axis=-1)
        assert accel.max() < 0.006, path  # no jitter


# ------------------------------------------------------------------ captions


def test_captions_name_each_hand_and_only_its_own_primitives():
    rng = np.random.default_rng(0)
    intent = re.compile(r"\b(grab|grabs|pick|picks|wants?|tries|try|in order to|cup|object)\b", re.IGNORECASE)
    for _ in range(300):
        plan = sample_plan(rng)
        for triplet in captioning.caption_triplets(plan, rng):
            for side, other in (("left", "right"), ("right", "left")):
                text, own, theirs = triplet[side], plan.hand(side), plan.hand(other)
                assert re.search(rf"\b{side} hand\b", text) and not re.search(rf"\b{other} hand\b", text)
                assert captioning.mentions(text, captioning.FINGER_KEYWORDS[own.fingers])
                assert captioning.mentions(text, captioning.WRIST_KEYWORDS[own.wrist])
                for name, pattern in captioning.FINGER_KEYWORDS.items():
                    if name != own.fingers:
                        assert not captioning.mentions(text, pattern), (text, name)
                for name, pattern in captioning.WRIST_KEYWORDS.items():
                    if name != own.wrist:
                        assert not captioning.mentions(text, pattern), (text, name)
                assert theirs is not None
            if plan.relation == "none":
                assert re.search(r"independ|on its own|separately|no interaction", triplet["both"])
            for text in triplet.values():
                assert not intent.search(text), text
                assert text.endswith(".") and text[0].isupper()


def test_written_captions_match_labels(dataset):
    for row in caption_rows(dataset):
        for c in row["captions"]:
            for side in ("left", "right"):
                label = row["labels"][side]
                assert captioning.mentions(c[side], captioning.FINGER_KEYWORDS[label["fingers"]])
                assert captioning.mentions(c[side], captioning.WRIST_KEYWORDS[label["wrist"]])


# ------------------------------------------------------------------ CLI


def test_cli_writes_a_dataset_and_rejects_bad_arguments(tmp_path):
    out = tmp_path / "raw"
    proc = run_cli("prep", "synthetic", "--out", out, "--num-seqs", "4", "--objects", "0")
    assert proc.returncode == 0, proc.stderr
    assert "4 sequences" in proc.stdout and "360 frames" in proc.stdout
    assert len(list((out / "raw_seqs").rglob("*.mano.npy"))) == 4
    assert len(caption_rows(out)) == 4
    generate(out, num_seqs=4, seed=0, frames=FRAMES, progress=False, objects=0)  # same arguments: rewritten in place

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    bad = [
        ("--out", tmp_path / "x", "--num-seqs", "0"),
        ("--out", tmp_path / "y", "--frames", "30"),
        ("--out", tmp_path / "z", "--seed", "-1"),
        ("--out", foreign),
        ("--out", a_file),
        ("--out", out, "--num-seqs", "4", "--seed", "5", "--objects", "0"),  # made by us with other arguments
    ]
    for args in bad:
        proc = run_cli("prep", "synthetic", *args)
        assert proc.returncode != 0, args
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "error" in lines[0], proc.stderr
    assert (foreign / "notes.txt").read_text() == "mine"
