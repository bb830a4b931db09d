"""``handgen eval motion``: score a motion model (or the data itself) against a DATA_DIR's test split.

Protocol (fixed seeds, see :mod:`handgen.analysis.embedding_metrics` and :mod:`eval.hand_metrics`): every
test clip gives its first caption triplet; each replication r generates one motion per
triplet with seed ``seed + 1000 r`` and measures the set (R-Precision shuffles with seed r,
diversity pairs with seed r); MultiModality generates ``mm_samples`` motions for each of
``mm_texts`` triplets per replication. Every figure is reported as mean and 95% interval
over the replications. The ``real`` row scores the test clips themselves (its FID is 0 and
its contact scores 1 by construction; its shuffled-text R-Precision shows chance).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval import hand_metrics as hm
from eval import handx_contacts as hc
from eval import handx_protocol as hx
from eval.motion_sets import (
    ClipSet,
    MotionSet,
    generate_features,
    generation_options,
    load_clip_set,
    motion_set_from_features,
)
from handgen.analysis import embedding_metrics as mm
from handgen.api.motion_generator import MotionGenerator
from handgen.errors import HandgenError
from handgen.hand.factory import make_hand_pair
from handgen.sample.evaluator_run import Evaluator

log = logging.getLogger(__name__)

# metric -> (label, better): better is "lower", "higher" or "real" (closer to the real row)
METRICS: dict[str, tuple[str, str]] = {
    "FID": ("FID", "lower"),
    "R_precision_top1": ("R-Precision top-1", "higher"),
    "R_precision_top2": ("R-Precision top-2", "higher"),
    "R_precision_top3": ("R-Precision top-3", "higher"),
    "R_precision_shuffled_top3": ("R-Precision top-3, shuffled texts", "chance"),
    "MM_Dist": ("Matching score (MM-Dist)", "lower"),
    "Diversity": ("Diversity", "real"),
    "MultiModality": ("MultiModality", "higher"),
    "MPJPE_mm": ("MPJPE vs ground truth, wrist-relative (mm)", "lower"),
    "MPJPE_abs_mm": ("MPJPE vs ground truth, absolute (mm)", "lower"),
    "contact_intra_precision": ("intra-hand contact precision", "higher"),
    "contact_intra_recall": ("intra-hand contact recall", "higher"),
    "contact_intra_f1": ("intra-hand contact F1", "higher"),
    "contact_inter_precision": ("inter-hand contact precision", "higher"),
    "contact_inter_recall": ("inter-hand contact recall", "higher"),
    "contact_inter_f1": ("inter-hand contact F1", "higher"),
    "contact_ratio": ("contact ratio", "real"),
    "contact_ratio_intra": ("contact ratio, intra-hand", "real"),
    "contact_ratio_inter": ("contact ratio, inter-hand", "real"),
    "contact_duration_s": ("mean contact duration (s)", "real"),
    "contact_frequency_hz": ("contact frequency (events/s)", "real"),
    "motion_intensity_deg_s": ("motion intensity, handgen (deg/s)", "real"),
    "joint_angular_velocity_deg_s": ("joint angular velocity, HandX (deg/s)", "real"),
    "jitter_m_s3": ("jitter, mean jerk (m/s^3)", "lower"),
    "interpenetration_mm": ("hand-hand penetration, clip max (mm)", "lower"),
    "interpenetration_frames": ("frames with hand-hand penetration > 1 mm", "lower"),
    "joint_limit_violation_rate": ("joint-limit violations (fraction)", "lower"),
    "joint_limit_excess_deg": ("joint-limit excess (deg)", "lower"),
}


class Reference:
    """What every set is compared with: the clips' embeddings and contact flags."""

    def __init__(self, evaluator, clips: ClipSet) -> None:
        self.clips = clips
        self.text = evaluator.embed_texts(clips.triplets)
        self.motion = evaluator.embed_motions(clips.motions.joints, clips.fps)
        self.intra, self.inter = hm.contact_flags(clips.motions.joints)


def embedding_scores(emb: np.ndarray, ref: Reference, seed: int, real: bool = False,
                     rp_batch: int = mm.R_PRECISION_BATCH) -> dict[str, float]:
    """The evaluator-space metrics of one replication: R-Precision, FID, MM-Dist, Diversity."""
    out: dict[str, float] = {}
    rp = mm.r_precision(emb, ref.text, seed=seed, batch_size=rp_batch)
    out.update({f"R_precision_top{k + 1}": float(v) for k, v in enumerate(rp)})
    if real:
        perm = np.random.default_rng([seed, 1]).permutation(len(emb))
        out["R_precision_shuffled_top3"] = float(mm.r_precision(emb, ref.text[perm], seed=seed, batch_size=rp_batch)[2])
    out["FID"] = mm.fid(emb, ref.motion)
    out["MM_Dist"] = mm.matching_score(emb, ref.text)
    out["Diversity"] = mm.diversity(emb, seed=seed)
    return out


def hand_scores(ref: Reference, motions: MotionSet, hands, real: bool = False,
                penetration_stride: int = 3) -> dict[str, float]:
    """MPJPE and the hand-specific metrics of one set (no randomness: computed once per set)."""
    fps = ref.clips.fps
    out: dict[str, float] = {}
    if not real:
        out["MPJPE_mm"] = hx.mpjpe_mm(motions.joints, ref.clips.motions.joints)
        out["MPJPE_abs_mm"] = mm.mpjpe_mm(motions.joints, ref.clips.motions.joints)
    intra, inter = hm.contact_flags(motions.joints)
    for name, pred, gt in (("intra", intra, ref.intra), ("inter", inter, ref.inter)):
        out.update({f"contact_{name}_{k}": v for k, v in hm.presence_scores(pred, gt).items()})
    out.update(hm.contact_dataset_stats(motions.joints, intra, inter, fps))
    out["motion_intensity_deg_s"] = hm.motion_intensity(motions.joints, fps)
    out["joint_angular_velocity_deg_s"] = hc.joint_angular_velocity(motions.joints, fps)
    out["jitter_m_s3"] = hm.jitter(motions.joints, fps)
    out.update(hm.joint_limit_violations(motions.hand_pose()))
    if penetration_stride > 0:
        faces = (hands.left.faces.numpy(), hands.right.faces.numpy())
        out.update(hm.interpenetration(motions.vertices(hands, penetration_stride), faces))
    return out


def summarize(replications: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    keys = [k for k in METRICS if all(k in r for r in replications)]
    return {k: mm.mean_ci([r[k] for r in replications]) for k in keys}


def evaluate_motion(
    evaluator_dir: str | Path,
    data_dir: str | Path,
    ckpt: str | Path | None = None,
    real: bool = False,
    split: str = "test",
    replications: int = 3,
    seed: int = 0,
    mm_texts: int = 16,
    mm_samples: int = 8,
    batch_size: int = 64,
    options: dict[str, Any] | None = None,
    mano_dir: str | None = None,
    penetration_stride: int = 3,
    rp_batch: int = mm.R_PRECISION_BATCH,
    max_clips: int | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """The report (a JSON-ready dict). ``real`` scores only the test clips; otherwise the model and the real row.

    Raises:
        HandgenError: bad run dirs or data, too few clips for one R-Precision batch.
    """
    if replications < 1:
        raise HandgenError("--replications must be at least 1")
    if ckpt is None and not real:
        raise HandgenError("give --ckpt RUN_DIR (a motion model) or --real (score the test split itself)")
    evaluator = Evaluator(evaluator_dir, device=device)
    generator = chosen = None
    if ckpt is not None and not real:  # checked before any scoring: bad options fail at once

        generator = MotionGenerator(ckpt, device=device, mano_dir=mano_dir)
        chosen = generation_options(generator, options or {})
    clips = load_clip_set(data_dir, split, str(evaluator.cfg.text.caption_field), max_clips)
    requested = rp_batch
    if len(clips.ids) < rp_batch:
        if len(clips.ids) < 4:
            raise HandgenError(f"{data_dir}: the {split} split has {len(clips.ids)} clips; R-Precision needs at least "
                               f"4 (the protocol's batch is {rp_batch})")
        rp_batch = len(clips.ids)
        log.warning("%s: the %s split has %d clips, fewer than the protocol's R-Precision batch of %d: R-Precision "
                    "uses one batch of %d (chance 3/%d), not comparable to protocol figures", data_dir, split,
                    rp_batch, requested, rp_batch, rp_batch)
    hands = make_hand_pair(mano_dir, flat_hand_mean=True)
    if clips.hand_model != hands.name:
        raise HandgenError(f"{data_dir} was made with the {clips.hand_model} hand; pass --mano-dir for MANO data")
    ref = Reference(evaluator, clips)
    report: dict[str, Any] = {
        "evaluator": str(evaluator_dir), "data": str(data_dir), "split": split, "clips": len(clips.ids),
        "frames": clips.frames, "fps": clips.fps, "replications": replications, "seed": seed,
        "protocol": {"r_precision_batch": rp_batch, "r_precision_batch_requested": requested,
                     "below_protocol": rp_batch < mm.R_PRECISION_BATCH, "diversity_pairs": mm.DIVERSITY_PAIRS, "mm_texts": mm_texts,
                     "mm_samples": mm_samples, "penetration_frame_stride": penetration_stride},
        "rows": {},
    }
    started = time.perf_counter()
    fixed = hand_scores(ref, clips.motions, hands, real=True, penetration_stride=penetration_stride)
    report["rows"]["real"] = {"metrics": summarize([
        {**embedding_scores(ref.motion, ref, seed + r, real=True, rp_batch=rp_batch), **fixed}
        for r in range(replications)])}
    log.info("real row scored in %.1f s", time.perf_counter() - started)
    if generator is not None:
        report["rows"]["model"] = _model_row(evaluator, ref, ckpt, generator, chosen, hands, replications, seed,
                                             mm_texts, mm_samples, batch_size, rp_batch, penetration_stride)
    return report


def _model_row(evaluator, ref: Reference, ckpt, generator, options: dict[str, Any], hands, replications: int,
               seed: int, mm_texts: int, mm_samples: int, batch_size: int, rp_batch: int,
               penetration_stride: int) -> dict[str, Any]:
    from tqdm.auto import tqdm

    clips = ref.clips
    per_rep, seconds, generated = [], 0.0, 0
    for r in tqdm(range(replications), desc="eval motion", unit="rep"):
        rep_seed = seed + 1000 * r
        start = time.perf_counter()
        feats = generate_features(generator, clips.triplets, clips.frames, rep_seed, options, batch_size)
        seconds += time.perf_counter() - start
        generated += len(feats)
        motions = motion_set_from_features(feats, hands)
        emb = evaluator.embed_motions(motions.joints, clips.fps)
        scores = {**embedding_scores(emb, ref, seed + r, rp_batch=rp_batch),
                  **hand_scores(ref, motions, hands, penetration_stride=penetration_stride)}
        if mm_texts > 0 and mm_samples > 1:
            n = len(clips.triplets)
            pick = np.random.default_rng([seed, r, 2]).choice(n, min(mm_texts, n), replace=False)
            triplets = [clips.triplets[i] for i in pick for _ in range(mm_samples)]
            feats = generate_features(generator, triplets, clips.frames, rep_seed + 500, options, batch_size)
            joints = motion_set_from_features(feats, hands).joints
            emb = evaluator.embed_motions(joints, clips.fps).reshape(len(pick), mm_samples, -1)
            scores["MultiModality"] = mm.multimodality(emb)
        per_rep.append(scores)
    return {
        "run_dir": str(ckpt),
        "model_type": str(generator.cfg.get("model_type")),
        "options": {k: v if v is None or isinstance(v, (int, float, str, bool)) else str(v)
                    for k, v in options.items()},
        "seconds_per_sample": seconds / max(generated, 1),
        "metrics": summarize(per_rep),
    }


def format_report(report: dict[str, Any]) -> str:
    """A readable table: one line per metric, one column per row (mean +- 95% interval)."""
    rows = report["rows"]
    names = list(rows)
    header = f"{'metric':<44}" + "".join(f"{n:>22}" for n in names) + "  better"
    lines = [f"eval motion: {report['clips']} {report['split']} clips of {report['frames']} frames, "
             f"{report['replications']} replication(s), evaluator {report['evaluator']}"]
    for n in names:
        if "run_dir" in rows[n]:
            opts = ", ".join(f"{k}={v}" for k, v in rows[n]["options"].items())
            lines.append(f"  {n}: {rows[n]['model_type']} {rows[n]['run_dir']} ({opts}; "
                         f"{rows[n]['seconds_per_sample']:.3f} s/sample)")
    protocol = report["protocol"]
    if protocol.get("below_protocol"):
        lines.append(f"  small sample: {report['clips']} clips, R-Precision in batches of "
                     f"{protocol['r_precision_batch']}, below the protocol's batch of {mm.R_PRECISION_BATCH}: "
                     f"not comparable to protocol figures; read the ± intervals before comparing rows")
    lines += [header, "-" * len(header)]
    chance = 3.0 / protocol["r_precision_batch"]
    for key, (label, better) in METRICS.items():
        cells = []
        for n in names:
            value = rows[n]["metrics"].get(key)
            shown = "-" if value is None else f"{_fmt(value['mean'])} ± {_fmt(value['ci95'])}"
            cells.append(shown.rjust(22))
        if all(c.strip() == "-" for c in cells):
            continue
        hint = {"lower": "lower", "higher": "higher", "real": "close to real", "chance": f"~{chance:.3f}"}[better]
        lines.append(f"{label:<44}" + "".join(cells) + f"  {hint}")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if abs(value) < 1e-12:
        return "0"
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
        return f"{value:.2e}"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"
