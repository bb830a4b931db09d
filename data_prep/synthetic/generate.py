"""``handgen prep synthetic``: a procedural bimanual dataset in ARCTIC's on-disk format.

Output (``RAW_DIR``)::

    raw_seqs/sNN/hands_use_KKKK.mano.npy   one sequence per file, ARCTIC's MANO format
    raw_seqs/sNN/<obj>_use_KKKK.mano.npy    hand-object sequences (a fraction ``--objects`` of them) ...
    raw_seqs/sNN/<obj>_use_KKKK.object.npy  ... with the object's pose, ARCTIC's (F,7) format
    meta/object_vtemplates/<obj>/           the objects' templates: mesh.obj (mm), parts.json, object.json
    captions.jsonl                          ground-truth captions and labels per segment
    synthetic_info.json                     generator version, arguments, fps, vocabulary, subjects, objects

``.mano.npy`` (ARCTIC): ``np.save`` of a dict, read with ``np.load(p, allow_pickle=True).item()``
(the one place handgen accepts a pickle), keys ``left`` and ``right``, each
``{"rot": (F,3), "pose": (F,45), "trans": (F,3), "shape": (10,), "fitting_err": (F,)}``,
float32, axis-angle radians and metres. ``pose`` follows MANO's ``flat_hand_mean=False``
convention: absolute pose = ``pose + ProceduralHand(side).hands_mean``. ``trans`` is
MANO's transl: the wrist joint is at ``trans + hand.wrist_offset(shape)``. World frame:
+x the person's left, +y up, +z forward. ``fitting_err`` is zero (the parameters are exact).
Subjects ``s01``..``s10`` take sequences round-robin and each has fixed betas (both hands).

``captions.jsonl`` (the contract with the ARCTIC converter, which gives each clip the
captions of the segment covering most of it): one JSON object per line per caption
segment::

    {"sequence": "s03/hands_use_0007",      # subject folder / file stem under raw_seqs
     "start": 0, "end": 90,                  # half-open frame range of that sequence
     "captions": [{"left": str, "right": str, "both": str}, ...],   # >= 3 phrasings
     "labels": {"left":  {"fingers": F, "wrist": W, "palm": P},
                "right": {"fingers": F, "wrist": W, "palm": P},
                "both": R,                    # relation
                "toucher": "left"|"right"}}   # only when R == "touch_palm"

with F in ``relaxed fist open pinch point``, W in ``still wave rotate left right up down
forward back in_out`` (directions in the person's frame; ``in_out`` is a clapping hand's
swing), P in ``down forward inward up`` and R in ``none approach separate clap touch_palm
mirror`` (the vocabulary is repeated in ``synthetic_info.json``). Every sequence is
currently one segment covering all its frames.

Hand-object sequences (:mod:`data_prep.synthetic.object_motion`): sequence k holds an object
when ``floor((k+1) f) > floor(k f)`` for the object fraction f (default 1/3: k = 2, 5, 8, ...).
Its object is drawn from the catalogue (:mod:`data_prep.synthetic.object_catalog`: box,
cylinder, sphere, a box with a hinged lid, and the YCB cracker box, coffee can and soup can
when ``--ycb-dir`` holds them); both hands (or one) are placed in contact by
:mod:`data_prep.synthetic.grasp_solver` and hold it while it is lifted, lowered, carried
left/right, pushed, pulled, turned, tilted, or its lid opened. Their labels use fingers
``grasp`` (``relaxed`` for a free hand) and ``both: "hold_object"`` plus ``object``, ``noun``,
``category``, ``action``, ``layout``, ``holder``, ``roles`` and ``reach``; their captions name
the object (:mod:`data_prep.synthetic.object_captions`). ``.object.npy`` translations are in
millimetres and templates in millimetres, as in ARCTIC.

The output is a pure function of (seed, num_seqs, frames, object fraction, the objects
available): sequence k draws from
``numpy.random.default_rng`` seeded with (seed, k), so it does not depend on num_seqs
(:mod:`data_prep.synthetic.sequences`). Re-running with the same arguments into the
same folder rewrites it; any other non-empty ``--out`` is refused.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from data_prep.arctic_objects import write_arctic_template
from data_prep.synthetic.object_catalog import available_objects, catalog_object
from data_prep.synthetic.object_motion import ACTIONS, LAYOUTS
from data_prep.synthetic.sequences import (
    NUM_SUBJECTS,
    is_object_sequence,
    make_object_sequence,
    make_sequence,
    subject_betas,
    subject_name,
    vocabulary,
)
from handgen.errors import HandgenError
from handgen.io.atomic import atomic_path, atomic_write_json, atomic_write_jsonl

log = logging.getLogger(__name__)
GENERATOR = "handgen-synthetic"
GENERATOR_VERSION = 2
FPS = 30
MIN_FRAMES = 60


def _info(seed: int, num_seqs: int, frames: int, complete: bool, objects: dict) -> dict:
    return {
        "generator": GENERATOR,
        "version": GENERATOR_VERSION,
        "seed": seed,
        "num_seqs": num_seqs,
        "frames": frames,
        "fps": FPS,
        "complete": complete,
        "hand_model": "procedural",
        "pose_convention": "ARCTIC: pose = absolute - ProceduralHand(side).hands_mean (flat_hand_mean=False)",
        "world_frame": "+x person's left, +y up, +z forward; metres",
        "vocabulary": vocabulary(),
        "subjects": {subject_name(i): subject_betas(subject_name(i)).round(6).tolist() for i in range(NUM_SUBJECTS)},
        "objects": objects,
    }


def _check_out_dir(out: Path, seed: int, num_seqs: int, frames: int, objects: dict) -> None:
    """Refuse a file, or a non-empty folder that this command did not make with the same arguments."""
    if out.exists() and not out.is_dir():
        raise HandgenError(f"{out}: --out exists and is not a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    info_path = out / "synthetic_info.json"
    foreign = HandgenError(f"{out}: --out is a non-empty folder not made by 'prep synthetic'; choose a new one")
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise foreign from None
    if not isinstance(info, dict) or info.get("generator") != GENERATOR:
        raise foreign
    previous = (info.get("seed"), info.get("num_seqs"), info.get("frames"))
    if previous != (seed, num_seqs, frames):
        raise HandgenError(
            f"{out}: holds a synthetic dataset made with seed/num-seqs/frames {previous}, "
            f"not {(seed, num_seqs, frames)}; delete it or choose another --out"
        )
    old = info.get("objects") or {}
    if (old.get("fraction"), old.get("names")) != (objects["fraction"], objects["names"]):
        raise HandgenError(
            f"{out}: holds a synthetic dataset made with objects {old.get('fraction')} {old.get('names')}, not "
            f"{objects['fraction']} {objects['names']}; delete it or choose another --out"
        )


def save_mano_npy(path: Path, arrays: dict[str, dict[str, np.ndarray]]) -> None:
    """Write an ARCTIC-style ``.mano.npy`` (a pickled dict) atomically."""
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, np.array(arrays, dtype=object), allow_pickle=True)


def _objects_info(fraction: float, ycb_dir: str | Path | None) -> tuple[dict, str | None, str | None]:
    """The objects in use (names, YCB folder), the YCB folder as a string (None without YCB), and
    why YCB meshes are left out (None when they are used or no object is asked for)."""
    specs, folder, why = available_objects(ycb_dir) if fraction > 0 else ([], None, None)
    names = [s.name for s in specs]
    info = {"fraction": fraction, "names": names, "ycb_dir": str(folder) if folder else None,
            "layouts": list(LAYOUTS), "actions": list(ACTIONS)}
    return info, (str(folder) if folder else None), why


def generate(
    out: str | Path, num_seqs: int = 64, seed: int = 0, frames: int = 90, progress: bool = True,
    objects: float = 1 / 3, ycb_dir: str | Path | None = None,
) -> dict:
    """Write the dataset to ``out``; returns the info dict. Raises HandgenError on bad arguments.

    ``objects``: fraction of hand-object sequences (0 = none); ``ycb_dir``: the YCB meshes
    (default :func:`data_prep.synthetic.object_catalog.default_ycb_dir`; without them the
    objects are primitives only, with a warning).
    """
    if num_seqs < 1:
        raise HandgenError(f"--num-seqs must be at least 1, got {num_seqs}")
    if frames < MIN_FRAMES:
        raise HandgenError(f"--frames must be at least {MIN_FRAMES} (one 2 s clip at 30 fps), got {frames}")
    if seed < 0:
        raise HandgenError(f"--seed must be a non-negative integer, got {seed}")
    if not 0.0 <= objects <= 1.0:
        raise HandgenError(f"--objects must be a fraction in [0, 1], got {objects}")
    objects = round(float(objects), 6)
    out = Path(out)
    objects_info, ycb, no_ycb = _objects_info(objects, ycb_dir)
    _check_out_dir(out, seed, num_seqs, frames, objects_info)
    if no_ycb:
        log.warning("%s", no_ycb)
    import torch
    from tqdm import tqdm


    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "synthetic_info.json", _info(seed, num_seqs, frames, False, objects_info))
    names = objects_info["names"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one-frame hand poses: threads only add overhead (and results stay identical)
    try:
        for name in names:
            write_arctic_template(out, catalog_object(name, ycb).template)
        rows: list[dict] = []
        for index in tqdm(range(num_seqs), desc="synthetic sequences", unit="seq", disable=not progress):
            if names and is_object_sequence(index, objects):
                seq = make_object_sequence(seed, index, frames, names, ycb)
            else:
                seq = make_sequence(seed, index, frames)
            folder = out / "raw_seqs" / seq.subject
            save_mano_npy(folder / f"{seq.name}.mano.npy", seq.arrays)
            if seq.object_array is not None:
                with atomic_path(folder / f"{seq.name}.object.npy", suffix=".npy") as tmp:
                    np.save(tmp, seq.object_array, allow_pickle=False)
            rows.extend(seq.segments)
    finally:
        torch.set_num_threads(threads)
    atomic_write_jsonl(out / "captions.jsonl", rows)
    info = _info(seed, num_seqs, frames, True, objects_info)
    atomic_write_json(out / "synthetic_info.json", info)
    return info


def run_from_args(args: argparse.Namespace) -> int:
    """Entry point of ``handgen prep synthetic`` (args.out, args.num_seqs, args.seed, args.frames, args.objects...)."""
    start = time.perf_counter()
    info = generate(args.out, num_seqs=args.num_seqs, seed=args.seed, frames=args.frames,
                    objects=getattr(args, "objects", 1 / 3), ycb_dir=getattr(args, "ycb_dir", None),
                    progress=not getattr(args, "quiet", False))
    elapsed = time.perf_counter() - start
    total = args.num_seqs * args.frames
    objects = info["objects"]

    with_objects = sum(is_object_sequence(k, objects["fraction"]) for k in range(args.num_seqs))
    with_objects = with_objects if objects["names"] else 0
    print(
        f"prep synthetic: {args.num_seqs} sequences ({with_objects} with objects: "
        f"{', '.join(objects['names']) or '-'}), "
        f"{total} frames ({total / FPS:.1f} s of motion at {FPS} fps) written to {args.out} in {elapsed:.1f} s"
    )
    return 0
