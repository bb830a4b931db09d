"""``handgen grasp``: bimanual grasps of an object mesh by SDS against the grid prior (+ refinement),
or grasps sampled from the prior (``--sample-prior``)."""

from __future__ import annotations

import argparse


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
    parser.add_argument("--num", type=int, default=1, help="grasps to write (default 1)")
    parser.add_argument("--steps", type=int, default=None, help="SDS iterations (default: the run's sds.steps; sampling: DDIM steps)")
    parser.add_argument("--inits", type=int, default=None, help="random initialisations optimised together (default: the run's sds.inits)")
    parser.add_argument("--refine-steps", type=int, default=None, help="contact refinement iterations (default: the run's refine.steps)")
    parser.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale (default: the run's)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply mesh coordinates by this (e.g. 0.001 for millimetres)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: min(2, cores))")
    parser.add_argument("--mano-dir", default=None, help="official MANO files (default: $HANDGEN_MANO_DIR or the procedural hand)")
    parser.add_argument("--no-render", action="store_true", help="skip the PNG renders")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import logging
    import os

    import torch

    from handgen.errors import HandgenError

    log = logging.getLogger("handgen.grasp")
    if bool(args.mesh) == bool(args.sample_prior):
        raise HandgenError("give exactly one of --mesh FILE or --sample-prior")
    if args.num < 1:
        raise HandgenError("--num must be at least 1")
    for name in ("steps", "inits", "refine_steps"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise HandgenError(f"--{name.replace('_', '-')} must be non-negative")
    torch.set_num_threads(args.threads or max(1, min(2, os.cpu_count() or 1)))

    from handgen.grasp.grasp_output import write_grasps
    from handgen.grasp.mesh_input import load_object_mesh
    from handgen.grasp.prior_run import GraspPrior
    from handgen.grasp.refinement import RefineConfig
    from handgen.grasp.sds import SDSConfig
    from handgen.hand import make_hand_pair

    mesh = load_object_mesh(args.mesh, args.scale) if args.mesh else None  # bad input fails before loading models
    prior = GraspPrior(args.ckpt)
    hands = make_hand_pair(args.mano_dir)
    if hands.name != prior.hand_model:
        log.warning("the prior was trained with the %s hand; using the %s hand", prior.hand_model, hands.name)
    cfg = prior.cfg
    refine_cfg = RefineConfig(steps=int(args.refine_steps if args.refine_steps is not None else cfg.refine.steps))
    faces = [hands.left.faces.numpy(), hands.right.faces.numpy()]
    if mesh is not None:
        s = cfg.sds
        sds_cfg = SDSConfig(
            steps=int(args.steps if args.steps is not None else s.steps), t_range=tuple(s.t_range),
            guidance=float(args.guidance if args.guidance is not None else s.guidance), lr=float(s.lr),
            eval_draws=int(s.eval_draws),
        )
        from handgen.grasp.synthesis import synthesize_grasps

        grasps = synthesize_grasps(prior, hands, mesh, args.category, args.num, sds_cfg, refine_cfg,
                                   args.inits if args.inits is not None else int(s.inits), args.seed)
        objects = [(mesh.vertices, mesh.faces)] * len(grasps)
        source = {"mesh": str(mesh.path), "scale": mesh.scale, "frame": "mesh", "mesh_fixes": "; ".join(mesh.fixes),
                  "sds_steps": sds_cfg.steps, "refine_steps": refine_cfg.steps, "ckpt": str(args.ckpt), "seed": args.seed}
    else:
        from handgen.grasp.synthesis import sample_prior_grasps

        smp = cfg.sample
        steps = int(args.steps if args.steps is not None else smp.steps)
        results = sample_prior_grasps(prior, hands, args.category, args.num, steps,
                                      float(args.guidance if args.guidance is not None else smp.guidance), refine_cfg, args.seed)
        grasps = [r[0] for r in results]
        objects = [(r[1], r[2]) for r in results]
        source = {"mesh": "", "scale": 1.0, "frame": "right_hand", "sample_steps": steps, "refine_steps": refine_cfg.steps,
                  "ckpt": str(args.ckpt), "seed": args.seed}
    summary = write_grasps(args.out, grasps, objects, faces, args.category, hands.name, source, render=not args.no_render)
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
