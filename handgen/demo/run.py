"""Entry of ``handgen demo``: pick the size and the grasp mesh, run the stages, write the summary."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from handgen.demo.data_plan import covering_seed
from handgen.demo.plan import ALL_CHECKS, FAST, FULL, GRASP_CATEGORY, GRASP_MESH, demo_stages
from handgen.demo.stages import run_stages
from handgen.demo.summary import demo_summary
from handgen.io.atomic import atomic_write_text

log = logging.getLogger(__name__)


def grasp_target(ycb_dir: str | Path | None, out: Path) -> tuple[Path, str, Path | None]:
    """``(mesh, category, ycb_dir or None)``: the YCB cracker box, or a generated box without YCB meshes.

    Without YCB meshes the synthetic data uses primitives only and the grasp stage grasps a
    20 x 12 x 14 cm box written to ``OUT_DIR/objects/box.obj``.
    """
    from data_prep.synthetic.object_catalog import default_ycb_dir

    folder = Path(ycb_dir) if ycb_dir is not None else default_ycb_dir()
    if (folder / GRASP_MESH).exists():
        return folder / GRASP_MESH, GRASP_CATEGORY, folder
    import trimesh

    log.warning("no %s in %s: the demo grasps a generated box instead", GRASP_MESH, folder)
    box = out / "objects" / "box.obj"
    box.parent.mkdir(parents=True, exist_ok=True)
    trimesh.creation.box(extents=(0.20, 0.12, 0.14)).export(box)
    return box, "box", None


def default_threads() -> int:
    """All cores on an idle machine, 1 when it is already busy: torch's spinning worker threads slow
    down several-fold when other processes hold the cores."""
    cores = os.cpu_count() or 1
    busy = os.getloadavg()[0] >= cores if hasattr(os, "getloadavg") else False
    return 1 if busy else cores


def run_demo(out: str | Path, fast: bool = False, ycb_dir: str | Path | None = None,
             threads: int | None = None) -> str:
    """Run (or resume) the demo into ``out``; returns the summary (also in ``out/reports/summary.md``).

    Raises HandgenError naming the stage that failed and its log file.
    """
    import torch

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads or default_threads())
    size = FAST if fast else FULL
    mesh, category, folder = grasp_target(ycb_dir, out)
    print(f"handgen demo ({size.name}) -> {out}")
    seed, counts = covering_seed(size.num_seqs, ALL_CHECKS, size.min_count, objects=size.objects)
    shown = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"data plan: synthetic seed {seed}, {size.num_seqs} sequences; hand-only sequences showing each prompted "
          f"motion: {shown}{'' if min(counts.values()) else ' (some never: expect the samples to miss them)'}")
    started = time.perf_counter()
    results = run_stages(out, demo_stages(out, size, mesh, category, folder, seed), size.name)
    summary = demo_summary(out, results)
    atomic_write_text(out / "reports" / "summary.md", summary)
    print(summary)
    print(f"handgen demo: finished in {time.perf_counter() - started:.0f} s; summary in {out / 'reports' / 'summary.md'}")
    return summary
