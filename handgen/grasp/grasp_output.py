"""Writing grasps: ``grasp_XXX.npz`` (+ ``.ply``, ``.png``) and ``summary.json`` in OUT_DIR.

``grasp_XXX.npz`` (best first), all in the input mesh's coordinates after ``--scale``
(metres; the right-local frame for ``--sample-prior``): for h in left, right
``{h}_global_orient (3,)``, ``{h}_hand_pose (45,)`` (absolute, ``hand_pose_convention``),
``{h}_transl (3,)``, ``{h}_betas (10,)``; ``joints (2,21,3)``; the metrics as scalars
(``penetration_depth_mm``, ``intersection_volume_cm3``, ``tips_in_contact_{h}``,
``vertex_contact_{h}``, ...) and as ``metrics_json``; the hold test (:mod:`handgen.grasp.hold_test`):
``holds`` (bool), ``hold_directions``, ``hold_displacement_{px,mx,py,my,pz,mz}_mm``; ``grasp_type``
and ``init`` (strategy of its start); ``sds_loss``, ``rank``, ``category``,
``text``, ``hand_model``, ``mesh``, ``scale``, ``seconds``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from handgen.grasp.grasp_render import render_grasp_png, write_grasp_ply
from handgen.grasp.synthesis import GraspCandidate, grasp_text
from handgen.hand.topology import HANDS
from handgen.io.atomic import atomic_save_npz, atomic_write_json

HAND_POSE_CONVENTION = "absolute axis-angle (flat_hand_mean=True): rotation relative to a flat hand"


def write_grasps(
    out_dir: str | Path, grasps: list[GraspCandidate], objects: list[tuple[np.ndarray, np.ndarray]], hand_faces: list[np.ndarray],
    category: str, hand_model: str, source: dict, render: bool = True,
) -> dict:
    """Write every grasp (with its object mesh for the .ply/.png) and ``summary.json``; returns the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, (g, (obj_v, obj_f)) in enumerate(zip(grasps, objects)):
        stem = f"grasp_{k:03d}"
        arrays: dict[str, np.ndarray] = {}
        for i, h in enumerate(HANDS):
            arrays[f"{h}_global_orient"] = g.orient[i].astype(np.float32)
            arrays[f"{h}_hand_pose"] = g.pose[i].astype(np.float32)
            arrays[f"{h}_transl"] = g.transl[i].astype(np.float32)
            arrays[f"{h}_betas"] = np.zeros(10, dtype=np.float32)
        arrays["joints"] = g.joints.astype(np.float32)
        for key, value in g.metrics.items():
            arrays[key] = np.asarray(value)
        arrays.update({
            "metrics_json": np.asarray(json.dumps(g.metrics)), "sds_loss": np.asarray(g.sds_loss), "rank": np.asarray(k),
            "category": np.asarray(category), "text": np.asarray(grasp_text(category)), "hand_model": np.asarray(hand_model),
            "hand_pose_convention": np.asarray(HAND_POSE_CONVENTION), "seconds": np.asarray(g.seconds),
            "plausible": np.asarray(bool(g.metrics) and g.plausible), "holds": np.asarray(g.holds),
            "grasp_type": np.asarray(str(g.extra.get("grasp_type", ""))), "init": np.asarray(str(g.extra.get("init", ""))),
        })
        arrays.update({key: np.asarray(value) for key, value in source.items()})
        atomic_save_npz(out / f"{stem}.npz", **arrays)
        if len(obj_f):
            write_grasp_ply(out / f"{stem}.ply", g.vertices, hand_faces, obj_v, obj_f)
            if render:
                title = f"{stem} {category}: " + ", ".join(
                    f"{h} tips {g.metrics.get(f'tips_in_contact_{h}', '?')}" for h in HANDS
                ) + f", pen {g.metrics.get('penetration_depth_mm', float('nan')):.1f} mm"
                render_grasp_png(out / f"{stem}.png", g.vertices, hand_faces, obj_v, obj_f, title=title)
        rows.append({"file": f"{stem}.npz", "rank": k, "sds_loss": g.sds_loss, "seconds": round(g.seconds, 2),
                     "plausible": bool(g.metrics) and g.plausible, **g.metrics, "holds": g.holds,
                     "grasp_type": g.extra.get("grasp_type", ""), "init": g.extra.get("init", "")})
    summary = {"category": category, "text": grasp_text(category), "hand_model": hand_model, "grasps": rows, **source}
    atomic_write_json(out / "summary.json", summary)
    return summary
