"""Pictures and mesh files of a bimanual grasp (hands + object)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handgen.io.atomic import atomic_path
from handgen.render.camera import Camera
from handgen.render.raster import LEFT_COLOR, OBJECT_COLOR, RIGHT_COLOR, MeshLayer, draw_meshes, new_canvas

VIEWS: tuple[tuple[float, float, float], ...] = ((0.0, -0.45, -1.0), (-1.0, -0.3, 0.2), (0.3, -1.0, 0.1), (1.0, 0.3, 0.5))


def render_grasp_png(
    path: str | Path, hand_vertices: np.ndarray, hand_faces: list[np.ndarray], obj_vertices: np.ndarray,
    obj_faces: np.ndarray, size: int = 320, title: str | None = None,
) -> None:
    """Write a PNG with four views of the object (grey), left hand (blue) and right hand (orange)."""
    from PIL import Image, ImageDraw


    layers = [
        MeshLayer(np.asarray(obj_vertices), np.asarray(obj_faces), OBJECT_COLOR),
        MeshLayer(np.asarray(hand_vertices[0]), np.asarray(hand_faces[0]), LEFT_COLOR),
        MeshLayer(np.asarray(hand_vertices[1]), np.asarray(hand_faces[1]), RIGHT_COLOR),
    ]
    pts = np.concatenate([obj_vertices, hand_vertices[0], hand_vertices[1]])
    panels = []
    for view in VIEWS:
        cam = Camera.framing(pts, view=view, size=(size, size), margin=0.06)
        img = new_canvas(cam)
        draw_meshes(img, cam, layers)
        panels.append(img)
    sheet = Image.new("RGB", (size * len(panels), size + (18 if title else 0)), (255, 255, 255))
    for i, p in enumerate(panels):
        sheet.paste(p, (i * size, 18 if title else 0))
    if title:
        ImageDraw.Draw(sheet).text((6, 3), title, fill=(20, 20, 20))
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        sheet.save(tmp, format="PNG")


def write_grasp_ply(
    path: str | Path, hand_vertices: np.ndarray, hand_faces: list[np.ndarray], obj_vertices: np.ndarray, obj_faces: np.ndarray
) -> None:
    """One coloured PLY mesh with the object and both hands (metres, the grasp's frame)."""
    import trimesh


    parts = []
    for verts, faces, color in (
        (obj_vertices, obj_faces, OBJECT_COLOR),
        (hand_vertices[0], hand_faces[0], LEFT_COLOR),
        (hand_vertices[1], hand_faces[1], RIGHT_COLOR),
    ):
        m = trimesh.Trimesh(np.asarray(verts), np.asarray(faces), process=False)
        m.visual.vertex_colors = np.array([*color, 255], dtype=np.uint8)
        parts.append(m)
    merged = trimesh.util.concatenate(parts)
    with atomic_path(Path(path), suffix=".ply") as tmp:
        merged.export(tmp, file_type="ply")
