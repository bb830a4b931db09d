"""Jitter and motion intensity at each stage from the data to a generated sample.

    python -m eval.jitter_stages DATA_DIR [--diffusion RUN] [--ar RUN] [--tokenizer RUN] [--num 32] [--seed 0]
                                 [--guidance 2.5] [--samplers ddpm:1000 ddim:50 dpmpp:10 dpmpp:20 dpmpp:50]
                                 [--ar-guidance 2] [--ar-temperature 1] [--ar-top-p 0.9] [--ar-top-k K]

Prints one row per stage: jitter (mean jerk, m/s^3, :func:`eval.hand_metrics.jitter`) and motion
intensity (deg/s, :func:`eval.hand_metrics.motion_intensity`) of the joints, each also as a ratio to
the data's test split. Two decodings of every feature set are shown side by side: ``FK`` (the joints
of the MANO parameters decoded from the rotation channels, what ``handgen sample`` writes) and
``block`` (the redundant 63-dim joint block of the same features, which the inverse ignores).

Stages (the prompts are the first ``--num`` caption triplets of the test split, cycled):

- ``data``: the test clips' stored joints; ``round trip``: their features -> parameters -> FK joints.
- ``dpmpp-20 even`` / ``dpmpp-20 quadratic``: DPM-Solver++ 20 steps on diffusers' evenly spaced
  timesteps (the schedule before issue 22) and on the shipped quadratic ones, each followed by the
  guided denoiser's x0 prediction at its k-th last step ``x0@k`` (``x0@1`` is what it returns) and
  the state ``x_t@1`` the last one was predicted from.
- one row per sampler (``name:steps``) through ``MotionGenerator`` with ``--guidance`` (DDPM rows on the
  first ``--ddpm-num`` prompts: 1000 steps each).
- ``long horizon``: 180 frames (four chained windows) with DPM-Solver++-20, and its largest
  one-frame joint step at the three seams against the data's 95th-percentile frame step.
- ``tokenizer``: the FSQ tokenizer's encode -> decode of the test clips; ``AR``: AR samples.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import torch

from eval import hand_metrics as hm
from eval.motion_sets import load_clip_set, motion_set_from_features
from eval.seam_jumps import data_frame_step_p95, largest_joint_steps
from handgen.api.motion_generator import MotionGenerator
from handgen.diffusion.guidance import guided_x0
from handgen.diffusion.sampling_loop import reverse_diffusion
from handgen.diffusion.schedulers import sampling_scheduler
from handgen.hand.factory import make_hand_pair
from handgen.repr.features import SLICES
from handgen.sample.tokenizer_run import TokenizerRun

DEFAULT_SAMPLERS = ("ddpm:1000", "ddim:50", "dpmpp:10", "dpmpp:20", "dpmpp:50")


def block_joints(features: np.ndarray) -> np.ndarray:
    """The redundant joint blocks of raw features (N, T, 324) as joints (N, T, 2, 21, 3)."""
    f = np.asarray(features)
    return np.stack([f[..., SLICES[f"{s}.joints"]].reshape(*f.shape[:-1], 21, 3) for s in ("left", "right")], -3)


@dataclass
class StageRow:
    """One stage's figures (``block_*`` are None where the stage has no feature vector)."""

    stage: str
    jitter: float
    intensity: float
    block_jitter: float | None = None
    block_intensity: float | None = None
    note: str = ""

    def line(self, ref: StageRow) -> str:
        def pair(j, i):
            if j is None:
                return f"{'-':>8} {'':>6} {'-':>6} {'':>5}"
            return f"{j:8.2f} {j / ref.jitter:5.1f}x {i:6.2f} {i / ref.intensity:4.2f}x"
        return f"{self.stage:<22} {pair(self.jitter, self.intensity)} | {pair(self.block_jitter, self.block_intensity)}  {self.note}"


def feature_row(stage: str, features: np.ndarray, hands, fps: float, note: str = "") -> StageRow:
    """Figures of raw features (N, T, 324) decoded both ways."""
    fk = motion_set_from_features(features, hands).joints
    block = block_joints(features)
    return StageRow(stage, hm.jitter(fk, fps), hm.motion_intensity(fk, fps),
                    hm.jitter(block, fps), hm.motion_intensity(block, fps), note)


def recorded_dpmpp(engine, triplets, frames: int, guidance: float, seed: int, spacing: str, steps: int = 20):
    """A DPM-Solver++ sample (raw features) and its (t, x_t, x0) records, last step first.

    ``spacing`` "quadratic" is the shipped schedule; "even" is diffusers' evenly spaced one (the last
    step at t = 50 of 1000 for 20 steps), the schedule before issue 22.
    """
    texts = engine.encode(triplets)
    scheduler = sampling_scheduler("dpmpp", engine.train_scheduler, steps)
    if spacing == "even":
        scheduler.set_timesteps(steps)
    record: list[tuple[int, torch.Tensor, torch.Tensor]] = []

    def predict(x_t, t):
        x0 = guided_x0(engine.model, x_t, t, texts, guidance)
        record.append((int(t[0]), x_t.clone(), x0.clone()))
        return x0

    shape = (len(triplets), frames, engine.stats.mean.shape[0])
    out = reverse_diffusion(predict, scheduler, engine.train_scheduler, shape, torch.Generator().manual_seed(seed))
    return engine.denormalize(out), [(t, engine.denormalize(x_t), engine.denormalize(x0)) for t, x_t, x0 in record[::-1]]


def diffusion_rows(run: str, triplets, frames: int, fps: float, hands, samplers, guidance: float, seed: int,
                   step_p95: float, ddpm_num: int) -> list[StageRow]:
    generator = MotionGenerator(run)
    engine = generator.engine
    rows = []
    for spacing in ("even", "quadratic"):
        started = time.perf_counter()
        sample, record = recorded_dpmpp(engine, triplets, frames, guidance, seed, spacing)
        seconds = (time.perf_counter() - started) / len(triplets)
        rows.append(feature_row(f"dpmpp-20 {spacing}", sample, hands, fps, f"{seconds:.2f} s/sample"))
        for k, (t, x_t, x0) in enumerate(record[:3], 1):
            rows.append(feature_row(f"  x0@{k} (t={t})", x0, hands, fps))
            if k == 1:
                rows.append(feature_row(f"  x_t@{k} (t={t})", x_t, hands, fps))
    for spec in samplers:
        name, steps = spec.split(":")
        batch = triplets[:ddpm_num] if name == "ddpm" else triplets
        started = time.perf_counter()
        feats = engine.generate(batch, frames, seed=seed, sampler=name, steps=int(steps), guidance=guidance)
        seconds = (time.perf_counter() - started) / len(batch)
        rows.append(feature_row(f"{name}-{steps} g{guidance:g}", feats.numpy(), hands, fps,
                                f"{seconds:.2f} s/sample, {len(batch)} samples"))
    long = engine.generate(triplets, 3 * frames, seed=seed, sampler="dpmpp", steps=20, guidance=guidance).numpy()
    fk = motion_set_from_features(long, hands).joints
    # windows overlap by 10 frames: the new frames start at 60, 110, 160 (seams after frames 59, 109, 159)
    seams = np.stack([largest_joint_steps(j)[[frames - 1, 2 * frames - 11, 3 * frames - 21]] for j in fk])
    row = feature_row("long horizon 180f", long, hands, fps)
    row.note = (f"seam step max {1000 * seams.max():.1f} mm, {100 * (seams <= step_p95).mean():.0f}% within "
                f"data p95 {1000 * step_p95:.1f} mm")
    rows.append(row)
    return rows


def ar_rows(ar_run: str | None, tokenizer: str | None, clips, triplets, frames, fps, hands, guidance, seed,
            temperature: float = 1.0, top_p: float | None = 0.9, top_k: int | None = None):
    rows = []
    if tokenizer:
        tok = TokenizerRun(tokenizer)
        raw = np.asarray(motion_features(clips, hands))
        decoded = tok.decode_raw(tok.encode_raw(raw), raw.shape[1]).numpy()
        err = 1000 * np.linalg.norm(block_joints(decoded) - block_joints(raw), axis=-1).mean()
        rows.append(feature_row("tokenizer decode", decoded, hands, fps, f"block MPJPE {err:.1f} mm"))
    if ar_run:
        engine = MotionGenerator(ar_run).engine
        started = time.perf_counter()
        feats = engine.generate(triplets, frames, seed=seed, guidance=guidance, temperature=temperature, top_p=top_p,
                                top_k=top_k).numpy()
        seconds = (time.perf_counter() - started) / len(triplets)
        label = f"AR g{guidance:g}" + (f" T{temperature:g}" if temperature != 1.0 else "") + (
            f" top-p {top_p:g}" if top_p is not None and top_p < 1 else "") + (f" top-k {top_k}" if top_k else "")
        rows.append(feature_row(label, feats, hands, fps, f"{seconds:.2f} s/sample"))
    return rows


def motion_features(clips, hands) -> np.ndarray:
    """Raw features (N, T, 324) of a clip set's parameters (mean shape, as samples are decoded)."""
    from handgen.repr.features import params_to_features

    p = {k: torch.as_tensor(v) for k, v in clips.motions.params.items()}
    with torch.no_grad():
        return params_to_features(p, hands).numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.jitter_stages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir")
    parser.add_argument("--diffusion", default=None, help="a motion_diffusion run dir")
    parser.add_argument("--ar", default=None, help="a motion_ar run dir")
    parser.add_argument("--tokenizer", default=None, help="an fsq_tokenizer run dir")
    parser.add_argument("--num", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--guidance", type=float, default=2.5)
    parser.add_argument("--ar-guidance", type=float, default=2.0)
    parser.add_argument("--ar-temperature", type=float, default=1.0)
    parser.add_argument("--ar-top-p", type=float, default=0.9, help="1 turns nucleus filtering off")
    parser.add_argument("--ar-top-k", type=int, default=None)
    parser.add_argument("--samplers", nargs="*", default=list(DEFAULT_SAMPLERS))
    parser.add_argument("--ddpm-num", type=int, default=8, help="samples for DDPM rows (1000 steps each)")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    clips = load_clip_set(args.data_dir, "test")
    hands = make_hand_pair(None, flat_hand_mean=True)
    fps, frames = clips.fps, clips.frames
    triplets = [clips.triplets[i % len(clips.triplets)] for i in range(args.num)]
    j = clips.motions.joints
    data = StageRow("data (test, stored)", hm.jitter(j, fps), hm.motion_intensity(j, fps))
    rows = [data, feature_row("round trip", motion_features(clips, hands), hands, fps)]
    if args.diffusion:
        rows += diffusion_rows(args.diffusion, triplets, frames, fps, hands, args.samplers, args.guidance, args.seed,
                               data_frame_step_p95(args.data_dir), args.ddpm_num)
    rows += ar_rows(args.ar, args.tokenizer, clips, triplets, frames, fps, hands, args.ar_guidance, args.seed,
                    args.ar_temperature, args.ar_top_p, args.ar_top_k)
    print(f"{args.data_dir}: {len(j)} test clips; {args.num} samples, seed {args.seed}, {frames} frames at {fps:g} fps")
    print(f"{'stage':<22} {'FK joints: jitter m/s^3, x data, intensity deg/s, x data':<29} | block joints (same)")
    for row in rows:
        print(row.line(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
