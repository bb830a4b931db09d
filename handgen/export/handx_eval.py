"""``handgen export --format handx-eval``: a folder of handgen motion files -> HandX's evaluation sample files.

Samples (``*.npz`` motion files, read in name order) are grouped into items: by ``source_id``
(the DATA_DIR clip they were generated for) when they carry one, else by their caption
triplet; an item's samples are its G generations (every item must have the same G). Each
item's ground truth is a clip of ``data_dir``: the clip named by ``source_id``, else the
first clip of ``split`` (manifest order) whose first caption triplet equals the item's texts.
Output: :func:`handgen.io.handx_format.write_sample_files` (HandX joint order and
coordinates, ``up_axis`` as the data's ``prep handx --up-axis``, default the DATA_DIR's own).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handgen.errors import HandgenError
from handgen.io.data_dir import DataDir
from handgen.io.handx_format import write_sample_files
from handgen.io.motion_npz import load_motion


def _key(texts: dict[str, str]) -> tuple[str, str, str]:
    return (texts.get("left", ""), texts.get("right", ""), texts.get("both", ""))


def export_handx_eval(motion_dir: str | Path, out: str | Path, data_dir: str | Path, split: str = "test",
                      up_axis: str | None = None) -> list[Path]:
    """Write ``val_sample_XXXXXX_idxN.pkl`` files to ``out``; returns their paths.

    Raises:
        HandgenError: no motion files, items with different numbers of samples or frames, an item
            without a ground-truth clip.
        InputFileError: a bad motion file or DATA_DIR.
    """
    folder = Path(motion_dir)
    files = sorted(folder.glob("*.npz")) if folder.is_dir() else []
    if not files:
        raise HandgenError(f"--motion {motion_dir}: a folder of motion .npz files (handgen sample --out) is needed")
    data = DataDir(data_dir)
    up_axis = up_axis or str(data.meta.get("up_axis", "z"))
    items: dict[object, dict] = {}
    for path in files:
        _, extras = load_motion(path)
        key = extras["source_id"] or _key(extras["texts"])
        item = items.setdefault(key, {"texts": extras["texts"], "source_id": extras["source_id"], "joints": []})
        item["joints"].append(np.asarray(extras["joints"], dtype=np.float64))
    counts = {len(v["joints"]) for v in items.values()}
    if len(counts) != 1:
        raise HandgenError(f"--motion {motion_dir}: items have different numbers of samples ({sorted(counts)}); "
                           "HandX's files need the same G for every text")
    rows = data.clips(split)
    by_text: dict[tuple[str, str, str], list[str]] = {}
    for row in rows:
        if row.get("captions"):
            by_text.setdefault(_key(row["captions"][0]), []).append(row["id"])
    gts, groups, triplets = [], [], []
    for key, item in items.items():
        clip_id = item["source_id"]
        if clip_id is None:
            ids = by_text.get(key) or []
            if not ids:
                raise HandgenError(f"no {split} clip of {data_dir} has the caption {item['texts']} "
                                   f"(samples made for its clips carry source_id; pass --split to change the split)")
            clip_id = ids.pop(0)
        gt = data.load_clip(clip_id).joints.astype(np.float64)
        stacked = np.stack(item["joints"])
        if stacked.shape[1:] != gt.shape:
            raise HandgenError(f"samples for {clip_id} have shape {stacked.shape[1:]}, its clip {gt.shape}")
        gts.append(gt)
        groups.append(stacked)
        triplets.append(dict(item["texts"]))
    return write_sample_files(out, np.stack(gts), np.stack(groups), triplets, up_axis)
