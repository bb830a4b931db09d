"""Convex collision pieces of a posed hand mesh and of an object mesh, for the hold test.

Hands: every vertex of the posed skin goes to its nearest bone of the 21-keypoint skeleton
(finger segments; the palm as the wrist -> knuckle segments; the thumb metacarpal on its own),
and each bone's vertices become one convex piece (MuJoCo collides a mesh through its convex
hull). A piece is inflated by a squeeze margin: every vertex moves that far away from its
bone's axis, so a palm or finger whose skin touches the object presses into it. Works for any
hand model (procedural or MANO): it needs only the posed vertices and the 21 joints.

Objects: a mesh whose convex hull stays within a few millimetres of its surface is its hull;
any other mesh is split by CoACD (approximate convex decomposition, ``pip install coacd``),
so an L or U shape does not collide as the solid its hull would be.
"""

from __future__ import annotations

import numpy as np

from handgen.errors import HandgenError

# bones as lists of (parent keypoint, child keypoint) segments in the 21-keypoint order
PALM_SEGMENTS: tuple[tuple[int, int], ...] = ((0, 5), (0, 9), (0, 13), (0, 17), (0, 1), (5, 9), (9, 13), (13, 17))
FINGER_SEGMENTS: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (9, 10), (10, 11), (11, 12),
    (13, 14), (14, 15), (15, 16), (17, 18), (18, 19), (19, 20),
)
MIN_PIECE_VERTICES = 4
CONVEX_TOLERANCE = 0.004  # metres: hull surface farther than this from the mesh -> not convex
CONVEX_TOLERANCE_FRACTION = 0.03  # ... or than this fraction of the longest extent, whichever is larger


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance (N,) of points (N,3) to the segment a-b and the closest points (N,3)."""
    ab = b - a
    t = np.clip((points - a) @ ab / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    closest = a + t[:, None] * ab
    return np.linalg.norm(points - closest, axis=1), closest


def hand_pieces(vertices: np.ndarray, joints: np.ndarray, margin: float = 0.0) -> list[np.ndarray]:
    """Convex pieces of one posed hand: a list of vertex sets (K_i, 3), metres.

    Args:
        vertices: (V, 3) posed skin vertices. joints: (21, 3) keypoints of the same hand.
        margin: squeeze margin, metres: each vertex moves this far away from its bone's axis.

    Raises:
        ValueError: wrong shapes.
    """
    v = np.asarray(vertices, dtype=np.float64)
    j = np.asarray(joints, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or j.shape != (21, 3):
        raise ValueError(f"expected vertices (V, 3) and joints (21, 3), got {v.shape} and {j.shape}")
    bones = [list(PALM_SEGMENTS)] + [[s] for s in FINGER_SEGMENTS]
    dist = np.full((len(v), len(bones)), np.inf)
    nearest = np.zeros((len(v), len(bones), 3))
    for k, segments in enumerate(bones):
        for a, b in segments:
            d, c = _segment_distance(v, j[a], j[b])
            better = d < dist[:, k]
            dist[better, k] = d[better]
            nearest[better, k] = c[better]
    owner = dist.argmin(1)
    pieces = []
    for k in range(len(bones)):
        sel = owner == k
        if sel.sum() < MIN_PIECE_VERTICES:
            continue
        pts = v[sel]
        if margin > 0:
            out = pts - nearest[sel, k]
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
            pts = pts + margin * out
        pieces.append(pts)
    return pieces


def hull_gap(vertices: np.ndarray, faces: np.ndarray, samples: int = 2000, seed: int = 0) -> float:
    """How far (metres) the object's convex hull gets from its surface: the 99th percentile of
    the distance from points on the hull to the mesh (0 for a convex mesh)."""
    import trimesh

    from handgen.grasp.object_sdf import MeshSDF

    hull = trimesh.Trimesh(vertices, faces, process=False).convex_hull
    pts, _ = trimesh.sample.sample_surface_even(hull, samples, seed=seed)
    return float(np.quantile(MeshSDF(vertices, faces, samples=20_000).unsigned(pts), 0.99))


def is_convex(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """True when the hull stays within ``max(4 mm, 3 % of the longest extent)`` of the surface."""
    extent = float((vertices.max(0) - vertices.min(0)).max())
    return hull_gap(vertices, faces) <= max(CONVEX_TOLERANCE, CONVEX_TOLERANCE_FRACTION * extent)


def object_pieces(vertices: np.ndarray, faces: np.ndarray, method: str = "auto", max_pieces: int = 12) -> list[np.ndarray]:
    """Convex pieces (K_i, 3) of an object mesh, metres.

    ``method``: ``"hull"`` (always the convex hull), ``"coacd"`` (always decompose) or
    ``"auto"`` (the hull when :func:`is_convex`, else CoACD).

    Raises:
        HandgenError: a decomposition is needed and CoACD is not installed, or ``method`` is unknown.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if method not in ("auto", "hull", "coacd"):
        raise HandgenError(f"object decomposition must be auto, hull or coacd, got {method!r}")
    if method == "hull" or (method == "auto" and is_convex(v, f)):
        return [v]
    try:
        import coacd
    except ImportError as exc:
        raise HandgenError("this object is not convex and its hold test needs CoACD: pip install coacd") from exc
    coacd.set_log_level("error")
    parts = coacd.run_coacd(coacd.Mesh(v, f), threshold=0.05, max_convex_hull=max_pieces, preprocess_mode="auto",
                            resolution=2000, mcts_iterations=50, mcts_max_depth=2, mcts_nodes=10, seed=0)
    return [np.asarray(p[0], dtype=np.float64) for p in parts if len(p[0]) >= MIN_PIECE_VERTICES]
