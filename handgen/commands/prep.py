"""``handgen prep {synthetic,arctic,ahx,handx,grasps,triangulate}``: make raw data and convert it to a DATA_DIR."""

from __future__ import annotations

import argparse

from handgen.commands import arg_types

MANO_HELP = "official MANO files (default: $HANDGEN_MANO_DIR or the procedural hand)"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("prep", help="generate or convert data into handgen's DATA_DIR format")
    kinds = parser.add_subparsers(dest="prep_kind", metavar="KIND", required=True)

    syn = kinds.add_parser("synthetic", help="write a synthetic bimanual dataset in ARCTIC's on-disk format")
    syn.add_argument("--out", required=True, help="RAW_DIR to create (gets raw_seqs/ and captions.jsonl)")
    syn.add_argument("--num-seqs", type=arg_types.positive_int, default=64, help="number of sequences (default 64)")
    syn.add_argument("--seed", type=arg_types.seed, default=0, help="random seed; the output is a pure function of it")
    syn.add_argument("--frames", type=arg_types.int_in(2, 10**6), default=90, help="frames per sequence at 30 fps (default 90)")
    syn.add_argument(
        "--objects", type=arg_types.unit, default=1 / 3, metavar="FRACTION",
        help="fraction of sequences in which both hands hold and move an object (default 1/3; 0 = hands only)",
    )
    syn.add_argument(
        "--ycb-dir", default=None,
        help="folder with the YCB meshes CrackerBox.obj, MasterChefCan.obj, TomatoSoupCan.obj "
        "(default: $HANDGEN_YCB_DIR or ../shared/data/ycb beside the handgen checkout; skipped with a warning if absent)",
    )
    syn.set_defaults(func=_run_synthetic)

    arc = kinds.add_parser("arctic", help="convert ARCTIC raw_seqs (MANO per frame) into clips")
    arc.add_argument("--src", required=True, help="ARCTIC_ROOT holding raw_seqs/ (and meta/, splits_json/)")
    arc.add_argument("--out", required=True, help="DATA_DIR to write")
    arc.add_argument("--overwrite", action="store_true", help="--out holds a conversion of another --src: remove it first")
    arc.add_argument("--mano-dir", default=None, help="official MANO files (default: $HANDGEN_MANO_DIR or the procedural hand)")
    arc.add_argument("--clip-len", type=arg_types.int_in(2, 10**5), default=60, help="frames per clip (default 60)")
    arc.add_argument("--stride", type=arg_types.positive_int, default=30, help="frames between clip starts (default 30)")
    arc.add_argument("--workers", type=arg_types.workers, default=1, help="parallel worker processes (default 1)")
    arc.add_argument("--contact-dist", type=arg_types.positive, default=0.01,
                     help="hand-object contact distance in metres for object_contact/object_tips (default 0.01)")
    arc.set_defaults(func=_run_arctic)

    ahx = kinds.add_parser("ahx", help="convert AssemblyHands-X style SMPL-X sequences into clips")
    ahx.add_argument("--src", required=True, help="AHX_ROOT holding <name>.smplx.npy or <name>.npz files (any depth)")
    ahx.add_argument("--out", required=True, help="DATA_DIR to write")
    ahx.add_argument("--overwrite", action="store_true", help="--out holds a conversion of another --src: remove it first")
    ahx.add_argument("--mano-dir", default=None, help=MANO_HELP)
    ahx.add_argument("--smplx-dir", default=None,
                     help="SMPL-X model folder (SMPLX_<GENDER>.npz): wrists from the body model")
    ahx.add_argument("--keypoints", default=None,
                     help="3D hand keypoints: AssemblyHands annotation .json or an array file (.npy/.npz)")
    ahx.add_argument("--keypoint-unit", default="auto", choices=["auto", "m", "cm", "mm"],
                     help="keypoint unit (default auto)")
    ahx.add_argument("--frame-offset", type=int, default=0,
                     help="annotation frame id of the sequence's frame 0 (json keypoints)")
    ahx.add_argument("--wrist-offset", default=None,
                     help="extra wrist rotation, six comma-separated axis-angle values 'lx,ly,lz,rx,ry,rz' (radians)")
    ahx.add_argument("--labels", default=None, help="Assembly101-style action csv: clips get their dominant 'verb'")
    ahx.add_argument("--benchmark-verbs", action="store_true",
                     help="only the six benchmark verbs (pick up, put down, position, remove, screw, unscrew) count")
    ahx.add_argument("--fit-betas", action="store_true", help="fit each hand's size (betas[0]) to the keypoints")
    ahx.add_argument("--clip-len", type=arg_types.int_in(2, 10**5), default=60, help="frames per clip (default 60)")
    ahx.add_argument("--stride", type=arg_types.positive_int, default=30, help="frames between clip starts (default 30)")
    ahx.add_argument("--workers", type=arg_types.workers, default=1, help="parallel worker processes (default 1)")
    ahx.set_defaults(func=_run_ahx)

    hx = kinds.add_parser("handx", help="convert HandX's released npz files (joints, MANO fits, 5 captions)")
    hx.add_argument("--src", required=True,
                    help="HANDX_DIR with {train,test}_can_pos_all_wotextfeat.npz, {train,test}_mano.npz "
                    "(+ source_metadata.json)")
    hx.add_argument("--out", required=True, help="DATA_DIR to write")
    hx.add_argument("--mano-dir", default=None, help=MANO_HELP)
    hx.add_argument("--up-axis", choices=("z", "y"), default="z",
                    help="the files' up axis: z (default; HandX's captions read z as up) is rotated to handgen's +y "
                    "by (x, y, z) -> (x, z, -y); y keeps the coordinates")
    hx.add_argument("--workers", type=arg_types.workers, default=1, help="parallel worker processes (default 1)")
    hx.add_argument("--chunk", type=arg_types.positive_int, default=2048, help="clips per shard / work unit (default 2048)")
    hx.add_argument("--val-fraction", type=arg_types.float_in(0, 1, hi_open=True), default=0.05,
                    help="share of train carved out as val, by blocks of consecutive keys (default 0.05)")
    hx.add_argument("--val-block", type=arg_types.positive_int, default=100, help="consecutive keys per val/train block (default 100)")
    hx.set_defaults(func=_run_handx)

    grasp = kinds.add_parser(
        "grasps", help="extract bimanual grasp frames (both hands on the object) for the grasp prior"
    )
    grasp.add_argument("--src", required=True, help="ARCTIC_ROOT holding raw_seqs/ with .object.npy files and meta/")
    grasp.add_argument("--out", required=True, help="GRASP_DIR to write")
    grasp.add_argument("--overwrite", action="store_true", help="--out holds a conversion of another --src: remove it first")
    grasp.add_argument("--mano-dir", default=None, help=MANO_HELP)
    grasp.add_argument("--contact-dist", type=arg_types.positive, default=0.01, help="contact distance in metres (default 0.01)")
    grasp.add_argument("--min-fraction", type=arg_types.float_in(0, 1, hi_open=True), default=0.2,
                       help="keep a frame when EACH hand has more than this fraction of its vertices in contact "
                       "(default 0.2)")
    grasp.add_argument("--stride", type=arg_types.positive_int, default=1, help="consider every N-th frame only (default 1)")
    grasp.add_argument("--workers", type=arg_types.workers, default=1, help="parallel worker processes (default 1)")
    grasp.add_argument("--hold-test", action="store_true",
                       help="also run the 6-direction hold test on every kept frame and drop the frames that do not "
                       "hold (~1 s per frame on an idle core)")
    grasp.set_defaults(func=_run_grasps)

    tri = kinds.add_parser(
        "triangulate", help="confidence-weighted multi-view triangulation of 2D keypoints (AssemblyHands-X Eq. 1-2)"
    )
    tri.add_argument("--keypoints2d", required=True, help=".npz with keypoints (C,F,J,2) px and confidence (C,F,J)")
    tri.add_argument("--cameras", required=True, help=".npz with P (C,3,4), or K, R, t")
    tri.add_argument("--out", required=True, help=".npz to write: points3d (F,J,3), valid (F,J), ...")
    tri.add_argument("--margin", type=arg_types.nonneg, default=20.0, help="edge margin m in pixels (default 20)")
    tri.add_argument("--tau", type=arg_types.unit, default=0.15, help="confidence threshold (default 0.15)")
    tri.add_argument("--median", type=arg_types.positive_int, default=5, help="odd temporal median window in frames; 1 = off (default 5)")
    tri.set_defaults(func=_run_triangulate)


def _run_synthetic(args: argparse.Namespace) -> int:
    from data_prep.synthetic.generate import run_from_args

    return run_from_args(args)


def _run_arctic(args: argparse.Namespace) -> int:
    from data_prep.prep_arctic import run_from_args

    return run_from_args(args)


def _run_ahx(args: argparse.Namespace) -> int:
    from data_prep.prep_ahx import run_from_args

    return run_from_args(args)


def _run_handx(args: argparse.Namespace) -> int:
    from data_prep.prep_handx import run_from_args

    return run_from_args(args)


def _run_grasps(args: argparse.Namespace) -> int:
    from data_prep.prep_grasps import run_from_args

    return run_from_args(args)


def _run_triangulate(args: argparse.Namespace) -> int:
    from data_prep.triangulate_files import run_from_args

    return run_from_args(args)
