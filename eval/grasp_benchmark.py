"""Bimanual grasp benchmark on a folder of meshes: ``python -m eval.grasp_benchmark --ckpt RUN --out DIR MESH_OR_DIR...``.

For every mesh (taken in its own frame and units, ``--scale`` aside) runs ``handgen grasp``'s
pipeline (strategy starts, SDS against the prior unless ``--steps 0``, refinement with the
opposition term, hold test, ranking) for ``--num`` K grasps, writes them under
DIR/<mesh stem>/, and prints one Markdown row per mesh and one overall:

- hold rate of the top-1 grasp and of all K (:mod:`handgen.grasp.hold_test`: static hands,
  gravity along 6 axes for 1 s, < 2 cm in >= 5);
- median displacement over the K grasps and 6 directions (mm; a fall is ~4900 mm);
- max penetration (mm), intersection volume (cm^3), fingertips within 5 mm per hand (mean of K);
- diversity: mean pairwise joint distance of the K grasps in the object frame (mm) and the
  number of distinct grasp types (squeeze axis, :func:`handgen.grasp.init_strategies.squeeze_type`);
- wall seconds per grasp (all candidates' time over K) on ``--threads`` threads.

``benchmark.json`` in DIR holds every grasp's figures. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from eval.grasp_diversity import joint_diversity_mm
from handgen.grasp.grasp_output import write_grasps
from handgen.grasp.mesh_input import load_object_mesh
from handgen.grasp.prior_run import GraspPrior
from handgen.grasp.refinement import RefineConfig
from handgen.grasp.sds import SDSConfig
from handgen.grasp.synthesis import synthesize_grasps
from handgen.hand import make_hand_pair

MESH_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".off")
HEADER = ("| mesh | K | top-1 holds | hold rate (all K) | median displacement (mm) | max penetration (mm) | "
          "intersection (cm3) | tips L / R | diversity (mm) | grasp types | s / grasp |")


def mesh_files(paths: list[str]) -> list[Path]:
    """Every mesh named, or inside the folders named, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(f for f in p.iterdir() if f.suffix.lower() in MESH_SUFFIXES) if p.is_dir() else [p]
    return out


def summarise(name: str, grasps: list, seconds: float) -> dict:
    """The benchmark figures of one mesh's K grasps (GraspCandidate list, best first)."""
    m = [g.metrics for g in grasps]
    disp = [v for x in m for k, v in x.items() if k.startswith("hold_displacement_")]
    return {
        "mesh": name, "k": len(grasps), "top1_holds": bool(grasps[0].holds),
        "hold_rate": float(np.mean([g.holds for g in grasps])),
        "median_displacement_mm": float(np.median(disp)),
        "max_penetration_mm": float(max(x["penetration_depth_mm"] for x in m)),
        "intersection_cm3": float(np.mean([x["intersection_volume_cm3"] for x in m])),
        "tips_left": float(np.mean([x["tips_in_contact_left"] for x in m])),
        "tips_right": float(np.mean([x["tips_in_contact_right"] for x in m])),
        "diversity_mm": joint_diversity_mm(np.stack([g.joints for g in grasps])),
        "grasp_types": len({g.extra.get("grasp_type") for g in grasps}),
        "seconds_per_grasp": seconds / len(grasps),
    }


def markdown_row(r: dict) -> str:
    div = "-" if r["diversity_mm"] is None else f"{r['diversity_mm']:.0f}"
    top = r["top1_holds"] if isinstance(r["top1_holds"], str) else ("yes" if r["top1_holds"] else "no")
    return (f"| {r['mesh']} | {r['k']} | {top} | {r['hold_rate']:.2f} | {r['median_displacement_mm']:.1f} | "
            f"{r['max_penetration_mm']:.1f} | {r['intersection_cm3']:.1f} | {r['tips_left']:.1f} / {r['tips_right']:.1f} | "
            f"{div} | {r['grasp_types']} | {r['seconds_per_grasp']:.0f} |")


def overall(rows: list[dict]) -> dict:
    """Mean of the per-mesh figures (top-1: how many meshes' best grasp holds)."""
    divs = [r["diversity_mm"] for r in rows if r["diversity_mm"] is not None]
    return {"mesh": "**all**", "k": rows[0]["k"], "top1_holds": f"{sum(r['top1_holds'] for r in rows)} / {len(rows)}",
            **{k: float(np.mean([r[k] for r in rows])) for k in (
                "hold_rate", "median_displacement_mm", "intersection_cm3", "tips_left", "tips_right",
                "grasp_types", "seconds_per_grasp")},
            "max_penetration_mm": max(r["max_penetration_mm"] for r in rows),
            "diversity_mm": float(np.mean(divs)) if divs else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--num", type=int, default=4, help="K grasps per mesh (default 4)")
    parser.add_argument("--steps", type=int, default=None, help="SDS steps (0: SDS off, the ablation)")
    parser.add_argument("--inits", type=int, default=None, help="candidates (default max(K, the run's sds.inits))")
    parser.add_argument("--refine-steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--category", action="append", default=[], help="MESH_STEM=CATEGORY (default: the stem)")
    parser.add_argument("--no-render", action="store_true")
    parser.add_argument("meshes", nargs="+", help="mesh files or folders of meshes")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    cats = dict(c.split("=", 1) for c in args.category)
    prior = GraspPrior(args.ckpt)
    hands = make_hand_pair()
    s = prior.cfg.sds
    sds_cfg = SDSConfig(steps=int(args.steps if args.steps is not None else s.steps), t_range=tuple(s.t_range),
                        guidance=float(s.guidance), lr=float(s.lr), eval_draws=int(s.eval_draws))
    refine_cfg = RefineConfig(steps=int(args.refine_steps if args.refine_steps is not None else prior.cfg.refine.steps))
    inits = args.inits if args.inits is not None else max(args.num, int(s.inits))
    faces = [hands.left.faces.numpy(), hands.right.faces.numpy()]
    rows, grasp_rows = [], []
    for path in mesh_files(args.meshes):
        stem = path.stem
        mesh = load_object_mesh(path, args.scale)
        wall = time.time()
        grasps = synthesize_grasps(prior, hands, mesh, cats.get(stem, stem), args.num, sds_cfg, refine_cfg, inits,
                                   args.seed, progress=False)
        wall = time.time() - wall
        write_grasps(Path(args.out) / stem, grasps, [(mesh.vertices, mesh.faces)] * len(grasps), faces,
                     cats.get(stem, stem), hands.name, {"mesh": str(path), "scale": args.scale, "frame": "mesh"},
                     render=not args.no_render)
        row = summarise(stem, grasps, wall)
        rows.append(row)
        grasp_rows += [{"mesh": stem, "rank": k, "holds": g.holds, **g.metrics, **g.extra} for k, g in enumerate(grasps)]
        print(markdown_row(row), flush=True)
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    for r in rows + [overall(rows)]:
        print(markdown_row(r))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "benchmark.json").write_text(json.dumps({
        "sds_steps": sds_cfg.steps, "refine_steps": refine_cfg.steps, "inits": inits, "num": args.num,
        "threads": args.threads, "meshes": rows, "overall": overall(rows), "grasps": grasp_rows}, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
