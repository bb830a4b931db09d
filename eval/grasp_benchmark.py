"""Grasp synthesis figures per object mesh: ``python -m eval.grasp_benchmark --ckpt RUN --out DIR MESH...``.

For each mesh runs ``handgen grasp``'s pipeline (SDS + refinement) and prints, per grasp,
fingertips within 5 mm per hand, the deepest penetration (mm), the intersection volume
(cm^3), wall-clock and CPU seconds; writes the grasps (npz/ply/png) under DIR/<mesh stem>/
and a ``benchmark.json``. Figures, not pass/fail: the quality bar is >= 2 fingertips per
hand, penetration < 10 mm, < 120 s per grasp on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from handgen.grasp.grasp_output import write_grasps
from handgen.grasp.mesh_input import load_object_mesh
from handgen.grasp.prior_run import GraspPrior
from handgen.grasp.refinement import RefineConfig
from handgen.grasp.sds import SDSConfig
from handgen.grasp.synthesis import synthesize_grasps
from handgen.hand import make_hand_pair


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--num", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--inits", type=int, default=None)
    parser.add_argument("--refine-steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--category", action="append", default=[], help="MESH_STEM=CATEGORY (default: the stem)")
    parser.add_argument("meshes", nargs="+")
    args = parser.parse_args(argv)

    import torch


    torch.set_num_threads(args.threads)
    cats = dict(c.split("=", 1) for c in args.category)
    prior = GraspPrior(args.ckpt)
    hands = make_hand_pair()
    s = prior.cfg.sds
    sds_cfg = SDSConfig(steps=int(args.steps if args.steps is not None else s.steps), t_range=tuple(s.t_range),
                        guidance=float(s.guidance), lr=float(s.lr), eval_draws=int(s.eval_draws))
    refine_cfg = RefineConfig(steps=int(args.refine_steps if args.refine_steps is not None else prior.cfg.refine.steps))
    rows = []
    for path in args.meshes:
        stem = Path(path).stem
        wall, cpu = time.time(), time.process_time()
        mesh = load_object_mesh(path)
        grasps = synthesize_grasps(prior, hands, mesh, cats.get(stem, stem), args.num, sds_cfg, refine_cfg,
                                   args.inits if args.inits is not None else int(s.inits), args.seed, progress=False)
        wall, cpu = time.time() - wall, time.process_time() - cpu
        faces = [hands.left.faces.numpy(), hands.right.faces.numpy()]
        write_grasps(Path(args.out) / stem, grasps, [(mesh.vertices, mesh.faces)] * len(grasps), faces, cats.get(stem, stem),
                     hands.name, {"mesh": str(path), "scale": 1.0, "frame": "mesh"})
        for k, g in enumerate(grasps):
            m = g.metrics
            row = {"mesh": stem, "rank": k, "tips_left": m["tips_in_contact_left"], "tips_right": m["tips_in_contact_right"],
                   "penetration_mm": round(m["penetration_depth_mm"], 2), "intersection_cm3": round(m["intersection_volume_cm3"], 2),
                   "wall_s_per_grasp": round(wall / len(grasps), 1), "cpu_s_per_grasp": round(cpu / len(grasps), 1),
                   "sds_loss": round(g.sds_loss, 5), "plausible": g.plausible}
            rows.append(row)
            print(json.dumps(row))
    (Path(args.out) / "benchmark.json").write_text(json.dumps({"sds_steps": sds_cfg.steps, "refine_steps": refine_cfg.steps,
                                                                "threads": args.threads, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
