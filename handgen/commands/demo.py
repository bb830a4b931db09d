"""``handgen demo --out OUT_DIR [--fast]``: the whole suite end to end on the embedded defaults."""

from __future__ import annotations

import argparse

from handgen.commands import arg_types


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo", help="synthetic data -> captions -> diffusion + evaluator -> samples -> grasp prior -> grasp -> eval"
    )
    parser.add_argument("--out", required=True, help="OUT_DIR (re-running resumes the stages already finished)")
    parser.add_argument("--fast", action="store_true", help="a smaller demo (about 5 minutes on 2 CPU cores)")
    parser.add_argument("--ycb-dir", default=None,
                        help="folder of YCB .obj meshes (default: $HANDGEN_YCB_DIR or ../shared/data/ycb beside "
                             "the checkout; without it the demo uses primitives and grasps a generated box)")
    parser.add_argument("--threads", type=arg_types.int_in(1, 256), default=None, help="torch CPU threads (default: all cores, or 1 on a busy machine)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from handgen.demo.run import run_demo

    run_demo(args.out, fast=args.fast, ycb_dir=args.ycb_dir, threads=args.threads)
    return 0
