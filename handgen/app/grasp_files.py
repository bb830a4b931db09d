"""One press of the web app's Grasp button, without the page: grasps of an uploaded mesh and their files.

Built on the Python API (``GraspSynthesizer.synthesize`` / ``.save``) and the export that
``handgen export --format glb`` uses for a grasp file (a static scene with the object).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from handgen.api.grasp_synthesizer import GraspSynthesizer
from handgen.errors import HandgenError
from handgen.export.motion_export import export_motion
from handgen.io.motion_npz import load_motion, object_from_extras

# the columns of the page's grasp table, in order
TABLE_COLUMNS: tuple[str, ...] = ("grasp", "holds", "held in", "tips L", "tips R", "penetration mm", "intersection cm3",
                                  "sds loss", "seconds")


@dataclass(frozen=True)
class GraspFiles:
    """Per grasp (best first): its ``grasp_XXX.npz``, a ``.glb`` of hands + object and a table row."""

    npz: list[Path]
    glb: list[Path]
    png: list[Path]
    rows: list[list]  # one per grasp, TABLE_COLUMNS
    summary: str


def _row(row: dict) -> list:
    return [row["file"].removesuffix(".npz"), "yes" if row.get("holds") else "no",
            f"{int(row.get('hold_directions', 0))}/6", row.get("tips_in_contact_left", ""),
            row.get("tips_in_contact_right", ""), round(float(row.get("penetration_depth_mm", float("nan"))), 1),
            round(float(row.get("intersection_volume_cm3", float("nan"))), 2), round(float(row["sds_loss"]), 4),
            row["seconds"]]


def grasp_files(synth: GraspSynthesizer, mesh: str | Path, out_dir: str | Path, *, category: str, num: int = 1,
                scale: float = 1.0, steps: int | None = None, inits: int | None = None,
                refine_steps: int | None = None, seed: int = 0) -> GraspFiles:
    """Grasp ``mesh`` (metres x ``scale``) ``num`` times; write ``grasp_XXX.npz/.ply/.png/.glb`` + ``summary.json``.

    The mesh is copied into ``out_dir`` first, so the grasp files name a mesh that stays there.

    Raises:
        HandgenError: no mesh or category; InputFileError: an unreadable, degenerate or millimetre mesh.
    """
    if not mesh:
        raise HandgenError("upload an object mesh (.obj, .ply, .stl, .glb ...) first")
    if not (category or "").strip():
        raise HandgenError("give the object's category (it completes the prompt \"grasp CATEGORY with both hands\")")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = Path(mesh)
    kept = out / f"object{source.suffix.lower()}"
    shutil.copyfile(source, kept)
    grasps = synth.synthesize(kept, category.strip(), int(num), scale=float(scale), steps=steps, inits=inits,
                              refine_steps=refine_steps, seed=int(seed))
    summary = synth.save(grasps, out, render=True)
    npz, glb, png = [], [], []
    for row in summary["grasps"]:
        path = out / row["file"]
        motion, extras = load_motion(path)
        found = object_from_extras(path, extras, motion.num_frames)
        npz.append(path)
        glb.append(export_motion(path.with_suffix(".glb"), motion, synth.hands, "glb", frame=0, obj=found))
        png.append(path.with_suffix(".png"))
    holding = sum(bool(r.get("holds")) for r in summary["grasps"])
    text = (f"{len(grasps)} grasp(s) of {source.name} ({category.strip()}), best first; {holding} hold(s) the object "
            f"in the hold test (gravity along 5 or 6 of +-x, +-y, +-z moves it less than 2 cm)")
    return GraspFiles(npz, glb, png, [_row(r) for r in summary["grasps"]], text)
