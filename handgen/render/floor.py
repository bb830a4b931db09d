"""A floor under the hands for depth: a grid on a horizontal plane and the hands' soft shadows on it.

The floor is the plane y = ``height`` (handgen's canonical frame is +y up) a little below the
lowest point of the whole clip; shadows are the meshes projected straight down onto it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from handgen.render.camera import Camera

GRID_COLOR = (222, 222, 216)
SHADOW_COLOR = (196, 196, 190)
GRID_SPACING_M = 0.05
FLOOR_GAP_M = 0.03


@dataclass(frozen=True)
class Floor:
    """A horizontal floor: its height (m) and the grid's x/z extent (m), ``(x0, x1, z0, z1)``."""

    height: float
    extent: tuple[float, float, float, float]

    @classmethod
    def under(cls, points: np.ndarray, gap: float = FLOOR_GAP_M, border: float = 0.05) -> Floor:
        """The floor ``gap`` metres below the lowest of ``points`` (N,3), reaching ``border`` past them."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        snap = lambda v, f: float(f(v / GRID_SPACING_M) * GRID_SPACING_M)
        extent = (snap(lo[0] - border, np.floor), snap(hi[0] + border, np.ceil),
                  snap(lo[2] - border, np.floor), snap(hi[2] + border, np.ceil))
        return cls(height=float(lo[1] - gap), extent=extent)

    def flatten(self, points: np.ndarray) -> np.ndarray:
        """``points`` (...,3) dropped straight down onto the floor (their shadows)."""
        out = np.array(points, dtype=np.float64, copy=True)
        out[..., 1] = self.height
        return out

    def corners(self) -> np.ndarray:
        """(4, 3) corners of the grid."""
        x0, x1, z0, z1 = self.extent
        return np.array([[x0, self.height, z0], [x1, self.height, z0], [x1, self.height, z1], [x0, self.height, z1]])

    def draw_grid(self, image: Image.Image, camera: Camera) -> None:
        """Grid lines every GRID_SPACING_M metres (in place)."""
        draw = ImageDraw.Draw(image)
        x0, x1, z0, z1 = self.extent
        y = self.height
        for x in np.arange(x0, x1 + 1e-9, GRID_SPACING_M):
            px, _ = camera.project(np.array([[x, y, z0], [x, y, z1]]))
            draw.line([tuple(px[0]), tuple(px[1])], fill=GRID_COLOR, width=1)
        for z in np.arange(z0, z1 + 1e-9, GRID_SPACING_M):
            px, _ = camera.project(np.array([[x0, y, z], [x1, y, z]]))
            draw.line([tuple(px[0]), tuple(px[1])], fill=GRID_COLOR, width=1)

    def draw_shadows(self, image: Image.Image, camera: Camera, meshes: list[tuple[np.ndarray, np.ndarray]],
                     blur_px: float = 2.0) -> None:
        """Soft shadows of ``meshes`` [(vertices (V,3), faces (F,3))] on the floor (in place)."""
        mask = Image.new("L", image.size, 0)
        draw = ImageDraw.Draw(mask)
        for vertices, faces in meshes:
            if len(faces) == 0:
                continue
            px, _ = camera.project(self.flatten(vertices))
            for tri in px[faces].reshape(-1, 6).tolist():
                draw.polygon(tri, fill=255)
        if blur_px > 0:
            mask = mask.filter(ImageFilter.GaussianBlur(blur_px))
        image.paste(Image.new("RGB", image.size, SHADOW_COLOR), (0, 0), mask)
