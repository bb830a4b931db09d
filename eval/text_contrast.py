"""Run the left/right fist contrast (:mod:`eval.text_following`) on a trained motion run dir.

    python -m eval.text_contrast RUN_DIR [--num 8] [--frames 60] [--seed 1] [--guidance G] [--greedy] ...

Works for diffusion and AR runs (the run's ``model_type`` picks the generator; options that
do not apply to the run are refused). Prints the mean finger curl of each hand for both
prompts, the contrast (radians; 0 = the model ignores its text) and seconds per sample.
"""

from __future__ import annotations

import argparse
import time

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
    result = fist_contrast(lambda triplets, n: engine.generate(triplets, n, seed=seed, **options).numpy(),
                           num=num, frames=frames)
    return result, (time.perf_counter() - started) / (2 * num)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.text_contrast", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--num", type=int, default=8, help="samples per prompt")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--guidance", type=float, default=None)
    parser.add_argument("--sampler", default=None, help="diffusion runs")
    parser.add_argument("--steps", type=int, default=None, help="diffusion runs")
    parser.add_argument("--temperature", type=float, default=None, help="AR runs")
    parser.add_argument("--top-k", type=int, default=None, help="AR runs")
    parser.add_argument("--top-p", type=float, default=None, help="AR runs")
    parser.add_argument("--greedy", action="store_true", help="AR runs")
    args = parser.parse_args(argv)
    options = {k: v for k, v in {"guidance": args.guidance, "sampler": args.sampler, "steps": args.steps,
                                 "temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p,
                                 "greedy": args.greedy or None}.items() if v is not None}
    result, seconds = run_contrast(args.run_dir, args.num, args.frames, args.seed, **options)
    print(f"{args.run_dir}: {result.line()}  [{seconds:.2f} s/sample]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
