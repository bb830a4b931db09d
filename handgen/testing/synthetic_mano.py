"""Synthetic MANO model files: the official layout, a plausible hand, no licence needed.

:func:`write_synthetic_mano` writes a file with exactly the layout of the
official MANO v1.2 ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` (docs/reference.md
section 1), so tests and benchmarks exercise the real loading path
(:mod:`handgen.hand.mano_file`) and :class:`handgen.hand.mano.ManoHand`:

* ``v_template (778,3)`` / ``f (1538,3)`` uint32: the procedural hand's surface
  (:mod:`handgen.hand.surface`) re-meshed to MANO's counts, open at the wrist
  like MANO (a 16-vertex wrist ring); the vertices at the usual fingertip ids
  (manopth right/left and smplx) are the fingertip vertices;
* ``J_regressor`` (scipy sparse 16x778): each row a non-negative, sum-to-one
  average of the vertices around one joint of
  :func:`handgen.hand.anatomy.rest_skeleton`;
* ``weights (778,16)``: the procedural hand's skinning weights;
* ``kintree_table (2,16)`` int64 with the root parent stored as uint32 max;
* ``shapedirs (778,3,10)`` (a chumpy object): size, finger length, palm width,
  flesh thickness, then six seeded smooth linear fields;
* ``posedirs (778,3,135)``: small seeded correctives local to each joint;
* ``hands_components (45,45)`` orthonormal (seeded), ``hands_mean (45,)`` the
  procedural :func:`~handgen.hand.anatomy.right_hands_mean`, ``hands_coeffs
  (1554,45)``, ``J (16,3)``, ``bs_style``/``bs_type``.

The left file is the x-mirror of the right one (vertices, winding, pose
correctives, ``hands_mean`` and ``hands_components``), except ``shapedirs``,
which is stored unmirrored exactly as in the official files: the well-known
left-hand fix (``shapedirs[:,0,:] *= -1``) then makes the left hand the exact
mirror of the right one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from handgen.hand import anatomy
from handgen.hand.surface import hand_sdf, rest_surface
from handgen.hand.topology import FINGER_MANO_JOINTS, FINGERS, HANDS, MANO_PARENTS, NUM_MANO_JOINTS
from handgen.io.atomic import atomic_save_npz
from handgen.testing.mano_pickle import write_mano_pickle

NUM_VERTICES, NUM_FACES, WRIST_RING = 778, 1538, 16
UINT32_MAX = 2**32 - 1
# vertex ids that are fingertips in the synthetic mesh, nearest-to-tip first:
# manopth right [745,317,444,556,673], left 445 for the middle; smplx [744,320,443,554,671]
TIP_VERTEX_SLOTS: dict[str, tuple[int, ...]] = {
    "thumb": (745, 744),
    "index": (317, 320),
    "middle": (444, 445, 443),
    "ring": (556, 554),
    "pinky": (673, 671),
}
_DECIMATE_FACES = 1460  # closed mesh of ~732 vertices; the wrist cut and splits bring it to 778


# -- mesh --------------------------------------------------------------------------------
def _edges(faces: np.ndarray) -> np.ndarray:
    return np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])


def _undirected_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique undirected edges (E,2) and how many faces share each."""
    return np.unique(np.sort(_edges(faces), axis=1), axis=0, return_counts=True)


def _boundary_loop_length(faces: np.ndarray) -> int | None:
    """Length of the single boundary loop of a connected manifold patch; None otherwise."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges, counts = _undirected_edges(faces)
    if np.any(counts > 2):
        return None
    n = int(faces.max()) + 1
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    if len(np.unique(labels[np.unique(faces)])) != 1:
        return None
    directed = _edges(faces)
    keys = directed[:, 0] * n + directed[:, 1]
    boundary = directed[~np.isin(directed[:, 1] * n + directed[:, 0], keys)]
    if len(boundary) == 0 or len(np.unique(boundary[:, 0])) != len(boundary):
        return None
    successor = dict(zip(boundary[:, 0].tolist(), boundary[:, 1].tolist()))
    start = int(boundary[0, 0])
    node, steps = successor[start], 1
    while node != start and steps <= len(boundary):
        node, steps = successor[node], steps + 1
    return steps if steps == len(boundary) else None


def _project_to_surface(points: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Move points onto the procedural hand's implicit surface (Newton steps on its SDF)."""
    p = points.copy()
    h = 1e-5
    for _ in range(iterations):
        d = hand_sdf(p)
        grad = np.stack([(hand_sdf(p + h * e) - d) / h for e in np.eye(3)], axis=1)
        p -= (d / np.maximum((grad**2).sum(axis=1), 1e-12))[:, None] * grad
    return p


def _independent_long_edges(verts: np.ndarray, faces: np.ndarray, boundary: bool, limit: int) -> np.ndarray:
    """Up to ``limit`` longest (boundary or interior) edges, no two on the same face."""
    edges, counts = _undirected_edges(faces)
    edges = edges[counts == (1 if boundary else 2)]
    lengths = np.linalg.norm(verts[edges[:, 0]] - verts[edges[:, 1]], axis=1)
    face_of: dict[tuple[int, int], list[int]] = {}
    for i, face in enumerate(faces.tolist()):
        for k in range(3):
            face_of.setdefault(tuple(sorted((face[k], face[(k + 1) % 3]))), []).append(i)
    chosen, used = [], set()
    for e in edges[np.argsort(-lengths, kind="stable")].tolist():
        adjacent = face_of[tuple(e)]
        if used.isdisjoint(adjacent):
            chosen.append(e)
            used.update(adjacent)
            if len(chosen) == limit:
                break
    return np.array(chosen, dtype=np.int64)


def _split_edges(
    verts: np.ndarray, weights: np.ndarray, faces: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split each edge (no two on one face) at its surface-projected midpoint; winding is kept."""
    first = len(verts)
    mids = _project_to_surface(0.5 * (verts[edges[:, 0]] + verts[edges[:, 1]]))
    new_id = {tuple(sorted(e)): first + k for k, e in enumerate(edges.tolist())}
    out = []
    for face in faces.tolist():
        for k in range(3):
            p, q, r = face[k], face[(k + 1) % 3], face[(k + 2) % 3]
            m = new_id.get(tuple(sorted((p, q))))
            if m is not None:
                out += [(p, m, r), (m, q, r)]
                break
        else:
            out.append(tuple(face))
    new_weights = 0.5 * (weights[edges[:, 0]] + weights[edges[:, 1]])
    return np.concatenate([verts, mids]), np.concatenate([weights, new_weights]), np.array(out, dtype=np.int64)


def _open_wrist(
    verts: np.ndarray, weights: np.ndarray, faces: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remove the wrist cap: the largest cut (plane x = const) leaving one loop of <= 16 vertices."""
    wrist_x = anatomy.rest_skeleton()[0][0, 0]
    best = None
    for cut in wrist_x + np.arange(6.0, -8.0, -0.25) * 1e-3:
        kept = faces[np.all(verts[faces][:, :, 0] <= cut, axis=1)]
        loop = _boundary_loop_length(kept)
        if loop is not None and loop <= WRIST_RING and (best is None or loop > best[0]):
            best = (loop, kept)
    if best is None:
        raise RuntimeError("synthetic MANO: no wrist cut gives a single boundary loop")
    kept = best[1]
    used = np.unique(kept)
    remap = np.full(len(verts), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return verts[used], weights[used], remap[kept]


def _fingertip_order(verts: np.ndarray) -> np.ndarray:
    """Permutation ``order`` (new id -> old id) putting fingertip vertices at MANO's tip ids."""
    _, tips = anatomy.rest_skeleton()
    order = np.full(len(verts), -1, dtype=np.int64)
    claimed: set[int] = set()
    for finger, slots in TIP_VERTEX_SLOTS.items():
        dist = np.linalg.norm(verts - tips[FINGERS.index(finger)], axis=1)
        nearest = [int(i) for i in np.argsort(dist) if int(i) not in claimed][: len(slots)]
        for slot, old in zip(slots, nearest):
            order[slot] = old
            claimed.add(old)
    rest = [i for i in range(len(verts)) if i not in claimed]
    order[order < 0] = rest
    return order


@lru_cache(maxsize=1)
def synthetic_right_mesh() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right-hand template mesh in MANO's layout (cached).

    Returns:
        vertices (778,3) metres, faces (1538,3) int64 (outward winding, open at
        the wrist), skinning weights (778,16).
    """
    surf = rest_surface(target_faces=_DECIMATE_FACES)
    v, w, f = _open_wrist(surf.vertices, surf.weights, surf.faces)
    while (loop := _boundary_loop_length(f)) is not None and loop < WRIST_RING:
        v, w, f = _split_edges(v, w, f, _independent_long_edges(v, f, True, WRIST_RING - loop))
    while len(v) < NUM_VERTICES:
        v, w, f = _split_edges(v, w, f, _independent_long_edges(v, f, False, NUM_VERTICES - len(v)))
    if len(v) != NUM_VERTICES or len(f) != NUM_FACES or _boundary_loop_length(f) != WRIST_RING:
        raise RuntimeError(f"synthetic MANO mesh came out with {len(v)} vertices and {len(f)} faces")
    order = _fingertip_order(v)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return v[order], inverse[f], w[order]


# -- model arrays ------------------------------------------------------------------------
def _joint_regressor(verts: np.ndarray, joints: np.ndarray, k: int = 24) -> np.ndarray:
    """(16, V) non-negative rows summing to 1 that average the vertices around each joint."""
    from scipy.optimize import nnls

    reg = np.zeros((len(joints), len(verts)))
    mu, lam, scale = 100.0, 0.05, 0.01
    for j, joint in enumerate(joints):
        near = np.argsort(np.linalg.norm(verts - joint, axis=1))[:k]
        a = np.concatenate([(verts[near] - joint).T / scale, np.sqrt(mu) * np.ones((1, k)), np.sqrt(lam) * np.eye(k)])
        b = np.concatenate([np.zeros(3), [np.sqrt(mu)], np.full(k, np.sqrt(lam) / k)])
        w, _ = nnls(a, b)
        reg[j, near] = w / w.sum()
    return reg


def _shape_directions(verts: np.ndarray, joints: np.ndarray, weights: np.ndarray, rng) -> np.ndarray:
    """(V,3,10): size, finger length, palm width, flesh thickness, then smooth linear fields."""
    dirs = np.zeros((len(verts), 3, 10))
    dirs[:, :, 0] = 0.04 * (verts - joints[0])
    for chain in FINGER_MANO_JOINTS.values():
        on_finger = weights[:, list(chain)].sum(axis=1, keepdims=True)
        dirs[:, :, 1] += 0.05 * on_finger * (verts - joints[chain[0]])
    dirs[:, 2, 2] = 0.06 * (verts[:, 2] - joints[4, 2])
    dirs[:, :, 3] = 0.08 * (verts - weights @ joints)
    for k in range(4, 10):
        dirs[:, :, k] = (verts - joints[0]) @ (0.015 * rng.standard_normal((3, 3))).T
    return dirs


def _pose_directions(weights: np.ndarray, rng) -> np.ndarray:
    """(V,3,135): per joint, 9 rotation-feature directions scaled by that joint's skin weight."""
    directions = 0.003 * rng.standard_normal((NUM_MANO_JOINTS - 1, 9, 3))
    per_joint = np.einsum("vj,jec->vcje", weights[:, 1:], directions)
    return per_joint.reshape(len(weights), 3, 135)


def _mirror_pose_directions(posedirs: np.ndarray) -> np.ndarray:
    """Left-hand pose correctives from right ones: R_left = S R S with S = diag(-1,1,1)."""
    s = np.array([-1.0, 1.0, 1.0])
    feature_sign = np.outer(s, s).reshape(9)  # sign of (R - I)[a, b] under mirroring
    sign = s[:, None, None] * feature_sign[None, None, :]
    return (posedirs.reshape(-1, 3, 15, 9) * sign[None]).reshape(posedirs.shape)


def synthetic_mano_arrays(side: str, seed: int = 0) -> dict[str, np.ndarray | str]:
    """Every entry of a MANO model file for ``side`` (see the module docstring), plain numpy."""
    if side not in HANDS:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    rng = np.random.default_rng(seed)
    verts, faces, weights = synthetic_right_mesh()
    skeleton, _ = anatomy.rest_skeleton()
    regressor = _joint_regressor(verts, skeleton)
    joints = regressor @ verts
    shapedirs = _shape_directions(verts, joints, weights, rng)
    posedirs = _pose_directions(weights, rng)
    components, _ = np.linalg.qr(rng.standard_normal((45, 45)))
    components = components.T.copy()  # rows orthonormal
    hands_mean = anatomy.right_hands_mean()
    coeffs = 0.4 * rng.standard_normal((1554, 45)) * np.linspace(1.0, 0.05, 45)
    if side == "left":
        verts, joints = anatomy.mirror_points(verts), anatomy.mirror_points(joints)
        faces = faces[:, ::-1]
        posedirs = _mirror_pose_directions(posedirs)
        hands_mean = anatomy.mirror_axis_angle(hands_mean)
        components = anatomy.mirror_axis_angle(components)
    parents = np.array(MANO_PARENTS, dtype=np.int64)
    parents[0] = UINT32_MAX
    return {
        "v_template": np.ascontiguousarray(verts),
        "f": np.ascontiguousarray(faces, dtype=np.uint32),
        "J_regressor": regressor,
        "J": joints,
        "kintree_table": np.stack([parents, np.arange(NUM_MANO_JOINTS, dtype=np.int64)]),
        "weights": weights,
        "shapedirs": shapedirs,  # unmirrored for the left hand, as in the official files
        "posedirs": posedirs,
        "hands_components": components,
        "hands_mean": hands_mean,
        "hands_coeffs": coeffs,
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


def write_synthetic_mano(path: str | Path, side: str, seed: int = 0, fmt: str = "pkl") -> Path:
    """Write a synthetic MANO model file for ``side`` at ``path``.

    ``fmt="pkl"``: official-style Python 2 pickle (chumpy ``shapedirs``, sparse
    ``J_regressor``); ``fmt="npz"``: plain arrays (dense ``J_regressor``).
    """
    arrays = synthetic_mano_arrays(side, seed)
    path = Path(path)
    if fmt == "pkl":
        return write_mano_pickle(path, arrays)
    if fmt == "npz":
        atomic_save_npz(path, **{k: np.asarray(v) for k, v in arrays.items()})
        return path
    raise ValueError(f"fmt must be 'pkl' or 'npz', got {fmt!r}")


def write_synthetic_mano_dir(folder: str | Path, seed: int = 0, fmt: str = "pkl") -> Path:
    """Write ``MANO_RIGHT.<fmt>`` and ``MANO_LEFT.<fmt>`` into ``folder``; returns the folder."""
    folder = Path(folder)
    for side in HANDS:
        write_synthetic_mano(folder / f"MANO_{side.upper()}.{fmt}", side, seed=seed, fmt=fmt)
    return folder
