"""What ``handgen demo`` runs: the stage list and the two demo sizes (full and ``--fast``).

Every stage calls the same code as the corresponding ``handgen`` command (``prep``, ``caption``,
``train``, ``sample``, ``grasp``, ``eval``), so the demo is also an end-to-end check of the suite.
Layout of OUT_DIR::

    raw/             synthetic ARCTIC-format sequences (with objects) + ground-truth captions
    data/            DATA_DIR (clips, features, captions)        <- prep arctic + caption
    grasp_data/      GRASP_DIR (bimanual grasp frames)           <- prep grasps
    runs/{motion_diffusion,evaluator,grasp_vqvae,grasp_prior}/   <- train
    samples/{text,reaction,long_horizon}/   sample_XXX.npz (+ .gif for the first sample of each prompt)
    grasps/          grasp_XXX.npz/.glb/.png on a YCB mesh
    reports/         motion.json (model and real rows), grasp.json, summary.md
    logs/            the full output of each stage
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from handgen.demo.follows import Check
from handgen.demo.invoke import handgen_command
from handgen.demo.stages import Stage
from handgen.errors import HandgenError

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DemoSize:
    """How big each stage is; ``FULL`` takes ~14 minutes and ``FAST`` ~1 minute on 2 idle CPU cores.

    ``objects`` is ``prep synthetic --objects``: FULL keeps the 16 hand-object sequences of 48 at 1/3
    (the grasp data) and makes the rest hands-only; ``min_count`` is what the data plan asks of each
    prompted motion (hand-only sequences, about 80 % of them training); ``samples_per_prompt`` are
    sampled and measured for every prompt (the summary's "follows: left fist 4/4 yes").
    """

    name: str
    num_seqs: int
    objects: float
    min_count: int
    samples_per_prompt: int
    frames: int
    diffusion_steps: int
    evaluator_steps: int
    vqvae_steps: int
    prior_steps: int
    batch_size: int
    grasp_steps: int
    grasp_refine_steps: int
    grasp_inits: int
    eval_clips: int
    eval_replications: int
    sample_steps: int


FULL = DemoSize("full", num_seqs=160, objects=0.1, min_count=20, samples_per_prompt=4, frames=90,
                diffusion_steps=500, evaluator_steps=400, vqvae_steps=150, prior_steps=200, batch_size=32,
                grasp_steps=150, grasp_refine_steps=150, grasp_inits=4, eval_clips=128, eval_replications=3, sample_steps=20)
FAST = DemoSize("fast", num_seqs=8, objects=1 / 3, min_count=1, samples_per_prompt=2, frames=90,
                diffusion_steps=20, evaluator_steps=20, vqvae_steps=10, prior_steps=10, batch_size=8,
                grasp_steps=15, grasp_refine_steps=80, grasp_inits=2, eval_clips=32, eval_replications=1, sample_steps=5)

# the demo's prompts (samples/text holds samples_per_prompt of each, prompt by prompt), then a reaction and a
# long-horizon sample (prompt 1), worded as the data's captions word them. Each asks for finger shapes per hand,
# which the 500-step model learns. Not a wave, a pinch, nor the hands moving towards each other: neither this
# model nor the README's 1500-step one learns them (a "wave" swings the fingertip 0.9-1.2 cm, the data's waves
# 4.6-15.7 cm; on "the hands move toward each other" the wrists' gap changes by -5 to +4 cm, the data's closes
# by 8-21 cm; README, "handgen demo").
PROMPTS = (
    {"left": "The left hand opens wide with the fingers spread and stays still.",
     "right": "The right hand closes into a fist.", "both": "The hands move independently."},
    {"left": "The left hand closes into a fist.", "right": "The right hand opens wide with the fingers spread.",
     "both": "The hands move independently."},
    {"left": "The left hand points with the index finger.", "right": "The right hand closes into a fist.",
     "both": "The hands move independently."},
)
# what each prompt asks for, measured on the samples' joints in the summary (handgen.demo.follows)
PROMPT_CHECKS = (
    (Check("left", "open"), Check("left", "still"), Check("right", "fist")),
    (Check("left", "fist"), Check("right", "open")),
    (Check("left", "point"), Check("right", "fist")),
)
ALL_CHECKS = tuple(dict.fromkeys(c for group in PROMPT_CHECKS for c in group))
GRASP_MESH = "CrackerBox.obj"
GRASP_CATEGORY = "cracker box"


def config_path(name: str) -> Path:
    """``configs/<name>.yaml`` of this checkout; HandgenError if the configs folder is missing."""
    path = REPO_ROOT / "configs" / f"{name}.yaml"
    if not path.exists():
        raise HandgenError(f"{path} not found: run the demo from a handgen checkout (pip install -e .)")
    return path


def _train(config: str, data: Path, out: Path, steps: int, batch: int, *overrides: str) -> None:
    """``handgen train`` resuming from the newest checkpoint, so a killed demo continues where it stopped."""
    handgen_command("train", "--config", config_path(config), f"data={data}", f"output_dir={out}",
                    f"max_steps={steps}", f"train.batch_size={batch}", "resume=latest",
                    f"train.checkpoint_every={max(steps // 2, 1)}", f"train.val_every={steps}", *overrides)


def demo_stages(out: Path, size: DemoSize, mesh: Path, category: str, ycb_dir: Path | None,
                data_seed: int = 0) -> list[Stage]:
    """The ordered stages writing OUT_DIR's fixed layout (see the module docstring).

    ``mesh`` and ``category`` are what the grasp stage grasps; ``ycb_dir`` (or None) feeds the synthetic data,
    made with ``data_seed`` (:func:`handgen.demo.data_plan.covering_seed`).
    """
    raw, data, grasp_data = out / "raw", out / "data", out / "grasp_data"
    runs, samples, reports = out / "runs", out / "samples", out / "reports"
    prompts_file = out / "prompts.jsonl"
    text_dir, reaction_dir, long_dir = samples / "text", samples / "reaction", samples / "long_horizon"
    clip_len = 60
    sample_args = ("--sampler", "dpmpp", "--steps", str(size.sample_steps))
    per_prompt = size.samples_per_prompt

    def synthetic() -> None:
        ycb = ("--ycb-dir", ycb_dir) if ycb_dir is not None else ()
        handgen_command("prep", "synthetic", "--out", raw, "--num-seqs", size.num_seqs, "--frames", size.frames,
                        "--seed", data_seed, "--objects", size.objects, *ycb)

    def prep() -> None:
        handgen_command("prep", "arctic", "--src", raw, "--out", data)
        handgen_command("prep", "grasps", "--src", raw, "--out", grasp_data)

    def caption() -> None:
        handgen_command("caption", "--data", data, "--captioner", "rules")

    def diffusion() -> None:
        _train("motion_diffusion_tiny", data, runs / "motion_diffusion", size.diffusion_steps, size.batch_size)

    def evaluator() -> None:
        _train("evaluator_tiny", data, runs / "evaluator", size.evaluator_steps, size.batch_size)

    def sample() -> None:
        import json

        prompts_file.write_text("".join(json.dumps(p) + "\n" for p in PROMPTS))
        ckpt = runs / "motion_diffusion"
        handgen_command("sample", "--ckpt", ckpt, "--prompts", prompts_file, "--num", per_prompt, "--out", text_dir,
                        *sample_args)
        handgen_command("sample", "--ckpt", ckpt, "--mode", "reaction", "--given", "left",
                        "--condition", text_dir / "sample_000.npz", "--right", "the right hand mirrors the left",
                        "--left", "", "--both", "", "--out", reaction_dir, "--render", *sample_args)
        handgen_command("sample", "--ckpt", ckpt, "--frames", 2 * clip_len, "--left", PROMPTS[1]["left"],
                        "--right", PROMPTS[1]["right"], "--both", PROMPTS[1]["both"], "--num", per_prompt,
                        "--out", long_dir, *sample_args)
        for first in [text_dir / f"sample_{p * per_prompt:03d}.npz" for p in range(len(PROMPTS))] + [
                long_dir / "sample_000.npz"]:  # a GIF of each prompt's first sample
            handgen_command("render", "--motion", first, "--out", first.with_suffix(".gif"))

    def grasp_prior() -> None:
        vqvae = runs / "grasp_vqvae"
        _train("grasp_vqvae_tiny", grasp_data, vqvae, size.vqvae_steps, 8)
        _train("grasp_prior_tiny", grasp_data, runs / "grasp_prior", size.prior_steps, 16, f"object_encoder={vqvae}")

    def grasp() -> None:
        import torch

        handgen_command("grasp", "--ckpt", runs / "grasp_prior", "--mesh", mesh, "--category", category,
                        "--out", out / "grasps", "--num", 1, "--steps", size.grasp_steps,
                        "--refine-steps", size.grasp_refine_steps, "--inits", size.grasp_inits,
                        "--threads", torch.get_num_threads())

    def evaluate() -> None:
        import json

        test_clips = sum(json.loads(line)["split"] == "test" for line in (data / "manifest.jsonl").open())
        batch = max(2, min(32, test_clips, size.eval_clips))  # the protocol's 32 when the split allows it
        common = ("--data", data, "--evaluator", runs / "evaluator", "--max-clips", size.eval_clips,
                  "--replications", size.eval_replications, "--mm-texts", 0, "--rprecision-batch", batch)
        handgen_command("eval", "motion", "--ckpt", runs / "motion_diffusion", "--out", reports / "motion.json",
                        "--sampler", "dpmpp", "--steps", size.sample_steps, *common)
        handgen_command("eval", "grasp", "--results", out / "grasps", "--out", reports / "grasp.json")

    return [
        Stage("synthetic", "synthetic hand and hand-object sequences", synthetic, [raw / "captions.jsonl"]),
        Stage("prep", "prep arctic + prep grasps", prep, [data / "manifest.jsonl", grasp_data]),
        Stage("caption", "rule-based captions", caption, [data / "manifest.jsonl"]),
        Stage("diffusion", "train the tiny text-to-motion diffusion model", diffusion,
              [runs / "motion_diffusion" / "model.safetensors"]),
        Stage("evaluator", "train the tiny text-motion evaluator", evaluator,
              [runs / "evaluator" / "model.safetensors"]),
        Stage("sample", "sample prompts, a reaction and a long-horizon motion (GIFs)", sample,
              [text_dir / "sample_000.npz", reaction_dir / "sample_000.gif", long_dir / "sample_000.gif"]),
        Stage("grasp_prior", "train the tiny object autoencoder and grasp prior", grasp_prior,
              [runs / "grasp_prior" / "model.safetensors"]),
        Stage("grasp", f"bimanual grasp on {mesh.name} ({category})", grasp, [out / "grasps" / "grasp_000.npz"]),
        Stage("eval", "evaluate motions and grasps", evaluate,
              [reports / "motion.json", reports / "grasp.json"]),
    ]
