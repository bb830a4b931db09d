"""The right hand's normalised frame of G-HOP / BG-HOP (docs/reference.md section 5), in numpy.

1. undo the right hand's global rotation and translation about its wrist:
   ``p_local = R_go^T (p_world - wrist_world) + wrist_rest`` (the MANO template frame with
   zero ``global_orient`` and ``transl``; ``wrist_world = wrist_rest + transl``);
2. ``n = (p_local - c) / 0.2`` with ``c`` = the right index MCP at rest (local frame)
   minus 0.08 m along y.

:func:`right_hand_frame` returns the 4x4 affine matrix of ``world metres -> n``.
"""

from __future__ import annotations

import numpy as np
import torch

from handgen.grasp.hand_frame import FRAME_DROP, FRAME_SCALE, hand_frame_matrix  # noqa: F401  (the one definition)
from handgen.hand.base import HandModel

DEFINITION = (
    "n = (R_go^T (p - wrist_world) + wrist_rest - c) / 0.2 with the right hand's global_orient R_go, "
    "wrist_world = wrist_rest + transl, c = right index MCP at rest - (0, 0.08, 0) m; "
    "hand_frame is the 4x4 affine matrix of p (world metres) -> n"
)


def right_hand_frame(right: HandModel, global_orient: np.ndarray, transl: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """(N, 4, 4) float64 world -> normalised frame, for the right hand's (N,3) orient/transl and betas (10,) or (N,10).

    The numpy face of :func:`handgen.grasp.hand_frame.hand_frame_matrix` (the one implementation).
    """
    orient = torch.as_tensor(np.asarray(global_orient, dtype=np.float64).reshape(-1, 3))
    n = len(orient)
    shift = torch.as_tensor(np.asarray(transl, dtype=np.float64).reshape(-1, 3))
    betas32 = torch.as_tensor(np.array(np.broadcast_to(np.asarray(betas, dtype=np.float64), (n, 10))), dtype=torch.float32)
    with torch.no_grad():
        return hand_frame_matrix(right, orient, shift, betas32).double().cpu().numpy()


def apply_frame(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Affine (N, 4, 4) applied to points (N, ..., 3)."""
    n = matrix.shape[0]
    flat = np.asarray(points, dtype=np.float64).reshape(n, -1, 3)
    out = np.einsum("nij,nkj->nki", matrix[:, :3, :3], flat) + matrix[:, None, :3, 3]
    return out.reshape(np.shape(points))
