"""Things drawn over a rendered scene: the colour legend and fingertip trails."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from handgen.hand.topology import FINGER_KEYPOINTS
from handgen.render.camera import Camera
from handgen.render.raster import BACKGROUND

# keypoint ids of the five fingertips (the last keypoint of each finger chain)
FINGERTIPS: tuple[int, ...] = tuple(chain[-1] for chain in FINGER_KEYPOINTS.values())


def draw_legend(image: Image.Image, entries: Sequence[tuple[str, tuple[int, int, int]]], font: ImageFont.ImageFont,
                font_px: int, corner: tuple[int, int] = (6, 6)) -> None:
    """A colour swatch and its name per entry, in one row from ``corner`` (in place)."""
    draw = ImageDraw.Draw(image)
    x, y = corner
    for name, color in entries:
        draw.rectangle([x, y + 2, x + font_px - 2, y + font_px], fill=color)
        draw.text((x + font_px + 3, y), name, fill=(60, 60, 60), font=font)
        x += int(font_px + 3 + font.getlength(name) + font_px)


def draw_trails(image: Image.Image, camera: Camera, tips: np.ndarray, color: tuple[int, int, int],
                width: int = 2) -> None:
    """Fingertip paths, fading from the background colour (oldest) to ``color`` (newest), in place.

    Args:
        tips: (n, 5, 3) metres, the fingertips of one hand over the last n frames, oldest first.
    """
    if len(tips) < 2:
        return
    px, _ = camera.project(np.asarray(tips, dtype=np.float64))  # (n, 5, 2)
    draw = ImageDraw.Draw(image)
    base = np.asarray(BACKGROUND, dtype=np.float64)
    target = np.asarray(color, dtype=np.float64)
    n = len(px)
    for i in range(1, n):
        weight = 0.25 + 0.75 * i / (n - 1)
        fill = tuple(int(v) for v in base + (target - base) * weight)
        for finger in range(px.shape[1]):
            draw.line([tuple(px[i - 1, finger]), tuple(px[i, finger])], fill=fill, width=width)
