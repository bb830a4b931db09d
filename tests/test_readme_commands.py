"""The README's commands work as written (issue 24).

Every command in a fenced block of README.md is listed below, in the order that runs them
(data before training, training before sampling). ``test_every_readme_command_is_listed`` fails
when the README and the list differ, so a new or changed command needs an entry here.
``test_readme_commands_run`` runs each "run" entry as written, with the README's placeholders
(DATA_DIR, RAW_DIR, ...) pointing at tiny fixtures and, for training and slow sampling, a few
extra options appended that only make it short (the entry's ``extra``). "skip" entries say which
test covers them instead.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tests.helpers import (
    REPO,
    YCB_DIR,
    cli_in_process,
    tiny_ar_overrides,
    tiny_diffusion_overrides,
    tiny_tokenizer_overrides,
)

README = REPO / "README.md"


@dataclass(frozen=True)
class Entry:
    command: str  # as in the README: continuation lines joined, comment removed, spaces collapsed
    skip: str = ""  # why it is not run here (and what covers it)
    extra: tuple[str, ...] = ()  # appended: options that only make the run short
    replace: tuple[tuple[str, str], ...] = ()  # entry-specific placeholder values


def _train(fn, **kw) -> tuple[str, ...]:
    """The speed overrides of a conftest helper, without the data= / output_dir= the README line gives."""
    return tuple(o for o in fn(Path("x"), Path("y"), **kw) if not o.startswith(("data=", "output_dir=", "tokenizer=")))


_DIFF = _train(tiny_diffusion_overrides, max_steps=3, **{"train.checkpoint_every": 3, "train.val_every": 3})
_FSQ = _train(tiny_tokenizer_overrides, max_steps=3, **{"train.checkpoint_every": 3, "train.val_every": 3})
_AR = _train(tiny_ar_overrides, max_steps=3, **{"train.checkpoint_every": 3, "train.val_every": 3})
_EVALUATOR = ("model.width=32", "model.layers=1", "model.ff=64", "model.latent=32", "train.batch_size=16",
              "train.warmup_steps=0", "text.max_tokens=12", "max_steps=3", "train.val_every=3",
              "train.checkpoint_every=3")
_GRASP = ("model.channels=8", "max_steps=3", "train.batch_size=4", "train.val_every=3", "train.checkpoint_every=3",
          "train.warmup_steps=1", "sdf.cells=32")
_QUICK_EVAL = ("--replications", "1", "--mm-texts", "0", "--penetration-stride", "0")
_FIXTURE = (("DATA_DIR", "fixture_data"),)  # the 96-clip session fixture: enough clips to train and evaluate on
_SET_UP = "set-up of a fresh machine (pip); the tests themselves run in it"

ENTRIES: tuple[Entry, ...] = (
    Entry("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e . && "
          "handgen demo --out demo_out", skip="set-up + the full demo (minutes): tests/test_demo.py runs the demo"),
    Entry("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e \".[test]\" "
          "&& python -m pytest -q --durations=20", skip=_SET_UP),
    Entry("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 --index-url "
          "https://download.pytorch.org/whl/cpu && pip install -e . && handgen demo --out demo_out",
          skip="set-up + the full demo (minutes): tests/test_demo.py runs the demo"),
    Entry("python3 -m venv .venv && . .venv/bin/activate", skip=_SET_UP),
    Entry("pip install -e \".[app]\"", skip=_SET_UP),
    Entry("handgen app --ckpt runs/diff --grasp-ckpt runs/prior",
          skip="serves until Ctrl-C; tests/test_app.py serves the same page (handgen.app.page) on tiny runs and "
               "drives it in chromium"),
    Entry("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu", skip=_SET_UP),
    Entry("pip install -e \".[test]\"", skip=_SET_UP),
    Entry("python -m pytest -q --durations=20", skip="this is the test run"),
    Entry("PYTHONPATH=CHECKOUT python scripts/reproduce_figures.py --work W --out a.json",
          skip="the whole pipeline (~6 min); tests/test_reproduce_figures.py covers its digests and comparison"),
    Entry("PYTHONPATH=CHECKOUT python scripts/reproduce_figures.py --work W --out a.json --ar",
          skip="trains FSQ + AR (~2 min); tests/test_reproduce_figures.py covers its digests and comparison"),
    Entry("python scripts/reproduce_figures.py --compare a.json b.json",
          skip="tests/test_reproduce_figures.py::test_compare_names_the_largest_difference_per_stage"),
    Entry("handgen prep synthetic --out RAW_DIR --num-seqs 256 --seed 0", replace=(("256", "12"),)),
    Entry("handgen prep arctic --src RAW_DIR --out DATA_DIR"),
    Entry("handgen prep handx --src HANDX_DIR --out DATA_DIR",
          skip="needs HandX's released files; tests/test_prep_handx.py writes files in their layout and runs it"),
    Entry("handgen clip --data DATA_DIR --id s01/hands_use_0010/000000 --out clip.npz"),
    Entry("handgen render --motion clip.npz --out clip.gif", extra=("--size", "128")),
    Entry("handgen caption --data DATA_DIR"),
    Entry("OPENAI_API_KEY=... handgen caption --data DATA_DIR --captioner openai --model gpt-4o-mini",
          skip="needs OpenAI's service; the same path runs against a local server in the --base-url line below"),
    Entry("handgen caption --data DATA_DIR --captioner openai --base-url http://127.0.0.1:8000/v1"),
    Entry("handgen train --config configs/motion_diffusion_tiny.yaml data=DATA_DIR output_dir=runs/diff",
          extra=_DIFF, replace=_FIXTURE),
    Entry("python -m eval.text_contrast runs/diff", extra=("--num", "1", "--steps", "2")),
    Entry("handgen train --config configs/motion_consistency_tiny.yaml teacher=runs/diff output_dir=runs/student",
          skip="tests/test_consistency.py distils the session's tiny diffusion run with this config"),
    Entry("handgen sample --ckpt runs/student --left \"The left hand makes a fist.\" --right \"The right "
          "hand waves.\" --both \"The hands move independently.\" --num 4 --seed 0 --out samples_student/",
          skip="tests/test_consistency.py runs handgen sample --ckpt STUDENT (--steps 2) on its distilled student"),
    Entry("accelerate launch -m handgen.train --config configs/motion_diffusion.yaml data=DATA_DIR "
          "output_dir=runs/diff_l", skip="real-scale model; accelerate launch --cpu runs in tests/test_training_loop.py"),
    Entry("handgen train --config configs/motion_diffusion_tiny.yaml data=DATA_DIR output_dir=runs/diff resume=latest",
          extra=_DIFF, replace=_FIXTURE),
    Entry("handgen sample --ckpt runs/diff --left \"The left hand makes a fist.\" --right \"The right hand waves.\" "
          "--both \"The hands move independently.\" --num 4 --seed 0 --out samples/ --render", extra=("--num", "1")),
    Entry("handgen sample --ckpt runs/diff --left \"The left hand makes a fist.\" --right \"The right hand opens flat "
          "with all five fingers spread.\" --both \"The hands move independently.\" --seed 0 --out hero/ --render",
          skip="the hero GIF's command: its right text is 13 tokens, over the fixture run's text.max_tokens 12 (the "
               "README recipe's is 128); the sample --render entry above runs the same path"),
    Entry("handgen sample --ckpt runs/diff --prompts prompts.jsonl --sampler ddim --steps 50 --guidance 2.5 "
          "--out samples_ddim/"),
    Entry("handgen sample --ckpt runs/diff --mode reaction --condition clip.npz --given left --left \"\" "
          "--right \"The right hand waves.\" --both \"The hands move independently.\" --out reaction/"),
    Entry("handgen sample --ckpt runs/diff --mode wrist --condition clip.npz --left \"The left hand makes a fist.\" "
          "--right \"The right hand makes a fist.\" --both \"The hands move independently.\" --out wrist/"),
    Entry("handgen sample --ckpt runs/diff --mode inbetween --condition clip.npz --left \"The left hand opens wide.\" "
          "--right \"The right hand opens wide.\" --both \"The hands move independently.\" --out inbetween/"),
    Entry("handgen sample --ckpt runs/diff --mode keyframe --condition clip.npz --frames-given 0,30,59 "
          "--left \"The left hand waves.\" --right \"The right hand waves.\" --both \"The hands move as mirror "
          "images.\" --out keyframe/"),
    Entry("handgen sample --ckpt runs/diff --frames 180 --left \"The left hand makes a fist.\" "
          "--right \"The right hand waves.\" --both \"The hands move independently.\" --out long/"),
    Entry("handgen export --motion samples/sample_000.npz --format bvh --out sample.bvh"),
    Entry("handgen export --motion samples/sample_000.npz --format obj-seq --out sample_obj/"),
    Entry("handgen export --motion samples/sample_000.npz --format glb --out sample.glb"),
    Entry("handgen export --motion samples/ --format handx-eval --data DATA_DIR --out hx_samples/",
          skip="needs a HandX DATA_DIR (ground truth by source id); tests/test_handx_evaluator.py round-trips it"),
    Entry("handgen train --config configs/evaluator_tiny.yaml data=DATA_DIR output_dir=runs/evaluator",
          extra=_EVALUATOR, replace=_FIXTURE),
    Entry("handgen eval motion --ckpt runs/diff --data DATA_DIR --evaluator runs/evaluator --out report.json",
          extra=(*_QUICK_EVAL, "--steps", "2"), replace=_FIXTURE),
    Entry("handgen eval motion --real --data DATA_DIR --evaluator runs/evaluator --out real.json",
          extra=_QUICK_EVAL, replace=_FIXTURE),
    Entry("handgen eval motion --protocol handx --ckpt runs/diff --data DATA_DIR --evaluator handx:HANDX_EVAL_DIR "
          "--out hx.json", skip="needs HandX's evaluator checkpoint and t5-base; tests/test_handx_evaluator.py and "
          "tests/test_prep_handx.py run the protocol with test-written ones"),
    Entry("handgen eval motion --protocol handx --real --data DATA_DIR --evaluator handx:HANDX_EVAL_DIR "
          "--out hx_real.json", skip="needs HandX's evaluator checkpoint (as above)"),
    Entry("handgen export --format handx-eval --motion samples/ --data DATA_DIR --out hx_samples/",
          skip="needs a HandX DATA_DIR; tests/test_handx_evaluator.py"),
    Entry("handgen eval motion --samples hx_samples/ --evaluator handx:HANDX_EVAL_DIR --out hx.json",
          skip="needs HandX's evaluator checkpoint; tests/test_handx_evaluator.py reads samples back"),
    Entry("handgen prep handx --src HANDX_DIR --out DATA_DIR --up-axis z --workers 2",
          skip="needs HandX's released files; tests/test_prep_handx.py"),
    Entry("handgen train --config configs/motion_diffusion.yaml data=DATA_DIR output_dir=runs/diff_handx",
          skip="real-scale model on HandX's data (GPU)"),
    Entry("handgen bench", skip="minutes of timing, not pass/fail; its table is tested in tests/test_bench_sections.py"),
    Entry("HANDGEN_BENCH_DIFFUSION_RUN=runs/diff HANDGEN_BENCH_AR_RUN=runs/ar handgen bench --only sampling",
          skip="a minute of timing (DDPM-1000, AR without cache), not pass/fail"),
    Entry("HANDGEN_BENCH_DIFFUSION_RUN=runs/diff HANDGEN_BENCH_STUDENT_RUN=runs/student "
          "HANDGEN_BENCH_EVALUATOR=runs/evaluator HANDGEN_BENCH_DATA=DATA_DIR handgen bench --only few_step "
          "few_step_large", skip="minutes of timing and evaluation, not pass/fail; tests/test_consistency.py counts "
          "the student's network calls with the bench's counter"),
    Entry("accelerate config", skip="interactive set-up of accelerate for GPUs"),
    Entry("accelerate launch -m handgen.train --config configs/motion_diffusion.yaml data=DATA_DIR "
          "output_dir=runs/diff train.mixed_precision=bf16 train.batch_size=128", skip="GPU, real scale"),
    Entry("accelerate launch --multi_gpu --num_processes 8 -m handgen.train --config configs/fsq.yaml data=DATA_DIR "
          "output_dir=runs/fsq", skip="8 GPUs"),
    Entry("accelerate launch --num_machines 2 --machine_rank $RANK --main_process_ip $HOST --main_process_port 29500 "
          "--num_processes 16 -m handgen.train --config configs/motion_ar.yaml tokenizer=runs/fsq output_dir=runs/ar",
          skip="two GPU machines"),
    Entry("handgen train --config configs/fsq_tiny.yaml data=DATA_DIR output_dir=runs/fsq_tiny", extra=_FSQ,
          replace=_FIXTURE),
    Entry("handgen train --config configs/fsq_tiny_decoder.yaml init_from=runs/fsq_tiny output_dir=runs/fsq_tiny_dec",
          extra=_FSQ),
    Entry("handgen train --config configs/motion_ar_tiny.yaml tokenizer=runs/fsq_tiny_dec output_dir=runs/ar_tiny",
          extra=_AR),
    Entry("handgen sample --ckpt runs/ar_tiny --left \"The left hand makes a fist.\" --right \"The right hand stays "
          "relaxed.\" --both \"The two hands move independently.\" --num 4 --top-k 50 --guidance 2 --out OUT_DIR",
          replace=(("OUT_DIR", "ar_samples"),)),
    Entry("handgen sample --ckpt runs/ar_tiny --mode prefix --condition clip.npz --frames 120 --left \"The left hand "
          "makes a fist.\" --right \"The right hand stays relaxed.\" --both \"The two hands move independently.\" "
          "--out continued/"),
    Entry("handgen train --config configs/grasp_vqvae_tiny.yaml data=GRASP_DIR output_dir=runs/ae", extra=_GRASP),
    Entry("handgen train --config configs/grasp_prior_tiny.yaml data=GRASP_DIR object_encoder=runs/ae "
          "output_dir=runs/prior", extra=_GRASP),
    Entry("handgen grasp --ckpt runs/prior --mesh ../shared/data/ycb/TomatoSoupCan.obj --category can --out OUT_DIR "
          "--num 2", extra=("--steps", "2", "--inits", "2", "--refine-steps", "2", "--no-render")),
    Entry("handgen render --motion OUT_DIR/grasp_000.npz --out grasp.gif", extra=("--size", "96", "--turntable", "3")),
    Entry("handgen export --motion OUT_DIR/grasp_000.npz --format glb --out grasp.glb"),
    Entry("handgen eval grasp --results OUT_DIR --out report.json", extra=("--sim-seconds", "0.1")),
    Entry("handgen grasp --ckpt runs/prior --sample-prior --category box --out OUT_DIR",
          skip="two minutes even with 2 steps; tests/test_grasp_prior.py::test_handgen_grasp_sample_prior runs it"),
)


def _strip_comment(line: str) -> str:
    """``line`` without a trailing shell comment (a # outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if ch in "\"'" and quote in (None, ch):
            quote = None if quote else ch
        elif ch == "#" and quote is None and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def readme_commands(text: str) -> list[str]:
    """Every command of the README's fenced blocks (continuations joined, comments removed)."""
    commands, block, pending = [], False, ""
    for line in text.splitlines():
        if line.startswith("```"):
            block = not block
            continue
        if not block:
            continue
        line = _strip_comment(line).rstrip()
        joined = (pending + " " + line.strip()) if pending else line.strip()
        if joined.endswith("\\"):
            pending = joined[:-1].strip()
            continue
        pending = ""
        if re.match(r"^([A-Z_]+=\S+ )*(handgen|python3?|pip|accelerate) ", joined + " "):
            commands.append(" ".join(joined.split()))
    return commands


def test_every_readme_command_is_listed():
    listed = [e.command for e in ENTRIES]
    assert len(set(listed)) == len(listed), "an entry is listed twice"
    found = readme_commands(README.read_text(encoding="utf-8"))
    missing = [c for c in found if c not in listed]
    stale = [c for c in listed if c not in found]
    assert not missing, f"README commands with no entry in tests/test_readme_commands.py: {missing}"
    assert not stale, f"entries no longer in the README: {stale}"
    assert all(e.skip or "[" not in e.command for e in ENTRIES), "a command with [optional] parts cannot be pasted"


def test_comment_and_continuation_parsing():
    text = "```bash\nhandgen a --x \"#1\" \\\n    --y 2   # note\nls -l\n```\nhandgen outside\n"
    assert readme_commands(text) == ['handgen a --x "#1" --y 2']


def _run(entry: Entry, values: dict[str, str]) -> int:
    command = entry.command
    for key, value in (*entry.replace, *values.items()):
        command = re.sub(rf"(?<![\w/.]){re.escape(key)}(?![\w])", value, command)
    argv = shlex.split(command) + list(entry.extra)
    env = {}
    while "=" in argv[0] and argv[0].split("=")[0].isupper():
        key, value = argv.pop(0).split("=", 1)
        env[key] = value
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        if argv[0] == "handgen":
            return cli_in_process("-q", *argv[1:])
        if argv[:3] == ["python", "-m", "eval.text_contrast"]:
            from eval.text_contrast import main

            return main(argv[3:])
        raise AssertionError(f"no runner for {command}")
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_readme_commands_run(synthetic_data_dir, tmp_path, monkeypatch, capsys):
    """Each runnable README command, in order, exits 0 and writes what the README says."""
    from chat_server import ChatServer
    from grasp_fixtures import primitive_objects, write_grasp_dir

    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(REPO / "configs")  # the README runs from the repository root
    shutil.copytree(synthetic_data_dir, tmp_path / "fixture_data")
    write_grasp_dir(tmp_path / "grasp_data", primitive_objects(0, 1), per_object=3, seed=0)
    (tmp_path / "prompts.jsonl").write_text(json.dumps(
        {"left": "The left hand makes a fist.", "right": "", "both": "The hands move apart."}) + "\n")
    mesh = YCB_DIR / "TomatoSoupCan.obj"
    if not mesh.is_file():  # the README's relative path from a checkout beside ../shared
        import trimesh

        mesh = tmp_path / "can.obj"
        trimesh.creation.cylinder(radius=0.034, height=0.1).export(mesh)
    values = {"RAW_DIR": "raw", "DATA_DIR": "data", "GRASP_DIR": "grasp_data", "OUT_DIR": "grasps",
              "../shared/data/ycb/TomatoSoupCan.obj": str(mesh)}
    with ChatServer(["good"]) as server:
        values["http://127.0.0.1:8000/v1"] = server.url
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        for entry in ENTRIES:
            if entry.skip:
                continue
            started = time.perf_counter()
            assert _run(entry, values) == 0, entry.command
            seconds = time.perf_counter() - started
            err = capsys.readouterr().err
            bar = "it/s]" in err or "s/it]" in err
            assert not (bar and entry.command.startswith("handgen")), f"-q left a progress bar: {entry.command}\n{err}"
            print(f"{seconds:6.1f} s  {entry.command[:90]}")
    assert len(list((tmp_path / "samples").glob("sample_*.gif"))) == 1  # (--num 1 appended: 4 GIFs take 25 s)
    for folder, frames in (("reaction", 60), ("keyframe", 60), ("long", 180), ("continued", 120)):
        with np.load(tmp_path / folder / "sample_000.npz") as npz:
            assert npz["joints"].shape == (frames, 2, 21, 3), folder
    assert (tmp_path / "sample.bvh").is_file() and (tmp_path / "sample.glb").is_file()
    assert (tmp_path / "grasps" / "grasp_001.ply").is_file() and (tmp_path / "grasp.glb").is_file()
    assert json.loads((tmp_path / "real.json").read_text())["clips"] == 10
