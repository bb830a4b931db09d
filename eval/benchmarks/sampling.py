"""Seconds per 60-frame bimanual motion: diffusion DDPM-1000 / DDIM-50 / DPM-Solver++-20 and AR (KV cache on/off).

Run dirs come from ``HANDGEN_BENCH_DIFFUSION_RUN`` / ``HANDGEN_BENCH_AR_RUN``; without them the
tiny configs are trained for a few steps (the timings depend on the architecture, not on the
training) and the table says so. One motion per call (batch 1), best of ``repeats`` calls after
a warm-up call; text encoding is included, classifier-free guidance as configured.
"""

from __future__ import annotations

import inspect
import os
import time
from pathlib import Path

from eval.benchmarks.workspace import CONFIGS, workspace

PROMPT = {"left": "The left hand makes a fist.", "right": "The right hand stays relaxed.",
          "both": "The two hands move independently."}
DIFFUSION_CASES: tuple[tuple[str, str, int, int], ...] = (
    ("DDPM", "ddpm", 1000, 1), ("DDIM", "ddim", 50, 3), ("DPM-Solver++", "dpmpp", 20, 3),
)


def _run_dir(env: str, config: str) -> tuple[Path | None, str]:
    """(run dir, label): from ``env`` if set, else the tiny config trained a few steps (None when it cannot be)."""
    if os.environ.get(env):
        return Path(os.environ[env]), "trained"
    path = CONFIGS / config
    if not path.is_file():
        return None, f"no {config}"
    ws = workspace()
    try:
        if config == "motion_ar_tiny.yaml" and (CONFIGS / "fsq_tiny.yaml").is_file():
            ws.train(CONFIGS / "fsq_tiny.yaml")
        return ws.train(path), "tiny, 20 training steps"
    except Exception as exc:  # report, do not stop
        return None, str(exc).splitlines()[0][:80]


def _seconds(call, repeats: int) -> float:
    call()  # warm-up: loads the text encoder, first-call overheads
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def bench_sampling(frames: int = 60) -> list[dict]:
    from eval.motion_generator import open_motion_generator

    rows = []
    run, label = _run_dir("HANDGEN_BENCH_DIFFUSION_RUN", "motion_diffusion_tiny.yaml")
    if run is None:
        rows.append({"benchmark": f"sample {frames} frames", "case": "diffusion", "value": float("nan"),
                     "unit": f"skipped: {label}"})
    else:
        gen = open_motion_generator(run)
        guidance = float(gen.cfg.sample.guidance)
        for name, sampler, steps, repeats in DIFFUSION_CASES:
            seconds = _seconds(lambda: gen.generate([PROMPT], frames, sampler=sampler, steps=steps, guidance=guidance),
                               repeats)
            rows.append({"benchmark": f"sample {frames} frames", "case": f"{name}-{steps} ({label}, g={guidance})",
                         "value": seconds, "unit": "s/motion"})
    run, label = _run_dir("HANDGEN_BENCH_AR_RUN", "motion_ar_tiny.yaml")
    if run is None:
        rows.append({"benchmark": f"sample {frames} frames", "case": "AR", "value": float("nan"),
                     "unit": f"skipped: {label}"})
        return rows
    gen = open_motion_generator(run)
    accepted = inspect.signature(gen.generate).parameters
    options = {k: v for k, v in dict(gen.cfg.get("sample") or {}).items() if k in accepted}
    caches = (True, False) if "use_cache" in accepted else (None,)
    for cache in caches:
        extra = {} if cache is None else {"use_cache": cache}
        seconds = _seconds(lambda: gen.generate([PROMPT], frames, **options, **extra), 3)
        case = "AR" + ("" if cache is None else (", KV cache" if cache else ", no KV cache"))
        rows.append({"benchmark": f"sample {frames} frames", "case": f"{case} ({label})", "value": seconds,
                     "unit": "s/motion"})
    return rows
