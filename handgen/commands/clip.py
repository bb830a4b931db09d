"""``handgen clip``: write one processed DATA_DIR clip as a motion file (the sampled-motion format).

A clip with an object also carries the object's template and per-frame pose (the optional
object keys of :mod:`handgen.io.motion_npz`), so ``handgen render`` draws it.
"""

from __future__ import annotations

import argparse

from handgen.commands import arg_types


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("clip", help="extract one processed clip from a DATA_DIR as a motion .npz")
    parser.add_argument("--data", required=True, help="DATA_DIR written by `handgen prep`")
    parser.add_argument("--id", required=True, dest="clip_id", help="clip id from manifest.jsonl, e.g. s01/box_use_01/000030")
    parser.add_argument("--out", required=True, help="motion file to write (.npz)")
    parser.add_argument("--caption", type=arg_types.nonneg_int, default=0, help="which caption triplet to store as the texts (default 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from handgen.errors import HandgenError
    from handgen.io.data_dir import DataDir
    from handgen.io.motion_npz import object_arrays, save_motion
    from handgen.io.object_folder import load_template

    if not str(args.out).lower().endswith(".npz"):
        raise HandgenError(f"--out {args.out}: motion files end in .npz")
    data = DataDir(args.data)
    try:
        record = data.load_clip(args.clip_id)
    except KeyError:
        raise HandgenError(f"no clip {args.clip_id!r} in {Path(args.data) / 'manifest.jsonl'}") from None
    captions = record.row.get("captions") or []
    texts = captions[args.caption] if 0 <= args.caption < len(captions) else {}
    if captions and texts == {}:
        raise HandgenError(f"clip {args.clip_id!r} has {len(captions)} caption(s); --caption {args.caption} is out of range")
    extra = None
    obj = data.load_object(record.row["id"])
    if obj is not None:
        template = load_template(data.object_folder(obj.name), obj.name)
        extra = object_arrays(template, obj.rot, obj.transl, obj.articulation)
    save_motion(
        args.out, record.motion, record.joints, texts, hand_model=record.row["hand_model"],
        hands_mean=data.meta["hands_mean"], source_id=record.row["id"], extra=extra,
    )
    with_object = f", object {obj.name}" if obj is not None else ""
    frames = record.motion.num_frames
    print(f"clip {record.row['id']} ({frames} frames, {record.row['split']}{with_object}) -> {args.out}")
    return 0
