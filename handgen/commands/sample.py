"""``handgen sample --ckpt RUN_DIR --left TEXT --right TEXT --both TEXT --out OUT_DIR ...``."""

from __future__ import annotations

import argparse
from pathlib import Path

from handgen.device import add_device_option, resolve_device
from handgen.errors import HandgenError

from handgen.commands import arg_types


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="sample bimanual motions from a trained model")
    p.add_argument("--ckpt", required=True, help="RUN_DIR written by handgen train")
    p.add_argument("--left", default=None, help="what the left hand does ('' = unconditional)")
    p.add_argument("--right", default=None, help="what the right hand does")
    p.add_argument("--both", default=None, help="what the two hands do together")
    p.add_argument("--prompts", default=None, help="JSONL file, one {left,right,both} per line")
    p.add_argument("--frames", type=arg_types.sample_frames, default=None, help="frames to generate (default: the model's clip length; longer = long horizon)")
    p.add_argument("--num", type=arg_types.int_in(1, 1024), default=1, help="samples per prompt (default 1)")
    p.add_argument("--seed", type=arg_types.seed, default=0)
    p.add_argument("--out", required=True, help="OUT_DIR for sample_XXX.npz (+ .gif with --render)")
    p.add_argument("--overwrite", action="store_true", help="OUT_DIR is not empty: remove its sample_* files first")
    p.add_argument("--render", action="store_true", help="also write an animated GIF per sample")
    p.add_argument("--sampler", choices=("ddpm", "ddim", "dpmpp", "lcm"), default=None,
                   help="diffusion sampler (default from the config; lcm: a consistency student's, its only one)")
    p.add_argument("--steps", type=arg_types.positive_int, default=None, help="sampler steps (default from the config)")
    p.add_argument("--guidance", type=arg_types.nonneg, default=None,
                   help="classifier-free guidance scale at every step (default from the config: sample.guidance, "
                        "with sample.noisy_guidance on the noisy steps when set)")
    p.add_argument("--noisy-guidance", type=arg_types.nonneg, default=None,
                   help="diffusion: guidance scale on the noisy steps (t >= the config's sample.noisy_from)")
    p.add_argument("--temperature", type=arg_types.positive, default=None, help="AR: softmax temperature (default from the config)")
    p.add_argument("--top-k", type=arg_types.positive_int, default=None, help="AR: sample among the k most likely tokens")
    p.add_argument("--top-p", type=arg_types.float_in(0, 1, lo_open=True), default=None, help="AR: nucleus sampling, smallest token set of this mass")
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


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")



def _frames_given(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise HandgenError(f"--frames-given must be comma-separated integers, got {text!r}") from None


def _run(args: argparse.Namespace) -> int:
    """Check every option, then generate and write (a thin shell over :class:`handgen.api.MotionGenerator`)."""
    from handgen.api.motion_generator import MotionGenerator
    from handgen.sample.prompts import prompts_from_args

    device = resolve_device(args.device)  # a device this machine lacks fails before anything loads
    prompts = prompts_from_args(args.left, args.right, args.both, args.prompts)
    if args.num < 1:
        raise HandgenError("--num must be at least 1")
    generator = MotionGenerator(args.ckpt, device=device, mano_dir=args.mano_dir)
    options = {"sampler": args.sampler, "steps": args.steps, "temperature": args.temperature, "top_k": args.top_k,
               "top_p": args.top_p, "greedy": args.greedy or None, "noisy_guidance": args.noisy_guidance}
    foreign = generator.inapplicable(options)
    if args.no_kv_cache and not generator.is_ar:
        foreign.append("no_kv_cache")
    if foreign:
        kind = "AR" if generator.is_ar else "diffusion"
        raise HandgenError(f"{', '.join(_flag(n) for n in foreign)} do(es) not apply to {kind} runs")
    frames = args.frames or generator.clip_len
    generator.engine.check_frames(frames)
    frames_given = _frames_given(args.frames_given)
    generator.check_mode(args.mode, args.given, frames_given)
    condition = None
    if args.mode != "text":
        if not args.condition:
            needs = ("--condition FILE (.npy token ids, or an .npz motion or sample)" if args.mode == "prefix"
                     else "--condition FILE.npz")
            raise HandgenError(f"--mode {args.mode} needs {needs}")
        condition = generator.condition(args.mode, args.condition, frames, args.given, frames_given)
    elif args.condition:
        raise HandgenError("--condition needs --mode prefix for AR runs" if generator.is_ar else
                           "--condition needs a conditioning --mode (reaction, wrist, inbetween, keyframe)")
    motion = generator.generate(prompts=prompts, num=args.num, frames=frames, seed=args.seed, guidance=args.guidance,
                                condition=condition, use_cache=not args.no_kv_cache, progress=not getattr(args, "quiet", False),
                                **{k: v for k, v in options.items() if v is not None})
    paths = motion.save(Path(args.out), render=args.render)
    print(f"handgen sample: {len(paths)} motion(s) of {frames} frames in {generator.last_seconds:.2f} s "
          f"({generator.last_label}) -> {args.out}")
    return 0
