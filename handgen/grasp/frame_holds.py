"""The hold test of GRASP_DIR frames (the grasp prior's training data) in their own world frame.

Both hands are posed from a frame's stored MANO parameters, the object template by its
``object_rot`` / ``object_transl`` (and articulation); :mod:`handgen.grasp.hold_test` judges the
grasp. Used by ``python -m eval.grasp_data_holds`` (the data's hold rate) and by
``handgen prep grasps --hold-test`` (keep only the frames that hold).
"""

from __future__ import annotations

import numpy as np
import roma
import torch

from handgen.grasp.convex_pieces import object_pieces
from handgen.grasp.grasp_data import GraspDataset
from handgen.grasp.hold_test import HoldResult, hold_test
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS


def frame_hands(hands: HandPair, arrays: dict) -> np.ndarray:
    """Posed vertices (2, V, 3) of one frame's hands from its MANO parameters (world, metres)."""
    out = []
    with torch.no_grad():
        for side in HANDS:
            p = {f"{side}_{k}": torch.as_tensor(np.asarray(arrays[f"{side}_{k}"]), dtype=torch.float32)[None]
                 for k in ("global_orient", "hand_pose", "transl", "betas")}
            out.append(hands.pose(side, p).vertices[0].double().numpy())
    return np.stack(out)


class FrameHoldTester:
    """Hold-tests frames of one GRASP_DIR, sharing each object's convex pieces between frames."""

    def __init__(self, data: GraspDataset, hands: HandPair) -> None:
        self.data, self.hands = data, hands
        self._pieces: dict[tuple[str, float], list[np.ndarray]] = {}

    def __call__(self, i: int) -> HoldResult:
        """The hold test of item ``i`` of the dataset."""
        f = self.data.frame(i)
        obj = self.data.object(f["row"]["object"])
        art = round(float(f["articulation"]), 1)
        key = (obj.name, art)
        if key not in self._pieces:
            self._pieces[key] = object_pieces(obj.vertices_at(art), obj.faces)
        rot = roma.rotvec_to_rotmat(torch.as_tensor(f["object_rot"], dtype=torch.float64)).numpy()
        pieces = [p @ rot.T + f["object_transl"] for p in self._pieces[key]]
        verts = obj.vertices_at(art) @ rot.T + f["object_transl"]
        return hold_test(verts, obj.faces, frame_hands(self.hands, f), f["joints"], pieces=pieces)
