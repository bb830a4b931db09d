"""Grasp synthesis: seconds per grasp of ``handgen grasp`` (SDS + refinement) with a trained grasp prior.

Needs ``HANDGEN_BENCH_GRASP_RUN`` (a grasp_prior RUN_DIR); the mesh is ``HANDGEN_BENCH_GRASP_MESH``
or, by default, a 6 x 8 x 10 cm box. Without a run (or without the ``grasp`` command) the row
says skipped.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from handgen.cli import main


def bench_grasp(num: int = 1) -> list[dict]:
    import importlib.util


    run = os.environ.get("HANDGEN_BENCH_GRASP_RUN")
    reason = None if run else "set HANDGEN_BENCH_GRASP_RUN to a grasp_prior run dir"
    if run and importlib.util.find_spec("handgen.commands.grasp") is None:
        reason = "this handgen has no grasp command"
    if reason:
        return [{"benchmark": "grasp synthesis", "case": "handgen grasp", "value": float("nan"),
                 "unit": f"skipped: {reason}"}]
    with tempfile.TemporaryDirectory() as tmp:
        mesh = os.environ.get("HANDGEN_BENCH_GRASP_MESH")
        if not mesh:
            import trimesh

            mesh = str(Path(tmp) / "box.obj")
            trimesh.creation.box((0.06, 0.08, 0.10)).export(mesh)
        start = time.perf_counter()
        code = main(["-q", "grasp", "--ckpt", run, "--mesh", mesh, "--category", "box", "--out", str(Path(tmp) / "out"),
                     "--num", str(num), "--no-render"])
        seconds = (time.perf_counter() - start) / num
    if code != 0:
        return [{"benchmark": "grasp synthesis", "case": "handgen grasp", "value": float("nan"),
                 "unit": f"skipped: handgen grasp exited with {code}"}]
    return [{"benchmark": "grasp synthesis", "case": f"{Path(mesh).name}, {num} grasp(s), defaults of the run",
             "value": seconds, "unit": "s/grasp"}]
