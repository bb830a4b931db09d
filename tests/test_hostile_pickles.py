"""Issue 23 item 1, end to end: a crafted pickle among good input files never runs; prep records it and goes on."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from arctic_files import mano_dict, write_mano
from object_files import build_object_root
from test_ahx_reader import make_sequence, smplx_dict, write_npy

from data_prep.hand_keypoints import handgen_to_assemblyhands
from data_prep.prep_ahx import prep_ahx
from data_prep.prep_arctic import prep_arctic
from data_prep.prep_grasps import prep_grasps
from handgen.io.data_dir import DataDir


class Payload:
    """Creates ``marker`` when unpickled by an unrestricted loader (``np.load(allow_pickle=True)``)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _skipped(out: Path) -> dict[str, str]:
    rows = [json.loads(line) for line in (out / "skipped.jsonl").read_text().splitlines() if line.strip()]
    return {row["file"]: row["reason"] for row in rows}


def _refused(reasons: dict[str, str], name: str) -> str:
    hits = [reason for file, reason in reasons.items() if file.endswith(name)]
    assert hits, f"{name} not in skipped.jsonl: {reasons}"
    return hits[0]


def test_prep_arctic_refuses_a_poisoned_mano_npy(tmp_path):
    marker = tmp_path / "pwned"
    root = tmp_path / "arctic"
    write_mano(root, "s01/good_use_01", mano_dict(90, seed=0))
    write_mano(root, "s01/good_use_02", mano_dict(90, seed=1))
    evil = mano_dict(90, seed=2)
    evil["left"]["fitting_err"] = Payload(marker)
    write_mano(root, "s02/evil_use_01", evil)
    prep_arctic(root, tmp_path / "out", progress=False)
    assert not marker.exists()
    assert "refused: unsafe pickle (class" in _refused(_skipped(tmp_path / "out"), "evil_use_01.mano.npy")
    assert "system" in _refused(_skipped(tmp_path / "out"), "evil_use_01.mano.npy")
    assert {r["sequence"] for r in DataDir(tmp_path / "out").manifest} == {"good_use_01", "good_use_02"}


def test_prep_ahx_refuses_a_poisoned_smplx_npy(tmp_path, hand_pair):
    marker = tmp_path / "pwned"
    root = tmp_path / "ahx"
    (root / "user01").mkdir(parents=True)
    seq = make_sequence(hand_pair, seed=1, frames=80)
    write_npy(root / "user01" / "take1.smplx.npy", smplx_dict(seq))
    np.save(root / "user01" / "take1.keypoints3d.npy", handgen_to_assemblyhands(seq["keypoints"]) * 1000.0)
    evil = smplx_dict(make_sequence(hand_pair, seed=2, frames=80))
    evil["betas"] = Payload(marker)
    write_npy(root / "user01" / "evil.smplx.npy", evil)
    prep_ahx(root, tmp_path / "out", clip_len=40, stride=30, progress=False)
    assert not marker.exists()
    assert "refused: unsafe pickle (class" in _refused(_skipped(tmp_path / "out"), "evil.smplx.npy")
    assert {r["sequence"] for r in DataDir(tmp_path / "out").manifest} == {"take1"}


def test_prep_grasps_refuses_a_poisoned_mano_npy(tmp_path):
    marker = tmp_path / "pwned"
    root = tmp_path / "arctic"
    build_object_root(root)
    good = np.load(root / "raw_seqs" / "s01" / "box_use_0001.mano.npy", allow_pickle=True).item()  # our own file
    good["right"]["trans"] = Payload(marker)
    (root / "raw_seqs" / "s06").mkdir()
    shutil.copy(root / "raw_seqs" / "s01" / "box_use_0001.object.npy", root / "raw_seqs" / "s06" / "box_use_0006.object.npy")
    np.save(root / "raw_seqs" / "s06" / "box_use_0006.mano.npy", np.array(good, dtype=object), allow_pickle=True)
    meta = prep_grasps(root, tmp_path / "out", stride=3, progress=False)
    assert not marker.exists()
    assert "refused: unsafe pickle (class" in _refused(_skipped(tmp_path / "out"), "box_use_0006.mano.npy")
    assert meta["counts"]["frames"] > 0
