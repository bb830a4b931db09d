"""A small ARCTIC-layout root with objects, made with the synthetic generator's parts (for the object tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data_prep.arctic_objects import write_arctic_template
from data_prep.synthetic.compose import HandMotion
from data_prep.synthetic.generate import save_mano_npy
from data_prep.synthetic.object_catalog import catalog_object
from data_prep.synthetic.object_motion import ObjectPlan, compose_object_sequence
from data_prep.synthetic.sequences import make_sequence, subject_betas, to_arctic

FRAMES = 75
FILTER_FRAMES = 60
# frames of the filter sequence where both hands hold the box; elsewhere one or both are 25 cm away
BOTH_HOLD = [*range(0, 15), *range(30, 45)]


def write_sequence(root: Path, key: str, hands: dict[str, HandMotion], betas: np.ndarray, obj: np.ndarray | None):
    folder = root / "raw_seqs" / key.split("/")[0]
    name = key.split("/")[1]
    save_mano_npy(folder / f"{name}.mano.npy", to_arctic(hands, betas))
    if obj is not None:
        np.save(folder / f"{name}.object.npy", obj)


def filter_sequence(result, frames: int = FILTER_FRAMES) -> tuple[dict[str, HandMotion], np.ndarray]:
    """The box at rest; hands on it at BOTH_HOLD frames, the right hand away at 15-29, both away at 45-59."""
    away = {"left": np.array([0.25, 0.0, 0.0]), "right": np.array([-0.25, 0.0, 0.0])}
    hands = {}
    for side, g in result.grasps.items():
        gone = np.zeros(frames, dtype=bool)
        gone[45:] = True
        if side == "right":
            gone[15:30] = True
        wrist = np.repeat(g.wrist[None], frames, axis=0) + gone[:, None] * away[side]
        hands[side] = HandMotion(np.repeat(g.rotvec[None], frames, axis=0), np.repeat(g.pose[None], frames, axis=0),
                                 wrist)
    return hands, np.repeat(result.object_array[:1], frames, axis=0)


def build_object_root(root: Path) -> dict:
    """Write the root; returns the composed results by sequence key (for the tests to compare against)."""
    box, lidbox = catalog_object("box", None), catalog_object("hingebox", None)
    write_arctic_template(root, box.template)
    write_arctic_template(root, lidbox.template)
    betas = subject_betas("s01")
    out = {}
    plans = {
        "s01/box_use_0001": (ObjectPlan("box", "sides", "lift", "both", False), box),
        "s02/hingebox_use_0002": (ObjectPlan("hingebox", "lid", "open", "both", False), lidbox),
    }
    for i, (key, (plan, obj)) in enumerate(plans.items()):
        result = compose_object_sequence(plan, obj, FRAMES, betas, np.random.default_rng(100 + i))
        write_sequence(root, key, result.hands, betas, result.object_array)
        out[key] = result
    hands_only = make_sequence(0, 3, FRAMES)
    save_mano_npy(root / "raw_seqs" / "s03" / "hands_use_0003.mano.npy", hands_only.arrays)
    box_result = out["s01/box_use_0001"]
    write_sequence(root, "s04/ghost_use_0004", box_result.hands, betas, box_result.object_array)  # no template
    hands, obj = filter_sequence(box_result)
    write_sequence(root, "s05/box_use_0005", hands, betas, obj)
    return out
