"""One-frame jumps at the boundaries of the conditioning modes, against the data's frame step.

    python -m eval.seam_jumps RUN_DIR DATA_DIR [--seeds 3] [--steps 20] [--paste]

For each mode (keyframe ``0,30,59``, in-between, reaction ``--given left``, long horizon 180
frames) samples one motion per seed with ``handgen sample`` (the run's sampler at ``--steps``:
DPM-Solver++ 20 for a diffusion run, 1-4 for a few-step student; the run's guidance; the condition
is the first test clip of DATA_DIR) and measures the largest joint displacement of either hand
between the two frames of every boundary (reaction has no time seam: every step of the generated
right hand). Prints max / median in mm and the share within the 95th-percentile frame step of
DATA_DIR's training clips, at the boundaries and, for the time seams, over the seam zone: the
largest step within ``ZONE`` frames of a boundary that involves a generated frame (a model that
rushes to meet a given frame pops a few frames inside the gap, where the boundary alone does not
look; steps between two given frames are the condition's own). ``--paste`` puts the given frames
in at every step and at the end without the warp and the seam blending (the old behaviour), for
comparison.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from handgen.io.data_dir import DataDir
from handgen.io.motion_npz import load_motion
from handgen.repr.features import SLICES

MODE_BOUNDARIES: dict[str, tuple[tuple[str, ...], tuple[int, ...] | None]] = {
    # mode -> (sample options, boundaries: index i = the step from frame i to i+1)
    "keyframe": (("--mode", "keyframe", "--frames-given", "0,30,59"), (0, 29, 30, 58)),
    "inbetween": (("--mode", "inbetween"), (9, 49)),  # frames 0-9 and 50-59 given
    "reaction": (("--mode", "reaction", "--given", "left"), None),
    "long": (("--frames", "180"), (59, 109, 159)),
}
ZONE = 4  # frames on each side of a boundary whose steps form its seam zone
GIVEN_STEPS: dict[str, set[int]] = {"inbetween": set(range(9)) | set(range(50, 59))}  # steps between given frames
TEXTS = ("--left", "The left hand makes a fist.", "--right", "The right hand waves.",
         "--both", "The hands move independently.")


def largest_joint_steps(joints: np.ndarray) -> np.ndarray:
    """Largest joint displacement (m) between consecutive frames: (T-1,) from (T, 2, 21, 3)."""
    return np.linalg.norm(np.diff(joints, axis=0), axis=-1).max(axis=(1, 2))


def data_frame_step_p95(data_dir) -> float:
    """95th percentile over the training clips' frames of the largest joint step (m)."""
    feats, _ = DataDir(data_dir).split_arrays("train")
    joints = np.stack([feats[..., SLICES[f"{s}.joints"]].reshape(*feats.shape[:2], 21, 3) for s in ("left", "right")], 2)
    steps = np.linalg.norm(np.diff(joints, axis=1), axis=-1).max(axis=(2, 3))
    return float(np.percentile(steps, 95))


def sample_steps(run, condition, out_dir, mode: str, seed: int = 0, steps: int = 20) -> np.ndarray:
    """Largest joint step (m) per frame step of one ``mode`` sample of ``run``: (T-1,) over both hands, or for
    the reaction mode over the generated right hand only.

    Raises:
        RuntimeError: ``handgen sample`` failed.
    """
    from handgen.cli import main as cli_main

    args, boundaries = MODE_BOUNDARIES[mode]
    extra = () if mode == "long" else ("--condition", str(condition))
    argv = ["-q", "sample", "--ckpt", str(run), *TEXTS, *args, *extra, "--out", str(out_dir), "--steps", str(steps),
            "--seed", str(seed)]
    if cli_main(argv) != 0:
        raise RuntimeError(f"handgen {' '.join(argv)} failed")
    joints = load_motion(sorted(Path(out_dir).glob("sample_*.npz"))[0])[1]["joints"]
    if boundaries is None:
        return np.linalg.norm(np.diff(joints[:, 1], axis=0), axis=-1).max(axis=1)  # the generated right hand
    return largest_joint_steps(joints)


def seam_steps(steps_: np.ndarray, mode: str, zone: int = 0) -> np.ndarray:
    """The steps (m) at the boundaries of ``mode`` (the reaction mode: every step); with ``zone`` > 0 the
    largest step within ``zone`` frames of each boundary that involves a generated frame."""
    boundaries = MODE_BOUNDARIES[mode][1]
    if boundaries is None:
        return steps_
    given = GIVEN_STEPS.get(mode, set())
    return np.array([max(steps_[i] for i in range(max(b - zone, 0), min(b + zone + 1, len(steps_))) if i not in given)
                     for b in boundaries])


def boundary_jumps(run, condition, out_dir, mode: str, seed: int = 0, steps: int = 20,
                   zone: int = 0) -> np.ndarray:
    """One-frame jumps (m) at the boundaries of ``mode`` for one sample of ``run`` (``zone``: see
    :func:`seam_steps`).

    Raises:
        RuntimeError: ``handgen sample`` failed.
    """
    return seam_steps(sample_steps(run, condition, out_dir, mode, seed, steps), mode, zone)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.seam_jumps", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("data_dir")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="sampler steps (a few-step student: 1-4)")
    parser.add_argument("--paste", action="store_true", help="given frames pasted, no warp or blend (the old behaviour)")
    args = parser.parse_args(argv)
    from handgen.cli import main as cli_main
    from handgen.diffusion.inpainting import InpaintingCondition

    if args.paste:  # pasted at every step and at the end, as before the seam blending and the warp
        InpaintingCondition.finish = lambda self, sample: self.apply_x0(sample)
        InpaintingCondition.warp_x0 = lambda self, x0: self.apply_x0(x0)
    tmp = Path(tempfile.mkdtemp(prefix="seam_jumps_"))
    clip = DataDir(args.data_dir).clips("test")[0]["id"]
    condition = tmp / "condition.npz"
    if cli_main(["-q", "clip", "--data", args.data_dir, "--id", clip, "--out", str(condition)]) != 0:
        return 1
    p95 = data_frame_step_p95(args.data_dir)
    print(f"data: 95th-percentile frame step {1000 * p95:.1f} mm ({'pasted' if args.paste else 'blended'} seams)")
    for mode in MODE_BOUNDARIES:
        samples = [sample_steps(args.run_dir, condition, tmp / f"{mode}_{s}", mode, seed=s, steps=args.steps)
                   for s in range(args.seeds)]  # both measures from the same samples
        for zone in ((0, ZONE) if MODE_BOUNDARIES[mode][1] is not None else (0,)):
            jumps = np.concatenate([seam_steps(steps_, mode, zone) for steps_ in samples])
            where = f"+-{zone} frames" if zone else "boundary"
            print(f"{mode:10s} {where:11s} max {1000 * jumps.max():6.1f} mm, median {1000 * np.median(jumps):6.1f} mm, "
                  f"{100 * np.mean(jumps <= p95):5.1f}% within p95")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
