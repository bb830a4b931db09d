"""Run the text-following contrasts on a trained motion run dir.

    python -m eval.text_contrast RUN_DIR [--num 32] [--frames 60] [--seed 1] [--guidance G] [--noisy-guidance G] ...
    python -m eval.text_contrast RUN_DIR --families finger       # only the left/right fist contrast

Works for diffusion and AR runs (the run's ``model_type`` picks the generator; options that
do not apply to the run are refused; options not given are the run's ``sample:`` defaults, as
``handgen sample`` uses them). Prints, for each family of :mod:`eval.text_families`
(finger shape per hand, per-hand wrist direction, two hands together vs apart), the contrast,
its noise and the share of samples the right way; then the fist prompts' mean finger curl of
each hand (radians; :mod:`eval.text_following`) and seconds per sample.
"""

from __future__ import annotations

import argparse
import time

from eval.text_families import FAMILY_PROMPTS, FamilyResult, text_families
from eval.text_following import FistContrast, fist_contrast
from handgen.api.motion_generator import MotionGenerator


def run_contrast(run_dir: str, num: int = 8, frames: int = 60, seed: int = 1, **options) -> tuple[FistContrast, float]:
    """The fist contrast of ``run_dir``'s model and its seconds per sample.

    ``options`` are passed to the generator's ``generate`` (guidance, sampler/steps for diffusion runs,
    temperature/top_k/top_p/greedy for AR runs).
    """
    generator = MotionGenerator(run_dir)
    started = time.perf_counter()
    engine = generator.engine
    options = generator.sampling_options(**options)[0]
    result = fist_contrast(lambda triplets, n: engine.generate(triplets, n, seed=seed, **options).numpy(),
                           num=num, frames=frames)
    return result, (time.perf_counter() - started) / (2 * num)


def run_families(run: str | MotionGenerator, num: int = 32, frames: int = 60, seed: int = 1,
                 families=tuple(FAMILY_PROMPTS), **options) -> tuple[list[FamilyResult], float]:
    """The text families of a run dir's (or a loaded generator's) model (see :mod:`eval.text_families`) and its
    seconds per sample.

    ``options`` as :func:`run_contrast` (those not given: the run's ``sample:`` defaults).
    """
    generator = run if isinstance(run, MotionGenerator) else MotionGenerator(run)
    engine = generator.engine
    options = generator.sampling_options(**options)[0]
    started = time.perf_counter()
    results = text_families(lambda triplets, n: engine.generate(triplets, n, seed=seed, **options).numpy(),
                            num=num, frames=frames, families=families)
    return results, (time.perf_counter() - started) / (2 * num * len(results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.text_contrast", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--num", type=int, default=32, help="samples per prompt")
    parser.add_argument("--families", nargs="*", choices=list(FAMILY_PROMPTS), default=list(FAMILY_PROMPTS))
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--guidance", type=float, default=None)
    parser.add_argument("--noisy-guidance", type=float, default=None, help="diffusion runs: guidance on the noisy steps")
    parser.add_argument("--sampler", default=None, help="diffusion runs")
    parser.add_argument("--steps", type=int, default=None, help="diffusion runs")
    parser.add_argument("--temperature", type=float, default=None, help="AR runs")
    parser.add_argument("--top-k", type=int, default=None, help="AR runs")
    parser.add_argument("--top-p", type=float, default=None, help="AR runs")
    parser.add_argument("--greedy", action="store_true", help="AR runs")
    args = parser.parse_args(argv)
    options = {k: v for k, v in {"guidance": args.guidance, "noisy_guidance": args.noisy_guidance,
                                 "sampler": args.sampler, "steps": args.steps,
                                 "temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p,
                                 "greedy": args.greedy or None}.items() if v is not None}
    generator = MotionGenerator(args.run_dir)
    label = generator.sampling_options(**options)[1]
    results, seconds = run_families(generator, args.num, args.frames, args.seed, tuple(args.families), **options)
    print(f"{args.run_dir}: {args.num} samples per prompt, {label}  [{seconds:.2f} s/sample]")
    for result in results:
        print(f"  {result.line()}")
        if result.family == "finger":
            print(f"           left-fist prompt: L-R curl {result.scores_a.mean():+.2f} rad; "
                  f"right-fist prompt: {result.scores_b.mean():+.2f} rad")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
