"""Few-step sampling: HandX's DDPM-1000 vs DPM-Solver++ 20 vs the consistency student (1, 2, 4 steps).

Seconds per 60-frame sample at batch 1 (best of ``repeats``), network calls per sample (counted
with a forward hook), and each sampler's speed as a ratio to DPM-Solver++ 20 on the same model in
the same run: for the whole ``generate`` call of a loaded generator (the run's
``DiffusionMotionGenerator`` / ``ConsistencyMotionGenerator``: encoding the three texts, setting up
the sampler, the sampling loop, de-normalising; loading the run is not per call and not timed, nor is
the API's hand-model pass from features to joints), and for the sampling loop alone. The text
encoding alone is a row of its own. A second table times the same calls for ``BATCH`` samples of one prompt
in one call (``handgen sample --num-samples 8``), per sample: the texts are encoded once for the batch.
Run dirs come from the environment::

    HANDGEN_BENCH_DIFFUSION_RUN=runs/diff HANDGEN_BENCH_STUDENT_RUN=runs/student \
    HANDGEN_BENCH_EVALUATOR=runs/evaluator HANDGEN_BENCH_DATA=DATA_DIR handgen bench --only few_step

Without trained runs, untrained ones of the tiny configs' architecture are written to a temporary
folder (timings depend only on the architecture). With an evaluator and a DATA_DIR as well, each
sampler row gets its quality beside it: R-Precision top-3 and FID (one replication over the test
split, ``HANDGEN_BENCH_MAX_CLIPS`` to cap it), jitter and motion intensity as ratios to the data's,
and the left/right fist contrast (8 samples per prompt).

``bench_few_step_large`` (section ``few_step_large``) times the same samplers at HandX's size
(``preset: large``, untrained), DDPM-1000 left out (it is 50x DPM-Solver++ 20 by construction).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import torch

from eval.benchmarks.sampling import CONFIGS, PROMPT, TEXT_INFO, _write_common
from handgen.config import load_config
from handgen.models.motion_denoiser import build_denoiser
from handgen.repr.features import FEATURE_DIM
from handgen.sample.consistency_generator import ConsistencyMotionGenerator
from handgen.sample.diffusion_generator import DiffusionMotionGenerator

STUDENT_STEPS: tuple[int, ...] = (1, 2, 4)
BATCH = 8  # samples of one prompt per call in the batched timing
REFERENCE = "DPM-Solver++ 20"


def untrained_pair(root: Path, preset: str = "tiny") -> tuple[Path, Path]:
    """(teacher, student) run dirs of configs/motion_diffusion_tiny.yaml's architecture at ``preset``, random weights."""
    torch.manual_seed(0)
    info = {"feature_dim": FEATURE_DIM, "text_dim": TEXT_INFO["hidden_size"], "clip_len": 60}
    teacher = root / f"teacher_{preset}"
    cfg = load_config(CONFIGS / "motion_diffusion_tiny.yaml", [f"model.preset={preset}"])
    model = build_denoiser(cfg, FEATURE_DIM, TEXT_INFO["hidden_size"])
    _write_common(teacher, cfg, {"model_type": "motion_diffusion", **info}, model)
    student = root / f"student_{preset}"
    scfg = load_config(CONFIGS / "motion_consistency_tiny.yaml", [f"teacher={teacher}"])
    for key, value in cfg.model.items():
        scfg.model[key] = value
    scfg.distill.guidance = scfg.sample.guidance = float(cfg.sample.guidance)
    _write_common(student, scfg, {"model_type": "motion_consistency", **info}, model)
    return teacher, student


class CallCounter:
    """Counts the forward calls of a module while installed (``with CallCounter(model) as c: ...; c.calls``)."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.module, self.calls, self.handle = module, 0, None

    def __enter__(self) -> "CallCounter":
        self.handle = self.module.register_forward_hook(self._hook)
        return self

    def _hook(self, *_) -> None:
        self.calls += 1

    def __exit__(self, *_) -> None:
        self.handle.remove()


def sampler_cases(teacher: DiffusionMotionGenerator, student: ConsistencyMotionGenerator, ddpm: bool = True):
    """(name, engine, generate keyword arguments) per sampler row; DPM-Solver++ 20 first (the reference)."""
    g = float(teacher.cfg.sample.guidance)
    cases = [(f"{REFERENCE} (g={g:g})", teacher, {"sampler": "dpmpp", "steps": 20, "guidance": g})]
    if ddpm:
        cases.append((f"DDPM 1000 (g={g:g})", teacher, {"sampler": "ddpm", "steps": 1000, "guidance": g}))
    cases += [(f"student {s} step{'s' if s > 1 else ''} (g={student.distilled_guidance:g} distilled)", student,
               {"steps": s}) for s in STUDENT_STEPS]
    return cases


def time_samplers(teacher_dir, student_dir, label: str, frames: int = 60, repeats: int = 3,
                  ddpm: bool = True, batch: int = 1) -> tuple[list[dict], list[tuple]]:
    """Timing rows and the cases; ``batch`` samples of one prompt per call, figures per sample.

    Per sampler: s/sample of ``generate`` (text encoding included) and of the sampling loop alone
    (texts encoded once), network calls per sample, and each speed as a ratio to DPM-Solver++ 20's.
    The samplers take turns (``repeats`` rounds after one warm-up round, best of the rounds), so a
    change of machine load falls on all of them; DDPM-1000 is timed once, loop only.
    """
    teacher, student = DiffusionMotionGenerator(teacher_dir), ConsistencyMotionGenerator(student_dir)
    cases = sampler_cases(teacher, student, ddpm)
    bench = f"sample {frames} frames, batch {batch}" + (" (one prompt)" if batch > 1 else "") + f", {label}"
    prompts = [PROMPT] * batch
    calls: dict[str, float] = {}
    full: dict[str, float] = {}
    loop: dict[str, float] = {}
    encoding = float("inf")

    def run(name: str, engine, options: dict, record: bool) -> None:
        texts = engine.encode(prompts)
        timings = (("loop", lambda: engine.sample_window(texts, frames, **options)),) if "DDPM" in name else (
            ("full", lambda: engine.generate(prompts, frames, **options)),
            ("loop", lambda: engine.sample_window(texts, frames, **options)))
        for kind, call in timings:
            with CallCounter(engine.model) as counter:
                start = time.perf_counter()
                call()
                seconds = (time.perf_counter() - start) / batch
            if record:
                table = full if kind == "full" else loop
                table[name] = min(table.get(name, float("inf")), seconds)
                calls[name] = counter.calls  # one call runs the whole batch

    for round_ in range(repeats + 1):  # round 0 warms up
        for name, engine, options in cases:
            if "DDPM" in name and round_ != 1:
                continue
            run(name, engine, options, record=round_ > 0)
        start = time.perf_counter()
        student.encode(prompts)
        if round_ > 0:
            encoding = min(encoding, (time.perf_counter() - start) / batch)
    rows = [{"benchmark": bench, "case": "text encoding of one prompt (3 texts, once per generate call)",
             "value": encoding, "unit": "s/sample"}]
    for name, _, _ in cases:
        if name in full:
            rows.append({"benchmark": bench, "case": f"{name}, whole generate call", "value": full[name],
                         "unit": "s/sample"})
        rows.append({"benchmark": bench, "case": f"{name}, sampling loop only", "value": loop[name], "unit": "s/sample"})
        rows.append({"benchmark": bench, "case": f"{name}: network calls", "value": calls[name],
                     "unit": "calls/sample" if batch == 1 else f"calls per call of {batch} samples"})
    reference = cases[0][0]
    for name, _, _ in cases[1:]:
        if name in full:
            rows.append({"benchmark": bench, "case": f"{name} speed / {REFERENCE}, whole generate call",
                         "value": full[reference] / full[name], "unit": "x (same run)"})
        rows.append({"benchmark": bench, "case": f"{name} speed / {REFERENCE}, sampling loop only",
                     "value": loop[reference] / loop[name], "unit": "x (same run)"})
    return rows, cases


def quality_rows(cases, evaluator: str, data: str, label: str, max_clips: int | None = None) -> list[dict]:
    """Per sampler: R-Precision top-3, FID, jitter and intensity / the data's, fist contrast."""
    from eval.motion_report import evaluate_motion
    from eval.text_following import fist_contrast

    rows = []
    bench = f"sampler quality, {label}"
    for name, engine, options in cases:
        report = evaluate_motion(evaluator, data, ckpt=engine.run_dir, replications=1, mm_texts=0,
                                 penetration_stride=0, max_clips=max_clips,
                                 options={k: v for k, v in options.items() if k != "guidance"})
        model = report["rows"]["model"]["metrics"]
        real = report["rows"]["real"]["metrics"]
        fist = fist_contrast(lambda triplets, n: engine.generate(triplets, n, seed=1, **options).numpy(), num=8)
        for key, unit in (("R_precision_top3", "R-Precision top-3"), ("FID", "FID")):
            rows.append({"benchmark": bench, "case": f"{name}: {unit}", "value": model[key]["mean"], "unit": unit})
        for key, what in (("jitter_m_s3", "jitter"), ("motion_intensity_deg_s", "intensity")):
            rows.append({"benchmark": bench, "case": f"{name}: {what} / data's", "value":
                         model[key]["mean"] / real[key]["mean"], "unit": f"x data ({real[key]['mean']:.3g})"})
        rows.append({"benchmark": bench, "case": f"{name}: left/right fist contrast", "value": fist.contrast,
                     "unit": "rad"})
    return rows


def bench_few_step(frames: int = 60, repeats: int = 3) -> list[dict]:
    """Rows of the module docstring (tiny architecture, or the trained runs of the environment)."""
    teacher_env, student_env = os.environ.get("HANDGEN_BENCH_DIFFUSION_RUN"), os.environ.get("HANDGEN_BENCH_STUDENT_RUN")
    with tempfile.TemporaryDirectory() as tmp:
        if teacher_env and student_env:
            teacher_dir, student_dir, label = teacher_env, student_env, "trained"
        else:
            (teacher_dir, student_dir), label = untrained_pair(Path(tmp)), "untrained tiny"
        rows, cases = time_samplers(teacher_dir, student_dir, label, frames, repeats)
        rows += time_samplers(teacher_dir, student_dir, label, frames, repeats, ddpm=False, batch=BATCH)[0]
        evaluator, data = os.environ.get("HANDGEN_BENCH_EVALUATOR"), os.environ.get("HANDGEN_BENCH_DATA")
        if label == "trained" and evaluator and data:
            max_clips = os.environ.get("HANDGEN_BENCH_MAX_CLIPS")
            rows += quality_rows(cases, evaluator, data, label, int(max_clips) if max_clips else None)
        else:
            rows.append({"benchmark": "sampler quality", "case": "-", "value": float("nan"),
                         "unit": "skipped: set HANDGEN_BENCH_DIFFUSION_RUN, HANDGEN_BENCH_STUDENT_RUN, "
                                 "HANDGEN_BENCH_EVALUATOR and HANDGEN_BENCH_DATA"})
    return rows


def bench_few_step_large(frames: int = 60, repeats: int = 2) -> list[dict]:
    """DPM-Solver++ 20 (guided) vs the student at HandX's size (preset large, untrained), batch 1."""
    with tempfile.TemporaryDirectory() as tmp:
        teacher_dir, student_dir = untrained_pair(Path(tmp), "large")
        rows, _ = time_samplers(teacher_dir, student_dir, "untrained large (HandX size)", frames, repeats, ddpm=False)
    return rows
