"""The hold test: does a bimanual grasp hold its object? (GraspTTA's convention, made stricter.)

Scene (MuJoCo, metres, seconds, the mesh's own frame as the world):

- both hands static, collision pieces from the posed hand mesh (one convex piece per bone,
  :func:`handgen.grasp.convex_pieces.hand_pieces`) inflated by ``SQUEEZE_MARGIN`` (3 mm):
  static hands exert no grip, so the inflated skin presses into what it touches;
- the object a free rigid body: its convex hull, or CoACD pieces when it is not convex
  (:func:`handgen.grasp.convex_pieces.object_pieces`), mass = ``DENSITY`` x piece volume;
- friction ``FRICTION`` (0.8: skin on cardboard / painted metal is 0.5-1.0), condim 3, elliptic
  cones with MuJoCo's no-slip pass (20 iterations: without it soft friction lets a squeezed
  object creep); stiff contacts (``solref`` 5 ms, critically damped) so a 3 mm squeeze gives
  a grip of several times the object's weight.

Protocol: the contacts settle quasi-statically for ``SETTLE_SECONDS`` without gravity (the
object's velocity zeroed after every step, so a grasp whose contacts do not oppose each other
pushes the object out of the squeeze here without flinging it), then
from that settled state gravity (9.81 m/s^2) pulls along each of +-x, +-y, +-z for 1 s. The
object holds in a direction when its centre ends within 2 cm of where the grasp put it; the
grasp holds when it holds in at least 5 of the 6 directions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np

from handgen.grasp.convex_pieces import hand_pieces, object_pieces

GRAVITY = 9.81
DIRECTIONS: tuple[str, ...] = ("+x", "-x", "+y", "-y", "+z", "-z")
SQUEEZE_MARGIN = 0.003  # metres
DENSITY = 400.0  # kg/m^3: between a cereal box (~200) and a full can (~1000)
FRICTION = 0.8
SOLREF = (0.005, 1.0)  # contact time constant (s) and damping ratio
TIMESTEP = 0.002
SETTLE_SECONDS = 0.2
HOLD_SECONDS = 1.0
HOLD_DISTANCE = 0.02  # metres
MIN_DIRECTIONS = 5


def direction_vector(direction: str) -> np.ndarray:
    """``"-y"`` -> (0, -1, 0). Raises ValueError for anything but [+-]x|y|z."""
    text = direction.strip().lower()
    axis = text.lstrip("+-")
    if axis not in ("x", "y", "z") or len(text) - len(axis) > 1:
        raise ValueError(f"gravity direction must be one of +x, -x, +y, -y, +z, -z; got {direction!r}")
    out = np.zeros(3)
    out["xyz".index(axis)] = -1.0 if text.startswith("-") else 1.0
    return out


@dataclass
class HoldResult:
    """Hold test of one grasp: per-direction displacement (metres) and the verdict."""

    displacement: dict[str, float]  # direction -> object centre travel after 1 s of gravity, metres
    settle_displacement: float  # centre travel during the settling, metres
    holds: bool
    object_pieces: int
    mass: float  # kg
    details: dict = field(default_factory=dict)

    @property
    def directions_held(self) -> int:
        return sum(d < HOLD_DISTANCE for d in self.displacement.values())

    def as_metrics(self) -> dict[str, float]:
        """Flat scalars for grasp files: ``holds``, ``hold_directions``, ``hold_displacement_{dir}_mm``."""
        out: dict[str, float] = {"holds": float(self.holds), "hold_directions": float(self.directions_held),
                                 "hold_mean_displacement_mm": 1e3 * float(np.mean(list(self.displacement.values())))}
        for k, d in self.displacement.items():
            out[f"hold_displacement_{k[0].replace('+', 'p').replace('-', 'm')}{k[1]}_mm"] = 1e3 * d
        return out


def _fmt(values) -> str:
    return " ".join(f"{v:.7g}" for v in np.asarray(values, dtype=np.float64).reshape(-1))


def hold_scene_xml(obj_pieces: list[np.ndarray], hand_piece_sets: list[list[np.ndarray]], density: float = DENSITY,
                   friction: float = FRICTION, timestep: float = TIMESTEP) -> str:
    """MJCF of the static hand pieces and the free object (pieces in the world frame, metres)."""
    assets, geoms, body = [], [], []
    solref = f'solref="{SOLREF[0]:g} {SOLREF[1]:g}"'
    for h, pieces in enumerate(hand_piece_sets):
        for k, pts in enumerate(pieces):
            assets.append(f'<mesh name="h{h}_{k}" vertex="{_fmt(pts)}"/>')
            geoms.append(f'<geom type="mesh" mesh="h{h}_{k}" contype="1" conaffinity="2"/>')
    for k, pts in enumerate(obj_pieces):
        assets.append(f'<mesh name="o{k}" vertex="{_fmt(pts)}" inertia="convex"/>')
        body.append(f'<geom type="mesh" mesh="o{k}" density="{density:g}" contype="2" conaffinity="1"/>')
    return (
        '<mujoco><compiler boundmass="1e-4" boundinertia="1e-9"/>'
        f'<option timestep="{timestep:g}" gravity="0 0 0" cone="elliptic" noslip_iterations="20"/>'
        f'<default><geom friction="{friction:g} 0.005 0.0001" condim="3" {solref} solimp="0.95 0.99 0.001"/></default>'
        f"<asset>{''.join(assets)}</asset><worldbody>{''.join(geoms)}"
        f'<body name="object"><freejoint/>{"".join(body)}</body></worldbody></mujoco>'
    )


def hold_test(object_vertices: np.ndarray, object_faces: np.ndarray, hand_vertices: np.ndarray | None,
              hand_joints: np.ndarray | None, margin: float = SQUEEZE_MARGIN, decomposition: str = "auto",
              pieces: list[np.ndarray] | None = None, seconds: float = HOLD_SECONDS) -> HoldResult:
    """Run the hold test (module docstring) of one grasp.

    Args:
        object_vertices, object_faces: the object mesh (V, 3) metres, (F, 3).
        hand_vertices: (H, Vh, 3) posed skin of H hands (0, 1 or 2), or None for no hands.
        hand_joints: (H, 21, 3) their keypoints.
        decomposition: ``auto`` | ``hull`` | ``coacd`` (:func:`object_pieces`); ignored when
            ``pieces`` (precomputed object pieces, e.g. shared by many grasps) is given.

    Raises:
        ValueError: shapes; HandgenError: a needed decomposition is unavailable.
    """
    obj = pieces if pieces is not None else object_pieces(object_vertices, object_faces, decomposition)
    hands = []
    if hand_vertices is not None and len(hand_vertices):
        if hand_joints is None or len(hand_joints) != len(hand_vertices):
            raise ValueError("hand_joints must give (21, 3) keypoints for every hand in hand_vertices")
        hands = [hand_pieces(v, j, margin) for v, j in zip(hand_vertices, hand_joints)]
    model = mujoco.MjModel.from_xml_string(hold_scene_xml(obj, hands))
    data = mujoco.MjData(model)
    body = model.body("object").id
    mujoco.mj_forward(model, data)
    start = data.xipos[body].copy()
    for _ in range(round(SETTLE_SECONDS / model.opt.timestep)):
        mujoco.mj_step(model, data)
        data.qvel[:] = 0.0  # quasi-static: contacts push the object out of the squeeze, never fling it
    settled_qpos = data.qpos.copy()
    settle = float(np.linalg.norm(data.xipos[body] - start))
    moved = {}
    for direction in DIRECTIONS:
        mujoco.mj_resetData(model, data)
        data.qpos[:] = settled_qpos
        model.opt.gravity[:] = GRAVITY * direction_vector(direction)
        for _ in range(round(seconds / model.opt.timestep)):
            mujoco.mj_step(model, data)
        moved[direction] = float(np.linalg.norm(data.xipos[body] - start))
    held = sum(d < HOLD_DISTANCE for d in moved.values())
    return HoldResult(moved, settle, held >= MIN_DIRECTIONS, len(obj), float(model.body_mass[body]))
