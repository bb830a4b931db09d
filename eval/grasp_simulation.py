"""Simulation displacement of a grasp (GraspTTA convention) with MuJoCo.

Both hands are static collision geometry built from their 21 joints: a capsule along every
finger segment (radii of the procedural hand's anatomy, tapering to the tip) and the palm as
a convex slab (the wrist, the four knuckles and the thumb base, offset by the palm's half
thickness to both sides). The object is a free body of 1 kg whose collision shape is its
convex hull (MuJoCo collides meshes through their hulls), its inertia that of the hull.
Gravity pulls along a chosen axis of the mesh frame for a fixed time (1 s); the result is how
far the object's centre of mass moved, in mm. With no hands an object falls
``g t^2 / 2`` (4.9 m in 1 s); a stable grasp keeps it within millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handgen.analysis.hand_frame import PALM_SURFACE_OFFSET, palm_normal
from handgen.hand.anatomy import bone_capsules
from handgen.hand.topology import FINGER_KEYPOINTS, FINGER_MANO_JOINTS, FINGERS

GRAVITY = 9.81
AXES = {"x": 0, "y": 1, "z": 2}
PALM_CORNERS: tuple[int, ...] = (0, 1, 5, 9, 13, 17)  # wrist, thumb base, index..pinky knuckles


def gravity_vector(direction: str) -> np.ndarray:
    """``"-y"`` -> (0, -9.81, 0). Raises ValueError for anything but [+-]x|y|z."""
    text = direction.strip().lower()
    sign = -1.0 if text.startswith("-") else 1.0
    axis = text.lstrip("+-")
    if axis not in AXES:
        raise ValueError(f"gravity direction must be one of x, -x, y, -y, z, -z; got {direction!r}")
    out = np.zeros(3)
    out[AXES[axis]] = sign * GRAVITY
    return out


def _segment_radii() -> dict[tuple[int, int], float]:
    """Capsule radius of each finger segment as (parent keypoint, child keypoint) -> metres."""
    by_joint = {joint: radius for joint, _, _, radius in bone_capsules()}
    out = {}
    for finger in FINGERS:
        keys = FINGER_KEYPOINTS[finger]
        for k, mano in enumerate(FINGER_MANO_JOINTS[finger]):
            out[(keys[k], keys[k + 1])] = by_joint[mano]
    return out


SEGMENT_RADII = _segment_radii()


@dataclass
class HandGeometry:
    """Collision shapes of one hand: capsules (a, b, radius) and the palm slab's vertices (K, 3)."""

    capsules: list[tuple[np.ndarray, np.ndarray, float]]
    palm: np.ndarray


def hand_geometry(joints: np.ndarray, hand: int) -> HandGeometry:
    """Collision shapes of hand ``hand`` (0 left, 1 right) from its joints (21, 3) in metres."""
    j = np.asarray(joints, dtype=np.float64)
    if j.shape != (21, 3):
        raise ValueError(f"joints must be (21, 3), got {j.shape}")
    capsules = []
    for (a, b), radius in SEGMENT_RADII.items():
        start, end = j[a], j[b]
        if b in (4, 8, 12, 16, 20):  # the tip keypoint lies on the skin: end the axis one radius short
            axis = end - start
            end = end - radius * axis / max(np.linalg.norm(axis), 1e-9)
        capsules.append((start, end, radius))
    normal = palm_normal(j, hand)
    corners = j[list(PALM_CORNERS)]
    palm = np.concatenate([corners + PALM_SURFACE_OFFSET * normal, corners - PALM_SURFACE_OFFSET * normal])
    return HandGeometry(capsules, palm)


def _fmt(values) -> str:
    return " ".join(f"{v:.6g}" for v in np.asarray(values, dtype=np.float64).reshape(-1))


def grasp_scene_xml(object_vertices: np.ndarray, hands: list[HandGeometry], gravity: np.ndarray,
                    mass: float = 1.0, timestep: float = 0.002) -> str:
    """MJCF of the static hands and the free object (its vertices in the world frame)."""
    assets = [f'<mesh name="object" vertex="{_fmt(object_vertices)}" inertia="convex"/>']
    geoms = []
    for h, hand in enumerate(hands):
        assets.append(f'<mesh name="palm{h}" vertex="{_fmt(hand.palm)}"/>')
        geoms.append(f'<geom name="palm{h}" type="mesh" mesh="palm{h}"/>')
        for c, (a, b, radius) in enumerate(hand.capsules):
            geoms.append(f'<geom name="hand{h}_bone{c}" type="capsule" fromto="{_fmt(a)} {_fmt(b)}" '
                         f'size="{radius:.6g}"/>')
    return (
        "<mujoco>"
        f'<option timestep="{timestep}" gravity="{_fmt(gravity)}"/>'
        f"<asset>{''.join(assets)}</asset>"
        "<worldbody>"
        + "".join(geoms)
        + f'<body name="object"><freejoint/><geom name="object" type="mesh" mesh="object" mass="{mass}"/></body>'
        "</worldbody></mujoco>"
    )


@dataclass
class SimulationResult:
    displacement_mm: float  # centre-of-mass travel after ``seconds``
    seconds: float
    free_fall_mm: float  # what a free object would travel: g t^2 / 2
    contacts_at_start: int  # hand-object contacts in the first step


def simulate_grasp(object_vertices: np.ndarray, joints: np.ndarray | None, gravity: str | np.ndarray = "-y",
                   seconds: float = 1.0, mass: float = 1.0, timestep: float = 0.002) -> SimulationResult:
    """Let the object go between the static hands; ``joints`` (H, 21, 3) with hand h = 0 left, 1 right
    (``None`` or zero hands: the object alone).

    Raises:
        ValueError: bad shapes or gravity direction; mujoco's own errors for degenerate meshes.
    """
    import mujoco

    verts = np.asarray(object_vertices, dtype=np.float64)
    if verts.ndim != 2 or verts.shape[1] != 3 or len(verts) < 4:
        raise ValueError(f"object vertices must be (V >= 4, 3), got {verts.shape}")
    g = gravity_vector(gravity) if isinstance(gravity, str) else np.asarray(gravity, dtype=np.float64)
    hands = [] if joints is None else [hand_geometry(j, h) for h, j in enumerate(np.asarray(joints))]
    model = mujoco.MjModel.from_xml_string(grasp_scene_xml(verts, hands, g, mass, timestep))
    data = mujoco.MjData(model)
    body = model.body("object").id
    mujoco.mj_forward(model, data)
    start = data.xipos[body].copy()
    contacts = int(data.ncon)
    for _ in range(int(round(seconds / timestep))):
        mujoco.mj_step(model, data)
    moved = float(np.linalg.norm(data.xipos[body] - start)) * 1e3
    return SimulationResult(moved, seconds, 0.5 * float(np.linalg.norm(g)) * seconds**2 * 1e3, contacts)
