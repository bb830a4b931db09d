"""``handgen prep {synthetic,arctic,triangulate,...}``: make raw data and convert it to a DATA_DIR."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("prep", help="generate or convert data into handgen's DATA_DIR format")
    kinds = parser.add_subparsers(dest="prep_kind", metavar="KIND", required=True)

    syn = kinds.add_parser("synthetic", help="write a synthetic bimanual dataset in ARCTIC's on-disk format")
    syn.add_argument("--out", required=True, help="RAW_DIR to create (gets raw_seqs/ and captions.jsonl)")
    syn.add_argument("--num-seqs", type=int, default=64, help="number of sequences (default 64)")
    syn.add_argument("--seed", type=int, default=0, help="random seed; the output is a pure function of it")
    syn.add_argument("--frames", type=int, default=90, help="frames per sequence at 30 fps (default 90)")
    syn.set_defaults(func=_run_synthetic)

    arc = kinds.add_parser("arctic", help="convert ARCTIC raw_seqs (MANO per frame) into clips")
    arc.add_argument("--src", required=True, help="ARCTIC_ROOT holding raw_seqs/ (and meta/, splits_json/)")
    arc.add_argument("--out", required=True, help="DATA_DIR to write")
    arc.add_argument("--mano-dir", default=None, help="official MANO files (default: $HANDGEN_MANO_DIR or the procedural hand)")
    arc.add_argument("--clip-len", type=int, default=60, help="frames per clip (default 60)")
    arc.add_argument("--stride", type=int, default=30, help="frames between clip starts (default 30)")
    arc.add_argument("--workers", type=int, default=1, help="parallel worker processes (default 1)")
    arc.set_defaults(func=_run_arctic)

    tri = kinds.add_parser(
        "triangulate", help="confidence-weighted multi-view triangulation of 2D keypoints (AssemblyHands-X Eq. 1-2)"
    )
    tri.add_argument("--keypoints2d", required=True, help=".npz with keypoints (C,F,J,2) px and confidence (C,F,J)")
    tri.add_argument("--cameras", required=True, help=".npz with P (C,3,4), or K, R, t")
    tri.add_argument("--out", required=True, help=".npz to write: points3d (F,J,3), valid (F,J), ...")
    tri.add_argument("--margin", type=float, default=20.0, help="edge margin m in pixels (default 20)")
    tri.add_argument("--tau", type=float, default=0.15, help="confidence threshold (default 0.15)")
    tri.add_argument("--median", type=int, default=5, help="odd temporal median window in frames; 1 = off (default 5)")
    tri.set_defaults(func=_run_triangulate)


def _run_synthetic(args: argparse.Namespace) -> int:
    from data_prep.synthetic.generate import run_from_args

    return run_from_args(args)


def _run_arctic(args: argparse.Namespace) -> int:
    from data_prep.prep_arctic import run_from_args

    return run_from_args(args)


def _run_triangulate(args: argparse.Namespace) -> int:
    from data_prep.triangulate_files import run_from_args

    return run_from_args(args)
