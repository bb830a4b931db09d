"""Does a motion model follow per-hand text? The left/right fist contrast.

Samples "left hand makes a fist / right hand stays relaxed" and the mirror prompt and
compares the mean finger flexion (bend angles at the MCP and PIP joints of index..pinky,
from the 21 joints in the features) of the two hands over the second half of each clip.
A model that follows its text gives a clearly positive left-minus-right flexion for the
first prompt and a negative one for the second.

    python -m eval.text_contrast RUN_DIR [--num 8] [--seed 1] [--guidance G] [--greedy] ...

Works for diffusion and AR runs (options that do not apply to the run are not passed).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

PROMPTS: dict[str, dict[str, str]] = {
    "left_fist": {"left": "The left hand makes a fist.", "right": "The right hand stays relaxed.",
                  "both": "The two hands move independently."},
    "right_fist": {"left": "The left hand stays relaxed.", "right": "The right hand makes a fist.",
                   "both": "The two hands move independently."},
}
FINGER_BASES: tuple[int, ...] = (5, 9, 13, 17)  # index, middle, ring, pinky MCP keypoints


def finger_flexion(joints: np.ndarray) -> np.ndarray:
    """Mean bend angle (radians) at the MCP and PIP joints of index..pinky: joints (..., 21, 3) -> (...)."""
    angles = []
    for base in FINGER_BASES:
        chain = [0, base, base + 1, base + 2]
        bones = [joints[..., chain[i + 1], :] - joints[..., chain[i], :] for i in range(3)]
        for a, b in ((0, 1), (1, 2)):
            cos = (bones[a] * bones[b]).sum(-1) / (np.linalg.norm(bones[a], axis=-1) * np.linalg.norm(bones[b], axis=-1))
            angles.append(np.arccos(np.clip(cos, -1.0, 1.0)))
    return np.mean(angles, axis=0)


def contrast(features: np.ndarray) -> tuple[float, float]:
    """(left, right) mean flexion over the second half of raw features (N, T, D)."""
    from handgen.repr.features import SLICES

    n, t = features.shape[:2]
    left = finger_flexion(features[..., SLICES["left.joints"]].reshape(n, t, 21, 3))[:, t // 2 :]
    right = finger_flexion(features[..., SLICES["right.joints"]].reshape(n, t, 21, 3))[:, t // 2 :]
    return float(left.mean()), float(right.mean())


def run_contrast(run_dir: str, num: int = 8, frames: int = 60, seed: int = 1, **options) -> dict[str, dict[str, float]]:
    """Flexion figures per prompt: left, right, left - right, seconds per sample."""
    from handgen.sample.generators import open_generator

    generator = open_generator(run_dir)
    out = {}
    for name, prompt in PROMPTS.items():
        start = time.perf_counter()
        feats = generator.generate([prompt] * num, frames, seed=seed, **options).numpy()
        seconds = (time.perf_counter() - start) / num
        left, right = contrast(feats)
        out[name] = {"left": left, "right": right, "left_minus_right": left - right, "s_per_sample": seconds}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.text_contrast", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--num", type=int, default=8)
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
    results = run_contrast(args.run_dir, args.num, args.frames, args.seed, **options)
    for name, r in results.items():
        print(f"{name}: left flexion {r['left']:.3f} right flexion {r['right']:.3f} "
              f"left-right {r['left_minus_right']:+.3f} rad  [{r['s_per_sample']:.2f} s/sample]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
