"""OBJ sequence export: one Wavefront OBJ per frame holding both hand meshes (and the object).

``OUT_DIR/frame_0000.obj``, ``frame_0001.obj``, ... (more digits past 10 000 frames). Each
file has the objects ``left_hand``, ``right_hand`` (and ``object`` when the motion carries
one), vertices in metres in the motion's world frame, triangles counter-clockwise seen
from outside. Every frame has the same vertex count and order, so sequence importers
(e.g. Blender's "Stop motion OBJ" add-on, Houdini's File SOP with ``$F``) can play it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from tqdm import tqdm

from handgen.export.hand_rig import hand_faces, posed_vertices
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS
from handgen.io.atomic import atomic_write_text
from handgen.repr.motion import BimanualMotion
from handgen.repr.object_pose import ObjectTemplate, pose_object

_VERTEX = "v %.6f %.6f %.6f\n"
_FACE = "f %d %d %d\n"


def frame_file_name(frame: int, num_frames: int) -> str:
    """``frame_0007.obj``: zero-padded to 4 digits, or more when the motion needs them."""
    width = max(4, len(str(max(num_frames - 1, 0))))
    return f"frame_{frame:0{width}d}.obj"


def obj_text(meshes: list[tuple[str, np.ndarray, np.ndarray]], header: str = "") -> str:
    """OBJ text of named meshes ``(name, vertices (V,3) metres, faces (F,3) 0-based)``, one ``o`` block each."""
    out = io.StringIO()
    if header:
        out.write("".join(f"# {line}\n" for line in header.splitlines()))
    base = 1  # OBJ indices are 1-based and global over the file
    for name, vertices, faces in meshes:
        out.write(f"o {name}\n")
        vertices = np.asarray(vertices, dtype=np.float64)
        out.write(_VERTEX * len(vertices) % tuple(vertices.ravel().tolist()))
        out.write(_FACE * len(faces) % tuple((np.asarray(faces, dtype=np.int64) + base).ravel().tolist()))
        base += len(vertices)
    return out.getvalue()


def write_obj_sequence(
    out_dir: str | Path,
    motion: BimanualMotion,
    hands: HandPair,
    obj: tuple[ObjectTemplate, np.ndarray, np.ndarray, np.ndarray] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Write one OBJ per frame of ``motion`` into ``out_dir`` (created); returns the paths in frame order.

    Args:
        motion: both hands, absolute hand_pose.
        hands: the hand models for the meshes (either ``flat_hand_mean`` convention).
        obj: optional object as ``(template, articulation (T,), rot (T,3), transl (T,3))``
            (:func:`handgen.io.motion_npz.object_from_extras`).
        progress: show a tqdm bar.

    Raises:
        NotADirectoryError: ``out_dir`` exists and is a file.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    faces = hand_faces(hands)
    total = motion.num_frames
    header = f"handgen export: {hands.name} hand, metres"
    paths: list[Path] = []
    with tqdm(total=total, desc="obj-seq", unit="frame", disable=not progress) as bar:
        for ids, vertices in posed_vertices(hands, motion, chunk=32):
            object_vertices = None
            if obj is not None:
                template, articulation, rot, transl = obj
                object_vertices = pose_object(template, articulation[ids], rot[ids], transl[ids])
            for n, frame in enumerate(ids):
                meshes = [(f"{side}_hand", vertices[side][n], faces[side]) for side in HANDS]
                if object_vertices is not None:
                    meshes.append(("object", object_vertices[n], obj[0].faces))
                path = out_dir / frame_file_name(int(frame), total)
                atomic_write_text(path, obj_text(meshes, f"{header}, frame {int(frame)} of {total}"))
                paths.append(path)
                bar.update(1)
    return paths
