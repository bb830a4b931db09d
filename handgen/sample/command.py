"""The body of ``handgen sample``: validate everything, then generate and write."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from handgen.errors import HandgenError
from handgen.hand.factory import make_hand_pair
from handgen.sample.prompts import prompts_from_args

log = logging.getLogger(__name__)


def _hand_pair_for(data_meta: dict, mano_dir: str | None):
    trained_on = data_meta.get("hand_model", "procedural")
    hands = make_hand_pair(mano_dir, flat_hand_mean=True)
    if trained_on == "mano" and hands.name != "mano":
        raise HandgenError("this model was trained on MANO features: pass --mano-dir (or set HANDGEN_MANO_DIR)")
    if trained_on != hands.name:
        log.warning("model trained with the %s hand, sampling with the %s hand", trained_on, hands.name)
    return hands


def _frames_given(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise HandgenError(f"--frames-given must be comma-separated integers, got {text!r}") from None


def run_sample(args: argparse.Namespace) -> int:
    from handgen.sample.diffusion_generator import DiffusionMotionGenerator

    prompts = prompts_from_args(args.left, args.right, args.both, args.prompts)
    if args.num < 1:
        raise HandgenError("--num must be at least 1")
    generator = DiffusionMotionGenerator(args.ckpt, device=args.device)
    frames = args.frames or generator.clip_len
    generator.check_frames(frames)
    hands = _hand_pair_for(generator.data_meta, args.mano_dir)
    scfg = generator.cfg.sample
    sampler = args.sampler or str(scfg.sampler)
    steps = args.steps if args.steps is not None else (None if args.sampler else int(scfg.steps))
    guidance = float(args.guidance if args.guidance is not None else scfg.guidance)

    condition, betas = None, None
    if args.mode != "text":
        from handgen.io.motion_npz import load_motion
        from handgen.sample.conditioning import build_condition

        if not args.condition:
            raise HandgenError(f"--mode {args.mode} needs --condition FILE.npz")
        motion, _ = load_motion(args.condition)
        condition = build_condition(motion, hands, args.mode, frames, args.given, _frames_given(args.frames_given),
                                    source=args.condition)
        betas = condition.betas
    elif args.condition:
        raise HandgenError("--condition needs a conditioning --mode (reaction, wrist, inbetween, keyframe)")

    triplets = [p for p in prompts for _ in range(args.num)]
    started = time.perf_counter()
    feats = generator.generate(triplets, frames, seed=args.seed, sampler=sampler, steps=steps, guidance=guidance,
                               condition=condition, progress=True)
    seconds = time.perf_counter() - started
    from handgen.sample.motion_writer import write_samples

    extra = {"sampler": np.asarray(sampler), "guidance": np.asarray(guidance), "mode": np.asarray(args.mode)}
    paths = write_samples(Path(args.out), feats.numpy(), triplets, hands, generator.fps, betas, args.render, extra)
    print(f"handgen sample: {len(paths)} motion(s) of {frames} frames in {seconds:.2f} s "
          f"({sampler}, guidance {guidance}) -> {args.out}")
    return 0
