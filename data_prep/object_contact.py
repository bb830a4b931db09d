"""Hand-object contact: how much of each hand lies within ``contact_dist`` of an object's surface.

Per frame and hand (index 0 left, 1 right):

- ``contact`` = fraction of the hand mesh's vertices whose (unsigned) distance to the object
  surface is below ``contact_dist`` (default 1 cm);
- ``tips`` = whether each fingertip keypoint (thumb, index, middle, ring, pinky) is.

Distances come from :class:`~handgen.geometry.distance_grid.DistanceGrid` s built once per object in
the object's own frame: one for the bottom part and, for articulated objects, one for the
top part in its own (un-articulated) frame, so any articulation is exact. A point's
distance is the smaller of the two. Hand vertices are moved into those frames (the inverse
of the object pose and of the articulation) rather than posing the object. A vertex deeper
than ``contact_dist`` inside the object does not count (unsigned distance).

Throughput: a hand whose skeleton (points along its bones, posed once per hand and chunk of
frames, :meth:`~handgen.hand.base.HandModel.joints_then_vertices`) is further than
``contact_dist`` + the hand's flesh radius from the object cannot touch it: its mesh is not
posed for that frame. The others are skinned by torch and their vertices looked up in the grids
by one compiled pass (:mod:`handgen.geometry.grid_kernels`, ~30 ns per point). On the synthetic
set a frame with the object costs ~0.18 ms of CPU for both hands (docs/fast_paths_and_seams.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from data_prep.arctic_objects import ObjectTrack
from handgen.geometry import grid_kernels
from handgen.geometry.distance_grid import DistanceGrid
from handgen.hand.anatomy import mirror_axis_angle
from handgen.hand.pair import HandPair
from handgen.hand.topology import FINGERTIP_KEYPOINTS, HANDS
from handgen.repr.motion import BimanualMotion
from handgen.repr.object_pose import ObjectTemplate, canonical_to_top_part, world_to_canonical

CONTACT_DIST = 0.01  # metres
GRID_SPACING = 0.004  # metres
GRID_CAP = 0.08  # metres: distances up to this are known (approximately beyond the exact band)
CHUNK_FRAMES = 128
BONE_SAMPLES = 4  # points per bone for the skeleton pre-test
FLESH_MARGIN = 0.01  # metres added to the measured flesh radius (posing stretches the skin a little)


@dataclass
class ObjectDistance:
    """Unsigned distance to an object's surface at any pose and articulation."""

    template: ObjectTemplate
    bottom: DistanceGrid | None
    top: DistanceGrid | None

    @classmethod
    def build(
        cls, template: ObjectTemplate, reach: float = CONTACT_DIST, spacing: float = GRID_SPACING
    ) -> "ObjectDistance":
        """Grids exact up to ``reach`` (+ two voxels) from each part's surface."""
        grids = []
        for part in (0, 1):
            vertices, faces = template.part_mesh(part)
            grids.append(
                DistanceGrid.from_mesh(vertices, faces, spacing=spacing, band=reach + 2 * spacing,
                                       cap=max(GRID_CAP, reach + 2 * spacing), lazy=True) if len(faces) else None
            )
        if grids[0] is None and grids[1] is None:
            raise ValueError(f"object {template.name!r} has no faces")
        grid_kernels.load()  # numba's start-up belongs to the setup, not to the first frames' contact
        return cls(template=template, bottom=grids[0], top=grids[1])

    def distance(self, points: np.ndarray, articulation: np.ndarray, rot: np.ndarray, transl: np.ndarray) -> np.ndarray:
        """Distance (F, N) of world points (F, N, 3) to the object posed per frame (metres)."""
        return self._per_part(points, articulation, rot, transl, lambda grid, p: grid(p), np.minimum, np.inf)

    def lower_bound(
        self, points: np.ndarray, articulation: np.ndarray, rot: np.ndarray, transl: np.ndarray
    ) -> np.ndarray:
        """A lower bound (F, N) of :meth:`distance` that makes no grid voxel exact (DistanceGrid.lower_bound)."""
        return self._per_part(points, articulation, rot, transl, lambda grid, p: grid.lower_bound(p), np.minimum,
                              np.inf)

    def below(
        self, points: np.ndarray, articulation: np.ndarray, rot: np.ndarray, transl: np.ndarray, threshold: float
    ) -> np.ndarray:
        """``distance(...) < threshold`` (F, N) bool, exact; only voxels near such points are made exact."""
        return self._per_part(points, articulation, rot, transl, lambda grid, p: grid.below(p, threshold),
                              np.logical_or, False)

    def _per_part(self, points, articulation, rot, transl, query, combine, empty) -> np.ndarray:
        """``combine`` of ``query(grid, points in the grid's frame)`` over the bottom and top parts."""
        canonical = world_to_canonical(points, rot, transl)
        out = np.full(points.shape[:-1], empty)
        if self.bottom is not None:
            out = combine(out, query(self.bottom, canonical))
        if self.top is not None:
            out = combine(out, query(self.top, canonical_to_top_part(self.template, canonical, articulation)))
        return out

    @property
    def grids(self) -> list[DistanceGrid]:
        return [g for g in (self.bottom, self.top) if g is not None]

    @property
    def reach(self) -> float:
        """Distances up to this are exact (to the grid's accuracy)."""
        return min(g.cap for g in self.grids)

    @property
    def spacing(self) -> float:
        return max(g.spacing for g in self.grids)


def hand_contact(
    distance: ObjectDistance, vertices: np.ndarray, tips: np.ndarray, articulation: np.ndarray, rot: np.ndarray,
    transl: np.ndarray, contact_dist: float = CONTACT_DIST,
) -> tuple[np.ndarray, np.ndarray]:
    """One hand's contact: vertices (F,V,3), fingertips (F,5,3) world -> fraction (F,), tips (F,5) bool.

    ``articulation`` (F,), ``rot`` (F,3), ``transl`` (F,3) metres pose the object per frame.
    """
    points = np.concatenate([vertices, tips], axis=1)
    near = distance.below(points, articulation, rot, transl, contact_dist)
    v = vertices.shape[1]
    return near[:, :v].mean(axis=1).astype(np.float32), near[:, v:]


def bone_points(joints: np.ndarray) -> np.ndarray:
    """Points along every bone of 21-keypoint skeletons (..., 21, 3) -> (..., 20 * BONE_SAMPLES, 3)."""
    parents = [0, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19]
    a, b = joints[..., parents[1:], :], joints[..., 1:, :]
    t = np.linspace(0.0, 1.0, BONE_SAMPLES)[:, None, None]
    points = a[..., None, :, :] + t * (b - a)[..., None, :, :]  # (..., S, 20, 3)
    return points.reshape(*joints.shape[:-2], -1, 3)


_FLESH: dict[tuple[int, str], float] = {}


def flesh_radius(hands: HandPair, side: str) -> float:
    """How far (m) a hand's mesh reaches from its bones, over a flat and a fist pose, plus a margin."""
    key = (id(hands[side]), side)
    if key not in _FLESH:
        curled = np.tile([0.0, 0.0, 1.2], 15)  # every joint flexed (right-hand flexion is about +z)
        curled = mirror_axis_angle(curled) if side == "left" else curled
        poses = torch.as_tensor(np.stack([np.zeros(45), curled]), dtype=torch.float32)
        with torch.no_grad():
            out = hands[side](torch.zeros(2, 3), poses)
        verts, bones = out.vertices.double().numpy(), bone_points(out.joints.double().numpy())
        gap = np.linalg.norm(verts[:, :, None] - bones[:, None], axis=-1).min(axis=2)  # (2, V)
        _FLESH[key] = float(gap.max()) + FLESH_MARGIN
    return _FLESH[key]


def warm_up_contact(hands: HandPair) -> None:
    """Pose a chunk of neutral frames of each hand and skin them, as :func:`sequence_contact` does for near hands:
    what the contact's first sequence would otherwise pay once in a process (prep's compiled skinning's first call,
    the heap's growth to a chunk's temporaries, kept by :mod:`data_prep.heap`)."""
    zeros = torch.zeros(CHUNK_FRAMES, 3)
    with torch.no_grad():
        for side in HANDS:
            _, vertices = hands[side].joints_then_vertices(zeros, torch.zeros(CHUNK_FRAMES, 45), None, zeros)
            vertices(torch.arange(CHUNK_FRAMES))


def posed_hands(motion: BimanualMotion, hands: HandPair) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (F,2,V,3) and fingertips (F,2,5,3) of both hands (flat-hand-mean ``hands``), metres."""
    params = motion.torch_params()
    verts, tips = [], []
    with torch.no_grad():
        for side in HANDS:
            out = hands.pose(side, params)
            verts.append(out.vertices.double().numpy())
            tips.append(out.joints[:, list(FINGERTIP_KEYPOINTS)].double().numpy())
    return np.stack(verts, axis=1), np.stack(tips, axis=1)


def sequence_contact(
    motion: BimanualMotion, valid: np.ndarray, hands: HandPair, track: ObjectTrack, distance: ObjectDistance,
    contact_dist: float = CONTACT_DIST, frames: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame contact of a whole sequence: fraction (F,2) float32, tips (F,2,5) bool.

    Only ``frames`` (indices; default all) are computed; the others, and frames where the
    hands or the object are not ``valid``, read 0 / False.
    """
    if contact_dist > distance.reach:
        raise ValueError(f"contact_dist {contact_dist} exceeds the distance grids' reach {distance.reach}")
    n = motion.num_frames
    fraction = np.zeros((n, 2), dtype=np.float32)
    tips = np.zeros((n, 2, 5), dtype=bool)
    todo = np.arange(n) if frames is None else np.asarray(frames, dtype=np.int64)
    todo = todo[valid[todo] & track.valid[todo]]
    for a in range(0, len(todo), CHUNK_FRAMES):
        idx = todo[a : a + CHUNK_FRAMES]
        part = BimanualMotion(motion.global_orient[idx], motion.hand_pose[idx], motion.transl[idx], motion.betas)
        params = part.torch_params()
        pose = (track.articulation[idx], track.rot[idx], track.transl[idx])
        posers = []
        with torch.no_grad():
            for side in HANDS:  # the skeleton once per hand: its keypoints now, its skinning for the near frames
                posers.append(hands[side].joints_then_vertices(
                    params[f"{side}_global_orient"], params[f"{side}_hand_pose"], params.get(f"{side}_betas"),
                    params[f"{side}_transl"]))
        joints = torch.stack([p[0] for p in posers], dim=1).double().numpy()  # (n,2,21,3)
        skeleton = bone_points(joints)  # (n,2,S,3)
        # a lower bound of the skeleton's distance suffices here (and makes no grid voxel exact)
        nearest = distance.lower_bound(skeleton.reshape(len(idx), -1, 3), *pose).reshape(len(idx), 2, -1).min(axis=2)
        for h, side in enumerate(HANDS):
            near = nearest[:, h] <= contact_dist + flesh_radius(hands, side) + distance.spacing
            if not near.any():
                continue
            sel = idx[near]
            rows = torch.from_numpy(np.flatnonzero(near))
            with torch.no_grad():
                vertices = posers[h][1](rows)
            fraction[sel, h], tips[sel, h] = hand_contact(  # float32 as posed: widened exactly in the object's frame
                distance, vertices.numpy(), posers[h][0][rows][:, list(FINGERTIP_KEYPOINTS)].numpy(),
                track.articulation[sel], track.rot[sel], track.transl[sel], contact_dist,
            )
    return fraction, tips
