"""Painter's-algorithm rasterisation of triangle meshes and skeletons with Pillow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from handgen.hand.topology import FINGER_KEYPOINTS
from handgen.render.camera import Camera

LEFT_COLOR = (90, 140, 230)
RIGHT_COLOR = (235, 120, 90)
OBJECT_COLOR = (170, 170, 160)
BACKGROUND = (250, 250, 248)
_LIGHT = np.array([-0.3, -0.6, -1.0]) / np.linalg.norm([-0.3, -0.6, -1.0])  # surface -> light, camera axes


@dataclass
class MeshLayer:
    """One mesh to draw: vertices (V,3) metres, faces (F,3), an RGB colour."""

    vertices: np.ndarray
    faces: np.ndarray
    color: tuple[int, int, int]


def draw_meshes(image: Image.Image, camera: Camera, layers: list[MeshLayer]) -> None:
    """Draw all layers' triangles back to front with Lambert shading (in place)."""
    polys, depths, colors = [], [], []
    for layer in layers:
        if len(layer.faces) == 0:
            continue
        tri = layer.vertices[layer.faces]  # (F,3,3)
        px, depth = camera.project(tri)
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
        n_cam = camera.to_camera(normals)
        facing = n_cam[:, 2] < 0  # back-face culling (closed meshes)
        shade = 0.35 + 0.65 * np.clip(n_cam @ _LIGHT, 0.0, 1.0)
        base = np.asarray(layer.color, dtype=np.float64)
        rgb = np.clip(base[None] * shade[:, None], 0, 255).astype(np.uint8)
        polys.append(px[facing])
        depths.append(depth[facing].mean(axis=1))
        colors.append(rgb[facing])
    if not polys:
        return
    order = np.argsort(-np.concatenate(depths), kind="stable")
    # plain Python lists once, in drawing order (per-triangle numpy indexing is the slow part)
    px = np.concatenate(polys)[order].reshape(-1, 6).tolist()
    rgb = [tuple(c) for c in np.concatenate(colors)[order].tolist()]
    draw = ImageDraw.Draw(image)
    for points, fill in zip(px, rgb):
        draw.polygon(points, fill=fill)


def draw_skeleton(image: Image.Image, camera: Camera, joints: np.ndarray, color: tuple[int, int, int]) -> None:
    """Draw a 21-keypoint hand skeleton (21,3) as bones and joint dots (in place)."""
    px, _ = camera.project(joints)
    draw = ImageDraw.Draw(image)
    for chain in FINGER_KEYPOINTS.values():
        pts = [tuple(px[0])] + [tuple(px[k]) for k in chain]
        draw.line(pts, fill=color, width=3)
    for p in px:
        draw.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], fill=color)


def new_canvas(camera: Camera) -> Image.Image:
    return Image.new("RGB", camera.size, BACKGROUND)
