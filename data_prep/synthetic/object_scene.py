"""An object placed in front of the person and the two-hand layouts that hold it.

The object rests with its centre about 40 cm in front of the chest at wrist height, turned
by a small random yaw. Layouts are described in the object's upright frame U (axes: the
yawed world axes; origin: the object's bounding-box centre; ``e`` its half extents) and
solved with :mod:`data_prep.synthetic.grasp_solver` against the object's signed distance:

- ``sides``: each palm on the object's outer side (left hand on +x), fingers forward to up;
- ``bottom``: both palms up under the object near its ends, fingers forward;
- ``wrap_top``: one hand wraps the lower half from its side, the other covers the top;
- ``wrap_one``: one hand wraps it from its side (the other hand is free);
- ``lid``: the left hand holds the body's side low down, the right hand grips the lid's front
  edge (palm on the lid's front face, fingers up and curled over it);
- ``support_top``: one hand (the holder) supports the object from below, palm up under its
  middle, the other stabilises it from above, palm down on its top: contacts on opposite faces;
- ``wrap_both``: both hands wrap the body from opposite sides, one high and one low (a bat
  grip), fingers horizontal and curled around the front;
- ``pinch``: each hand pinches one end of a thin object between thumb and index finger, thumb
  behind, index in front (:mod:`data_prep.synthetic.pinch_solver`);
- ``pinch_one``: one hand pinches the object near its middle (the other hand is free).

Layout parameters are drawn from the sequence's generator; a draw whose two hands come
within :data:`HAND_CLEARANCE` of each other is redrawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from data_prep.object_distance import DistanceGrid
from data_prep.synthetic.grasp_solver import HandGrasp, grasp, hand_vertices
from data_prep.synthetic.object_catalog import CatalogObject
from data_prep.synthetic.pinch_solver import pinch_grasp

HAND_CLEARANCE = 0.004  # metres between the two holding hands
SDF_SPACING = 0.0025
OBJECT_CENTRE = np.array([0.0, 0.95, 0.39])
ONE_HAND_OFFSET = 0.07  # the object sits this far towards a one-handed holder's side, metres


_GRIDS: dict[tuple[str, str], DistanceGrid] = {}


def signed_grid(obj: CatalogObject) -> DistanceGrid:
    """The object's signed distance grid in its canonical frame (cached per process)."""
    key = (obj.name, obj.template.digest())
    if key not in _GRIDS:
        t = obj.template
        _GRIDS[key] = DistanceGrid.from_mesh(t.vertices, t.faces, spacing=SDF_SPACING, band=0.01, cap=0.03, signed=True,
                                             lazy=True)
    return _GRIDS[key]


@dataclass
class ObjectScene:
    """The object at rest in the world: x_world = rotation @ x_canonical + translation."""

    obj: CatalogObject
    grid: DistanceGrid
    rotation: np.ndarray  # (3,3) canonical -> world
    translation: np.ndarray  # (3,) metres
    centre: np.ndarray  # (3,) world bounding-box centre
    yaw: np.ndarray  # (3,3) U -> world rotation
    half: np.ndarray  # (3,) half extents in U
    rest: str

    def sdf(self, points: np.ndarray) -> np.ndarray:
        """Signed distance (N,) of world points (N,3) to the resting object (negative inside)."""
        return self.grid((np.asarray(points) - self.translation) @ self.rotation)

    def to_world(self, u: np.ndarray) -> np.ndarray:
        """A point (3,) of the U frame in world coordinates."""
        return self.yaw @ np.asarray(u, dtype=np.float64) + self.centre

    def direction(self, u: np.ndarray) -> np.ndarray:
        v = self.yaw @ np.asarray(u, dtype=np.float64)
        return v / np.linalg.norm(v)

    def part_range_y(self, part: int) -> tuple[float, float]:
        """Vertical range (U frame) of one part of the template."""
        template = self.obj.template
        u = (template.vertices[template.parts == part] @ self.rotation.T + self.translation - self.centre) @ self.yaw
        return float(u[:, 1].min()), float(u[:, 1].max())


def place_object(
    obj: CatalogObject, grid: DistanceGrid, rng: np.random.Generator, holder: str, rest: str | None = None,
    raised: bool = False,
) -> ObjectScene:
    """Rest the object in front of the chest (towards ``holder``'s side when one hand holds it)."""
    rests = dict(obj.spec.rests)
    rest = rest or obj.spec.rests[int(rng.integers(len(obj.spec.rests)))][0]
    upright = np.asarray(rests[rest], dtype=np.float64)
    yaw = Rotation.from_euler("y", rng.uniform(-0.2, 0.2)).as_matrix()
    verts = obj.template.vertices @ upright.T
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    centre = OBJECT_CENTRE + rng.uniform(-0.025, 0.025, 3)
    if holder in ("left", "right"):
        centre[0] += ONE_HAND_OFFSET if holder == "left" else -ONE_HAND_OFFSET
    if raised:
        centre[1] += 0.12
    rotation = yaw @ upright
    translation = centre - yaw @ (0.5 * (lo + hi))
    return ObjectScene(obj, grid, rotation, translation, centre, yaw, 0.5 * (hi - lo), rest)


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def layout_targets(layout: str, scene: ObjectScene, rng: np.random.Generator, holder: str) -> dict[str, tuple]:
    """Per holding hand: (finger direction, palm normal, palm target), U frame; a pinching hand
    adds a fourth item, the index-to-thumb axis, and its target is the pinch point."""
    e = scene.half
    out: dict[str, tuple] = {}

    def side_grip(side: str, y_range, z_range, alpha_range):
        sign = 1.0 if side == "left" else -1.0
        alpha = rng.uniform(*alpha_range)
        target = (sign * e[0], rng.uniform(*y_range) * e[1], rng.uniform(*z_range) * e[2])
        return (0.0, np.sin(alpha), np.cos(alpha)), (-sign, 0.0, 0.0), target

    if layout == "sides":
        for side in ("left", "right"):
            out[side] = side_grip(side, (-0.25, 0.25), (-0.3, 0.3), (-0.25, 0.8))
    elif layout == "bottom":
        for side in ("left", "right"):
            sign = 1.0 if side == "left" else -1.0
            beta = rng.uniform(-0.3, 0.4)
            x = max(e[0] - rng.uniform(0.045, 0.065), 0.05)
            out[side] = ((-sign * np.sin(beta), 0.0, np.cos(beta)), (0.0, 1.0, 0.0),
                         (sign * x, -e[1], rng.uniform(-0.3, 0.3) * e[2]))
    elif layout == "wrap_top":
        wrap = holder if holder in ("left", "right") else ("left" if rng.random() < 0.5 else "right")
        top = "right" if wrap == "left" else "left"
        out[wrap] = side_grip(wrap, (-0.45, -0.2), (-0.15, 0.15), (-0.2, 0.2))
        gamma = rng.uniform(-0.5, 0.5)
        out[top] = ((np.sin(gamma), 0.0, np.cos(gamma)), (0.0, -1.0, 0.0),
                    (rng.uniform(-0.2, 0.2) * e[0], e[1], rng.uniform(-0.3, 0.05) * e[2]))
    elif layout == "wrap_one":
        out[holder] = side_grip(holder, (-0.3, 0.1), (-0.2, 0.2), (-0.2, 0.4))
    elif layout == "support_top":
        below = holder if holder in ("left", "right") else ("left" if rng.random() < 0.5 else "right")
        above = "right" if below == "left" else "left"
        beta, gamma = rng.uniform(-0.3, 0.3), rng.uniform(-0.4, 0.4)
        sign = 1.0 if below == "left" else -1.0
        out[below] = ((-sign * np.sin(beta), 0.0, np.cos(beta)), (0.0, 1.0, 0.0),
                      (rng.uniform(-0.15, 0.15) * e[0], -e[1], rng.uniform(-0.2, 0.1) * e[2]))
        out[above] = ((np.sin(gamma), 0.0, np.cos(gamma)), (0.0, -1.0, 0.0),
                      (rng.uniform(-0.15, 0.15) * e[0], e[1], rng.uniform(-0.2, 0.1) * e[2]))
    elif layout == "wrap_both":
        high = "left" if rng.random() < 0.5 else "right"
        for side in ("left", "right"):
            y_range = (0.4, 0.6) if side == high else (-0.6, -0.4)
            out[side] = side_grip(side, y_range, (-0.1, 0.1), (-0.1, 0.1))
    elif layout in ("pinch", "pinch_one"):
        for side in (("left", "right") if layout == "pinch" else (holder,)):
            sign = 1.0 if side == "left" else -1.0
            x = sign * (e[0] - rng.uniform(0.025, 0.04)) if layout == "pinch" else rng.uniform(-0.3, 0.3) * e[0]
            tilt = rng.uniform(0.5, 0.9)  # fingers forward and down, from above
            out[side] = ((0.0, -np.sin(tilt), np.cos(tilt)), (0.0, -np.cos(tilt), -np.sin(tilt)), (x, 0.0, 0.0),
                         (0.0, rng.uniform(-0.2, 0.2), -1.0))
    elif layout == "lid":
        body_lo, _ = scene.part_range_y(0)
        lid_lo, lid_hi = scene.part_range_y(1)
        alpha = rng.uniform(-0.3, 0.1)
        out["left"] = ((0.0, np.sin(alpha), np.cos(alpha)), (-1.0, 0.0, 0.0),
                       (e[0], body_lo + 0.045, rng.uniform(-0.3, 0.3) * e[2]))
        delta = rng.uniform(-0.3, 0.3)
        out["right"] = ((np.sin(delta), np.cos(delta), 0.0), (0.0, 0.0, 1.0),
                        (rng.uniform(-0.35, 0.1) * e[0], 0.5 * (lid_lo + lid_hi) - 0.03, -e[2]))
    else:
        raise ValueError(f"unknown layout {layout!r}")
    return out


def solve_layout(
    layout: str, scene: ObjectScene, betas: np.ndarray, rng: np.random.Generator, holder: str, tries: int = 6
) -> dict[str, HandGrasp]:
    """Grasps of the holding hands (world frame), redrawn while two hands collide."""
    for attempt in range(tries):
        targets = layout_targets(layout, scene, rng, holder)
        grasps = {
            side: (pinch_grasp(side, scene.direction(t[0]), scene.direction(t[1]), scene.to_world(t[2]),
                               scene.direction(t[3]), betas, scene.sdf) if len(t) == 4
                   else grasp(side, scene.direction(t[0]), scene.direction(t[1]), scene.to_world(t[2]), betas,
                              scene.sdf))
            for side, t in targets.items()
        }
        if len(grasps) < 2 or attempt == tries - 1:
            return grasps
        left, right = (hand_vertices(grasps[s], betas) for s in ("left", "right"))
        if cKDTree(left).query(right)[0].min() >= HAND_CLEARANCE:
            return grasps
    raise AssertionError("unreachable")
