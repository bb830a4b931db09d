"""``handgen eval grasp --results OUT_DIR --out REPORT.json``: the physical metrics of K grasps of one object.

Per grasp: max penetration depth (mm), intersection volume (object voxelised at 5 mm, voxels
inside a hand, cm^3), contact per hand (fraction of fingertips and of vertices within 5 mm of
the surface) — from :mod:`handgen.grasp.grasp_metrics` — and the hold test
(:mod:`handgen.grasp.hold_test`: whether the static hands hold the object against gravity
along each of the 6 axes, ``holds`` = < 2 cm in >= 5; ``simulation_displacement_mm`` is its
displacement for the ``--gravity`` direction, mm). Over the K grasps: their means and the diversity
(:mod:`eval.grasp_diversity`). Grasps are read from ``OUT_DIR/grasp_XXX.npz`` (docs/design.md
format); the object is the mesh recorded in ``OUT_DIR/summary.json`` (or ``--mesh``) with its
recorded ``scale``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from eval.grasp_diversity import grasp_diversity
from handgen.errors import HandgenError, InputFileError
from handgen.geometry.mesh_distance import MeshDistance
from handgen.grasp.convex_pieces import object_pieces
from handgen.grasp.grasp_metrics import grasp_metrics, object_voxels
from handgen.grasp.hold_test import GRAVITY, direction_vector, hold_test
from handgen.grasp.mesh_input import load_object_mesh
from handgen.hand.factory import make_hand_pair
from handgen.hand.topology import HANDS

log = logging.getLogger(__name__)
PARAM_SHAPES = {"global_orient": (3,), "hand_pose": (45,), "transl": (3,), "betas": (10,)}
COLUMNS: tuple[tuple[str, str], ...] = (
    ("penetration_depth_mm", "penetration (mm)"),
    ("intersection_volume_cm3", "intersection (cm3)"),
    ("tip_contact_left", "tips L"),
    ("tip_contact_right", "tips R"),
    ("vertex_contact_left", "verts L"),
    ("vertex_contact_right", "verts R"),
    ("simulation_displacement_mm", "sim displacement (mm)"),
    ("hold_directions", "directions held"),
    ("holds", "holds"),
)


def read_grasp(path: Path) -> dict[str, np.ndarray]:
    """The arrays of one ``grasp_XXX.npz``. Raises InputFileError (unreadable, missing keys, bad shapes, NaN)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # zip / format errors come in several types
        raise InputFileError(path, f"not a readable grasp .npz ({exc.__class__.__name__}: {exc})") from None
    want = {f"{h}_{k}": shape for h in HANDS for k, shape in PARAM_SHAPES.items()}
    want["joints"] = (2, 21, 3)
    for key, shape in want.items():
        if key not in arrays:
            raise InputFileError(path, f"missing array {key!r}")
        if arrays[key].shape != shape:
            raise InputFileError(path, f"{key} has shape {arrays[key].shape}, expected {shape}")
        if not np.isfinite(arrays[key]).all():
            raise InputFileError(path, f"{key} holds NaN or inf")
    return arrays


def _scalar(arrays: dict[str, np.ndarray], key: str, default=None):
    return arrays[key].item() if key in arrays and arrays[key].shape == () else default


def load_object(path: str | Path, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) (times ``scale``) and faces of a mesh file, repaired exactly as ``handgen grasp`` repairs
    it (inverted normals flipped, winding made consistent ...), so both score the same surface. Raises InputFileError."""
    mesh = load_object_mesh(path, float(scale), what="object mesh")
    return mesh.vertices, mesh.faces


def _hand_vertices(hands, arrays: dict[str, np.ndarray]) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for side in HANDS:
            p = {f"{side}_{k}": torch.as_tensor(arrays[f"{side}_{k}"], dtype=torch.float32)[None] for k in PARAM_SHAPES}
            out.append(hands.pose(side, p).vertices[0].numpy())
    return np.stack(out)


class ObjectMetrics:
    """Penetration, intersection volume and contact of each grasp, recomputed with handgen.grasp.grasp_metrics
    against the object's exact distance (:class:`~handgen.geometry.mesh_distance.MeshDistance`)."""

    source = "recomputed"

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        self.sdf = MeshDistance(vertices, faces)
        self.voxels = object_voxels(self.sdf)

    def __call__(self, hand_vertices, hand_faces, joints) -> dict[str, float]:
        m = grasp_metrics(hand_vertices, hand_faces, joints, self.sdf, voxels=self.voxels)
        out = {"penetration_depth_mm": m.get("penetration_depth_mm"),
               "intersection_volume_cm3": m.get("intersection_volume_cm3")}
        for h in HANDS:
            tips = m.get(f"tips_in_contact_{h}")
            out[f"tip_contact_{h}"] = None if tips is None else float(tips) / 5.0
            out[f"vertex_contact_{h}"] = m.get(f"vertex_contact_{h}")
        return out


def _listed_grasps(results: Path, summary: dict[str, Any], found: list[Path]) -> list[Path]:
    """The grasp files of the run that wrote ``summary.json`` (stale ``grasp_*.npz`` of an older run are
    not scored); every file when there is no summary.

    Raises:
        InputFileError: a listed grasp file is missing.
    """
    rows = summary.get("grasps") if isinstance(summary, dict) else None
    if not isinstance(rows, list) or not rows:
        return found
    listed = [results / str(row["file"]) for row in rows if isinstance(row, dict) and row.get("file")]
    for path in listed:
        if not path.is_file():
            raise InputFileError(path, "listed in summary.json but missing")
    stale = sorted(set(found) - set(listed))
    if stale:
        log.warning("%s: %d grasp file(s) not in summary.json (from an earlier run) are not scored, e.g. %s",
                    results, len(stale), stale[0].name)
    return listed


def evaluate_grasps(results: str | Path, mesh: str | None = None, scale: float | None = None, gravity: str = "-y",
                    sim_seconds: float = 1.0, mano_dir: str | None = None) -> dict[str, Any]:
    """The report of every grasp in ``results`` (see the module docstring)."""
    results = Path(results)
    if not sim_seconds > 0:
        raise HandgenError(f"--sim-seconds must be > 0, got {sim_seconds}")
    files = sorted(results.glob("grasp_*.npz"))
    if not results.is_dir() or not files:
        raise InputFileError(results, "no grasp_XXX.npz files (the OUT_DIR of handgen grasp)")
    try:
        g = direction_vector(gravity)
    except ValueError as exc:
        raise HandgenError(str(exc)) from None
    direction = ("+" if g.sum() > 0 else "-") + "xyz"[int(np.abs(g).argmax())]
    summary = _read_summary(results)
    files = _listed_grasps(results, summary, files)
    grasps = [read_grasp(f) for f in files]
    mesh_path = mesh or summary.get("mesh") or _scalar(grasps[0], "mesh", "")
    if not mesh_path:
        raise HandgenError(f"{results}: no object mesh recorded (grasps sampled from the prior?); pass --mesh FILE")
    if scale is None:
        scale = float(summary.get("scale", _scalar(grasps[0], "scale", 1.0)))
    obj_v, obj_f = load_object(mesh_path, scale)
    hands = make_hand_pair(mano_dir, flat_hand_mean=True)
    recorded_model = _scalar(grasps[0], "hand_model", hands.name)
    if recorded_model != hands.name:
        raise HandgenError(f"{results}: grasps were made with the {recorded_model} hand; pass --mano-dir for MANO")
    faces = [hands.left.faces.numpy(), hands.right.faces.numpy()]
    object_metrics = ObjectMetrics(obj_v, obj_f)
    pieces = object_pieces(obj_v, obj_f)
    rows = []
    for path, arrays in zip(files, grasps):
        hand_v = _hand_vertices(hands, arrays)
        row = {"file": path.name, **object_metrics(hand_v, faces, arrays["joints"])}
        hold = hold_test(obj_v, obj_f, hand_v, arrays["joints"], pieces=pieces, seconds=sim_seconds)
        row.update(hold.as_metrics())
        row["holds"] = float(hold.holds)
        row["simulation_displacement_mm"] = 1e3 * hold.displacement[direction]
        rows.append(row)
    joints = np.stack([g["joints"] for g in grasps])
    poses = np.stack([np.stack([g[f"{h}_hand_pose"] for h in HANDS]) for g in grasps])
    means = {}
    for key, _ in COLUMNS:
        values = [r[key] for r in rows if r.get(key) is not None]
        means[key] = float(np.mean(values)) if values else None
    return {
        "results": str(results), "mesh": str(mesh_path), "scale": scale, "category": summary.get("category"),
        "hand_model": hands.name, "num_grasps": len(rows), "metrics_source": object_metrics.source,
        "simulation": {"gravity": direction, "seconds": sim_seconds, "test": "handgen.grasp.hold_test",
                       "object_pieces": len(pieces), "free_fall_mm": 0.5 * GRAVITY * sim_seconds**2 * 1e3},
        "grasps": rows, "mean": means, "diversity": grasp_diversity(joints, poses),
    }


def _read_summary(results: Path) -> dict[str, Any]:
    path = results / "summary.json"
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text())
    except ValueError as exc:
        raise InputFileError(path, f"not valid JSON ({exc})") from None
    return value if isinstance(value, dict) else {}


def format_grasp_report(report: dict[str, Any]) -> str:
    """A readable table: one line per grasp, then the means and the diversity."""
    width = max(14, *(len(r["file"]) for r in report["grasps"]))
    header = f"{'grasp':<{width}}" + "".join(f"{label:>22}" for _, label in COLUMNS)
    lines = [f"eval grasp: {report['num_grasps']} grasp(s) of {report['mesh']} (scale {report['scale']}), "
             f"metrics {report['metrics_source']}; simulation {report['simulation']['seconds']} s, gravity "
             f"{report['simulation']['gravity']}, free fall {report['simulation']['free_fall_mm']:.0f} mm",
             header, "-" * len(header)]

    def cells(values: dict) -> str:
        return "".join(f"{'-':>22}" if values.get(k) is None else f"{values[k]:>22.3f}" for k, _ in COLUMNS)

    lines += [f"{r['file']:<{width}}" + cells(r) for r in report["grasps"]]
    lines.append(f"{'mean':<{width}}" + cells(report["mean"]))
    div = report["diversity"]
    shown = ", ".join(f"{k} {v:.3f}" for k, v in div.items() if v is not None) or "needs at least 2 grasps"
    lines.append(f"diversity over the {report['num_grasps']} grasps: {shown}")
    return "\n".join(lines)
