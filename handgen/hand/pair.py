"""Both hands together: one left and one right hand model posed from one set of parameters."""

from __future__ import annotations

import torch
from torch import nn

from handgen.hand.base import HandModel
from handgen.hand.topology import HANDS


class HandPair(nn.Module):
    """A left and a right :class:`HandModel` of the same kind and convention."""

    def __init__(self, left: HandModel, right: HandModel) -> None:
        super().__init__()
        if left.side != "left" or right.side != "right":
            raise ValueError("HandPair needs a left hand and a right hand")
        if left.flat_hand_mean != right.flat_hand_mean:
            raise ValueError("both hands must use the same flat_hand_mean convention")
        self.left = left
        self.right = right

    @property
    def name(self) -> str:
        return self.right.name

    @property
    def flat_hand_mean(self) -> bool:
        return self.right.flat_hand_mean

    def __getitem__(self, side: str) -> HandModel:
        if side not in HANDS:
            raise KeyError(side)
        return self.left if side == "left" else self.right

    def joints(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """21 keypoints of both hands (..., 2, 21, 3), metres, index 0 left and 1 right.

        ``params`` holds ``{h}_global_orient (...,3)``, ``{h}_hand_pose (...,45)``,
        ``{h}_transl (...,3)`` and optionally ``{h}_betas (...,10)`` for h in left, right.
        """
        return torch.stack(
            [
                self[side].joints(
                    params[f"{side}_global_orient"], params[f"{side}_hand_pose"],
                    params.get(f"{side}_betas"), params[f"{side}_transl"],
                )
                for side in HANDS
            ],
            dim=-3,
        )

    def pose(self, side: str, params: dict[str, torch.Tensor]):
        return self[side](
            params[f"{side}_global_orient"],
            params[f"{side}_hand_pose"],
            params.get(f"{side}_betas"),
            params[f"{side}_transl"],
        )
