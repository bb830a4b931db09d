"""The body of ``handgen sample``: validate everything, then generate and write."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

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


def run_sample(args: argparse.Namespace) -> int:
    from handgen.sample.generators import load_generator, sampling_setup

    prompts = prompts_from_args(args.left, args.right, args.both, args.prompts)
    if args.num < 1:
        raise HandgenError("--num must be at least 1")
    generator = load_generator(args.ckpt, device=args.device)
    frames = args.frames or generator.clip_len
    generator.check_frames(frames)
    hands = _hand_pair_for(generator.data_meta, args.mano_dir)
    setup = sampling_setup(args, generator, hands, frames)

    triplets = [p for p in prompts for _ in range(args.num)]
    started = time.perf_counter()
    feats = generator.generate(triplets, frames, seed=args.seed, condition=setup.condition,
                               progress=not getattr(args, "quiet", False),
                               **setup.options)
    seconds = time.perf_counter() - started
    from handgen.sample.motion_writer import write_samples

    per_sample = generator.sample_arrays() if hasattr(generator, "sample_arrays") else None
    paths = write_samples(Path(args.out), feats.numpy(), triplets, hands, generator.fps, setup.betas, args.render,
                          setup.extra, per_sample)
    print(f"handgen sample: {len(paths)} motion(s) of {frames} frames in {seconds:.2f} s "
          f"({setup.label}) -> {args.out}")
    return 0
