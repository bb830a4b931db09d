"""Run every pipeline stage behind docs/ figures on a small input and write their numbers to one JSON.

    PYTHONPATH=TREE python scripts/reproduce_figures.py --work DIR --out numbers.json
    PYTHONPATH=TREE python scripts/reproduce_figures.py --work DIR --out numbers.json --ar   # + FSQ/AR stages
    python scripts/reproduce_figures.py --compare a.json b.json     # largest relative difference per stage

The stages are the README's commands, run as subprocesses of this interpreter (so ``PYTHONPATH`` picks the
handgen checkout under test; this script imports no handgen module and runs on any commit since ccb2b8b):
``prep synthetic`` (20 sequences of 120 frames, seed 0, all with objects) -> ``prep arctic`` -> ``caption --captioner
rules`` -> ``train`` the tiny diffusion and evaluator configs (30 steps) -> ``sample`` (seed 0, two prompts)
-> ``eval motion`` (the test split: 6 clips) -> the fist contrast of ``eval.text_contrast`` (2 samples per prompt) ->
``prep grasps`` -> tiny grasp autoencoder and prior (10 steps, 32^3 grids) -> ``grasp`` on a 16 x 8 x 5 cm
box (seed 0, few steps) -> ``eval grasp``; with ``--ar`` afterwards, on the same DATA_DIR: the tiny FSQ
tokenizer, its decoder fine-tune (where configs/fsq_tiny_decoder.yaml exists) and AR configs (10 steps each) -> ``sample`` -> the AR's fist contrast. Recorded per stage: content hashes of the written arrays
(exact, and rounded to 1e-6), the resolved training configs, the last training-log row, the sampled
joints (sum, abs-max, hash), every number of the eval reports. Timings and paths are left out.
Used for issue 19's check that the restructure (392eca0) changed no figure: see the comparison in the
issue note. One core: set OMP_NUM_THREADS=1.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from figure_numbers import VOLATILE, array_digest, compare, flatten_numbers, folder_digest, load_arrays, strip_volatile

PROMPTS = [
    {"left": "The left hand makes a fist.", "right": "The right hand waves.", "both": "The hands move independently."},
    {"left": "The left hand stays relaxed.", "right": "The right hand makes a fist.", "both": ""},
]
def last_log_row(run_dir: Path) -> dict[str, float]:
    """The last row of ``log.csv`` that has a training loss, and the last validation loss, as numbers."""
    rows = list(csv.DictReader((run_dir / "log.csv").open()))
    train = [r for r in rows if r.get("loss")][-1]
    out = {f"train.{k}": float(v) for k, v in train.items() if v not in ("", None) and not VOLATILE.search(k)}
    val = [r for r in rows if r.get("val_loss")]
    if val:
        out["val_loss"] = float(val[-1]["val_loss"])
    return out


def run_config(run_dir: Path) -> dict:
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    return strip_volatile({k: v for k, v in config.items() if k not in ("output_dir", "data", "tokenizer",
                                                                        "object_encoder", "resume")})


class Pipeline:
    """The commands, run in ``work``; ``log`` collects every command line and its wall time."""

    def __init__(self, work: Path):
        self.work = work
        self.log: list[dict] = []

    def handgen(self, *args) -> str:
        return self.python("-m", "handgen", *args)

    def python(self, *args) -> str:
        cmd = [sys.executable, *map(str, args)]
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=self.work, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        self.log.append({"cmd": " ".join(cmd[1:]), "seconds": round(seconds, 1), "rc": proc.returncode})
        print(f"[{seconds:6.1f} s] {' '.join(cmd[1:])[:160]}", flush=True)
        if proc.returncode != 0:
            raise RuntimeError(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc.stdout


def box_mesh(path: Path) -> Path:
    """A 16 x 8 x 5 cm box as an .obj (written by hand: the same bytes whatever trimesh version)."""
    hx, hy, hz = 0.08, 0.04, 0.025
    corners = [(sx * hx, sy * hy, sz * hz) for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]
    faces = [(1, 3, 4), (1, 4, 2), (5, 6, 8), (5, 8, 7), (1, 2, 6), (1, 6, 5),
             (3, 7, 8), (3, 8, 4), (1, 5, 7), (1, 7, 3), (2, 4, 8), (2, 8, 6)]
    path.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in corners) + "".join(f"f {a} {b} {c}\n" for a, b, c in faces))
    return path


CONTRAST = """
import json, sys
from eval.text_contrast import run_contrast
result, _ = run_contrast(sys.argv[1], num=2, frames=60, seed=1, **json.loads(sys.argv[2]))
print("JSON" + json.dumps({"left_fist": list(result.left_fist), "right_fist": list(result.right_fist),
                           "contrast": result.contrast}))
"""


def run_stages(work: Path, ycb_dir: str, steps: int = 30, raw_from: Path | None = None) -> list[dict]:
    """Run the commands in ``work`` (emptied first); the command log. Raises on the first failing command.

    ``raw_from``: copy this ``prep synthetic`` output instead of running it (to tell a later stage's change
    from a change of the synthetic data).
    """
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    p = Pipeline(work)
    try:
        handgen_file = p.python("-c", "import handgen; print(handgen.__file__)").strip()
        (work / "handgen_file.txt").write_text(handgen_file)
        configs = Path(handgen_file).resolve().parents[1] / "configs"  # the checkout under test's configs/

        if raw_from is None:
            p.handgen("prep", "synthetic", "--out", "raw", "--num-seqs", 20, "--frames", 120, "--seed", 0,
                      "--objects", 1.0, "--ycb-dir", ycb_dir)
        else:
            shutil.copytree(raw_from, work / "raw")
            p.log.append({"cmd": f"copy {raw_from} raw", "seconds": 0.0, "rc": 0})
        p.handgen("prep", "arctic", "--src", "raw", "--out", "data")
        p.handgen("caption", "--data", "data", "--captioner", "rules")

        common = [f"max_steps={steps}", "train.log_every=10", f"train.val_every={steps}",
                  f"train.checkpoint_every={steps}", "train.warmup_steps=5", "train.batch_size=8", "train.val_items=16"]
        p.handgen("train", "--config", configs / "motion_diffusion_tiny.yaml", "data=data", "output_dir=runs/diff",
                  *common)
        p.handgen("train", "--config", configs / "evaluator_tiny.yaml", "data=data", "output_dir=runs/evaluator",
                  *common)

        prompts = work / "prompts.jsonl"
        prompts.write_text("".join(json.dumps(t) + "\n" for t in PROMPTS))
        p.handgen("sample", "--ckpt", "runs/diff", "--prompts", prompts, "--seed", 0, "--out", "samples")
        p.handgen("eval", "motion", "--ckpt", "runs/diff", "--data", "data", "--evaluator", "runs/evaluator",
                  "--out", "motion_report.json", "--max-clips", 8, "--replications", 1, "--mm-texts", 2,
                  "--mm-samples", 2, "--batch-size", 8, "--rprecision-batch", 4, "--penetration-stride", 10,
                  "--steps", 10)
        stdout = p.python("-c", CONTRAST, "runs/diff", json.dumps({"steps": 10}))
        (work / "text_contrast.json").write_text(stdout.split("JSON", 1)[1])

        p.handgen("prep", "grasps", "--src", "raw", "--out", "grasp_data", "--stride", 3)
        tiny = ["model.channels=8", "sdf.cells=32", "train.batch_size=4", "train.log_every=5", "train.val_every=10",
                "train.checkpoint_every=10", "train.warmup_steps=3", "max_steps=10"]
        p.handgen("train", "--config", configs / "grasp_vqvae_tiny.yaml", "data=grasp_data", "output_dir=runs/ae",
                  *tiny)
        p.handgen("train", "--config", configs / "grasp_prior_tiny.yaml", "data=grasp_data",
                  "object_encoder=runs/ae", "output_dir=runs/prior", *tiny)
        p.handgen("grasp", "--ckpt", "runs/prior", "--mesh", box_mesh(work / "box.obj"), "--category", "box",
                  "--out", "grasps", "--num", 2, "--steps", 12, "--inits", 2, "--refine-steps", 20, "--seed", 0,
                  "--threads", 1, "--no-render")
        p.handgen("eval", "grasp", "--results", "grasps", "--out", "grasp_report.json", "--sim-seconds", 0.25)
    finally:
        (work / "commands.json").write_text(json.dumps(p.log, indent=1))
    return p.log


def run_ar_stages(work: Path, steps: int = 10) -> list[dict]:
    """The FSQ tokenizer + AR stages on ``work``'s existing DATA_DIR (``work/data``); the command log."""
    p = Pipeline(work)
    try:
        configs = Path((work / "handgen_file.txt").read_text()).resolve().parents[1] / "configs"
        common = [f"max_steps={steps}", "train.log_every=5", f"train.val_every={steps}",
                  f"train.checkpoint_every={steps}", "train.warmup_steps=3", "train.batch_size=8", "train.val_items=16"]
        p.handgen("train", "--config", configs / "fsq_tiny.yaml", "data=data", "output_dir=runs/fsq", *common)
        tokenizer = "runs/fsq"
        if (configs / "fsq_tiny_decoder.yaml").is_file():  # the README's decoder stage (commits since 6cedb30)
            p.handgen("train", "--config", configs / "fsq_tiny_decoder.yaml", "init_from=runs/fsq",
                      "output_dir=runs/fsq_dec", *common)
            tokenizer = "runs/fsq_dec"
        p.handgen("train", "--config", configs / "motion_ar_tiny.yaml", f"tokenizer={tokenizer}", "output_dir=runs/ar",
                  *common)
        p.handgen("sample", "--ckpt", "runs/ar", "--prompts", work / "prompts.jsonl", "--seed", 0, "--out", "samples_ar")
        stdout = p.python("-c", CONTRAST, "runs/ar", json.dumps({"guidance": 2.0}))
        (work / "text_contrast_ar.json").write_text(stdout.split("JSON", 1)[1])
    finally:
        (work / "commands_ar.json").write_text(json.dumps(p.log, indent=1))
    return p.log


def collect(work: Path) -> dict:
    """The numbers of every stage whose output is in ``work`` (a stage that did not run is missing)."""
    def run_numbers(run: Path) -> dict:
        return {"log": last_log_row(run), "config": run_config(run),
                "weights": array_digest(safetensors_arrays(run / "model.safetensors"))}

    def sample_numbers(folder: Path) -> dict:
        samples = {}
        for path in sorted(folder.glob("sample_*.npz")):
            with np.load(path) as z:
                joints = z["joints"].astype(np.float64)  # (T, 2, 21, 3) metres
            samples[path.name] = {"sum": float(joints.sum()), "abs_max": float(np.abs(joints).max()),
                                  **array_digest({"joints": joints})}
        return samples

    def grasp_numbers(folder: Path) -> dict:
        grasps = {path.name: array_digest(load_arrays(path)) for path in sorted(folder.glob("grasp_*.npz"))}
        grasps["summary"] = flatten_numbers(json.loads((folder / "summary.json").read_text()))
        return grasps

    stages = {
        "prep_synthetic": lambda: folder_digest(work / "raw"),
        "prep_arctic_caption": lambda: folder_digest(work / "data"),
        "train_diff": lambda: run_numbers(work / "runs" / "diff"),
        "train_evaluator": lambda: run_numbers(work / "runs" / "evaluator"),
        "sample": lambda: sample_numbers(work / "samples"),
        "eval_motion": lambda: flatten_numbers(json.loads((work / "motion_report.json").read_text())),
        "text_contrast": lambda: flatten_numbers(json.loads((work / "text_contrast.json").read_text())),
        "prep_grasps": lambda: folder_digest(work / "grasp_data"),
        "train_ae": lambda: run_numbers(work / "runs" / "ae"),
        "train_prior": lambda: run_numbers(work / "runs" / "prior"),
        "grasp": lambda: grasp_numbers(work / "grasps"),
        "eval_grasp": lambda: flatten_numbers(json.loads((work / "grasp_report.json").read_text())),
        "train_fsq": lambda: run_numbers(work / "runs" / "fsq"),
        "train_fsq_decoder": lambda: run_numbers(work / "runs" / "fsq_dec"),
        "train_ar": lambda: run_numbers(work / "runs" / "ar"),
        "sample_ar": lambda: sample_numbers(work / "samples_ar"),
        "text_contrast_ar": lambda: flatten_numbers(json.loads((work / "text_contrast_ar.json").read_text())),
    }
    out: dict[str, dict] = {}
    for stage, numbers in stages.items():
        try:
            out[stage] = numbers()
        except (OSError, KeyError, IndexError, ValueError) as exc:
            out[stage] = {"missing": f"{type(exc).__name__}: {exc}"}
    handgen_file = work / "handgen_file.txt"
    out["environment"] = {"python": sys.version.split()[0], "numpy": np.__version__,
                          "handgen": handgen_file.read_text() if handgen_file.exists() else None}
    commands = work / "commands.json"
    out["commands"] = {"log": json.loads(commands.read_text()) if commands.exists() else []}
    return out


def safetensors_arrays(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", help="scratch folder (emptied)")
    parser.add_argument("--out", help="JSON to write")
    parser.add_argument("--steps", type=int, default=30, help="training steps of the motion models (default 30)")
    parser.add_argument("--ycb-dir", default=os.environ.get("HANDGEN_YCB_DIR", "../shared/data/ycb"))
    parser.add_argument("--raw-from", help="copy this prep synthetic output (RAW_DIR) instead of making it")
    parser.add_argument("--ar", action="store_true",
                        help="add the FSQ tokenizer + AR stages (10 steps each) to an existing --work folder")
    parser.add_argument("--collect-only", action="store_true", help="re-read the numbers of an existing --work folder")
    parser.add_argument("--compare", nargs=2, metavar="JSON", help="compare two outputs instead")
    args = parser.parse_args(argv)
    if args.compare:
        a, b = (json.loads(Path(p).read_text()) for p in args.compare)
        print(json.dumps(compare(a, b), indent=1))
        return 0
    if not (args.work and args.out):
        parser.error("--work and --out are required (or --compare A B)")
    work = Path(args.work).resolve()
    failure = None
    if args.ar:
        try:
            run_ar_stages(work)
        except RuntimeError as exc:
            failure = str(exc)
            print(failure, file=sys.stderr)
    elif not args.collect_only:
        try:
            run_stages(work, str(Path(args.ycb_dir).resolve()), args.steps,
                       Path(args.raw_from).resolve() if args.raw_from else None)
        except RuntimeError as exc:  # write what the stages before it produced
            failure = str(exc)
            print(failure, file=sys.stderr)
    numbers = collect(work)
    numbers["failure"] = {"message": failure}
    Path(args.out).write_text(json.dumps(numbers, indent=1, sort_keys=True))
    print(f"wrote {args.out}")
    return 1 if failure else 0


if __name__ == "__main__":
    raise SystemExit(main())
