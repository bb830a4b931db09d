"""Which generator samples a RUN_DIR, and which ``handgen sample`` options apply to it.

A run's ``model_type`` picks the generator: ``motion_diffusion`` ->
:class:`~handgen.sample.diffusion_generator.DiffusionMotionGenerator`, ``motion_ar`` ->
:class:`~handgen.sample.ar_generator.ARMotionGenerator`. Each ``*_setup`` turns the
command-line options into ``generate`` keyword arguments and a condition, and refuses the
options that do not apply to that kind of model.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from handgen.errors import HandgenError
from handgen.hand.pair import HandPair

DIFFUSION_ONLY = {"sampler": "--sampler", "steps": "--steps"}
AR_ONLY = {"temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p", "greedy": "--greedy",
           "no_kv_cache": "--no-kv-cache"}
AR_MODES = ("text", "prefix")


@dataclass
class SamplingSetup:
    """What ``generate`` needs besides texts and frames, and what the output files record."""

    options: dict[str, Any]
    condition: Any = None
    betas: np.ndarray | None = None
    label: str = ""
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def load_generator(run_dir: str | Path, device: str = "cpu"):
    """The generator of a motion run dir (by its ``model_type``).

    Raises:
        HandgenError: not a run dir, or a run of a model that does not sample motions.
    """
    from handgen.sample.run_dir import read_run_config

    model_type = read_run_config(run_dir).get("model_type")
    if model_type == "motion_diffusion":
        from handgen.sample.diffusion_generator import DiffusionMotionGenerator

        return DiffusionMotionGenerator(run_dir, device=device)
    if model_type == "motion_ar":
        from handgen.sample.ar_generator import ARMotionGenerator

        return ARMotionGenerator(run_dir, device=device)
    hint = " (a tokenizer: train configs/motion_ar*.yaml with tokenizer=THIS_DIR, then sample that run)" \
        if model_type == "fsq_tokenizer" else ""
    raise HandgenError(f"{run_dir}: holds a {model_type!r} model; handgen sample takes motion_diffusion or "
                       f"motion_ar runs{hint}")


def _given(args: argparse.Namespace, name: str) -> bool:
    value = getattr(args, name, None)
    return value is not None and value is not False


def _refuse(args: argparse.Namespace, options: dict[str, str], kind: str) -> None:
    used = [flag for name, flag in options.items() if _given(args, name)]
    if used:
        raise HandgenError(f"{', '.join(used)} do(es) not apply to {kind} runs")


def _frames_given(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise HandgenError(f"--frames-given must be comma-separated integers, got {text!r}") from None


def diffusion_setup(args: argparse.Namespace, generator, hands: HandPair, frames: int) -> SamplingSetup:
    """Sampler, steps and guidance (defaults from the run's config) and an inpainting condition."""
    _refuse(args, AR_ONLY, "diffusion")
    if args.mode == "prefix":
        raise HandgenError("--mode prefix is for AR runs; for diffusion runs use --mode inbetween or keyframe")
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
    extra = {"sampler": np.asarray(sampler), "guidance": np.asarray(guidance), "mode": np.asarray(args.mode)}
    return SamplingSetup({"sampler": sampler, "steps": steps, "guidance": guidance}, condition, betas,
                         f"{sampler}, guidance {guidance}", extra)


def ar_setup(args: argparse.Namespace, generator, hands: HandPair, frames: int) -> SamplingSetup:
    """Guidance, temperature, top-k/p or greedy (defaults from the run's config) and a start-token condition."""
    _refuse(args, DIFFUSION_ONLY, "AR")
    if args.mode not in AR_MODES:
        raise HandgenError(f"--mode {args.mode} is not available for AR runs (they generate one token stream for "
                           f"both hands, left to right in time); use --mode prefix or a diffusion run")
    if args.given or args.frames_given:
        raise HandgenError("--given / --frames-given do not apply to AR runs")
    scfg = generator.cfg.sample
    options = {
        "guidance": float(args.guidance if args.guidance is not None else scfg.guidance),
        "temperature": float(args.temperature if args.temperature is not None else scfg.temperature),
        "top_k": args.top_k if args.top_k is not None else scfg.get("top_k"),
        "top_p": args.top_p if args.top_p is not None else scfg.get("top_p"),
        "greedy": bool(args.greedy or scfg.get("greedy", False)),
        "use_cache": not args.no_kv_cache,
    }
    condition, betas = None, None
    if args.mode == "prefix":
        from handgen.sample.ar_condition import read_token_condition

        if not args.condition:
            raise HandgenError("--mode prefix needs --condition FILE (.npy token ids, or an .npz motion or sample)")
        condition = read_token_condition(args.condition, generator.tokenizer, hands)
        betas = condition.betas
    elif args.condition:
        raise HandgenError("--condition needs --mode prefix for AR runs")
    how = "greedy" if options["greedy"] else (
        f"temperature {options['temperature']}, top-k {options['top_k']}, top-p {options['top_p']}")
    extra = {"sampler": np.asarray("ar-greedy" if options["greedy"] else "ar"),
             "guidance": np.asarray(options["guidance"]), "temperature": np.asarray(options["temperature"]),
             "top_k": np.asarray(-1 if options["top_k"] is None else int(options["top_k"])),
             "top_p": np.asarray(1.0 if options["top_p"] is None else float(options["top_p"])),
             "mode": np.asarray(args.mode)}
    return SamplingSetup(options, condition, betas, f"AR {how}, guidance {options['guidance']}", extra)


def sampling_setup(args: argparse.Namespace, generator, hands: HandPair, frames: int) -> SamplingSetup:
    from handgen.sample.ar_generator import ARMotionGenerator

    if isinstance(generator, ARMotionGenerator):
        return ar_setup(args, generator, hands, frames)
    return diffusion_setup(args, generator, hands, frames)
