"""``handgen eval motion --protocol handx``: a model (or the data itself) scored by HandX's protocol.

The test clips of DATA_DIR in manifest order (for ``prep handx`` data: HandX's member order)
are the ground truth, each with its first caption triplet; a model generates G motions per
triplet (group g with seed ``seed + 1000 g``), ``--real`` scores the clips themselves (G = 1).
Every figure is :func:`eval.handx_protocol.protocol_report`'s, +- the std over the groups.

Evaluator: a handgen evaluator RUN_DIR (its own input convention; numbers comparable only
with other handgen runs), or ``handx:DIR`` for HandX's published evaluator (numbers
comparable with the paper's when the data are HandX's test set).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from eval import handx_protocol as hx
from eval.motion_sets import generate_features, generation_options, load_clip_set, motion_set_from_features
from handgen.api.motion_generator import MotionGenerator
from handgen.errors import HandgenError
from handgen.hand.factory import make_hand_pair
from handgen.io.data_dir import DataDir
from handgen.io.handx_format import read_sample_files
from handgen.sample.evaluator_run import Evaluator

HANDX_PREFIX = "handx:"
PALM_NOTE = "palm points seeded (numpy default_rng(0)); HandX draws them unseeded"


class _RunEvaluator:
    """A handgen evaluator RUN_DIR behind the protocol's two callables."""

    def __init__(self, run_dir: str, device: str) -> None:
        self.evaluator = Evaluator(run_dir, device=device)
        self.caption_field = str(self.evaluator.cfg.text.caption_field)
        self.name = f"handgen evaluator {run_dir}"

    def embed_motion(self, joints: np.ndarray, fps: float) -> np.ndarray:
        return self.evaluator.embed_motions(joints, fps)

    def embed_text(self, triplets: list[dict[str, str]]) -> np.ndarray:
        return self.evaluator.embed_texts(triplets)


def load_evaluator(spec: str, device: str = "cpu", up_axis: str = "z"):
    """``handx:DIR`` (HandX's checkpoint; ``up_axis`` of the data, see prep handx) or a handgen evaluator RUN_DIR.

    Raises:
        HandgenError / InputFileError: missing files, a checkpoint that does not load.
    """
    if spec.startswith(HANDX_PREFIX):
        from eval.handx_evaluator import HandXEvaluator  # imports transformers: only when asked for

        return HandXEvaluator(spec[len(HANDX_PREFIX):], device=device, up_axis=up_axis)
    return _RunEvaluator(spec, device)


def generated_groups(ckpt: str | Path, triplets: list[dict[str, str]], frames: int, generations: int, seed: int,
                     options: dict[str, Any], hands, batch_size: int, device: str,
                     mano_dir: str | None = None) -> tuple[np.ndarray, dict]:
    """(G, N, T, 2, 21, 3) joints of ``generations`` samples per triplet, and run information."""
    generator = MotionGenerator(ckpt, device=device, mano_dir=mano_dir)
    chosen = generation_options(generator, options)
    groups, started = [], time.perf_counter()
    for g in range(generations):
        feats = generate_features(generator, triplets, frames, seed + 1000 * g, chosen, batch_size)
        groups.append(motion_set_from_features(feats, hands).joints)
    seconds = time.perf_counter() - started
    info = {"run_dir": str(ckpt), "model_type": str(generator.cfg.get("model_type")),
            "options": {k: v if v is None or isinstance(v, (int, float, str, bool)) else str(v)
                        for k, v in chosen.items()},
            "seconds_per_sample": seconds / max(generations * len(triplets), 1)}
    return np.stack(groups), info


def evaluate_handx(
    evaluator: str, data_dir: str | Path | None = None, ckpt: str | Path | None = None, real: bool = False,
    samples: str | Path | None = None, split: str = "test", generations: int = hx.DEFAULT_GENERATIONS,
    seed: int = 0, batch_size: int = 64, options: dict[str, Any] | None = None, mano_dir: str | None = None,
    max_clips: int | None = None, device: str = "cpu", up_axis: str | None = None,
) -> dict[str, Any]:
    """The HandX-protocol report (JSON-ready). Exactly one of ``ckpt``, ``real``, ``samples``.

    ``up_axis``: HandX's up axis for the evaluator input and sample files (default: the
    DATA_DIR's ``meta.json`` ``up_axis``, else "z"; see ``prep handx --up-axis``).

    Raises:
        HandgenError: conflicting or missing sources, bad run dirs or data.
    """
    if sum(bool(x) for x in (ckpt, real, samples)) != 1:
        raise HandgenError("give exactly one of --ckpt RUN_DIR, --real or --samples DIR")
    if generations < 1:
        raise HandgenError("--generations must be at least 1")
    if up_axis is None:
        up_axis = "z"
        if samples is None and data_dir is not None and (Path(data_dir) / "meta.json").is_file():
            up_axis = str(DataDir(data_dir).meta.get("up_axis", "z"))
    ev = load_evaluator(str(evaluator), device, up_axis)
    report: dict[str, Any] = {"protocol": "handx", "evaluator": str(evaluator), "seed": seed, "up_axis": up_axis,
                              "notes": [PALM_NOTE]}
    if samples is not None:
        gt, groups, triplets = read_sample_files(samples, up_axis)
        fps, source = 30.0, {"samples": str(samples)}
    else:
        if data_dir is None:
            raise HandgenError("--data DATA_DIR is needed with --ckpt or --real")
        clips = load_clip_set(data_dir, split, ev.caption_field, max_clips)
        gt, triplets, fps = clips.motions.joints, clips.triplets, clips.fps
        source = {"data": str(data_dir), "split": split}
        if real:
            groups = gt[None]
            source["rows"] = "real"
        else:
            hands = make_hand_pair(mano_dir, flat_hand_mean=True)
            groups, info = generated_groups(ckpt, triplets, clips.frames, generations, seed, options or {}, hands,
                                            batch_size, device, mano_dir)
            source["model"] = info
    embed_motion: Callable[[np.ndarray], np.ndarray] = lambda j: ev.embed_motion(j, fps)  # noqa: E731
    report.update(source)
    report.update({"clips": int(len(gt)), "frames": int(gt.shape[1]), "generations": int(len(groups))})
    report["metrics"] = hx.protocol_report(gt, groups, triplets, embed_motion, ev.embed_text, fps=fps)
    return report


def format_handx_report(report: dict[str, Any]) -> str:
    """One line per figure: mean +- std over the generation groups."""
    lines = [f"eval motion --protocol handx: {report['clips']} clips of {report['frames']} frames, "
             f"{report['generations']} generation group(s), evaluator {report['evaluator']}"]
    for key, value in report["metrics"].items():
        lines.append(f"{key:<36}{value['mean']:>12.4f} ± {value['std']:.4f}")
    lines += [f"note: {n}" for n in report.get("notes", [])]
    return "\n".join(lines)
