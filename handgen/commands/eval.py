"""``handgen eval motion ...`` and ``handgen eval grasp ...``: the field's metrics as a table and a JSON report."""

from __future__ import annotations

import argparse

from handgen.commands import arg_types

from handgen.device import add_device_option, resolve_device


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="evaluate motion models or grasps (table + JSON report)")
    kinds = parser.add_subparsers(dest="eval_kind", metavar="KIND", required=True)

    m = kinds.add_parser(
        "motion", help="FID, R-Precision, MM-Dist, Diversity, MultiModality, MPJPE and hand metrics on a test split",
        description="Scores a motion model (diffusion or AR run) against the test clips of DATA_DIR with a trained "
                    "text-motion evaluator (configs/evaluator*.yaml); --real scores the test clips themselves.")
    m.add_argument("--ckpt", default=None, help="RUN_DIR of a motion model (handgen train)")
    m.add_argument("--real", action="store_true", help="score the test split itself (the reference row) instead")
    m.add_argument("--data", default=None, help="DATA_DIR with the test split and its captions")
    m.add_argument("--evaluator", required=True,
                   help="RUN_DIR of a trained motion_evaluator, or handx:DIR for HandX's published evaluator")
    m.add_argument("--protocol", choices=("handgen", "handx"), default="handgen",
                   help="handgen (default: replications, 95%% intervals) or handx (HandX's exact protocol, "
                   "+- std over generation groups, HandX's key names)")
    m.add_argument("--generations", type=arg_types.positive_int, default=4,
                   help="--protocol handx: motions generated per text (default 4, HandX's diffusion setting)")
    m.add_argument("--samples", default=None,
                   help="--protocol handx: score a folder of HandX-format val_sample_*.pkl files instead of a model")
    m.add_argument("--out", required=True, help="REPORT.json to write")
    m.add_argument("--split", choices=("train", "val", "test"), default="test")
    m.add_argument("--replications", type=arg_types.positive_int, default=3, help="replications with fixed seeds (default 3)")
    m.add_argument("--seed", type=arg_types.seed, default=0)
    m.add_argument("--mm-texts", type=arg_types.nonneg_int, default=16, help="texts for MultiModality (default 16; 0 = skip)")
    m.add_argument("--mm-samples", type=arg_types.nonneg_int, default=8, help="samples per MultiModality text (default 8)")
    m.add_argument("--batch-size", type=arg_types.positive_int, default=64, help="motions generated per call (default 64)")
    m.add_argument("--rprecision-batch", type=arg_types.int_in(2, 10**6), default=32, help="R-Precision batch size (default 32, the protocol)")
    m.add_argument("--penetration-stride", type=arg_types.nonneg_int, default=3,
                   help="every n-th frame for hand-hand penetration (default 3; 0 = skip)")
    m.add_argument("--max-clips", type=arg_types.positive_int, default=None, help="use only the first N clips of the split")
    m.add_argument("--sampler", choices=("ddpm", "ddim", "dpmpp", "lcm"), default=None, help="diffusion runs")
    m.add_argument("--steps", type=arg_types.positive_int, default=None, help="diffusion runs: sampler steps")
    m.add_argument("--guidance", type=arg_types.nonneg, default=None,
                   help="classifier-free guidance at every step (default from the run, with its noisy-step guidance)")
    m.add_argument("--noisy-guidance", type=arg_types.nonneg, default=None,
                   help="diffusion runs: guidance on the noisy steps (t >= the run's sample.noisy_from)")
    m.add_argument("--temperature", type=arg_types.positive, default=None, help="AR runs")
    m.add_argument("--top-k", type=arg_types.positive_int, default=None, help="AR runs: sample among the k likeliest tokens")
    m.add_argument("--top-p", type=arg_types.float_in(0, 1, lo_open=True), default=None, help="AR runs: nucleus sampling mass")
    m.add_argument("--greedy", action="store_true", default=None, help="AR runs: greedy decoding")
    m.add_argument("--mano-dir", default=None, help="MANO files (for data made with MANO)")
    add_device_option(m)
    m.set_defaults(func=_run_motion)

    g = kinds.add_parser(
        "grasp", help="penetration, intersection volume, contact, hold test (6 gravity directions) and diversity of grasps",
        description="Reads OUT_DIR/grasp_XXX.npz of handgen grasp and the object mesh they were made on.")
    g.add_argument("--results", required=True, help="OUT_DIR written by handgen grasp")
    g.add_argument("--out", required=True, help="REPORT.json to write")
    g.add_argument("--mesh", default=None, help="object mesh (default: the one recorded in OUT_DIR/summary.json)")
    g.add_argument("--scale", type=arg_types.positive, default=None, help="scale applied to the mesh (default: as recorded)")
    g.add_argument("--gravity", default="-y",
                   help="gravity direction in the mesh frame: x, -x, y, -y, z, -z (default -y)")
    g.add_argument("--sim-seconds", type=arg_types.float_in(0, 60, lo_open=True), default=1.0, help="simulated time (default 1 s)")
    g.add_argument("--mano-dir", default=None, help="MANO files (for grasps made with MANO)")
    g.set_defaults(func=_run_grasp)


def _write(report: dict, out: str, table: str) -> None:
    from handgen.io.atomic import atomic_write_json

    atomic_write_json(out, report)
    print(table)
    print(f"report written to {out}")


def _run_motion(args: argparse.Namespace) -> int:
    from eval.motion_report import evaluate_motion, format_report
    from handgen.errors import HandgenError

    if args.real and args.ckpt:
        raise HandgenError("give either --ckpt or --real, not both (a model report includes the real row)")
    options = {"sampler": args.sampler, "steps": args.steps, "guidance": args.guidance,
               "noisy_guidance": args.noisy_guidance,
               "temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p, "greedy": args.greedy}
    if args.protocol == "handx" or args.samples:
        from eval.handx_report import evaluate_handx, format_handx_report

        report = evaluate_handx(
            args.evaluator, args.data, ckpt=args.ckpt, real=args.real, samples=args.samples, split=args.split,
            generations=args.generations, seed=args.seed, batch_size=args.batch_size, options=options,
            mano_dir=args.mano_dir, max_clips=args.max_clips, device=resolve_device(args.device))
        _write(report, args.out, format_handx_report(report))
        return 0
    if args.data is None:
        raise HandgenError("--data DATA_DIR is required")
    report = evaluate_motion(
        args.evaluator, args.data, ckpt=args.ckpt, real=args.real, split=args.split,
        replications=args.replications, seed=args.seed, mm_texts=args.mm_texts, mm_samples=args.mm_samples,
        batch_size=args.batch_size, options=options, mano_dir=args.mano_dir,
        penetration_stride=args.penetration_stride, rp_batch=args.rprecision_batch, max_clips=args.max_clips,
        device=resolve_device(args.device),
    )
    _write(report, args.out, format_report(report))
    return 0


def _run_grasp(args: argparse.Namespace) -> int:
    from eval.grasp_report import evaluate_grasps, format_grasp_report

    report = evaluate_grasps(args.results, mesh=args.mesh, scale=args.scale, gravity=args.gravity,
                             sim_seconds=args.sim_seconds, mano_dir=args.mano_dir)
    _write(report, args.out, format_grasp_report(report))
    return 0
