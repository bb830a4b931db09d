"""``handgen grasp``: bimanual grasps of an object mesh by SDS against the grid prior (+ refinement),
or grasps sampled from the prior (``--sample-prior``)."""

from __future__ import annotations

import argparse

from handgen.commands import arg_types
from handgen.device import add_device_option, resolve_device


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "grasp", help="synthesise bimanual grasps of a mesh (SDS + contact refinement) or sample them from the prior",
        description="Writes OUT_DIR/grasp_XXX.npz (best first), .ply (hands + object), .png and summary.json.",
    )
    parser.add_argument("--ckpt", required=True, help="RUN_DIR of a trained grasp_prior")
    parser.add_argument("--mesh", default=None, help="object mesh (.obj/.ply/.stl/.glb...), metres unless --scale")
    parser.add_argument("--sample-prior", action="store_true", help="sample hands and object from the prior instead of fitting a mesh")
    parser.add_argument("--category", required=True, help='object category for the text prompt "grasp {category} with both hands"')
    parser.add_argument("--out", required=True, help="OUT_DIR to write")
    parser.add_argument("--overwrite", action="store_true", help="OUT_DIR is not empty: remove its grasp_* files and summary.json first")
    parser.add_argument("--num", type=arg_types.int_in(1, 256), default=1, help="grasps to write (default 1)")
    parser.add_argument("--steps", type=arg_types.nonneg_int, default=None,
                        help="SDS iterations (default: the run's sds.steps; 0: SDS off, the starts go straight to "
                             "refinement, the benchmark's ablation); with --sample-prior: DDIM steps (>= 1)")
    parser.add_argument("--inits", type=arg_types.positive_int, default=None, help="random initialisations optimised together (default: the run's sds.inits)")
    parser.add_argument("--refine-steps", type=arg_types.nonneg_int, default=None, help="contact refinement iterations (default: the run's refine.steps)")
    parser.add_argument("--guidance", type=arg_types.nonneg, default=None, help="classifier-free guidance scale (default: the run's)")
    parser.add_argument("--scale", type=arg_types.positive, default=1.0, help="multiply mesh coordinates by this (e.g. 0.001 for millimetres)")
    parser.add_argument("--seed", type=arg_types.seed, default=0)
    parser.add_argument("--threads", type=arg_types.int_in(1, 256), default=None, help="torch CPU threads (default: min(2, cores))")
    parser.add_argument("--mano-dir", default=None, help="official MANO files (default: $HANDGEN_MANO_DIR or the procedural hand)")
    parser.add_argument("--no-render", action="store_true", help="skip the PNG renders")
    add_device_option(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    """A thin shell over :class:`handgen.api.GraspSynthesizer`."""
    from handgen.api.grasp_synthesizer import GraspSynthesizer, set_cpu_threads
    from handgen.errors import HandgenError
    from handgen.grasp.mesh_input import load_object_mesh

    if bool(args.mesh) == bool(args.sample_prior):
        raise HandgenError("give exactly one of --mesh FILE or --sample-prior")
    device = resolve_device(args.device)  # a device this machine lacks fails before anything loads
    set_cpu_threads(args.threads)
    mesh = load_object_mesh(args.mesh, args.scale) if args.mesh else None  # bad input fails before loading models
    synth = GraspSynthesizer(args.ckpt, device=device, mano_dir=args.mano_dir)
    progress = not getattr(args, "quiet", False)
    if mesh is not None:
        grasps = synth.synthesize(mesh, args.category, args.num, steps=args.steps, inits=args.inits,
                                  refine_steps=args.refine_steps, guidance=args.guidance, seed=args.seed,
                                  progress=progress)
    else:
        grasps = synth.sample(args.category, args.num, steps=args.steps, guidance=args.guidance,
                              refine_steps=args.refine_steps, seed=args.seed, progress=progress)
    summary = synth.save(grasps, args.out, render=not args.no_render)
    for row in summary["grasps"]:
        print(
            f"{row['file']}: tips L {row.get('tips_in_contact_left', '-')} R {row.get('tips_in_contact_right', '-')}, "
            f"penetration {row.get('penetration_depth_mm', float('nan')):.1f} mm, "
            f"intersection {row.get('intersection_volume_cm3', float('nan')):.2f} cm3, sds {row['sds_loss']:.4f}, "
            f"holds {row.get('holds')} ({int(row.get('hold_directions', 0))}/6), "
            f"{row['seconds']:.1f} s"
        )
    print(f"handgen grasp: {len(grasps)} grasp(s) written to {args.out}")
    return 0
