"""Objects in animations: a template posed per frame, simplified for the painter's-algorithm rasteriser."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from handgen.repr.object_pose import ObjectTemplate, pose_object

MAX_DRAWN_FACES = 3000
MAX_DRAWN_EDGE_M = 0.02  # longer triangles are split: the painter's algorithm sorts whole triangles


@dataclass
class ObjectFrames:
    """An object over T frames: posed vertices (T, V, 3) metres and faces (F, 3)."""

    vertices: np.ndarray
    faces: np.ndarray


def simplified(template: ObjectTemplate, max_faces: int = MAX_DRAWN_FACES) -> ObjectTemplate:
    """A copy with at most about ``max_faces`` faces (each part decimated on its own); the template if small."""
    if len(template.faces) <= max_faces:
        return template
    import fast_simplification

    verts, faces, parts = [], [], []
    offset = 0
    face_parts = template.face_parts()
    for part in (0, 1):
        f = template.faces[face_parts == part]
        if len(f) == 0:
            continue
        used, local = np.unique(f, return_inverse=True)
        v = template.vertices[used]
        target = max(int(max_faces * len(f) / len(template.faces)), 4)
        v2, f2 = fast_simplification.simplify(v, local.reshape(-1, 3), target_count=target)
        verts.append(v2)
        faces.append(f2 + offset)
        parts.append(np.full(len(v2), part))
        offset += len(v2)
    return ObjectTemplate(template.name, np.concatenate(verts), np.concatenate(faces), np.concatenate(parts),
                          axis=template.axis, pivot=template.pivot, category=template.category)


def split_long_faces(template: ObjectTemplate, max_edge: float = MAX_DRAWN_EDGE_M,
                     max_faces: int = 2 * MAX_DRAWN_FACES) -> ObjectTemplate:
    """A copy whose triangles have edges of at most ``max_edge`` metres (until ``max_faces``).

    Long thin faces (a cylinder's sides) sort badly against the fingers in front of and behind
    them; split ones are drawn in the right order. The split is linear, so posing commutes with it.
    """
    verts, faces = template.vertices, template.faces
    parts = template.parts.astype(np.float64)[:, None]  # (V, 1): trimesh interpolates columns
    for _ in range(8):
        edges = np.linalg.norm(verts[faces] - verts[np.roll(faces, 1, axis=1)], axis=2).max(axis=1)
        long = np.nonzero(edges > max_edge)[0]
        if len(long) == 0 or len(faces) + 3 * len(long) > max_faces:
            break
        verts, faces, attrs = trimesh.remesh.subdivide(verts, faces, face_index=long,
                                                       vertex_attributes={"parts": parts})
        parts = attrs["parts"]
    if len(faces) == len(template.faces):
        return template
    return ObjectTemplate(template.name, verts, faces, (parts[:, 0] >= 0.5).astype(np.int8),
                          axis=template.axis, pivot=template.pivot, category=template.category)


def object_frames(
    template: ObjectTemplate, articulation: np.ndarray, rot: np.ndarray, transl: np.ndarray,
    max_faces: int = MAX_DRAWN_FACES,
) -> ObjectFrames:
    """The (simplified) object posed at every frame (articulation (T,), axis-angle (T,3), metres (T,3))."""
    small = split_long_faces(simplified(template, max_faces))
    return ObjectFrames(pose_object(small, articulation, rot, transl), small.faces)
