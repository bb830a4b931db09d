"""Issue 23 items 4-6, 9-12 at the command line: outputs never clobber inputs or earlier results,
numeric options are range-checked, write failures and wrong --out kinds are one line."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat

import numpy as np
import pytest
import torch
import trimesh
from arctic_files import mano_dict, write_mano
from conftest import REPO, tiny_diffusion_overrides

from data_prep.prep_arctic import prep_arctic
from eval.grasp_report import _listed_grasps, evaluate_grasps
from handgen import cli
from handgen.commands.arg_types import MAX_RENDER_SIZE as CLI_CAP
from handgen.errors import HandgenError, OutputWriteError
from handgen.grasp.mesh_input import load_object_mesh
from handgen.io.atomic import atomic_write_json
from handgen.io.data_dir import DataDir
from handgen.render.animation import MAX_RENDER_SIZE, render_motion


def _main(capsys, *argv):
    code = cli.main(["-q", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.err.strip()


def _one_line_error(code, err, *words):
    assert code == 1, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


@pytest.fixture
def data(synthetic_data_dir, tmp_path):
    dst = tmp_path / "data"
    shutil.copytree(synthetic_data_dir, dst)
    return dst


# ------------------------------------------------------------------ item 4: no writes inside inputs


def test_clip_out_into_a_data_dir_shard_is_refused(data, tmp_path, capsys):
    row = DataDir(data).manifest[0]
    shard = data / row["shard"]
    before = shard.read_bytes()
    code, err = _main(capsys, "clip", "--data", data, "--id", row["id"], "--out", shard)
    _one_line_error(code, err, "inside the input folder --data")
    assert shard.read_bytes() == before
    other = tmp_path / "other"
    shutil.copytree(data, other)
    code, err = _main(capsys, "clip", "--data", data, "--id", row["id"], "--out", other / row["shard"])
    _one_line_error(code, err, "a DATA_DIR")
    assert (other / row["shard"]).read_bytes() == before


def test_prep_repairs_a_damaged_shard(tmp_path):
    root = tmp_path / "arctic"
    write_mano(root, "s01/a_use_01", mano_dict(90, seed=0))
    write_mano(root, "s01/b_use_01", mano_dict(90, seed=1))
    prep_arctic(root, tmp_path / "out", progress=False)
    data = DataDir(tmp_path / "out")
    shard = tmp_path / "out" / data.manifest[0]["shard"]
    good = shard.read_bytes()
    shard.write_bytes(good[: len(good) // 2] + b"\0" * (len(good) - len(good) // 2))  # same size, damaged
    summary = prep_arctic(root, tmp_path / "out", progress=False)
    assert summary.converted == 1 and summary.reused == 1
    assert shard.read_bytes() == good  # converted again, bit for bit


def test_prep_out_inside_src_is_refused(tmp_path, capsys):
    root = tmp_path / "arctic"
    write_mano(root, "s01/a_use_01", mano_dict(90, seed=0))
    code, err = _main(capsys, "prep", "arctic", "--src", root, "--out", root / "data")
    _one_line_error(code, err, "inside the input folder --src")


# ------------------------------------------------------------------ item 5: a DATA_DIR remembers its source


def test_prep_from_another_source_is_refused_unless_overwrite(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    for i, key in enumerate(("s01/a_use_01", "s01/a_use_02", "s02/a_use_03")):
        write_mano(a, key, mano_dict(90, seed=i))
    write_mano(b, "s09/b_use_01", mano_dict(90, seed=9))
    out = tmp_path / "data"
    assert _main(capsys, "prep", "arctic", "--src", a, "--out", out)[0] == 0
    assert _main(capsys, "prep", "arctic", "--src", a, "--out", out)[0] == 0  # same source: resumes
    rows = DataDir(out).manifest
    code, err = _main(capsys, "prep", "arctic", "--src", b, "--out", out)
    _one_line_error(code, err, "already holds a conversion of", "--overwrite")
    assert DataDir(out).manifest == rows  # untouched
    assert _main(capsys, "prep", "arctic", "--src", b, "--out", out, "--overwrite")[0] == 0
    assert {r["subject"] for r in DataDir(out).manifest} == {"s09"}
    assert not (out / "shards" / "s01").exists()  # no orphans
    assert json.loads((out / "origin.json").read_text())["src"] == str(b.resolve())


# ------------------------------------------------------------------ item 6: non-empty output folders


@pytest.mark.parametrize("argv, owned", [
    (["sample", "--ckpt", "{missing}", "--left", "x", "--out", "{out}"], ["sample_000.npz", "sample_000.gif"]),
    (["grasp", "--ckpt", "{missing}", "--mesh", "m.obj", "--category", "box", "--out", "{out}"],
     ["grasp_000.npz", "grasp_003.ply", "summary.json"]),
    (["export", "--motion", "{missing}.npz", "--format", "obj-seq", "--out", "{out}"], ["frame_0060.obj"]),
])
def test_non_empty_output_folder_needs_overwrite(tmp_path, capsys, argv, owned):
    out = tmp_path / "out"
    out.mkdir()
    for name in owned + ["notes.txt"]:
        (out / name).write_text("old run")
    words = [w.format(missing=tmp_path / "missing", out=out) for w in argv]
    code, err = _main(capsys, *words)
    _one_line_error(code, err, "is not empty", "--overwrite")
    assert sorted(p.name for p in out.iterdir()) == sorted(owned + ["notes.txt"])
    code, err = _main(capsys, *words, "--overwrite")
    assert code == 1  # the missing input stops the command itself, after the owned files are gone
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # what is not ours is left alone


def test_out_that_is_a_file_or_a_folder_of_the_wrong_kind(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, err = _main(capsys, "sample", "--ckpt", tmp_path / "run", "--left", "x", "--out", tmp_path / "file")
    _one_line_error(code, err, "is an existing file")
    code, err = _main(capsys, "render", "--motion", tmp_path / "m.npz", "--out", tmp_path)
    _one_line_error(code, err, "is a folder")
    code, err = _main(capsys, "clip", "--data", tmp_path / "d", "--id", "x", "--out", tmp_path / "file" / "c.npz")
    _one_line_error(code, err, "is a file, not a folder")


def test_eval_grasp_scores_only_the_grasps_of_its_summary(tmp_path):
    for i in range(4):
        (tmp_path / f"grasp_{i:03d}.npz").write_bytes(b"")
    found = sorted(tmp_path.glob("grasp_*.npz"))
    summary = {"grasps": [{"file": "grasp_000.npz"}, {"file": "grasp_001.npz"}]}
    assert [p.name for p in _listed_grasps(tmp_path, summary, found)] == ["grasp_000.npz", "grasp_001.npz"]
    assert _listed_grasps(tmp_path, {}, found) == found
    with pytest.raises(HandgenError, match="listed in summary.json but missing"):
        _listed_grasps(tmp_path, {"grasps": [{"file": "grasp_009.npz"}]}, found)


# ------------------------------------------------------------------ item 9: numeric options


@pytest.mark.parametrize("argv, message", [
    (["sample", "--ckpt", "r", "--out", "o", "--frames", "0"], "argument --frames: must be an integer in [1, 3600]"),
    (["sample", "--ckpt", "r", "--out", "o", "--frames", "100000"], "sample pieces"),
    (["sample", "--ckpt", "r", "--out", "o", "--num", "0"], "argument --num"),
    (["sample", "--ckpt", "r", "--out", "o", "--seed", "-1"], "argument --seed"),
    (["sample", "--ckpt", "r", "--out", "o", "--steps", "0"], "argument --steps"),
    (["sample", "--ckpt", "r", "--out", "o", "--guidance", "nan"], "argument --guidance"),
    (["sample", "--ckpt", "r", "--out", "o", "--temperature", "0"], "argument --temperature"),
    (["sample", "--ckpt", "r", "--out", "o", "--top-p", "1.5"], "argument --top-p"),
    (["sample", "--ckpt", "r", "--out", "o", "--top-k", "0"], "argument --top-k"),
    (["render", "--motion", "m", "--out", "o.gif", "--fps", "-3"], "argument --fps"),
    (["render", "--motion", "m", "--out", "o.gif", "--size", "20000"], "argument --size: must be an integer in [64, 2048]"),
    (["render", "--motion", "m", "--out", "o.gif", "--size", "abc"], "expected an integer"),
    (["eval", "grasp", "--results", "r", "--out", "o.json", "--sim-seconds", "-1"], "argument --sim-seconds"),
    (["eval", "motion", "--ckpt", "a", "--data", "b", "--evaluator", "c", "--out", "o.json",
      "--rprecision-batch", "0"], "argument --rprecision-batch"),
    (["eval", "motion", "--ckpt", "a", "--data", "b", "--evaluator", "c", "--out", "o.json",
      "--replications", "0"], "argument --replications"),
    (["grasp", "--ckpt", "a", "--mesh", "m", "--category", "c", "--out", "o", "--num", "0"], "argument --num"),
    (["grasp", "--ckpt", "a", "--mesh", "m", "--category", "c", "--out", "o", "--scale", "-1"], "argument --scale"),
    (["grasp", "--ckpt", "a", "--mesh", "m", "--category", "c", "--out", "o", "--scale", "inf"], "argument --scale"),
    (["grasp", "--ckpt", "a", "--mesh", "m", "--category", "c", "--out", "o", "--steps", "-3"], "argument --steps"),
    (["prep", "arctic", "--src", "s", "--out", "o", "--clip-len", "0"], "argument --clip-len"),
    (["prep", "arctic", "--src", "s", "--out", "o", "--stride", "0"], "argument --stride"),
    (["prep", "arctic", "--src", "s", "--out", "o", "--workers", "0"], "argument --workers"),
    (["prep", "synthetic", "--out", "o", "--num-seqs", "-2"], "argument --num-seqs"),
    (["prep", "synthetic", "--out", "o", "--objects", "1.5"], "argument --objects"),
    (["prep", "grasps", "--src", "s", "--out", "o", "--contact-dist", "0"], "argument --contact-dist"),
    (["caption", "--data", "d", "--k", "0"], "argument --k"),
    (["caption", "--data", "d", "--timeout", "-1"], "argument --timeout"),
    (["caption", "--data", "d", "--concurrency", "0"], "argument --concurrency"),
    (["export", "--motion", "m", "--format", "bvh", "--out", "o.bvh", "--bvh-scale", "0"], "argument --bvh-scale"),
    (["export", "--motion", "m", "--format", "glb", "--out", "o.glb", "--frame", "-1"], "argument --frame"),
    (["clip", "--data", "d", "--id", "x", "--out", "o.npz", "--caption", "-1"], "argument --caption"),
])
def test_numeric_options_are_range_checked(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a torch build without CUDA")
def test_device_cuda_on_a_cpu_build_is_one_line(tmp_path, capsys):
    code, err = _main(capsys, "sample", "--ckpt", tmp_path / "run", "--left", "x", "--out", tmp_path / "o", "--device", "cuda")
    _one_line_error(code, err, "--device cuda", "CUDA")


# ------------------------------------------------------------------ items 10, 12: writes


@pytest.mark.parametrize("code_", [errno.EROFS, errno.ENOSPC, errno.EACCES])
def test_write_failures_are_one_line_and_leave_the_old_file(tmp_path, monkeypatch, code_):
    path = tmp_path / "report.json"
    atomic_write_json(path, {"old": 1})

    def fail(*args, **kwargs):
        raise OSError(code_, "simulated")

    monkeypatch.setattr(os, "open", fail)  # the temporary file cannot be created
    with pytest.raises(OutputWriteError, match=r"cannot write .*report.json: ") as info:
        atomic_write_json(path, {"new": 2})
    assert "\n" not in str(info.value)
    assert json.loads(path.read_text()) == {"old": 1}


def test_full_disk_during_a_command_is_one_line(data, tmp_path, monkeypatch, capsys):
    real = os.replace

    def full(src, dst, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    row = DataDir(data).manifest[0]
    code, err = _main(capsys, "clip", "--data", data, "--id", row["id"], "--out", tmp_path / "c.npz")
    monkeypatch.setattr(os, "replace", real)
    _one_line_error(code, err, "no space left")
    assert not (tmp_path / "c.npz").exists() and not list(tmp_path.glob(".c.npz*"))  # nothing half-written


def test_atomic_writes_use_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "a.json", {"a": 1})
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644


# ------------------------------------------------------------------ item 11: limits


def test_dense_mesh_is_simplified_to_the_face_budget(tmp_path, caplog):
    trimesh.creation.icosphere(5, radius=0.05).export(tmp_path / "dense.ply")  # 20480 faces
    mesh = load_object_mesh(tmp_path / "dense.ply", face_budget=2000)
    assert len(mesh.faces) <= 2000 and "face budget 2000" in mesh.fixes[0]
    assert "above the face budget of 2000" in caplog.text
    np.testing.assert_allclose(mesh.extents, 0.1, rtol=0.05)


def test_out_equal_to_an_input_file_is_refused(tmp_path, capsys):
    motion = tmp_path / "m.npz"
    motion.write_bytes(b"x")
    for argv in (["render", "--motion", motion, "--out", motion],
                 ["export", "--motion", motion, "--format", "glb", "--out", motion]):
        code, err = _main(capsys, *argv)
        _one_line_error(code, err, "is the input file --motion")
    assert motion.read_bytes() == b"x"


def test_eval_report_inside_a_run_dir_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model_type: x\n")
    (run / "model.safetensors").write_bytes(b"")
    code, err = _main(capsys, "eval", "motion", "--ckpt", run, "--data", tmp_path / "d", "--evaluator", tmp_path / "e",
                      "--out", run / "report.json")
    _one_line_error(code, err, "inside the input folder --ckpt")
    code, err = _main(capsys, "render", "--motion", tmp_path / "m.npz", "--out", run / "a.gif")
    _one_line_error(code, err, "a RUN_DIR")


def test_sampling_a_run_without_done_warns(tmp_path, capsys, caplog):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model_type: x\n")
    _main(capsys, "sample", "--ckpt", run, "--left", "x", "--out", tmp_path / "o")
    assert "has no DONE" in caplog.text


def test_render_api_refuses_a_huge_size_too(tmp_path):
    assert CLI_CAP == MAX_RENDER_SIZE
    with pytest.raises(HandgenError, match="render size 20000 px"):
        render_motion(None, None, {}, tmp_path / "a.gif", size=20000)
    with pytest.raises(HandgenError, match="render fps -3"):
        render_motion(None, None, {}, tmp_path / "a.gif", fps=-3)
    assert not (tmp_path / "a.gif").exists()


def test_eval_grasp_api_refuses_non_positive_sim_seconds(tmp_path):
    with pytest.raises(HandgenError, match="--sim-seconds must be > 0"):
        evaluate_grasps(tmp_path, sim_seconds=-1.0)


def test_train_output_dir_that_is_a_file_is_one_line(synthetic_data_dir, tmp_path, capsys):
    (tmp_path / "run").write_text("not a folder")
    code, err = _main(capsys, "train", "--config", REPO / "configs" / "motion_diffusion_tiny.yaml",
                      *tiny_diffusion_overrides(synthetic_data_dir, tmp_path / "run", max_steps=1))
    _one_line_error(code, err, "is an existing file, not a folder")
    assert (tmp_path / "run").read_text() == "not a folder"


def test_out_through_a_symlink_into_a_data_dir_is_refused(data, tmp_path, capsys):
    row = DataDir(data).manifest[0]
    link = tmp_path / "innocent"
    link.symlink_to(data / "shards")
    target = link / row["shard"].split("/", 1)[1]
    before = target.read_bytes()
    code, err = _main(capsys, "clip", "--data", tmp_path / "elsewhere", "--id", row["id"], "--out", target)
    _one_line_error(code, err, "a DATA_DIR")
    assert target.read_bytes() == before


def test_prep_synthetic_into_a_data_dir_is_refused(data, capsys):
    code, err = _main(capsys, "prep", "synthetic", "--out", data / "raw", "--num-seqs", 1)
    _one_line_error(code, err, "a DATA_DIR")
    assert not (data / "raw").exists()
