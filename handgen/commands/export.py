"""``handgen export``: a motion file to formats animation tools read (BVH, OBJ sequence, GLB)."""

from __future__ import annotations

import argparse

from handgen.commands import arg_types

FORMATS: tuple[str, ...] = ("bvh", "obj-seq", "glb", "handx-eval")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export", help="export a motion .npz to BVH (skeletons), an OBJ sequence or a GLB (meshes)",
        description="Export a motion file (from `handgen sample` or `handgen clip`) for animation tools. "
        "bvh: both hands' MANO skeletons under one root, Euler ZXY degrees, metres (see --bvh-scale). "
        "obj-seq: OUT is a folder of frame_0000.obj ... with both hand meshes (and the object). "
        "glb: binary glTF of both hands as skinned meshes with one animation at the motion's fps (and the "
        "object); --frame N writes frame N as a static scene instead; a grasp file gives its static scene. "
        "handx-eval: --motion is a FOLDER of motion files, OUT a folder of HandX's val_sample_XXXXXX_idxN.pkl "
        "evaluation files (with --data for the ground truth), readable by HandX's own script and by "
        "`handgen eval motion --samples`.",
    )
    parser.add_argument("--motion", required=True, help="motion file (.npz from `handgen sample` or `handgen clip`)")
    parser.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    parser.add_argument("--out", required=True, help="FILE.bvh, a folder (obj-seq) or FILE.glb")
    parser.add_argument(
        "--bvh-scale", type=arg_types.positive, default=1.0,
        help="length unit factor for bvh: 1 = metres (default; Blender), 100 = centimetres",
    )
    parser.add_argument("--overwrite", action="store_true", help="obj-seq: the --out folder is not empty: remove its frame_*.obj first")
    parser.add_argument("--frame", type=arg_types.nonneg_int, default=None,
                        help="glb: write only frame N as a static scene (default: the whole animation)")
    parser.add_argument("--data", default=None,
                        help="handx-eval: DATA_DIR whose clips are the ground truth (by source_id or caption)")
    parser.add_argument("--split", default="test", help="handx-eval: split searched by caption (default test)")
    parser.add_argument("--up-axis", choices=("z", "y"), default=None,
                        help="handx-eval: HandX's up axis (default: the DATA_DIR's, as prep handx --up-axis)")
    parser.add_argument(
        "--mano-dir", default=None,
        help="MANO files, used when the motion was made with MANO (default: $HANDGEN_MANO_DIR); "
        "motions made with the procedural hand always use it",
    )
    parser.set_defaults(func=run)


def _check_out(fmt: str, out: str) -> None:
    from pathlib import Path

    from handgen.errors import HandgenError

    path = Path(out)
    suffix = {"bvh": ".bvh", "glb": ".glb"}.get(fmt)
    if suffix is not None:
        if path.suffix.lower() != suffix:
            raise HandgenError(f"--format {fmt} writes a {suffix} file; --out is {out}")
        if path.is_dir():
            raise HandgenError(f"{out} is a folder; --format {fmt} writes a file")
    elif path.exists() and not path.is_dir():
        raise HandgenError(f"{out} is a file; --format obj-seq writes a folder of .obj files")


def run(args: argparse.Namespace) -> int:
    import logging
    import time
    from pathlib import Path

    import numpy as np

    from handgen.errors import HandgenError
    from handgen.hand.factory import make_hand_pair, resolve_mano_dir
    from handgen.hand.topology import HANDS
    from handgen.io.motion_npz import load_motion, object_from_extras

    log = logging.getLogger(__name__)
    if args.format == "handx-eval":
        from handgen.export.handx_eval import export_handx_eval

        if args.data is None:
            raise HandgenError("--format handx-eval needs --data DATA_DIR (the ground-truth clips)")
        if Path(args.out).exists() and not Path(args.out).is_dir():
            raise HandgenError(f"{args.out} is a file; --format handx-eval writes a folder")
        paths = export_handx_eval(args.motion, args.out, args.data, args.split, args.up_axis)
        print(f"export handx-eval: {len(paths)} sample file(s) written to {args.out}")
        return 0
    _check_out(args.format, args.out)
    if not args.bvh_scale > 0:
        raise HandgenError(f"--bvh-scale must be positive, got {args.bvh_scale}")
    motion, extras = load_motion(args.motion)
    if args.frame is not None and not -motion.num_frames <= args.frame < motion.num_frames:
        raise HandgenError(f"--frame {args.frame} outside {args.motion} ({motion.num_frames} frames)")
    mano_dir = resolve_mano_dir(args.mano_dir) if extras["hand_model"] == "mano" else None
    if extras["hand_model"] == "mano" and mano_dir is None:
        log.warning("%s was made with MANO; exporting the procedural hand (give --mano-dir for MANO)", args.motion)
    try:
        hands = make_hand_pair(mano_dir, flat_hand_mean=True)
    except (OSError, ValueError, ImportError) as exc:
        raise HandgenError(f"cannot build the MANO hand model from {mano_dir}: {exc}") from None
    started = time.perf_counter()

    from handgen.export.motion_export import export_motion

    found = object_from_extras(args.motion, extras, motion.num_frames) if args.format != "bvh" else None
    out = export_motion(args.out, motion, hands, args.format, frame=args.frame, obj=found, bvh_scale=args.bvh_scale,
                        progress=not getattr(args, "quiet", False))
    with_object = " + object" if found else ""
    if args.format == "bvh":
        from handgen.export.bvh import bvh_keypoint_names
        from handgen.testing.bvh_reader import bvh_world_positions, read_bvh

        positions = bvh_world_positions(read_bvh(out))
        joints = np.stack([np.stack([positions[n] for n in bvh_keypoint_names(s)], axis=1) for s in HANDS], axis=1)
        error_mm = 1000.0 * float(np.abs(joints / args.bvh_scale - extras["joints"]).max())
        (log.warning if error_mm > 1.0 else log.info)(
            "re-read %s: its 21 joints per hand are within %.3f mm of the motion file's joints", out, error_mm)
        what = f"{motion.num_frames} frames of both hands' skeletons ({hands.name} rest offsets, x{args.bvh_scale:g} m)"
    elif args.format == "obj-seq":
        what = f"{motion.num_frames} OBJ frames ({hands.name} hand meshes{with_object})"
    elif args.frame is not None or motion.num_frames == 1:
        what = f"frame {args.frame or 0} as a static scene ({hands.name} hand meshes{with_object})"
    else:
        what = (f"{motion.num_frames} frames at {motion.fps:g} fps as skinned, animated hands "
                f"({hands.name}{with_object})")
    print(f"exported {what} to {out} in {time.perf_counter() - started:.2f} s")
    return 0
