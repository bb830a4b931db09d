"""One press of the web app's Generate button, without the page: a motion and its four files.

Built on the Python API only (``MotionGenerator.generate`` -> ``Motion.save/.render/.export``),
so what the page offers is what ``handgen sample`` + ``handgen export`` write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from handgen.api.motion_generator import MotionGenerator
from handgen.diffusion.schedulers import SAMPLERS
from handgen.errors import HandgenError


@dataclass(frozen=True)
class MotionFiles:
    """The files of one generated motion (all in one folder) and a one-line account of it."""

    npz: Path  # handgen's motion format: joints (1, T, 2, 21, 3) ... (handgen/io/motion_npz.py)
    gif: Path  # the default render: three-quarter view, floor, legend
    bvh: Path  # both hands' skeletons, metres
    glb: Path  # skinned, animated two-hand glTF at the motion's fps
    summary: str


def generate_files(generator: MotionGenerator, out_dir: str | Path, *, left: str = "", right: str = "",
                   both: str = "", sampler: str | None = None, steps: int | None = None,
                   guidance: float | None = None, noisy_guidance: float | None = None, seed: int = 0,
                   frames: int | None = None) -> MotionFiles:
    """Generate one motion for the three texts and write ``motion.npz/.gif/.bvh/.glb`` into ``out_dir``.

    ``sampler``/``steps``/``noisy_guidance`` apply to diffusion runs only (ignored for AR runs); None takes the
    run's defaults.

    Raises:
        HandgenError: no text at all, frames or options the run cannot take, over-long prompts.
    """
    texts = {"left": (left or "").strip(), "right": (right or "").strip(), "both": (both or "").strip()}
    if not any(texts.values()):
        raise HandgenError("type at least one of the three texts (left hand, right hand, both hands)")
    if generator.is_ar:
        sampler = steps = noisy_guidance = None
    elif sampler is not None and sampler not in SAMPLERS:
        raise HandgenError(f"unknown sampler {sampler!r}; choose from {', '.join(SAMPLERS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    motion = generator.generate(**texts, frames=frames or None, seed=int(seed), sampler=sampler,
                                steps=int(steps) if steps else None, guidance=guidance, noisy_guidance=noisy_guidance)
    seconds = time.perf_counter() - started
    npz = motion.save(out / "motion.npz")[0]
    gif = motion.render(out / "motion.gif")
    bvh = motion.export(out / "motion.bvh", format="bvh")
    glb = motion.export(out / "motion.glb", format="glb")
    summary = (f"{motion.num_frames} frames at {motion.fps:g} fps ({motion.num_frames / motion.fps:.1f} s), "
               f"{generator.last_label}, seed {int(seed)}; generated in {seconds:.1f} s, files in "
               f"{time.perf_counter() - started - seconds:.1f} s")
    return MotionFiles(npz, gif, bvh, glb, summary)
