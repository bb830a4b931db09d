"""Normalised motion clips of a DATA_DIR with their caption triplets as text-cache rows.

Shared by every text-conditioned motion model (diffusion, AR) and the evaluator: the
features of a split live in memory, every caption is encoded once into the on-disk
:class:`~handgen.text.cache.TextEmbeddingCache`, and a batch is just rows into it.
``train.mirror: true`` adds the left-right mirror image of every training clip, with its
captions mirrored and the left and right texts swapped (:mod:`handgen.repr.mirror`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handgen.errors import HandgenError
from handgen.io.data_dir import DataDir
from handgen.repr.mirror import mirror_features, mirror_text
from handgen.repr.normalization import FeatureStats
from handgen.text.cache import TextEmbeddingCache
from handgen.text.encoder import load_text_encoder
from handgen.text.token_budget import BudgetReport, budget_report

log = logging.getLogger(__name__)
BRANCH_KEYS = {"left": "left", "right": "right", "both": "both"}


@dataclass
class ClipSplit:
    features: torch.Tensor  # (N, T, D) normalised
    triplets: list[np.ndarray]  # per clip (K, 3) cache rows of (left, right, both); K >= 1
    ids: list[str]

    def __len__(self) -> int:
        return int(self.features.shape[0])


class CaptionedClips:
    """Train/val clips + text cache; see the module docstring."""

    def __init__(self, data_dir, stats: FeatureStats, cache: TextEmbeddingCache, train: ClipSplit,
                 val: ClipSplit, encoder_name: str, max_tokens: int) -> None:
        self.data_dir = data_dir
        self.stats = stats
        self.cache = cache
        self.train = train
        self.val = val
        self.encoder_name = encoder_name
        self.max_tokens = max_tokens

    @property
    def feature_dim(self) -> int:
        return int(self.train.features.shape[-1])

    @property
    def clip_len(self) -> int:
        return int(self.train.features.shape[1])

    @property
    def text_dim(self) -> int:
        return int(self.cache.states.shape[-1])

    def split(self, name: str) -> ClipSplit:
        return self.train if name == "train" else self.val

    def batch(self, split: str, indices: np.ndarray) -> dict[str, torch.Tensor]:
        """x0 (B,T,D) and text rows (B,) per branch; training picks a random caption triplet per clip."""
        part = self.split(split)
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        rows = []
        for i in idx.tolist():
            options = part.triplets[i]
            k = int(torch.randint(0, len(options), ())) if split == "train" else 0
            rows.append(options[k])
        rows_t = torch.as_tensor(np.stack(rows), dtype=torch.long)  # (B,3)
        return {"x0": part.features[idx], "text_left": rows_t[:, 0], "text_right": rows_t[:, 1], "text_both": rows_t[:, 2]}

    def text_states(self, rows: torch.Tensor, device) -> tuple[torch.Tensor, torch.Tensor]:
        states, mask = self.cache.lookup(rows.cpu())
        return states.to(device), mask.to(device)

    def write_artifacts(self, run_dir: Path) -> None:
        self.stats.save(run_dir / "stats.npz")
        shutil.copyfile(Path(self.data_dir.path) / "meta.json", run_dir / "data_meta.json")
        (run_dir / "text_encoder.json").write_text(
            json.dumps({"name": self.encoder_name, "max_tokens": self.max_tokens, "hidden_size": self.text_dim}) + "\n"
        )

    def write_motion_run_files(self, run_dir: Path, model_type: str, **info) -> None:
        """:meth:`write_artifacts` plus the ``model_info.json`` of a motion-feature model (extra ``info`` keys added)."""
        self.write_artifacts(run_dir)
        (run_dir / "model_info.json").write_text(json.dumps({
            "model_type": model_type, "feature_dim": self.feature_dim, "text_dim": self.text_dim,
            "clip_len": self.clip_len, **info}, indent=2) + "\n")

    def val_batches(self, batch_size: int, limit: int) -> list[np.ndarray]:
        """Index batches over the first ``limit`` validation clips."""
        n = min(len(self.val), int(limit))
        return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def _triplets(rows: list[dict], field: str) -> list[tuple[str, str, str]]:
    out = []
    for row in rows:
        caps = row.get(field) or []
        out.append([(c.get("left", ""), c.get("right", ""), c.get("both", "")) for c in caps] or [("", "", "")])
    return out


def _with_mirror_images(feats: np.ndarray, rows: list[dict], triplets: list) -> tuple[np.ndarray, list[dict], list]:
    """Raw clips (N, T, D) + rows + caption triplets, followed by their N mirror images."""
    mirrored = mirror_features(torch.as_tensor(feats)).numpy()
    rows_m = [{**row, "id": f"{row['id']}#mirror"} for row in rows]
    trip_m = [[(mirror_text(r), mirror_text(l), mirror_text(b)) for l, r, b in options] for options in triplets]
    return np.concatenate([feats, mirrored.astype(feats.dtype)]), rows + rows_m, triplets + trip_m


def report_token_budget(encoder, triplets: list) -> BudgetReport:
    """Print (main process only) how many distinct training captions ``text.max_tokens`` cuts."""
    texts = [t for options in triplets for triple in options for t in triple]
    report = budget_report(encoder.tokenizer, texts, encoder.max_tokens)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"handgen train: {report.line('distinct training captions')}", file=sys.stderr, flush=True)
    return report


def load_captioned_clips(cfg) -> CaptionedClips:
    """Read ``cfg.data`` (a DATA_DIR), encode all captions once, normalise the features."""
    if not cfg.data:
        raise HandgenError("config key 'data' (a DATA_DIR made by handgen prep) is required")
    data = DataDir(cfg.data)
    stats = data.stats
    field = str(cfg.text.caption_field)
    splits = {}
    for name in ("train", "val"):
        feats, rows = data.split_arrays(name)
        splits[name] = (feats, rows, _triplets(rows, field))
    if len(splits["train"][0]) == 0:
        raise HandgenError(f"{cfg.data}: the train split has no clips")
    if cfg.train and cfg.train.mirror:
        splits["train"] = _with_mirror_images(*splits["train"])
    texts = {t for _, _, trip in splits.values() for options in trip for triple in options for t in triple}
    if texts == {""}:
        log.warning("no captions in %s (field %r): training is unconditional; run handgen caption first", cfg.data, field)
    encoder = load_text_encoder(str(cfg.text.encoder), int(cfg.text.max_tokens))
    report_token_budget(encoder, splits["train"][2])
    cache_dir = cfg.text.cache_dir or str(Path(cfg.data) / "text_cache")
    cache = TextEmbeddingCache.build(encoder, sorted(texts), cache_dir)
    del encoder

    def make(name: str) -> ClipSplit:
        feats, rows, trip = splits[name]
        norm = torch.as_tensor(stats.normalize(feats.astype(np.float32)), dtype=torch.float32)
        rows_idx = [np.array([[cache.row[t] for t in triple] for triple in options]) for options in trip]
        return ClipSplit(norm, rows_idx, [r["id"] for r in rows])

    return CaptionedClips(data, stats, cache, make("train"), make("val"), str(cfg.text.encoder), int(cfg.text.max_tokens))
