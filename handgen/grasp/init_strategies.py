"""Initial object orientations for grasp synthesis: which way the two palms squeeze the object.

:func:`handgen.grasp.placement.facing_palms` puts the object between the palms along the
right-local y axis (right palm on top, left palm below). What differs between strategies is the
object orientation, i.e. the object direction that ends up along that squeeze axis:

- ``axis``: one of the object's principal axes (both signs), the fingers turned at random
  about it: two palms squeezing a box across a pair of faces, or a cylinder across its body;
- ``normal``: the normal of a random surface point (area-weighted), so a palm lands flat on
  some face of the object;
- ``random``: a uniformly random orientation (the previous single strategy; BG-HOP's own).

The strategies are dealt in turn over the candidates (axis, normal, random, axis, ...), the
axes cycling smallest-extent first, so a handful of candidates already covers every squeeze.
"""

from __future__ import annotations

import numpy as np
import roma
import torch

STRATEGIES: tuple[str, ...] = ("axis", "normal", "random")


def principal_axes(points: np.ndarray) -> np.ndarray:
    """Rows (3, 3): the object's principal directions, smallest extent first (unit vectors)."""
    p = np.asarray(points, dtype=np.float64)
    centred = p - p.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    extent = np.ptp(centred @ vt.T, axis=0)
    return vt[np.argsort(extent)]


def rotation_taking(direction: np.ndarray, spin: float) -> np.ndarray:
    """A rotation (3, 3) that maps unit ``direction`` to +y, then turns by ``spin`` radians about y."""
    d = direction / np.linalg.norm(direction)
    helper = np.array([1.0, 0.0, 0.0]) if abs(d[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    a = np.cross(helper, d)
    a /= np.linalg.norm(a)
    b = np.cross(a, d)  # (a, d, b) right-handed: rows map a -> x, d -> y, b -> z
    align = np.stack([a, d, b])
    c, s = np.cos(spin), np.sin(spin)
    turn = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return turn @ align


def initial_orientations(vertices: np.ndarray, faces: np.ndarray, count: int, generator: torch.Generator,
                         strategies: tuple[str, ...] = STRATEGIES) -> tuple[torch.Tensor, list[str]]:
    """Object orientations (count, 3, 3) in the right-local frame and each one's strategy label
    (``axis0``..``axis2``, ``normal``, ``random``).

    Raises:
        ValueError: an unknown strategy name.
    """
    bad = [s for s in strategies if s not in STRATEGIES]
    if bad or not strategies:
        raise ValueError(f"grasp init strategies must be among {STRATEGIES}, got {strategies}")
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    rng = np.random.default_rng(seed)
    axes = principal_axes(vertices)
    tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(normals, axis=1)
    prob = area / area.sum() if area.sum() > 0 else None
    random_rots = roma.random_rotmat(count, generator=generator).double().numpy()
    rots, labels = [], []
    axis_turn = 0
    for k in range(count):
        kind = strategies[k % len(strategies)]
        spin = rng.uniform(-np.pi, np.pi)
        if kind == "axis":
            axis = axis_turn % 3
            sign = 1.0 if (axis_turn // 3) % 2 == 0 else -1.0
            axis_turn += 1
            rots.append(rotation_taking(sign * axes[axis], spin))
            labels.append(f"axis{axis}")
        elif kind == "normal":
            f = rng.choice(len(tri), p=prob)
            rots.append(rotation_taking(normals[f] / max(area[f], 1e-12), spin))
            labels.append("normal")
        else:
            rots.append(random_rots[k])
            labels.append("random")
    return torch.tensor(np.stack(rots), dtype=torch.float32), labels


def squeeze_type(joints: np.ndarray, axes: np.ndarray) -> str:
    """Grasp type of a final grasp: the principal axis (``axis0``..``axis2``, smallest extent
    first) closest to the line between the two palm centres; joints (2, 21, 3) object frame."""
    palm = joints[:, [0, 5, 9, 13, 17]].mean(1)
    d = palm[1] - palm[0]
    return f"axis{int(np.argmax(np.abs(axes @ (d / max(np.linalg.norm(d), 1e-9)))))}"
