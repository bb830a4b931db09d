"""The procedural hand's rest surface: an implicit hand, meshed once, with skinning weights.

The hand is a smooth union of signed-distance primitives (a rounded palm slab,
thenar capsules, one capsule per finger segment). Marching cubes turns it into
one closed, consistently oriented triangle mesh; each vertex is then skinned to
the bones whose flesh it lies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from handgen.hand import anatomy
from handgen.hand.topology import NUM_MANO_JOINTS


def capsule_sdf(points: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """Signed distance (N,) from points (N,3) to a capsule with axis a->b, metres."""
    ab = b - a
    t = np.clip(((points - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    closest = a + t[:, None] * ab
    return np.linalg.norm(points - closest, axis=1) - radius


def _polygon_sdf_2d(p: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Signed distance (N,) from 2D points (N,2) to a convex polygon (P,2), negative inside."""
    n = len(poly)
    edge_dist = np.full(len(p), np.inf)
    inside = np.ones(len(p), dtype=bool)
    orient = np.sign(np.cross(poly[1] - poly[0], poly[2] - poly[1]))
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        ab = b - a
        t = np.clip(((p - a) @ ab) / (ab @ ab), 0.0, 1.0)
        edge_dist = np.minimum(edge_dist, np.linalg.norm(p - (a + t[:, None] * ab), axis=1))
        side = orient * (ab[0] * (p[:, 1] - a[1]) - ab[1] * (p[:, 0] - a[0]))
        inside &= side >= 0
    return np.where(inside, -edge_dist, edge_dist)


def palm_sdf(points: np.ndarray) -> np.ndarray:
    """Signed distance (N,) to the rounded palm slab, metres."""
    poly, half_thickness, rounding = anatomy.palm_outline()
    d_xz = _polygon_sdf_2d(points[:, [0, 2]], poly)
    d_y = np.abs(points[:, 1] - anatomy.palm_plane_y()) - half_thickness
    q = np.stack([d_xz, d_y], axis=1)
    outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
    inside = np.minimum(q.max(axis=1), 0.0)
    return outside + inside - rounding


def _smooth_min(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1 - h) + a * h - k * h * (1 - h)


def _part_sdfs(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances (N, P) to each part and the MANO joint (P,) each part is bound to."""
    parts, owners = [palm_sdf(points)], [0]
    for a, b, r in anatomy.thenar_capsules():
        parts.append(capsule_sdf(points, a, b, r))
        owners.append(13)
    for joint, a, b, r in anatomy.bone_capsules():
        parts.append(capsule_sdf(points, a, b, r))
        owners.append(joint)
    return np.stack(parts, axis=1), np.array(owners)


def hand_sdf(points: np.ndarray, blend: float = 0.004) -> np.ndarray:
    """Signed distance-like field (N,) of the right rest hand (negative inside), metres.

    Parts are merged with a polynomial smooth minimum of width ``blend``, except
    that separate fingers are not blended with each other (only with the palm).
    """
    parts, owners = _part_sdfs(points)
    finger_of = _finger_groups(owners)
    # union inside each finger (hard), then smooth union of palm, thenar and fingers
    field = parts[:, 0]
    for group in np.unique(finger_of[1:]):
        cols = np.nonzero(finger_of == group)[0]
        field = _smooth_min(field, parts[:, cols].min(axis=1), blend)
    return field


def _finger_groups(owners: np.ndarray) -> np.ndarray:
    """Group id per part: 0 palm, then one id per finger (thenar joins the thumb)."""
    group = np.zeros(len(owners), dtype=int)
    finger_roots = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2, 7: 3, 8: 3, 9: 3,
                    10: 4, 11: 4, 12: 4, 13: 5, 14: 5, 15: 5}
    for i, j in enumerate(owners):
        group[i] = finger_roots.get(int(j), 0) if i > 0 else 0
    return group


@dataclass(frozen=True)
class RestSurface:
    """Closed rest mesh of the right procedural hand with skinning weights."""

    vertices: np.ndarray  # (V, 3) metres, MANO template frame
    faces: np.ndarray  # (F, 3) int64, outward-facing (counter-clockwise)
    weights: np.ndarray  # (V, 16) skinning weights, rows sum to 1


def _skinning_weights(vertices: np.ndarray, faces: np.ndarray, falloff: float) -> np.ndarray:
    """Soft assignment of vertices to the joints whose flesh they lie on, smoothed on the mesh."""
    parts, owners = _part_sdfs(vertices)
    logits = -(parts - parts.min(axis=1, keepdims=True)) / falloff
    per_part = np.exp(logits)
    weights = np.zeros((len(vertices), NUM_MANO_JOINTS))
    np.add.at(weights.T, owners, per_part.T)
    weights /= weights.sum(axis=1, keepdims=True)
    # a few rounds of neighbour averaging blends the knuckles smoothly
    nbr_sum = np.zeros_like(weights)
    counts = np.zeros(len(vertices))
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    for _ in range(3):
        nbr_sum[:] = 0.0
        counts[:] = 0.0
        np.add.at(nbr_sum, edges[:, 0], weights[edges[:, 1]])
        np.add.at(counts, edges[:, 0], 1.0)
        weights = 0.5 * weights + 0.5 * nbr_sum / counts[:, None]
    weights[weights < 1e-3] = 0.0
    return weights / weights.sum(axis=1, keepdims=True)


@lru_cache(maxsize=4)
def rest_surface(spacing: float = 0.003, target_faces: int = 2000, falloff: float = 0.002) -> RestSurface:
    """Mesh the right rest hand (cached): marching cubes at ``spacing`` metres, then
    quadric decimation to about ``target_faces`` faces when that keeps the mesh closed.

    Raises:
        RuntimeError: if the surface does not come out as one closed mesh.
    """
    verts, faces = _marching_cubes(spacing)
    decimated = _decimate(verts, faces, target_faces)
    if decimated is not None:
        verts, faces = decimated
    if not _is_closed(faces):
        raise RuntimeError("procedural hand surface is not closed; adjust the mesh spacing")
    weights = _skinning_weights(verts, faces, falloff)
    return RestSurface(vertices=verts, faces=faces, weights=weights)


def _marching_cubes(spacing: float) -> tuple[np.ndarray, np.ndarray]:
    from skimage.measure import marching_cubes

    joints, tips = anatomy.rest_skeleton()
    pts = np.concatenate([joints, tips])
    lo = pts.min(axis=0) - 0.03
    hi = pts.max(axis=0) + 0.03
    axes = [np.arange(lo[i], hi[i] + spacing, spacing) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    field = hand_sdf(grid.reshape(-1, 3)).reshape(grid.shape[:3])
    verts, faces, _, _ = marching_cubes(field, level=0.0, spacing=(spacing,) * 3)
    return _weld(verts + lo, faces.astype(np.int64))


def _decimate(verts: np.ndarray, faces: np.ndarray, target_faces: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Quadric decimation (``fast_simplification``); None when unavailable or not closed."""
    try:
        import fast_simplification
    except ImportError:
        return None
    v, f = fast_simplification.simplify(
        verts.astype(np.float64), faces.astype(np.int64), target_count=target_faces, agg=3
    )
    v, f = _weld(np.asarray(v, dtype=np.float64), np.asarray(f, dtype=np.int64))
    if len(f) == 0 or not _is_closed(f) or _orientation_volume(v, f) <= 0:
        return None
    return v, f


def _orientation_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    """Signed volume (m^3); positive when faces wind counter-clockwise seen from outside."""
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def _weld(verts: np.ndarray, faces: np.ndarray, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    key = np.round(verts / tol).astype(np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    faces = inverse.reshape(-1)[faces]
    keep = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 2] != faces[:, 0])
    return verts[first], faces[keep]


def _is_closed(faces: np.ndarray) -> bool:
    """Every undirected edge is shared by exactly two faces."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return bool(np.all(counts == 2))


def flesh_offsets(points: np.ndarray) -> np.ndarray:
    """Offset (N,3) of each point from the skeleton axis of the part it lies on, metres.

    For finger and thenar capsules the axis is the capsule segment; for the palm
    it is the slab's mid-plane. Used to make flesh thicker or thinner with betas.
    """
    parts, _ = _part_sdfs(points)
    nearest = parts.argmin(axis=1)
    axes: list[tuple[np.ndarray, np.ndarray]] = [(a, b) for a, b, _ in anatomy.thenar_capsules()]
    axes += [(a, b) for _, a, b, _ in anatomy.bone_capsules()]
    offsets = np.zeros_like(points)
    palm = nearest == 0
    offsets[palm, 1] = points[palm, 1] - anatomy.palm_plane_y()
    for k, (a, b) in enumerate(axes, start=1):
        sel = nearest == k
        if not sel.any():
            continue
        ab = b - a
        t = np.clip(((points[sel] - a) @ ab) / (ab @ ab), 0.0, 1.0)
        offsets[sel] = points[sel] - (a + t[:, None] * ab)
    return offsets
