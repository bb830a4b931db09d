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
tokenizer and AR configs (10 steps each) -> ``sample`` -> the AR's fist contrast. Recorded per stage: content hashes of the written arrays
(exact, and rounded to 1e-6), the resolved training configs, the last training-log row, the sampled
joints (sum, abs-max, hash), every number of the eval reports. Timings and paths are left out.
Used for issue 19's check that the restructure (392eca0) changed no figure: see the comparison in the
issue note. One core: set OMP_NUM_THREADS=1.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

PROMPTS = [
    {"left": "The left hand makes a fist.", "right": "The right hand waves.", "both": "The hands move independently."},
    {"left": "The left hand stays relaxed.", "right": "The right hand makes a fist.", "both": ""},
]
# keys whose values are timings, file times, the machine or paths, not figures (side_files: [path, size, mtime];
# the files themselves are hashed in their own stage)
VOLATILE = re.compile(r"(seconds|per_second|mtime|side_files|^wall|elapsed|samples_per_s|^date$|timestamp|path|^run_dir$|^src$|^mesh$|^file$|"
                      r"^results$|^ckpt$|^evaluator$|^data$|^out$|host|torch_version|threads|cores)", re.IGNORECASE)


def array_digest(arrays: dict[str, np.ndarray]) -> dict:
    """Exact and 1e-6-rounded hashes of named arrays (numeric ones also summed); timings and paths left out."""
    exact, rounded, total = hashlib.sha256(), hashlib.sha256(), 0.0
    for key in sorted(k for k in arrays if not VOLATILE.search(k.rsplit("/", 1)[-1])):
        a = np.asarray(arrays[key])
        header = f"{key}:{a.dtype.str}:{a.shape}".encode()
        exact.update(header)
        rounded.update(header)
        if a.dtype.kind in "fc":
            exact.update(np.ascontiguousarray(a).tobytes())
            rounded.update(np.round(a.astype(np.float64) * 1e6).astype(np.int64).tobytes())
            total += float(np.nansum(np.abs(a.astype(np.float64))))
        elif a.dtype.kind in "iub":
            exact.update(np.ascontiguousarray(a).tobytes())
            rounded.update(np.ascontiguousarray(a).tobytes())
            total += float(np.abs(a.astype(np.float64)).sum())
        else:  # strings / pickled objects
            text = repr(a.tolist()).encode()
            exact.update(text)
            rounded.update(text)
    return {"sha256": exact.hexdigest()[:16], "sha256_1e-6": rounded.hexdigest()[:16], "abs_sum": total}


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz / .npy file; pickled ones (our own prep output, trusted) unpacked into their arrays."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=True) as z:
            arrays = {k: z[k] for k in z.files}
    else:
        arrays = {"": np.load(path, allow_pickle=True)}
    out: dict[str, np.ndarray] = {}

    def add(key: str, value) -> None:
        if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
            value = value.item()
        if isinstance(value, dict):
            for k, v in value.items():
                add(f"{key}/{k}", v)
        else:
            out[key] = np.asarray(value)

    for key, a in arrays.items():
        add(key, a)
    return out


def folder_digest(root: Path, patterns=("*.npz", "*.npy")) -> dict:
    """Per-file content digests of the arrays under ``root`` (zip timestamps ignored) + text files' hashes."""
    out = {}
    for pattern in patterns:
        for path in sorted(root.rglob(pattern)):
            if "text_cache" in path.parts or "sdf_cache" in path.parts:
                continue
            out[str(path.relative_to(root))] = array_digest(load_arrays(path))
    for path in sorted(root.rglob("*.obj")):
        out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    for path in sorted(root.rglob("*.json")):
        if "text_cache" in path.parts or "sdf_cache" in path.parts:
            continue
        out[str(path.relative_to(root))] = hashlib.sha256(
            json.dumps(strip_volatile(json.loads(path.read_text())), sort_keys=True).encode()).hexdigest()[:16]
    for path in sorted(root.rglob("*.jsonl")):
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        out[str(path.relative_to(root))] = hashlib.sha256(
            json.dumps(strip_volatile(lines), sort_keys=True).encode()).hexdigest()[:16]
    return out


def strip_volatile(value):
    """``value`` without timing/path entries (recursively)."""
    if isinstance(value, dict):
        return {k: strip_volatile(v) for k, v in value.items() if not VOLATILE.search(str(k))}
    if isinstance(value, list):
        return [strip_volatile(v) for v in value]
    return value


def flatten_numbers(value, prefix: str = "") -> dict[str, float | str]:
    """Every number (and string) of a JSON value, keyed by its path; timings and paths left out."""
    out = {}
    if isinstance(value, dict):
        for k, v in value.items():
            if not VOLATILE.search(str(k)):
                out.update(flatten_numbers(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(flatten_numbers(v, f"{prefix}[{i}]"))
    elif isinstance(value, (bool, int, float)):
        out[prefix] = float(value)
    elif isinstance(value, str):
        out[prefix] = value
    return out


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
        p.handgen("train", "--config", configs / "motion_ar_tiny.yaml", "tokenizer=runs/fsq", "output_dir=runs/ar",
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


def leaves(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


def compare(a: dict, b: dict) -> dict[str, dict]:
    """Per stage: the largest relative difference of its numbers, unequal hashes/strings, keys on one side only."""
    report = {}
    for stage in sorted(set(a) | set(b)):
        if stage in ("commands", "environment", "failure"):
            continue
        la, lb = dict(leaves(a.get(stage, {}))), dict(leaves(b.get(stage, {})))
        worst, worst_key, changed = 0.0, None, []
        for key in sorted(set(la) & set(lb)):
            va, vb = la[key], lb[key]
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool):
                rel = abs(va - vb) / max(abs(va), abs(vb), 1e-12)
                if rel > worst:
                    worst, worst_key = rel, key
            elif va != vb:
                changed.append(key)
        report[stage] = {"max_rel_diff": worst, "at": worst_key, "unequal_values": changed,
                         "only_in_first": sorted(set(la) - set(lb)), "only_in_second": sorted(set(lb) - set(la)),
                         "numbers": len(set(la) & set(lb))}
    return report


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
