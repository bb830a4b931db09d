"""Put a procedural hand on an object: palm against the surface, fingers closed until they touch.

Works against any signed distance function of world points (negative inside the object;
:class:`~data_prep.object_distance.DistanceGrid` of the object's closed mesh, posed):

1. :func:`hand_rotation`: the hand orientation whose fingers point along ``finger_dir`` and
   whose palm faces along ``palm_normal`` (MANO axes, docs/reference.md 1b: right-hand fingers
   along template -x, palm -y, thumb +z; the left hand mirrored);
2. :func:`place_palm`: with the fingers open, slide the hand along the palm normal from a
   stand-off until the closest hand vertex is ``gap`` from the surface (sphere tracing: the
   SDF is 1-Lipschitz, so a step of the current clearance never penetrates);
3. :func:`close_fingers`: every finger joint moves from the open pose towards a fist in
   small steps; when a finger segment touches the surface (closer than ``touch``), the joints
   that move it stop (the distal ones go on wrapping); a step that would push a segment
   into the object is undone first. Fingers that touch nothing end half closed.

Poses are ABSOLUTE (flat-hand-mean) axis-angle; positions are of the wrist joint, metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from data_prep.synthetic.finger_poses import finger_pose
from data_prep.synthetic.hand_geometry import SkinnedPoints, pose_hand, procedural_hand
from handgen.hand.anatomy import mirror_axis_angle
from handgen.hand.topology import FINGER_MANO_JOINTS, FINGERS, PALM_KEYPOINTS

SignedDistance = Callable[[np.ndarray], np.ndarray]  # world points (N,3) -> (N,) metres

GAP = 0.0015  # palm clearance after placement, metres
TOUCH = 0.003  # a segment closer than this touches
PENETRATION = 0.0005  # a step that brings a segment deeper than this inside is undone
STEPS = 40  # closure steps from open to fist
UNTOUCHED_CLOSURE = 0.4  # closure of fingers that touch nothing
LOOKAHEAD = 8  # closure steps posed and measured together
THUMB_LIFT = 0.3  # radians, see open_hand
THENAR_SQUASH = 0.004  # metres the thenar bulge may sink into the surface (soft tissue), see place_palm


@dataclass
class HandGrasp:
    """One hand holding the object at its rest pose (world frame)."""

    side: str
    rotvec: np.ndarray  # (3,) global_orient
    wrist: np.ndarray  # (3,) wrist joint position
    open_pose: np.ndarray  # (45,) absolute pre-shape
    pose: np.ndarray  # (45,) absolute closed pose
    touching: dict[str, bool]  # finger -> whether it touches the object


def hand_rotation(side: str, finger_dir: np.ndarray, palm_normal: np.ndarray) -> np.ndarray:
    """``global_orient`` (3,) of a hand whose fingers point along ``finger_dir`` and palm faces ``palm_normal``.

    ``finger_dir`` is made orthogonal to ``palm_normal``. Right hand: template -x -> fingers,
    -y -> palm normal; left hand: +x -> fingers, -y -> palm normal.
    """
    n = np.asarray(palm_normal, dtype=np.float64)
    n = n / np.linalg.norm(n)
    f = np.asarray(finger_dir, dtype=np.float64)
    f = f - (f @ n) * n
    f = f / np.linalg.norm(f)
    x = -f if side == "right" else f
    y = -n
    matrix = np.stack([x, y, np.cross(x, y)], axis=1)
    return Rotation.from_matrix(matrix).as_rotvec()


@lru_cache(maxsize=2)
def finger_links(side: str) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Vertex indices of each finger's three segments (by dominant skinning joint)."""
    owner = procedural_hand(side).weights.argmax(dim=1).numpy()
    return {finger: tuple(np.flatnonzero(owner == j) for j in joints) for finger, joints in FINGER_MANO_JOINTS.items()}


@lru_cache(maxsize=2)
def open_hand(side: str) -> np.ndarray:
    """The pre-shape (45,): the "open" primitive with the thumb swung back into the palm's plane.

    The open thumb sticks out on the palm side; rotating its base by THUMB_LIFT about the axis
    (thumb direction x palm-up) lays it flat, so that a palm pressed on a face meets it first.
    """
    pose = finger_pose("open", "right")
    rest = procedural_hand("right").rest_joints().numpy().astype(np.float64)
    axis = np.cross(rest[15] - rest[13], [0.0, 1.0, 0.0])
    lifted = Rotation.from_rotvec(THUMB_LIFT * axis / np.linalg.norm(axis)) * Rotation.from_rotvec(pose[36:39])
    pose[36:39] = lifted.as_rotvec()
    return mirror_axis_angle(pose) if side == "left" else pose


@lru_cache(maxsize=2)
def vertex_allowance(side: str) -> np.ndarray:
    """Per-vertex penetration allowed when placing the palm (V,): THENAR_SQUASH on the thenar bulge."""
    owner = procedural_hand(side).weights.argmax(dim=1).numpy()
    return np.where(owner == 13, THENAR_SQUASH, 0.0)


def place_palm(
    side: str, rotvec: np.ndarray, pose: np.ndarray, betas: np.ndarray, palm_target: np.ndarray,
    palm_normal: np.ndarray, sdf: SignedDistance, standoff: float = 0.08, gap: float = GAP,
) -> tuple[np.ndarray, float]:
    """Wrist position (3,) that brings the palm from ``standoff`` towards ``palm_target`` until ``gap``.

    The clearance is the smallest signed distance of the hand's vertices, each raised by its
    allowance (the thenar bulge may sink THENAR_SQUASH into the surface, as soft tissue does;
    otherwise it alone would hold a flat palm ~8 mm off a flat face). Returns the wrist and
    that clearance.
    """
    n = np.asarray(palm_normal, dtype=np.float64) / np.linalg.norm(palm_normal)
    posed = pose_hand(side, rotvec[None], pose[None], betas)
    rel = posed.vertices[0]
    allowance = vertex_allowance(side)
    palm = posed.joints[0, list(PALM_KEYPOINTS)].mean(axis=0)
    wrist = np.asarray(palm_target, dtype=np.float64) - palm - standoff * n
    clearance = float((sdf(rel + wrist) + allowance).min())
    for _ in range(60):
        if abs(clearance - gap) < 2e-4:
            break
        wrist = wrist + (clearance - gap) * n  # moves back out when already too close
        clearance = float((sdf(rel + wrist) + allowance).min())
    return wrist, clearance


def _lerp_pose(start: np.ndarray, target: np.ndarray, progress: np.ndarray) -> np.ndarray:
    """Per-joint interpolation (45,) of axis-angles: progress (15,) in [0, 1]."""
    s, t = start.reshape(15, 3), target.reshape(15, 3)
    return (s + progress[:, None] * (t - s)).reshape(45)


@lru_cache(maxsize=32)
def _link_poser(side: str, betas: tuple[float, ...]) -> tuple[SkinnedPoints, np.ndarray]:
    """A poser of the finger segments' vertices only (thumb..pinky, base..distal segment, one after
    the other) and where each of the 15 segments starts in its output."""
    links = finger_links(side)
    ids = [link for finger in FINGERS for link in links[finger]]
    bounds = np.cumsum([0] + [len(link) for link in ids[:-1]])
    return SkinnedPoints(side, np.asarray(betas), np.concatenate(ids)), bounds


def close_fingers(
    side: str, rotvec: np.ndarray, wrist: np.ndarray, open_pose: np.ndarray, betas: np.ndarray, sdf: SignedDistance,
    steps: int = STEPS, lookahead: int = LOOKAHEAD, target: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, bool]]:
    """Closed pose (45,) and which fingers touch; see the module docstring.

    ``target``: the pose (45,) the fingers close towards (default the fist; a pinch closes the
    thumb and index towards the ``pinch`` primitive, :mod:`data_prep.synthetic.pinch_solver`).

    The steps are those of a plain loop, step by step, but evaluated ``lookahead`` at a time:
    the next steps' poses are what they will be unless a finger stops, so they are posed
    (only the finger segments' vertices, :class:`SkinnedPoints`) and measured together, and
    read one by one until a finger stops; the ones after that are measured again.
    """
    target = finger_pose("fist", side) if target is None else np.asarray(target, dtype=np.float64)
    poser, bounds = _link_poser(side, tuple(float(b) for b in np.asarray(betas).reshape(-1)))
    progress = np.zeros(15)
    frozen = np.zeros(15, dtype=bool)
    touched = {finger: False for finger in FINGERS}
    before = {finger: [np.inf] * 3 for finger in FINGERS}  # each segment's clearance at the last accepted step
    step = 1.0 / steps
    taken = 0
    while taken < steps + 1:
        moving = ~frozen & (progress < 1.0)
        trials = []
        trial = progress
        for _ in range(min(lookahead, steps + 1 - taken)):  # the coming steps if no finger stops
            trial = np.minimum(trial + step * moving, 1.0)
            trials.append(trial)
        poses = np.stack([_lerp_pose(open_pose, target, t) for t in trials])
        distance = sdf(poser(rotvec, poses) + wrist)  # (K, n)
        segments = np.minimum.reduceat(distance, bounds, axis=1)  # (K, 15): fingers thumb..pinky x 3 segments
        for k, trial in enumerate(trials):
            trial = trial.copy()
            taken += 1
            changed = False
            for f, (finger, joints) in enumerate(FINGER_MANO_JOINTS.items()):
                ids = [j - 1 for j in joints]
                nearest = [float(v) for v in segments[k, 3 * f : 3 * f + 3]]
                # a segment is pushed in when it is inside and deeper than before (the thenar starts inside)
                inside = [i for i in range(3) if nearest[i] < -PENETRATION and nearest[i] < before[finger][i] - 1e-5]
                touching = [i for i in range(3) if nearest[i] < TOUCH]
                if inside:
                    trial[ids] = progress[ids]
                    frozen[ids[: max(inside) + 1]] = True
                    touched[finger] = changed = True
                    continue
                if touching:
                    frozen[ids[: max(touching) + 1]] = True
                    touched[finger] = changed = True
                before[finger] = nearest
            progress = trial
            if changed or not (~frozen & (progress < 1.0)).any():
                break
        if not (~frozen & (progress < 1.0)).any():
            break
    for finger, joints in FINGER_MANO_JOINTS.items():
        if not touched[finger]:
            ids = [j - 1 for j in joints]
            progress[ids] = np.minimum(progress[ids], UNTOUCHED_CLOSURE)
    return _lerp_pose(open_pose, target, progress), touched


def grasp(
    side: str, finger_dir: np.ndarray, palm_normal: np.ndarray, palm_target: np.ndarray, betas: np.ndarray,
    sdf: SignedDistance,
) -> HandGrasp:
    """Place and close one hand (see the module docstring)."""
    rotvec = hand_rotation(side, finger_dir, palm_normal)
    open_pose = open_hand(side)
    wrist, _ = place_palm(side, rotvec, open_pose, betas, palm_target, palm_normal, sdf)
    pose, touching = close_fingers(side, rotvec, wrist, open_pose, betas, sdf)
    return HandGrasp(side, rotvec, wrist, open_pose, pose, touching)


def hand_vertices(g: HandGrasp, betas: np.ndarray, pose: np.ndarray | None = None) -> np.ndarray:
    """World vertices (V,3) of a grasping hand (its closed pose unless ``pose`` is given)."""
    p = g.pose if pose is None else pose
    return pose_hand(g.side, g.rotvec[None], p[None], betas).vertices[0] + g.wrist
