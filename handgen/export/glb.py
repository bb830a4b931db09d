"""GLB (binary glTF 2.0) export of one frame: both hand meshes, and the object when there is one.

A static scene (nodes ``left_hand``, ``right_hand``, ``object``), metres, Y-up as glTF
expects (handgen's world is Y-up already). Blender: File > Import > glTF 2.0. The animated,
skinned form is :mod:`handgen.export.gltf_animation`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from handgen.export.hand_rig import hand_faces, posed_vertices
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS
from handgen.io.atomic import atomic_path
from handgen.render.raster import LEFT_COLOR, OBJECT_COLOR, RIGHT_COLOR
from handgen.repr.motion import BimanualMotion
from handgen.repr.object_pose import ObjectTemplate, pose_object

_COLORS = {"left_hand": LEFT_COLOR, "right_hand": RIGHT_COLOR, "object": OBJECT_COLOR}


def _mesh(name: str, vertices: np.ndarray, faces: np.ndarray) -> trimesh.Trimesh:
    """A trimesh kept exactly as given (no vertex merging), coloured like the renders."""
    colors = np.tile(np.array([*_COLORS[name], 255], dtype=np.uint8), (len(vertices), 1))
    return trimesh.Trimesh(vertices=vertices, faces=faces, vertex_colors=colors, process=False)


def frame_scene(
    motion: BimanualMotion,
    hands: HandPair,
    frame: int = 0,
    obj: tuple[ObjectTemplate, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> trimesh.Scene:
    """The hands (and object) of ``frame`` as a trimesh scene with nodes ``left_hand``, ``right_hand``, ``object``.

    Raises:
        IndexError: ``frame`` outside the motion.
    """
    if not -motion.num_frames <= frame < motion.num_frames:
        raise IndexError(f"frame {frame} outside a motion of {motion.num_frames} frames")
    frame = frame % motion.num_frames
    faces = hand_faces(hands)
    _, vertices = next(posed_vertices(hands, motion, frames=np.array([frame])))
    scene = trimesh.Scene()
    for side in HANDS:
        name = f"{side}_hand"
        scene.add_geometry(_mesh(name, vertices[side][0], faces[side]), node_name=name, geom_name=name)
    if obj is not None:
        template, articulation, rot, transl = obj
        posed = pose_object(template, articulation[frame : frame + 1], rot[frame : frame + 1], transl[frame : frame + 1])
        scene.add_geometry(_mesh("object", posed[0], template.faces), node_name="object", geom_name="object")
    return scene


def write_glb(
    path: str | Path,
    motion: BimanualMotion,
    hands: HandPair,
    frame: int = 0,
    obj: tuple[ObjectTemplate, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Path:
    """Write :func:`frame_scene` to ``path`` (.glb) atomically; returns the path."""
    path = Path(path)
    data = frame_scene(motion, hands, frame, obj).export(file_type="glb")
    with atomic_path(path, suffix=".glb") as tmp:
        tmp.write_bytes(data)
    return path
