"""The motions ``handgen eval motion`` measures: the test clips of a DATA_DIR and generated sets.

A :class:`MotionSet` holds both hands' MANO parameters (absolute ``hand_pose``) and the
21 joints of N clips; generated features become parameters through the exact inverse of
the feature map and joints through the hand model, i.e. what ``handgen sample`` writes.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from handgen.api.motion_generator import MotionGenerator
from handgen.errors import HandgenError
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS, TEXT_BRANCHES
from handgen.text.token_budget import budget_report
from handgen.io.data_dir import DataDir
from handgen.repr.features import features_to_params

log = logging.getLogger(__name__)


@dataclass
class MotionSet:
    """N clips of T frames: ``params`` ``{h}_global_orient (N,T,3)``, ``{h}_hand_pose (N,T,45)``,
    ``{h}_transl (N,T,3)``, ``{h}_betas (N,10)``; ``joints (N,T,2,21,3)`` metres."""

    params: dict[str, np.ndarray]
    joints: np.ndarray

    def __len__(self) -> int:
        return len(self.joints)

    def hand_pose(self) -> np.ndarray:
        """(N, T, 2, 45), hand 0 left."""
        return np.stack([self.params[f"{h}_hand_pose"] for h in HANDS], axis=2)

    def vertices(self, hands: HandPair, frame_stride: int = 1) -> np.ndarray:
        """Mesh vertices (N, T', 2, V, 3) of every ``frame_stride``-th frame."""
        out = []
        with torch.no_grad():
            for side in HANDS:
                p = {k: torch.as_tensor(v[:, ::frame_stride] if k != f"{side}_betas" else v, dtype=torch.float32)
                     for k, v in self.params.items() if k.startswith(side)}
                t = p[f"{side}_global_orient"].shape[1]
                p[f"{side}_betas"] = p[f"{side}_betas"][:, None].expand(-1, t, -1)
                out.append(hands.pose(side, p).vertices.numpy())
        return np.stack(out, axis=2)


def motion_set_from_features(features: np.ndarray | torch.Tensor, hands: HandPair) -> MotionSet:
    """Raw features (N, T, 324) -> parameters and forward-kinematics joints (mean shape)."""
    with torch.no_grad():
        p = features_to_params(torch.as_tensor(np.asarray(features), dtype=torch.float32), hands)
        joints = hands.joints({k: (v[:, None].expand(-1, p[f"{k[:-6]}_global_orient"].shape[1], -1)
                                   if k.endswith("_betas") else v) for k, v in p.items()})
    return MotionSet({k: v.numpy() for k, v in p.items()}, joints.numpy())


@dataclass
class ClipSet:
    """The clips of one split with one caption triplet each: the reference set and its texts."""

    ids: list[str]
    triplets: list[dict[str, str]]
    motions: MotionSet
    fps: float
    hand_model: str

    @property
    def frames(self) -> int:
        return int(self.motions.joints.shape[1])


def load_clip_set(data_dir: str | Path, split: str = "test", caption_field: str = "captions",
                  max_clips: int | None = None) -> ClipSet:
    """Clips of ``split`` with their first caption triplet (ground-truth parameters and joints).

    Raises:
        HandgenError: an empty split or clips without captions.
    """
    data = DataDir(data_dir)
    rows = data.clips(split)[: max_clips or None]
    if not rows:
        raise HandgenError(f"{data_dir}: the {split} split has no clips")
    uncaptioned = [r["id"] for r in rows if not r.get(caption_field)]
    if uncaptioned:
        raise HandgenError(f"{data_dir}: {len(uncaptioned)} {split} clip(s) have no {caption_field!r} "
                           f"(e.g. {uncaptioned[0]}); run handgen caption first")
    keys = ("global_orient", "hand_pose", "transl", "betas")
    params: dict[str, list[np.ndarray]] = {f"{h}_{k}": [] for h in HANDS for k in keys}
    joints = []
    for row in rows:
        clip = data.load_clip(row["id"])
        for i, h in enumerate(HANDS):
            params[f"{h}_global_orient"].append(clip.motion.global_orient[:, i])
            params[f"{h}_hand_pose"].append(clip.motion.hand_pose[:, i])
            params[f"{h}_transl"].append(clip.motion.transl[:, i])
            params[f"{h}_betas"].append(clip.motion.betas[i])
        joints.append(clip.joints)
    triplets = [{k: row[caption_field][0].get(k, "") for k in TEXT_BRANCHES} for row in rows]
    motions = MotionSet({k: np.stack(v).astype(np.float32) for k, v in params.items()},
                        np.stack(joints).astype(np.float64))
    return ClipSet([r["id"] for r in rows], triplets, motions, float(data.meta.get("fps", 30.0)),
                   str(data.meta.get("hand_model", "procedural")))


def generation_options(generator: MotionGenerator, overrides: dict[str, Any]) -> dict[str, Any]:
    """Engine ``generate`` keyword arguments: the run's ``sample`` defaults merged with ``overrides``
    (by :meth:`MotionGenerator.sampling_options`, the one place that merges them).

    Raises:
        HandgenError: an override that does not apply to the run (e.g. a sampler for an AR run).
    """
    accepted = set(inspect.signature(generator.sampling_options).parameters)
    unknown = sorted(k for k, v in overrides.items() if v is not None and k not in accepted)
    if unknown:
        raise HandgenError(f"option {unknown[0]!r} does not apply to motion generation")
    options, _, _ = generator.sampling_options(**{k: v for k, v in overrides.items() if v is not None})
    return options


def generate_features(generator: MotionGenerator, triplets: list[dict[str, str]], frames: int, seed: int,
                      options: dict[str, Any], batch_size: int = 64) -> np.ndarray:
    """Raw features (N, frames, D), one sample per triplet, in batches (batch b uses seed ``seed + b``).

    The triplets are a data set's captions: those longer than the model's ``text.max_tokens`` are
    cut as its training cut them (sampling a prompt refuses that), and a warning says how many.
    """
    engine = generator.engine
    report = budget_report(engine.encoder.tokenizer, [t.get(k, "") for t in triplets for k in TEXT_BRANCHES],
                           engine.max_text_tokens)
    if report.cut:
        log.warning("%s; they are cut as in the model's training", report.line("evaluation captions"))
    out = []
    for b, start in enumerate(range(0, len(triplets), batch_size)):
        feats = engine.generate(triplets[start : start + batch_size], frames, seed=seed + b, truncate=True, **options)
        out.append(torch.as_tensor(feats).detach().cpu().numpy())
    return np.concatenate(out).astype(np.float32)
