"""Grasp prior end to end on a tiny fixture: training, wrong checkpoints, SDS, recovery, `handgen grasp`."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
import roma
import torch

from handgen.errors import HandgenError
from tests.helpers import YCB_DIR, cli_in_process
from tests.grasp_fixtures import primitive_objects, write_grasp_dir

# a prior that learns two grasps of one box in ~30 s on one thread: Gaussian skip (the UNet learns only the residual),
# 16 channels at every level and no residual blocks on the way down (the cheap 16^3 level), constant lr, no caption
# dropout (the SDS test uses no CFG)
BOX_PRIOR = ["model.gaussian_skip=true", "model.channels=16", "model.mult=[1,1,1]", "model.res_blocks=0",
             "model.attn_levels=[]", "max_steps=300", "train.batch_size=4", "train.lr=0.003",
             "train.lr_schedule=constant_with_warmup", "train.warmup_steps=10", "train.cond_drop_prob=0",
             "train.val_every=300", "train.checkpoint_every=300", "train.log_every=50", "sdf.cells=32"]


@pytest.fixture(scope="session")
def box_prior(grasp_runs, tmp_path_factory):
    """(GRASP_DIR, prior run): the prior trained by `handgen train` on two grasps of one box (grasp_runs' autoencoder)."""
    root = tmp_path_factory.mktemp("box_prior")
    data = write_grasp_dir(root / "data", primitive_objects(0, 1)[:1], per_object=2, seed=0, val_fraction=0.0)
    prior = root / "prior"
    with _one_thread():
        assert cli_in_process("train", "--config", "configs/grasp_prior_tiny.yaml", f"data={data}",
                              f"object_encoder={grasp_runs[1]}", f"output_dir={prior}", *BOX_PRIOR) == 0
    return data, prior


@contextlib.contextmanager
def _one_thread():
    """One torch thread inside (reproducible figures: `handgen grasp` run in-process sets up to 2 for the session)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def test_grasp_dir_reader(grasp_runs):
    from handgen.grasp.grasp_data import GraspDataset
    from handgen.grasp.hand_field import FIELD_CLAMP
    from handgen.grasp.object_sdf import MeshSDF

    data, _, _ = grasp_runs
    ds = GraspDataset(data, ("train",), sdf_cells=32)
    assert len(ds) == 18 and ds.categories() == ["ball", "box", "cylinder"]
    grids = ds.object_grids([0, 1])
    assert grids.shape == (2, 1, 64, 64, 64) and grids.min() >= -1 and grids.max() <= 1 and (grids < 0).any()
    # the object transform into the hand frame agrees with the stored joints: the right palm is next to the object
    for i in range(3):
        rot, transl = ds.object_in_right_local(i)
        obj = ds.object(ds.rows[i]["object"])
        joints = ds.joints_normalized([i])[0] * 0.2  # metres about the frame centre
        x = (joints[1] - transl) @ rot  # into the object frame
        d = MeshSDF(obj.vertices, obj.faces)(x)
        assert np.abs(d).min() < 0.03  # the right hand is at the object
    assert float(FIELD_CLAMP) == 0.12


def test_training_runs_write_what_sampling_needs(grasp_runs):
    _, ae, prior = grasp_runs
    assert (ae / "model.safetensors").is_file() and (ae / "DONE").is_file()
    for name in ("model.safetensors", "latent_stats.json", "model_info.json", "object_encoder/model.safetensors",
                 "object_encoder/config.yaml"):
        assert (prior / name).is_file(), name
    info = json.loads((prior / "model_info.json").read_text())
    assert info["in_channels"] == 43 and info["hand_model"] == "procedural"
    rows = (prior / "log.csv").read_text().splitlines()
    assert len(rows) > 3


def test_wrong_model_type_is_a_clear_error(grasp_runs, tmp_path, capsys):
    from handgen.grasp.prior_run import GraspPrior

    _, ae, prior = grasp_runs
    with pytest.raises(HandgenError, match="grasp_vqvae.*expected grasp_prior"):
        GraspPrior(ae)
    capsys.readouterr()
    assert cli_in_process("grasp", "--ckpt", ae, "--sample-prior", "--category", "box", "--out", tmp_path / "o") == 1
    err = capsys.readouterr().err
    assert "expected grasp_prior" in err and len(err.strip().splitlines()) == 1
    assert cli_in_process("grasp", "--ckpt", prior, "--mesh", tmp_path / "missing.obj", "--category", "box",
                          "--out", tmp_path / "o") == 1
    assert "missing.obj: mesh file not found" in capsys.readouterr().err


def _good_and_bad_grasp(data, prior_dir):
    """(prior, hands, object SDF, text, the first stored training grasp, a deliberately bad one) as SDSGraspParams."""
    from handgen.grasp.grasp_data import GraspDataset
    from handgen.grasp.grid_sampling import GridSDF
    from handgen.grasp.hand_frame import transform_hand_params
    from handgen.grasp.interaction import relative_from_object_frame
    from handgen.grasp.prior_run import GraspPrior
    from handgen.grasp.sds import SDSGraspParams
    from handgen.hand import make_hand_pair

    prior = GraspPrior(prior_dir)
    hands = make_hand_pair()
    ds = GraspDataset(data, ("train",), sdf_cells=32)
    f = ds.frame(0)
    sdf = GridSDF.from_grid(ds.sdf_grid(ds.rows[0]["object"]))
    orient = torch.tensor(np.stack([f["left_global_orient"], f["right_global_orient"]]))[None]
    transl = torch.tensor(np.stack([f["left_transl"], f["right_transl"]]))[None]
    pose = torch.tensor(np.stack([f["left_hand_pose"], f["right_hand_pose"]]))[None]
    # the stored grasp is in the world frame: bring the object pose along
    w_rot = roma.rotvec_to_rotmat(torch.tensor(f["object_rot"]))
    w_t = torch.tensor(f["object_transl"])
    for i, h in enumerate(("left", "right")):
        o, t = transform_hand_params(orient[:, i], transl[:, i], w_rot.T, -w_rot.T @ w_t, hands[h].rest_joints()[0])
        orient[:, i], transl[:, i] = o, t
    obj_rot, obj_transl, lo, lt = relative_from_object_frame(hands, orient, transl)
    good = SDSGraspParams(obj_rot, obj_transl, lo, lt, pose[:, 0], pose[:, 1])
    # deliberately bad: the object turned by 70 degrees and pushed 3 cm, the left hand 8 cm off
    bad_rot = roma.rotvec_to_rotmat(torch.tensor([[0.0, 0.0, 1.2]])) @ obj_rot
    bad = SDSGraspParams(bad_rot, obj_transl + torch.tensor([0.0, 0.03, 0.0]), lo, lt + torch.tensor([0.08, 0.0, 0.0]),
                         pose[:, 0], pose[:, 1])
    return prior, hands, sdf, ds.text(0), good, bad


def test_sds_with_an_oracle_prior_pulls_a_bad_grasp_to_the_known_one(grasp_runs):
    """Known answer: a prior whose noise prediction is exact for one grid x* makes the SDS gradient
    abar (x - x*), so SDS must walk the bad grasp (object turned 70 degrees, left hand 8 cm off)
    back towards the stored grasp, through the fields, the SDF resampling and the object encoder."""
    from handgen.grasp.hand_frame import FRAME_SCALE
    from handgen.grasp.interaction import interaction_grid
    from handgen.grasp.sds import SDSConfig, run_sds, sds_loss

    prior, hands, sdf, text, good, bad = _good_and_bad_grasp(grasp_runs[0], grasp_runs[2])
    with torch.no_grad():
        target = interaction_grid(prior, hands, sdf, **good.relative())  # x*: (1, C, 16, 16, 16)

    def oracle_eps(x_t, t, cond, guidance):
        abar = prior.scheduler.alphas_cumprod[t].to(x_t)[:, None, None, None, None]
        return (x_t - abar.sqrt() * target) / (1 - abar).sqrt()

    prior.eps = oracle_eps
    cfg = SDSConfig(steps=40, lr=0.03, guidance=1.0, eval_draws=4)
    cond = prior.text_condition(text, 1)

    def loss(params):
        return float(sds_loss(prior, interaction_grid(prior, hands, sdf, **params.relative()), cond, cfg)[0])

    def left_error(params) -> float:
        return float((params.left_transl - good.left_transl).detach().norm()) * FRAME_SCALE  # metres

    assert loss(good) < 1e-10  # the oracle's own grid has zero SDS loss
    before, error_before = loss(bad), left_error(bad)
    history = run_sds(prior, hands, sdf, bad, text, cfg, torch.Generator().manual_seed(0), progress=False)
    # each step's loss is at its own random t (BG-HOP's respaced draws): compare the first and last ten steps
    assert len(history) == 40 and sum(history[-10:]) < sum(history[:10])
    assert loss(bad) < 0.1 * before  # measured: 1.0e-3 -> 1.2e-5
    assert error_before == pytest.approx(0.08, abs=1e-4) and left_error(bad) < 0.03  # measured: 8 cm -> 1.3 cm


def test_sds_with_a_trained_prior_pulls_a_bad_grasp_towards_the_known_one(box_prior):
    """A tiny prior trained through `handgen train` (box_prior) scores the bad grasp (object turned 70 degrees and
    pushed 3 cm, left hand 8 cm off) clearly worse than the stored one, and SDS lowers its score and brings the left
    hand back. Control: the same prior without what its UNet learnt (only the Gaussian skip) cannot tell them apart.
    Measured (training seeds 0 / 3 / 4 / 5, one thread; seed 0 on two threads): bad/good x1.56 / 1.75 / 1.45 / 1.66
    / 1.22, gap left after SDS 0.11 / 0.00 / 0.03 / 0.17 / 0.12, left hand 8 cm -> 3.6 / 1.4 / 2.6 / 2.9 / 3.1 cm;
    after 1 training step: x1.005 and the left hand 8 -> 10.8 cm; 300 steps without the skip: x1.000."""
    import copy

    from handgen.grasp.hand_frame import FRAME_SCALE
    from handgen.grasp.interaction import interaction_grid
    from handgen.grasp.sds import SDSConfig, run_sds, sds_loss

    prior, hands, sdf, text, good, bad = _good_and_bad_grasp(*box_prior)
    cfg = SDSConfig(steps=60, lr=0.03, guidance=1.0, eval_draws=8)  # BG-HOP's t range; no CFG (captions never dropped)
    cond = prior.text_condition(text, 1)

    def loss(params) -> float:
        return float(sds_loss(prior, interaction_grid(prior, hands, sdf, **params.relative()), cond, cfg)[0])

    def left_error(params) -> float:
        return float((params.left_transl - good.left_transl).detach().norm()) * FRAME_SCALE  # metres

    with _one_thread():
        good_loss, before, start = loss(good), loss(bad), copy.deepcopy(bad)
        assert before > 1.15 * good_loss  # measured 6.18e-4 vs 3.96e-4 (x1.56)
        run_sds(prior, hands, sdf, bad, text, cfg, torch.Generator().manual_seed(0), progress=False)
        after = loss(bad)
        assert after < good_loss + 0.4 * (before - good_loss)  # measured 4.20e-4: 11% of the gap left
        assert left_error(start) == pytest.approx(0.08, abs=1e-4) and left_error(bad) < 0.055  # measured 3.6 cm
        # the object is not brought back (69 -> 95 degrees, modulo the box's symmetries): its term is shallow
        skip_only = copy.deepcopy(prior.unet)
        torch.nn.init.zeros_(skip_only.out[-1].weight)
        torch.nn.init.zeros_(skip_only.out[-1].bias)
        prior.unet = skip_only
        assert loss(start) / loss(good) < 1.03  # measured x1.005


def test_recover_hands_from_exact_fields(hand_pair):
    """Right articulation by field fitting, the left hand by Procrustes + articulation: joints within a centimetre."""
    from handgen.grasp.hand_field import joint_field
    from handgen.grasp.hand_frame import frame_center, local_to_normalized, transform_hand_params
    from handgen.grasp.recovery import recover_hands

    left, right = hand_pair.left, hand_pair.right
    g = torch.Generator().manual_seed(3)
    pose_r = right.hands_mean + 0.2 * torch.randn(45, generator=g)
    pose_l = left.hands_mean + 0.2 * torch.randn(45, generator=g)
    rot = roma.rotvec_to_rotmat(torch.tensor([0.3, 2.8, 0.2]))
    lo, lt = transform_hand_params(torch.zeros(3), torch.zeros(3), rot, torch.tensor([0.02, -0.16, 0.03]), left.rest_joints()[0])
    center = frame_center(right)
    with torch.no_grad():
        jr = right(torch.zeros(1, 3), pose_r[None]).joints
        jl = left(lo[None], pose_l[None], None, lt[None]).joints
    fields = [joint_field(local_to_normalized(j, center)) for j in (jr, jl)]
    orient, transl, pose = recover_hands(hand_pair, fields[0], fields[1], steps=120)
    with torch.no_grad():
        jr2 = right(orient[:, 1], pose[:, 1], None, transl[:, 1]).joints
        jl2 = left(orient[:, 0], pose[:, 0], None, transl[:, 0]).joints
    assert (jr2 - jr).norm(dim=-1).max() < 0.01
    assert (jl2 - jl).norm(dim=-1).max() < 0.015


def _can_mesh(tmp_path):
    import trimesh

    path = tmp_path / "can.obj"
    trimesh.creation.cylinder(radius=0.033, height=0.1, sections=24).export(path)
    return path


@pytest.mark.parametrize("mesh", [
    pytest.param("primitive", id="primitive"),
    pytest.param("TomatoSoupCan", id="ycb", marks=pytest.mark.slow),  # same code path as "primitive", ~5x the CPU
])
def test_handgen_grasp_on_a_mesh(grasp_runs, tmp_path, mesh, capsys):
    path = _can_mesh(tmp_path) if mesh == "primitive" else YCB_DIR / f"{mesh}.obj"
    if not path.is_file():
        pytest.skip("no YCB mesh")
    _, _, prior = grasp_runs
    out = tmp_path / "out"
    capsys.readouterr()
    assert cli_in_process("grasp", "--ckpt", prior, "--mesh", path, "--category", "can", "--out", out, "--num", "1",
                          "--steps", "3", "--inits", "2", "--refine-steps", "200", "--seed", "1") == 0
    assert "grasp_000.npz" in capsys.readouterr().out
    for name in ("grasp_000.npz", "grasp_000.ply", "grasp_000.png", "summary.json"):
        assert (out / name).is_file(), name
    with np.load(out / "grasp_000.npz") as z:
        assert z["joints"].shape == (2, 21, 3)
        assert str(z["category"]) == "can" and str(z["hand_model"]) == "procedural"
        for key in ("penetration_depth_mm", "intersection_volume_cm3", "tips_in_contact_left", "tips_in_contact_right",
                    "vertex_contact_left", "vertex_contact_right"):
            assert key in z.files
        assert z["penetration_depth_mm"] < 10.0
        assert z["tips_in_contact_left"] >= 2 and z["tips_in_contact_right"] >= 2
        # the hold test's verdict and its 6 displacements travel with every grasp
        assert z["holds"].dtype == bool and 0 <= z["hold_directions"] <= 6
        assert bool(z["holds"]) == (sum(z[f"hold_displacement_{d}_mm"] < 20.0 for d in ("px", "mx", "py", "my", "pz", "mz")) >= 5)
        assert str(z["grasp_type"]) in ("axis0", "axis1", "axis2") and str(z["init"]) in ("axis0", "normal", "random")
        # the stored parameters reproduce the stored joints in the mesh's frame
        from handgen.hand import make_hand_pair

        hands = make_hand_pair()
        for i, h in enumerate(("left", "right")):
            j = hands[h](torch.tensor(z[f"{h}_global_orient"])[None], torch.tensor(z[f"{h}_hand_pose"])[None], None,
                         torch.tensor(z[f"{h}_transl"])[None]).joints[0].detach().numpy()
            np.testing.assert_allclose(j, z["joints"][i], atol=1e-5)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["grasps"][0]["file"] == "grasp_000.npz" and summary["mesh"].endswith(path.name)


def test_handgen_grasp_rejects_millimetre_mesh(grasp_runs, tmp_path, capsys):
    import trimesh

    _, _, prior = grasp_runs
    path = tmp_path / "can_mm.obj"
    trimesh.creation.cylinder(radius=33.0, height=100.0).export(path)
    assert cli_in_process("grasp", "--ckpt", prior, "--mesh", path, "--category", "can", "--out", tmp_path / "o") == 1
    assert "--scale 0.001" in capsys.readouterr().err


def test_handgen_grasp_steps_zero_is_sds_off_and_refused_for_sampling(grasp_runs, tmp_path, capsys):
    """``--steps 0`` (the benchmark's SDS-off ablation) skips SDS on a mesh; sampling the prior refuses it."""
    _, _, prior = grasp_runs
    out = tmp_path / "off"
    assert cli_in_process("grasp", "--ckpt", prior, "--mesh", _can_mesh(tmp_path), "--category", "can", "--out", out,
                          "--steps", "0", "--inits", "1", "--refine-steps", "2", "--no-render") == 0
    assert json.loads((out / "summary.json").read_text())["sds_steps"] == 0
    capsys.readouterr()
    assert cli_in_process("grasp", "--ckpt", prior, "--sample-prior", "--category", "box", "--out", tmp_path / "s",
                          "--steps", "0") == 1
    assert "at least 1 DDIM step" in capsys.readouterr().err


def test_handgen_grasp_sample_prior(grasp_runs, tmp_path):
    _, _, prior = grasp_runs
    out = tmp_path / "s"
    assert cli_in_process("grasp", "--ckpt", prior, "--sample-prior", "--category", "box", "--out", out, "--steps", "3",
                          "--refine-steps", "5", "--num", "1") == 0
    for k in range(1):
        with np.load(out / f"grasp_{k:03d}.npz") as z:
            assert z["joints"].shape == (2, 21, 3) and np.isfinite(z["joints"]).all()
            assert str(z["frame"]) == "right_hand"
            assert "holds" in z.files and "hold_directions" in z.files
