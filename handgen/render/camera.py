"""An orthographic look-at camera that frames a set of points."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# named viewing directions (from the camera towards the scene) in handgen's canonical
# frame: +x the person's left, +y up, +z forward (away from the person)
VIEWS: dict[str, tuple[float, float, float]] = {
    # in front of the person, to their left and above: fingers curling are seen from the side
    "three-quarter": (-0.7, -0.6, -0.7),
    "front": (0.0, -0.45, -1.0),  # facing the person, slightly from above
    "ego": (0.0, -0.8, 1.0),  # over the person's shoulder
    "top": (0.0, -1.0, 0.001),
    "side": (-1.0, -0.3, 0.0),
}


@dataclass(frozen=True)
class Camera:
    """Orthographic camera: world (N,3) metres -> pixels (N,2) and depth (N,)."""

    rotation: np.ndarray  # (3, 3) rows = camera right, down, forward in world coordinates
    center: np.ndarray  # (3,) world point at the image centre
    pixels_per_metre: float
    size: tuple[int, int]  # (width, height)

    @classmethod
    def framing(
        cls, points: np.ndarray, view: str | tuple[float, float, float] = "front",
        size: tuple[int, int] = (360, 360), margin: float = 0.12, up: tuple[float, float, float] = (0.0, 1.0, 0.0),
    ) -> Camera:
        """A camera looking along ``view`` that fits all ``points`` (N,3) with a margin."""
        direction = np.asarray(VIEWS[view] if isinstance(view, str) else view, dtype=np.float64)
        forward = direction / np.linalg.norm(direction)
        right = np.cross(forward, np.asarray(up, dtype=np.float64))
        if np.linalg.norm(right) < 1e-6:
            right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        rotation = np.stack([right, down, forward])
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        center = 0.5 * (lo + hi)
        cam = (pts - center) @ rotation.T
        mid = 0.5 * (cam.min(axis=0) + cam.max(axis=0))
        mid[2] = 0.0
        center = center + mid @ rotation  # centre the picture on the points' projected box
        cam = cam - mid
        extent = max(float(np.abs(cam[:, 0]).max()) / size[0], float(np.abs(cam[:, 1]).max()) / size[1], 1e-6)
        ppm = (0.5 - margin) / extent
        return cls(rotation=rotation, center=center, pixels_per_metre=ppm, size=size)

    @classmethod
    def fit(
        cls, points: np.ndarray, view: str | tuple[float, float, float] = "three-quarter", long_side: int = 512,
        margin: float = 0.06, aspect: tuple[float, float] = (9 / 16, 16 / 9),
    ) -> Camera:
        """A camera along ``view`` whose picture takes the shape of ``points`` (N,3) metres.

        The picture's long side is ``long_side`` pixels; its width/height ratio follows the points'
        projected extent, clamped to ``aspect`` (min, max), so that the points fill it up to
        ``margin`` (a fraction of each side) on the tighter axis.
        """
        probe = cls.framing(points, view=view, size=(long_side, long_side), margin=margin)
        cam = (np.asarray(points, dtype=np.float64).reshape(-1, 3) - probe.center) @ probe.rotation.T
        half_w = max(float(np.abs(cam[:, 0]).max()), 1e-6)
        half_h = max(float(np.abs(cam[:, 1]).max()), 1e-6)
        ratio = float(np.clip(half_w / half_h, aspect[0], aspect[1]))
        if ratio >= 1.0:
            size = (long_side, max(2, round(long_side / ratio / 2.0) * 2))
        else:
            size = (max(2, round(long_side * ratio / 2.0) * 2), long_side)
        return cls.framing(points, view=view, size=size, margin=margin)

    @classmethod
    def turntable(
        cls, points: np.ndarray, count: int, view: str | tuple[float, float, float] = "three-quarter",
        long_side: int = 512, margin: float = 0.06,
    ) -> list[Camera]:
        """``count`` square cameras circling the vertical axis from ``view``, one scale for all (every view fits)."""
        direction = np.asarray(VIEWS[view] if isinstance(view, str) else view, dtype=np.float64)
        cams = []
        for k in range(count):
            a = 2.0 * np.pi * k / count
            rot_y = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
            cams.append(cls.framing(points, view=tuple(rot_y @ direction), size=(long_side, long_side), margin=margin))
        ppm = min(c.pixels_per_metre for c in cams)
        return [replace(c, pixels_per_metre=ppm) for c in cams]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cam = (np.asarray(points, dtype=np.float64) - self.center) @ self.rotation.T
        px = cam[..., :2] * self.pixels_per_metre + np.array(self.size, dtype=np.float64) / 2.0
        return px, cam[..., 2]

    def to_camera(self, vectors: np.ndarray) -> np.ndarray:
        """Rotate direction vectors (...,3) into camera axes."""
        return np.asarray(vectors) @ self.rotation.T
