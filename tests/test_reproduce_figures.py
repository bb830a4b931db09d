"""scripts/reproduce_figures.py and its scripts/figure_numbers.py: the digests and the comparison behind issue 19's
before/after check."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import REPO


@pytest.fixture(scope="module")
def reproduce():
    spec = importlib.util.spec_from_file_location("figure_numbers", REPO / "scripts" / "figure_numbers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_digest_is_exact_and_rounded_to_a_micro(reproduce):
    joints = np.random.default_rng(0).normal(size=(60, 2, 21, 3)) * 0.1  # metres
    base = reproduce.array_digest({"joints": joints})
    tiny = reproduce.array_digest({"joints": joints + 1e-12})
    small = reproduce.array_digest({"joints": joints + 2e-6})
    assert tiny["sha256"] != base["sha256"]  # any bit counts for the exact hash
    assert tiny["sha256_1e-6"] == base["sha256_1e-6"]  # 1e-12 m is below the rounding
    assert small["sha256_1e-6"] != base["sha256_1e-6"]  # 2 micrometres are not
    assert base["abs_sum"] == pytest.approx(np.abs(joints).sum())


def test_pickled_prep_arrays_are_digested_by_content(reproduce, tmp_path):
    mano = {"left": {"pose": np.ones((4, 45)), "trans": np.zeros((4, 3))}, "right": {"pose": np.full((4, 45), 2.0)}}
    np.save(tmp_path / "a.mano.npy", np.array(mano, dtype=object), allow_pickle=True)
    arrays = reproduce.load_arrays(tmp_path / "a.mano.npy")
    assert sorted(arrays) == ["/left/pose", "/left/trans", "/right/pose"]
    assert reproduce.array_digest(arrays)["abs_sum"] == 4 * 45 + 2 * 4 * 45


def test_timings_and_paths_are_not_figures(reproduce):
    report = {"FID": 0.34, "seconds_per_sample": 0.2, "seconds": 3.0, "ckpt": "runs/diff", "contact_duration_s": 0.5,
              "replications": [{"R_precision": [0.5, 0.8]}], "holds": True, "sampler": "dpmpp"}
    assert reproduce.flatten_numbers(report) == {"FID": 0.34, "contact_duration_s": 0.5,
                                                 "replications[0].R_precision[0]": 0.5,
                                                 "replications[0].R_precision[1]": 0.8, "holds": 1.0,
                                                 "sampler": "dpmpp"}


def test_compare_names_the_largest_difference_per_stage(reproduce):
    a = {"eval_motion": {"FID": 0.300, "MM": 1.0}, "prep": {"s01.npz": {"sha256": "aa"}}, "commands": {"x": 1}}
    b = {"eval_motion": {"FID": 0.303, "MM": 1.0, "new": 2.0}, "prep": {"s01.npz": {"sha256": "bb"}}}
    report = reproduce.compare(a, b)
    assert report["eval_motion"]["max_rel_diff"] == pytest.approx(0.003 / 0.303)
    assert report["eval_motion"]["at"] == "FID"
    assert report["eval_motion"]["only_in_second"] == ["new"]
    assert report["prep"]["unequal_values"] == ["s01.npz.sha256"]
    assert "commands" not in report


def test_the_script_compares_two_outputs(tmp_path):
    """The script runs as documented (it imports figure_numbers from its own folder) and prints the comparison."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"eval_motion": {"FID": 0.300}}))
    b.write_text(json.dumps({"eval_motion": {"FID": 0.303}}))
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "reproduce_figures.py"), "--compare", str(a), str(b)],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["eval_motion"]["at"] == "FID"
