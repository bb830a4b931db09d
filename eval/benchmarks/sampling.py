"""Seconds per 60-frame sample: AR with and without the KV cache, beside diffusion DPM-Solver++ (20 steps),
at batch 1 and 8; at batch 1 also diffusion DDIM-50 and HandX's DDPM-1000.

Run dirs come from the environment (trained models)::

    HANDGEN_BENCH_AR_RUN=runs/motion_ar_tiny HANDGEN_BENCH_DIFFUSION_RUN=runs/motion_diffusion_tiny \
        handgen bench --only sampling

or, for either one that is not given, an untrained model of its tiny config
(``configs/motion_ar_tiny.yaml``, ``configs/motion_diffusion_tiny.yaml``) is written to a
temporary run dir: the timings only depend on the architecture. Both models sample with
classifier-free guidance, as they do by default; text encoding is included in the time.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from handgen.config import load_config, save_config
from handgen.hand.pair import HandPair
from handgen.hand.procedural import ProceduralHand
from handgen.io.data_dir import feature_layout
from handgen.io.run_dir import TOKENIZER_DIR
from handgen.models.motion_ar import build_ar
from handgen.models.motion_denoiser import build_denoiser
from handgen.models.motion_tokenizer import build_tokenizer
from handgen.repr.features import FEATURE_DIM, motion_to_features
from handgen.repr.motion import BimanualMotion
from handgen.repr.normalization import FeatureStats
from handgen.sample.ar_generator import ARMotionGenerator
from handgen.sample.diffusion_generator import DiffusionMotionGenerator

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PROMPT = {"left": "The left hand makes a fist.", "right": "The right hand stays relaxed.",
          "both": "The two hands move independently."}
TEXT_INFO = {"name": "minilm", "max_tokens": 24, "hidden_size": 384}


def _rest_features() -> np.ndarray:
    """Features (D,) of both procedural hands at rest, flat, side by side: a valid mean for untrained runs."""
    transl = np.array([[[0.3, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    motion = BimanualMotion(np.zeros((1, 2, 3)), np.zeros((1, 2, 45)), transl, np.zeros((2, 10)), 30.0)
    return np.asarray(motion_to_features(motion, HandPair(ProceduralHand("left"), ProceduralHand("right"))))[0]


def _write_common(run: Path, cfg, info: dict, model: torch.nn.Module) -> None:
    from safetensors.torch import save_file


    run.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run / "config.yaml")
    (run / "model_info.json").write_text(json.dumps(info))
    (run / "data_meta.json").write_text(json.dumps({"fps": 30.0, "hand_model": "procedural",
                                                   "feature_layout": feature_layout()}))
    (run / "text_encoder.json").write_text(json.dumps(TEXT_INFO))
    FeatureStats(mean=_rest_features(), std=np.full(FEATURE_DIM, 0.05)).save(run / "stats.npz")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(run / "model.safetensors"))


def untrained_ar_run(root: Path) -> Path:
    """An AR run dir (with its tokenizer) of the tiny configs' architectures, random weights."""
    torch.manual_seed(0)
    run = root / "motion_ar"
    tcfg = load_config(CONFIGS / "fsq_tiny.yaml")
    tok = build_tokenizer(tcfg, FEATURE_DIM)
    _write_common(run / TOKENIZER_DIR, tcfg, {"model_type": "fsq_tokenizer", "feature_dim": FEATURE_DIM,
                                              "clip_len": 60, "downsample": tok.downsample,
                                              "codebook_size": tok.codebook_size, "feature_layout": feature_layout()}, tok)
    cfg = load_config(CONFIGS / "motion_ar_tiny.yaml", [f"tokenizer={run / TOKENIZER_DIR}"])
    model = build_ar(cfg, tok.codebook_size, TEXT_INFO["hidden_size"], tok.groups)
    _write_common(run, cfg, {"model_type": "motion_ar", "feature_dim": FEATURE_DIM, "text_dim": TEXT_INFO["hidden_size"],
                             "clip_len": 60, "codebook_size": tok.codebook_size, "downsample": tok.downsample,
                             "tokens_per_clip": tok.num_tokens(60), "max_text_tokens": TEXT_INFO["max_tokens"],
                             "groups": tok.groups}, model)
    return run


def untrained_diffusion_run(root: Path) -> Path:
    """A diffusion run dir of configs/motion_diffusion_tiny.yaml's architecture, random weights."""
    torch.manual_seed(0)
    run = root / "motion_diffusion"
    cfg = load_config(CONFIGS / "motion_diffusion_tiny.yaml")
    model = build_denoiser(cfg, FEATURE_DIM, TEXT_INFO["hidden_size"])
    _write_common(run, cfg, {"model_type": "motion_diffusion", "feature_dim": FEATURE_DIM,
                             "text_dim": TEXT_INFO["hidden_size"], "clip_len": 60}, model)
    return run


def _seconds_per_sample(call, batch: int, repeats: int) -> float:
    call()  # warm-up (text encoder load, first-call overheads)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best / batch


def bench_sampling(frames: int = 60, batches: tuple[int, ...] = (1, 8), repeats: int = 3) -> list[dict]:
    """Rows: seconds per ``frames``-frame sample (best of ``repeats``) for each sampler and batch size."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ar_dir = os.environ.get("HANDGEN_BENCH_AR_RUN") or untrained_ar_run(Path(tmp))
        diff_dir = os.environ.get("HANDGEN_BENCH_DIFFUSION_RUN") or untrained_diffusion_run(Path(tmp))
        ar_label = "trained" if os.environ.get("HANDGEN_BENCH_AR_RUN") else "untrained tiny"
        diff_label = "trained" if os.environ.get("HANDGEN_BENCH_DIFFUSION_RUN") else "untrained tiny"
        ar = ARMotionGenerator(ar_dir)
        diffusion = DiffusionMotionGenerator(diff_dir)
        ar_guidance = float(ar.cfg.sample.guidance)
        diff_guidance = float(diffusion.cfg.sample.guidance)
        for batch in batches:
            prompts = [PROMPT] * batch
            cases = [  # (case, call, timed calls after the warm-up)
                (f"AR, KV cache ({ar_label}, g={ar_guidance})",
                 lambda: ar.generate(prompts, frames, guidance=ar_guidance, use_cache=True), repeats),
                (f"AR, no KV cache ({ar_label}, g={ar_guidance})",
                 lambda: ar.generate(prompts, frames, guidance=ar_guidance, use_cache=False), repeats),
                (f"diffusion DPM-Solver++ 20 steps ({diff_label}, g={diff_guidance})",
                 lambda: diffusion.generate(prompts, frames, sampler="dpmpp", steps=20, guidance=diff_guidance),
                 repeats),
            ]
            if batch == 1:  # the slow samplers, for reference; DDPM-1000 timed once
                cases += [(f"diffusion {name} {steps} steps ({diff_label}, g={diff_guidance})",
                           lambda sampler=sampler, steps=steps: diffusion.generate(
                               prompts, frames, sampler=sampler, steps=steps, guidance=diff_guidance), times)
                          for name, sampler, steps, times in (("DDIM", "ddim", 50, repeats), ("DDPM", "ddpm", 1000, 1))]
            for name, call, times in cases:
                rows.append({"benchmark": f"sample {frames} frames, batch {batch}", "case": name,
                             "value": _seconds_per_sample(call, batch, times), "unit": "s/sample"})
    return rows
