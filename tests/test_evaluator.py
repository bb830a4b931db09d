"""The text-motion evaluator: inputs, loss, training through handgen.train, scoring, handgen eval motion."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import REPO, cli_in_process

from handgen.models.motion_evaluator import EvaluatorConfig, TextMotionEvaluator, info_nce
from handgen.models.evaluator_input import FRAME_DIM, joints_from_features, motion_input


def tiny_evaluator_overrides(data: Path, out: Path, **extra) -> list[str]:
    """Overrides that make configs/evaluator_tiny.yaml train in seconds."""
    base = {"data": data, "output_dir": out, "model.width": 32, "model.layers": 1, "model.ff": 64,
            "model.latent": 32, "train.batch_size": 16, "train.warmup_steps": 0, "train.log_every": 1,
            "text.max_tokens": 12, "max_steps": 12, "train.val_every": 6, "train.checkpoint_every": 12}
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]


@pytest.fixture(scope="module")
def tiny_evaluator_run(synthetic_data_dir, tmp_path_factory) -> Path:
    from handgen.train.loop import run_training

    run = tmp_path_factory.mktemp("evaluator") / "run"
    config = str(REPO / "configs" / "evaluator_tiny.yaml")
    return run_training(config, tiny_evaluator_overrides(synthetic_data_dir, run))


def test_motion_input_layout_and_values():
    t = 5
    joints = np.zeros((t, 2, 21, 3))
    joints[:, 0, :, 0] = 0.3  # left hand 30 cm to the +x side
    joints[:, :, 8, 1] = 0.1  # index tips 10 cm above their wrists
    joints += (np.arange(t) * 0.01)[:, None, None, None]  # everything drifts 1 cm/frame along x, y, z
    x = motion_input(joints, fps=30.0)
    assert x.shape == (t, FRAME_DIM)
    wrists, local, vel = x[:, :6], x[:, 6:126].reshape(t, 2, 20, 3), x[:, 126:].reshape(t, 2, 21, 3)
    drift = np.arange(t)[:, None] * 0.01
    assert np.allclose(wrists[:, 3:], drift, atol=1e-6)  # right wrist relative to itself at frame 0
    assert np.allclose(wrists[:, :3], drift + [0.3, 0.0, 0.0], atol=1e-6)
    assert np.allclose(local[:, :, 7], [0.0, 0.1, 0.0], atol=1e-6)  # index tip = keypoint 8 = local row 7
    assert np.allclose(vel, 0.3, atol=1e-5)  # 1 cm per frame at 30 fps, the first frame copies the second
    feats = np.zeros((2, t, 324), dtype=np.float32)
    from handgen.repr.features import SLICES

    feats[..., SLICES["right.joints"]] = 1.0
    j = joints_from_features(feats)
    assert j.shape == (2, t, 2, 21, 3) and float(j[:, :, 1].min()) == 1.0 and float(j[:, :, 0].abs().max()) == 0.0
    with pytest.raises(ValueError):
        motion_input(joints[:1], 30.0)


def test_info_nce_rewards_matches_and_ignores_duplicate_captions():
    torch.manual_seed(0)
    z = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    matched = info_nce(z, z, temperature=0.05)
    shuffled = info_nce(z, z[torch.randperm(8)], temperature=0.05)
    assert matched < 0.05 < shuffled
    # items 0 and 1 share their caption: their texts are identical, so without the mask the loss cannot be low
    t = z.clone()
    t[1] = t[0]
    m = z.clone()
    m[1] = m[0]
    same = torch.zeros(8, 8, dtype=torch.bool)
    same[0, 1] = same[1, 0] = True
    assert info_nce(m, t, 0.05, same) < 0.05 < info_nce(m, t, 0.05)


@pytest.mark.parametrize("pooling", ["sentence", "tokens"])
def test_evaluator_outputs_unit_embeddings_independent_of_padding(pooling):
    torch.manual_seed(0)
    model = TextMotionEvaluator(EvaluatorConfig(motion_dim=FRAME_DIM, text_dim=24, width=32, layers=1, heads=4, ff=64,
                                                latent=16, text_pooling=pooling)).eval()
    states = torch.randn(3, 6, 24)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0]] * 3, dtype=torch.bool)
    texts = {b: (states, mask) for b in ("left", "right", "both")}
    extra_mask = torch.zeros(3, 4, dtype=torch.bool)
    padded = {b: (torch.cat([states, torch.randn(3, 4, 24)], 1), torch.cat([mask, extra_mask], 1))
              for b in ("left", "right", "both")}
    m, t = model(torch.randn(3, 61, FRAME_DIM), texts)  # odd frame count: the last token repeats a frame
    assert m.shape == t.shape == (3, 16)
    assert torch.allclose(m.norm(dim=-1), torch.ones(3)) and torch.allclose(t.norm(dim=-1), torch.ones(3))
    assert torch.allclose(model.text(padded), t, atol=1e-5)
    empty = {b: (states, torch.zeros_like(mask)) for b in ("left", "right", "both")}
    assert torch.isfinite(model.text(empty)).all()


def test_tiny_evaluator_trains_through_handgen_train(tiny_evaluator_run):
    from handgen.sample.evaluator_run import Evaluator
    from handgen.io.data_dir import DataDir

    run = tiny_evaluator_run
    for name in ("config.yaml", "model.safetensors", "evaluator_stats.npz", "model_info.json", "text_encoder.json",
                 "DONE"):
        assert (run / name).is_file(), name
    log = (run / "log.csv").read_text().splitlines()
    assert "val_R@3" in log[0]
    evaluator = Evaluator(run)
    data = DataDir(evaluator.cfg.data)
    clips = [data.load_clip(r["id"]) for r in data.clips("val")[:4]]
    joints = np.stack([c.joints for c in clips])
    emb = evaluator.embed_motions(joints)
    assert emb.shape == (4, 32) and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert np.allclose(evaluator.embed_motions(joints[::-1]), emb[::-1], atol=1e-5)
    triplets = [c.row["captions"][0] for c in clips]
    text = evaluator.embed_texts(triplets + triplets[:1])
    assert text.shape == (5, 32) and np.allclose(text[4], text[0], atol=1e-6)


def test_eval_motion_command_real_and_model(tiny_evaluator_run, tiny_diffusion_run, synthetic_data_dir, tmp_path,
                                            capsys):
    common = ["--data", synthetic_data_dir, "--evaluator", tiny_evaluator_run, "--rprecision-batch", "8",
              "--replications", "2", "--penetration-stride", "60"]
    assert cli_in_process("eval", "motion", "--real", "--out", tmp_path / "real.json", *common) == 0
    real = json.loads((tmp_path / "real.json").read_text())
    assert list(real["rows"]) == ["real"] and real["clips"] == 10 and real["replications"] == 2
    metrics = real["rows"]["real"]["metrics"]
    assert metrics["FID"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["contact_intra_f1"]["mean"] == 1.0 and "MPJPE_mm" not in metrics
    assert metrics["R_precision_top3"]["n"] == 2
    assert cli_in_process("eval", "motion", "--ckpt", tiny_diffusion_run, "--out", tmp_path / "model.json",
                          "--mm-texts", "3", "--mm-samples", "2", "--sampler", "ddim", "--steps", "5", *common) == 0
    out = capsys.readouterr().out
    assert "R-Precision top-3" in out and "MultiModality" in out and "report written to" in out
    report = json.loads((tmp_path / "model.json").read_text())
    row = report["rows"]["model"]
    assert row["model_type"] == "motion_diffusion"
    assert row["options"]["sampler"] == "ddim" and row["options"]["steps"] == 5
    m = row["metrics"]
    for key in ("FID", "R_precision_top1", "MM_Dist", "Diversity", "MultiModality", "MPJPE_mm", "contact_inter_f1",
                "motion_intensity_deg_s", "jitter_m_s3", "interpenetration_mm", "joint_limit_violation_rate"):
        assert np.isfinite(m[key]["mean"]) and m[key]["n"] == 2, key
    assert m["FID"]["mean"] > 0 and m["MPJPE_mm"]["mean"] > 0
    # the real row of a model report is the one --real gives
    assert report["rows"]["real"]["metrics"]["R_precision_top1"] == metrics["R_precision_top1"]


def test_eval_motion_errors(tiny_evaluator_run, tiny_diffusion_run, synthetic_data_dir, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert cli_in_process("eval", "motion", "--data", synthetic_data_dir, "--evaluator", tiny_evaluator_run,
                          "--out", out) == 1
    assert "--ckpt RUN_DIR" in capsys.readouterr().err
    assert cli_in_process("eval", "motion", "--real", "--data", synthetic_data_dir, "--evaluator", tiny_diffusion_run,
                          "--out", out) == 1
    assert "holds a 'motion_diffusion' model" in capsys.readouterr().err
    assert cli_in_process("eval", "motion", "--real", "--data", synthetic_data_dir, "--evaluator", tiny_evaluator_run,
                          "--out", out, "--max-clips", "3") == 1
    assert "R-Precision needs at least 4" in capsys.readouterr().err
    assert cli_in_process("eval", "motion", "--ckpt", tiny_diffusion_run, "--data", synthetic_data_dir, "--evaluator",
                          tiny_evaluator_run, "--out", out, "--temperature", "0.5", "--rprecision-batch", "8") == 1
    assert "temperature do(es) not apply to diffusion runs" in capsys.readouterr().err
    assert not out.exists()


def test_eval_motion_on_a_split_smaller_than_the_protocol_batch(tiny_evaluator_run, synthetic_data_dir, tmp_path,
                                                               capsys, caplog):
    """10 test clips < the protocol's 32: one smaller batch, a warning, and the table says so (issue 24)."""
    out = tmp_path / "r.json"
    assert cli_in_process("eval", "motion", "--real", "--data", synthetic_data_dir, "--evaluator", tiny_evaluator_run,
                          "--out", out, "--replications", "1", "--penetration-stride", "0", "--mm-texts", "0") == 0
    report = json.loads(out.read_text())
    assert report["protocol"]["r_precision_batch"] == report["clips"] == 10
    assert report["protocol"]["r_precision_batch_requested"] == 32 and report["protocol"]["below_protocol"]
    assert "fewer than the protocol's R-Precision batch of 32" in caplog.text
    assert "below the protocol's batch of 32" in capsys.readouterr().out


@pytest.mark.slow
def test_tiny_evaluator_scores_the_synthetic_test_split(tmp_path):
    """configs/evaluator_tiny.yaml as shipped, on 256 synthetic sequences (512 clips): R-Precision top-3 of the
    real test split >= 0.8 and shuffled texts at chance (3/32). Minutes on 2 CPU cores."""
    from data_prep.prep_arctic import prep_arctic
    from data_prep.synthetic.generate import generate
    from eval.motion_report import evaluate_motion
    from handgen.train.loop import run_training

    generate(tmp_path / "raw", num_seqs=256, seed=0, frames=90, progress=False)
    prep_arctic(tmp_path / "raw", tmp_path / "data", progress=False)
    run = run_training(str(REPO / "configs" / "evaluator_tiny.yaml"),
                       [f"data={tmp_path / 'data'}", f"output_dir={tmp_path / 'evaluator'}"])
    report = evaluate_motion(run, tmp_path / "data", real=True, replications=10, penetration_stride=0)
    metrics = report["rows"]["real"]["metrics"]
    keys = ("R_precision_top1", "R_precision_top2", "R_precision_top3", "R_precision_shuffled_top3")
    print({k: metrics[k] for k in keys})
    assert metrics["R_precision_top3"]["mean"] >= 0.8
    assert metrics["R_precision_shuffled_top3"]["mean"] == pytest.approx(3 / 32, abs=0.06)
