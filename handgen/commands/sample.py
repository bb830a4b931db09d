"""``handgen sample --ckpt RUN_DIR --left TEXT --right TEXT --both TEXT --out OUT_DIR ...``."""

from __future__ import annotations

import argparse

from handgen.device import add_device_option, resolve_device


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="sample bimanual motions from a trained model")
    p.add_argument("--ckpt", required=True, help="RUN_DIR written by handgen train")
    p.add_argument("--left", default=None, help="what the left hand does ('' = unconditional)")
    p.add_argument("--right", default=None, help="what the right hand does")
    p.add_argument("--both", default=None, help="what the two hands do together")
    p.add_argument("--prompts", default=None, help="JSONL file, one {left,right,both} per line")
    p.add_argument("--frames", type=int, default=None, help="frames to generate (default: the model's clip length; longer = long horizon)")
    p.add_argument("--num", type=int, default=1, help="samples per prompt (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="OUT_DIR for sample_XXX.npz (+ .gif with --render)")
    p.add_argument("--render", action="store_true", help="also write an animated GIF per sample")
    p.add_argument("--sampler", choices=("ddpm", "ddim", "dpmpp"), default=None, help="diffusion sampler (default from the config)")
    p.add_argument("--steps", type=int, default=None, help="sampler steps (default from the config)")
    p.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale (default from the config)")
    p.add_argument("--temperature", type=float, default=None, help="AR: softmax temperature (default from the config)")
    p.add_argument("--top-k", type=int, default=None, help="AR: sample among the k most likely tokens")
    p.add_argument("--top-p", type=float, default=None, help="AR: nucleus sampling, smallest token set of this mass")
    p.add_argument("--greedy", action="store_true", help="AR: always take the most likely token (deterministic)")
    p.add_argument("--no-kv-cache", action="store_true", help="AR: re-run the whole sequence for every token (slow)")
    p.add_argument("--mode", choices=("text", "reaction", "wrist", "inbetween", "keyframe", "prefix"), default="text",
                   help="conditioning mode: diffusion inpainting (reaction, wrist, inbetween, keyframe) or, for AR "
                        "runs, prefix (continue given motion tokens); all but 'text' need --condition")
    p.add_argument("--condition", default=None,
                   help="motion .npz (handgen's motion format) giving the known part; for --mode prefix also "
                        ".npy token ids or a sample .npz with motion_tokens")
    p.add_argument("--given", choices=("left", "right"), default=None, help="reaction mode: the hand that is given")
    p.add_argument("--frames-given", default=None, help="keyframe mode: comma-separated frame indices")
    p.add_argument("--mano-dir", default=None, help="MANO files (needed when the model was trained on MANO data)")
    add_device_option(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from handgen.sample.command import run_sample

    args.device = resolve_device(args.device)
    return run_sample(args)
