"""DATA_DIR: handgen's processed-clip format: its layout, names and array shapes.

Layout::

    DATA_DIR/
      manifest.jsonl   one clip per line, sorted by id:
                         id            "s01/box_use_01/000030"  (subject/sequence/start, 6 digits)
                         source        "arctic", "ahx", ...
                         subject, sequence
                         start, end    frame range [start, end) in the source sequence
                         fps           frames per second (30.0)
                         split         "train" | "val" | "test"
                         captions      [{"left", "right", "both"}, ...] (what training uses)
                         gt_captions   same, from a ground-truth side file ([] when none)
                         gt_labels     structured ground-truth labels or null
                         caption_source  "synthetic" | null | whatever a captioner sets
                         shard         "shards/s01/box_use_01.npz" (relative to DATA_DIR)
                         index         the clip's row in that shard
                         hand_model    "procedural" | "mano"
                         object        optional: the object's name (prep arctic; null without one)
                         verb          optional: the clip's action verb (prep ahx --labels)
                         member, dataset  optional (prep handx): the npz member key and the
                                       source dataset from source_metadata.json (or null)
      shards/<subject>/<sequence>.npz   one per source sequence; N clips of T frames stacked:
                         features (N,T,324) float32     handgen.repr.features layout
                         global_orient (N,T,2,3)        axis-angle, radians
                         hand_pose (N,T,2,45)           ABSOLUTE (flat-hand-mean), radians
                         transl (N,T,2,3)               metres, canonical frame
                         betas (N,2,10)
                         joints (N,T,2,21,3)            metres, canonical frame
                         canonical_offset (N,3)         what was added to every position
                         start (N,) int64               first source frame of each clip
                       and, for sequences with an object (all five together):
                         object_rot (N,T,3)             axis-angle: x = R x_canonical' + object_transl
                         object_transl (N,T,3)          metres, canonical frame (offset like the hands)
                         articulation (N,T)             radians, top part about the template's axis/pivot
                         object_contact (N,T,2)         fraction of each hand's vertices within 1 cm of it
                         object_tips (N,T,2,5) bool     fingertips (thumb..pinky) within 1 cm of it
      shards/<subject>/<sequence>.json  the sequence's manifest rows, the source file's size and
                         mtime and the conversion settings: the resume marker, written after the npz
      stats.npz        FeatureStats (mean, std over D=324) of the train split's frames
      meta.json        format version, feature layout, fps, clip_len, stride, hand_model,
                       hand_pose_convention, hands_mean per hand, split rule, counts, run timing
      skipped.jsonl    one line per input file not (fully) converted:
                       {"file": relpath, "reason": "...", "partial": bool, ...}
      objects/<name>/  the objects' templates in METRES: mesh.obj, parts.json, object.json
                       (:func:`data_prep.arctic_objects.write_object_folder`)

Canonical frame: every clip is translated (no rotation) so that the right wrist at its
first frame is the origin. Hand index 0 is the left hand, 1 the right.

Prep owns every manifest field; once a captioner has set ``caption_source`` to something
other than ``"synthetic"``/null, re-running prep keeps that row's ``captions``,
``caption_source`` and any keys prep does not write (``object`` and ``verb`` are prep's;
see :func:`handgen.io.data_manifest.merge_caption_fields`).

The format is written by :mod:`handgen.io.data_shards` (shards and their resume markers) and
:mod:`handgen.io.data_manifest` (manifest, stats, meta, skipped list) and read by
:class:`handgen.io.data_dir.DataDir`; :mod:`handgen.io.data_dir` re-exports every public name.
The source converters live in ``data_prep``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from handgen.hand.topology import HANDS
from handgen.repr.features import FEATURE_DIM, HAND_BLOCKS, SLICES

FORMAT_VERSION = 1
MANIFEST, STATS, META, SKIPPED, SHARDS = "manifest.jsonl", "stats.npz", "meta.json", "skipped.jsonl", "shards"
OBJECTS = "objects"
SPLITS: tuple[str, ...] = ("train", "val", "test")
ROW_KEYS: tuple[str, ...] = (
    "id", "source", "subject", "sequence", "start", "end", "fps", "split", "captions", "gt_captions",
    "gt_labels", "caption_source", "shard", "index", "hand_model",
)
PREP_CAPTION_SOURCES = (None, "synthetic", "handx")  # captions prep itself writes
PREP_OPTIONAL_KEYS: tuple[str, ...] = ("object", "verb", "member", "dataset")  # prep-owned fields beyond ROW_KEYS
# array name -> shape after the leading N (T = clip length)
SHARD_ARRAYS: dict[str, tuple[str | int, ...]] = {
    "features": ("T", FEATURE_DIM),
    "global_orient": ("T", 2, 3),
    "hand_pose": ("T", 2, 45),
    "transl": ("T", 2, 3),
    "betas": (2, 10),
    "joints": ("T", 2, 21, 3),
    "canonical_offset": (3,),
    "start": (),
}
# present together, only in shards of sequences with an object
OBJECT_ARRAYS: dict[str, tuple[str | int, ...]] = {
    "object_rot": ("T", 3),
    "object_transl": ("T", 3),
    "articulation": ("T",),
    "object_contact": ("T", 2),
    "object_tips": ("T", 2, 5),
}
ALL_ARRAYS = {**SHARD_ARRAYS, **OBJECT_ARRAYS}
SHARD_DTYPES = {"start": np.int64, "object_tips": np.bool_}


def clip_id(subject: str, sequence: str, start: int) -> str:
    """``"s01/box_use_01/000030"``."""
    return f"{subject}/{sequence}/{int(start):06d}"


def shard_relpath(subject: str, sequence: str) -> str:
    """``"shards/s01/box_use_01.npz"`` (relative to DATA_DIR, forward slashes)."""
    return f"{SHARDS}/{subject}/{sequence}.npz"


def feature_layout() -> dict[str, Any]:
    """The feature vector's layout for meta.json: dim, per-hand blocks, named slices."""
    return {
        "dim": FEATURE_DIM,
        "hands": list(HANDS),
        "hand_blocks": [[name, size] for name, size in HAND_BLOCKS],
        "slices": {name: [sl.start, sl.stop] for name, sl in SLICES.items()},
    }


