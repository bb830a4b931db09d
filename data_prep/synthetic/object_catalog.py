"""The objects of the synthetic dataset: primitives (trimesh) and real YCB meshes.

Each object is an ARCTIC-style template (canonical frame, metres here, written in mm by the
generator) with a per-vertex part label, plus how it rests in front of the person
(``rests``: rotations from the canonical frame to an upright, person-facing pose, y up) and
which two-hand layouts and actions suit it (:mod:`data_prep.synthetic.object_motion`).

- ``box`` 20 x 12 x 14 cm, ``cylinder`` r 4.5 cm x 20 cm, ``sphere`` r 7 cm (a ball), ``bar``
  18 x 3 x 3 cm (a thin bar for precision pinches, lying left-right);
- ``hingebox``: a 20 x 9 x 14 cm box with a 3 cm lid hinged along its back top edge. In
  ARCTIC's convention the lid (part 1) rotates about ``[0, 0, -1]`` through the canonical
  origin, so the template puts the hinge line on the canonical z axis with the box body
  at x < 0 (a positive angle lifts the lid's front); its rest rotation turns that hinge to
  the back, running left-right;
- YCB (``--ycb-dir``): ``crackerbox``, ``masterchefcan`` (a coffee can), ``tomatosoupcan``.
  The textured meshes are not watertight as shipped; duplicated seam vertices are merged
  (they then are) so that inside/outside is defined. YCB meshes are z-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from handgen.geometry.mesh_file import read_mesh
from handgen.repr.object_pose import ObjectTemplate

YCB_ENV = "HANDGEN_YCB_DIR"
YCB_FILES = {"crackerbox": "CrackerBox.obj", "masterchefcan": "MasterChefCan.obj", "tomatosoupcan": "TomatoSoupCan.obj"}
LID_GAP = 0.002  # metres between the lid and the box body
SPHERE_RADIUS = 0.07


def _rot(axis: str, degrees: float) -> np.ndarray:
    return Rotation.from_euler(axis, degrees, degrees=True).as_matrix()


Z_UP = _rot("x", -90.0)  # canonical +z -> world up


@dataclass(frozen=True)
class ObjectSpec:
    """How the generator uses one object."""

    name: str  # template folder and sequence-name prefix (no underscore)
    noun: str  # caption noun: "the {noun}"
    category: str  # grasp-prior category
    layouts: tuple[str, ...]  # two-hand layouts (object_motion.LAYOUTS)
    actions: tuple[str, ...]  # actions while held (object_motion.ACTIONS); "open" needs a lid
    rests: tuple[tuple[str, tuple[tuple[float, ...], ...]], ...]  # (name, 3x3 rotation canonical -> upright)


@dataclass
class CatalogObject:
    spec: ObjectSpec
    template: ObjectTemplate  # canonical, metres

    @property
    def name(self) -> str:
        return self.spec.name


_MOVES = ("lift", "lower", "move_left", "move_right", "push", "pull", "turn", "tilt")


def _rests(*items: tuple[str, np.ndarray]) -> tuple:
    return tuple((name, tuple(tuple(float(v) for v in row) for row in matrix)) for name, matrix in items)


# layouts are drawn uniformly from these tuples (repeats weight them)
PRIMITIVES: dict[str, ObjectSpec] = {
    "box": ObjectSpec("box", "box", "box", ("sides", "sides", "bottom", "support_top", "support_top", "wrap_one"),
                      _MOVES, _rests(("upright", np.eye(3)))),
    "cylinder": ObjectSpec("cylinder", "cylinder", "cylinder", ("sides", "wrap_top", "wrap_both", "wrap_both", "wrap_one"),
                           _MOVES, _rests(("upright", Z_UP))),
    "sphere": ObjectSpec("sphere", "ball", "ball", ("sides", "sides", "sides", "wrap_one"), _MOVES,
                         _rests(("upright", np.eye(3)))),
    "hingebox": ObjectSpec("hingebox", "box with a lid", "lidded box", ("sides", "lid", "lid"), ("open", *_MOVES),
                           _rests(("upright", _rot("y", -90.0)))),
    "bar": ObjectSpec("bar", "bar", "bar", ("pinch", "pinch", "pinch_one"), _MOVES, _rests(("flat", np.eye(3)))),
}
YCB: dict[str, ObjectSpec] = {
    "crackerbox": ObjectSpec(
        "crackerbox", "cracker box", "cracker box", ("sides", "sides", "bottom", "support_top", "wrap_one"), _MOVES,
        # standing, its wide face to the person; lying flat on its wide face
        _rests(("upright", _rot("y", 90.0) @ Z_UP), ("flat", np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], float))),
    ),
    "masterchefcan": ObjectSpec("masterchefcan", "coffee can", "coffee can",
                                ("sides", "wrap_top", "wrap_both", "support_top", "wrap_one"), _MOVES,
                                _rests(("upright", Z_UP))),
    "tomatosoupcan": ObjectSpec("tomatosoupcan", "soup can", "soup can", ("wrap_top", "wrap_top", "wrap_one"), _MOVES,
                                _rests(("upright", Z_UP))),
}


def default_ycb_dir() -> Path:
    """``$HANDGEN_YCB_DIR``, else ``../shared/data/ycb`` beside the checkout holding data_prep/."""
    env = os.environ.get(YCB_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ycb"


def _box_template(name: str, extents, category: str) -> ObjectTemplate:
    mesh = trimesh.creation.box(extents=extents)
    return ObjectTemplate(name, mesh.vertices, mesh.faces, np.zeros(len(mesh.vertices)), category=category)


def hinge_box(width: float = 0.20, depth: float = 0.14, body: float = 0.09, lid: float = 0.03,
              overhang: float = 0.008) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, faces and parts of the hinged box in ARCTIC's articulation convention (see module docstring).

    Canonical axes: x from the hinge towards the front (negative), y up, z along the hinge.
    The body spans x in [-depth, 0], y in [-body, -gap]; the lid x in [-depth - overhang, 0], y in [0, lid].
    """
    body_mesh = trimesh.creation.box(extents=(depth, body - LID_GAP, width))
    body_mesh.apply_translation((-depth / 2, -(body + LID_GAP) / 2, 0.0))
    lid_mesh = trimesh.creation.box(extents=(depth + overhang, lid, width))
    lid_mesh.apply_translation((-(depth + overhang) / 2, lid / 2, 0.0))
    vertices = np.concatenate([body_mesh.vertices, lid_mesh.vertices])
    faces = np.concatenate([body_mesh.faces, lid_mesh.faces + len(body_mesh.vertices)])
    parts = np.concatenate([np.zeros(len(body_mesh.vertices)), np.ones(len(lid_mesh.vertices))])
    return vertices, faces, parts


def load_ycb_mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A YCB textured OBJ with its seam vertices merged (watertight, outward faces), metres."""
    raw = read_mesh(path)
    mesh = trimesh.Trimesh(np.asarray(raw.vertices), np.asarray(raw.faces), process=True)
    mesh.merge_vertices()
    mesh.remove_unreferenced_vertices()
    if mesh.volume < 0:
        mesh.invert()
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


def build_template(spec: ObjectSpec, ycb_dir: Path | None) -> ObjectTemplate:
    """The canonical template (metres) of a catalogue object."""
    if spec.name == "box":
        return _box_template("box", (0.20, 0.12, 0.14), spec.category)
    if spec.name == "bar":
        return _box_template("bar", (0.18, 0.03, 0.03), spec.category)
    if spec.name in ("cylinder", "sphere"):
        mesh = (trimesh.creation.cylinder(radius=0.045, height=0.20, sections=48) if spec.name == "cylinder"
                else trimesh.creation.icosphere(subdivisions=3, radius=SPHERE_RADIUS))
        parts = np.zeros(len(mesh.vertices))
        return ObjectTemplate(spec.name, mesh.vertices, mesh.faces, parts, category=spec.category)
    if spec.name == "hingebox":
        vertices, faces, parts = hinge_box()
        return ObjectTemplate("hingebox", vertices, faces, parts, category=spec.category)
    if spec.name in YCB_FILES:
        if ycb_dir is None:
            raise ValueError("YCB objects need a YCB folder")
        vertices, faces = load_ycb_mesh(ycb_dir / YCB_FILES[spec.name])
        return ObjectTemplate(spec.name, vertices, faces, np.zeros(len(vertices)), category=spec.category)
    raise ValueError(f"unknown object {spec.name!r}")


def available_objects(ycb_dir: str | Path | None) -> tuple[list[ObjectSpec], Path | None, str | None]:
    """The usable object specs (primitives, plus YCB when all its files are found), the YCB folder used,
    and why YCB is left out (None when it is not)."""
    folder = Path(ycb_dir) if ycb_dir is not None else default_ycb_dir()
    specs = list(PRIMITIVES.values())
    missing = [f for f in YCB_FILES.values() if not (folder / f).is_file()]
    if missing:
        why = f"YCB meshes not found in {folder} (missing {', '.join(missing)}): object sequences use primitives only"
        return specs, None, why
    return specs + list(YCB.values()), folder, None


@lru_cache(maxsize=16)
def catalog_object(name: str, ycb_dir: str | None) -> CatalogObject:
    """A catalogue object with its template (cached per process)."""
    spec = PRIMITIVES.get(name) or YCB[name]
    return CatalogObject(spec, build_template(spec, Path(ycb_dir) if ycb_dir else None))
