"""Confidence-weighted multi-view triangulation (AssemblyHands-X body pipeline, seed Sec. 2.2).

Steps, all vectorised over views, frames and joints:

1. :func:`median_filter_keypoints` — temporal median of each 2D keypoint per view and
   joint (odd window, the window shrinks at the sequence ends, NaN-aware).
2. :func:`edge_margin_confidence` — seed Eq. 1: ``w' = min(x/m, (W-x)/m, y/m, (H-y)/m, 1) * w``
   with (x, y) inside a crop of size (W, H) and margin m (clipped at 0 outside the crop);
   then :func:`threshold_confidence`: values below tau (0.15) -> 0, the rest rescaled
   linearly ``(w' - tau) / (1 - tau)`` to [0, 1].
3. :func:`triangulate_dlt` — seed Eq. 2: for each frame and joint stack the DLT rows
   ``x P3 - P1`` and ``y P3 - P2`` of every view (A: 2C x 4), multiply each view's row pair
   by its confidence, and take the right singular vector of the smallest singular value
   (one batched SVD over (F, J, 2C, 4)). A joint with fewer than two views of non-zero
   confidence (or a solution at infinity) is NaN, never a guess.

Units: 2D keypoints in pixels of the images the projection matrices map to; 3D points in
the unit of the cameras' translations (metres for handgen).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from handgen.errors import InputFileError

DEFAULT_MARGIN = 20.0
DEFAULT_TAU = 0.15
DEFAULT_MEDIAN = 5


def median_filter_keypoints(keypoints: np.ndarray, window: int) -> np.ndarray:
    """Temporal median of 2D keypoints (C, F, J, 2) along frames; NaN entries are ignored.

    At the ends the window shrinks to the frames that exist. ``window`` 1 (or 0) returns a copy.

    Raises:
        ValueError: for an even or negative window.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if window in (0, 1):
        return kp.copy()
    if window < 0 or window % 2 == 0:
        raise ValueError(f"median window must be odd and positive, got {window}")
    half = window // 2
    pad = [(0, 0)] * kp.ndim
    pad[1] = (half, half)
    padded = np.pad(kp, pad, constant_values=np.nan)
    windows = sliding_window_view(padded, window, axis=1)  # (C, F, J, 2, window)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN
        return np.nanmedian(windows, axis=-1)


def crop_geometry(image_size=None, crop_boxes=None, shape: tuple[int, int] = (1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """Crop origin (C,F,1,2) and size (C,F,1,2) in pixels from ``image_size (C,2)`` (W,H) or
    ``crop_boxes (C,4)``/``(C,F,4)`` as (x0, y0, x1, y1); ``shape`` = (C, F).

    Raises:
        ValueError: wrong shapes or empty crops.
    """
    views, frames = shape
    if crop_boxes is not None:
        boxes = np.asarray(crop_boxes, dtype=np.float64)
        if boxes.shape == (views, 4):
            boxes = np.broadcast_to(boxes[:, None], (views, frames, 4))
        if boxes.shape != (views, frames, 4):
            raise ValueError(f"crop_boxes must be (C,4) or (C,F,4) = ({views},4)/({views},{frames},4), got {boxes.shape}")
        origin, size = boxes[..., :2], boxes[..., 2:] - boxes[..., :2]
    elif image_size is not None:
        sizes = np.asarray(image_size, dtype=np.float64)
        if sizes.shape != (views, 2):
            raise ValueError(f"image_size must be (C,2) = ({views},2) as (W,H), got {sizes.shape}")
        origin = np.zeros((views, frames, 2))
        size = np.broadcast_to(sizes[:, None], (views, frames, 2))
    else:
        raise ValueError("need image_size or crop_boxes")
    if not np.all(size > 0):
        raise ValueError("crop sizes must be positive")
    return origin[:, :, None, :], size[:, :, None, :]


def edge_margin_confidence(
    keypoints: np.ndarray, confidence: np.ndarray, crop_size, margin: float = DEFAULT_MARGIN, crop_origin=None
) -> np.ndarray:
    """Seed Eq. 1: confidence scaled down linearly within ``margin`` pixels of the crop edge.

    Args:
        keypoints: (..., 2) pixel positions (x, y).
        confidence: (...) scores in [0, 1].
        crop_size: (..., 2) crop (W, H), broadcastable to ``keypoints``.
        margin: margin width m in pixels (> 0).
        crop_origin: (..., 2) top-left corner of the crop in the keypoints' pixel frame (default 0).

    Returns:
        (...) modulated confidence; 0 at or beyond the crop edge.
    """
    if margin <= 0:
        raise ValueError(f"margin must be positive, got {margin}")
    kp = np.asarray(keypoints, dtype=np.float64)
    if crop_origin is not None:
        kp = kp - np.asarray(crop_origin, dtype=np.float64)
    size = np.asarray(crop_size, dtype=np.float64)
    dist = np.minimum(kp, size - kp).min(axis=-1)  # distance to the nearest edge
    factor = np.clip(dist / margin, 0.0, 1.0)
    return factor * np.asarray(confidence, dtype=np.float64)


def threshold_confidence(confidence: np.ndarray, tau: float = DEFAULT_TAU) -> np.ndarray:
    """Below ``tau`` -> 0; above, rescaled linearly to [0, 1] as ``(w - tau) / (1 - tau)``. NaN -> 0."""
    if not 0.0 <= tau < 1.0:
        raise ValueError(f"tau must be in [0, 1), got {tau}")
    w = np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=0.0)
    return np.where(w < tau, 0.0, np.clip((w - tau) / (1.0 - tau), 0.0, 1.0))


def validate_projections(projections, source: str | Path = "cameras") -> np.ndarray:
    """Check (C,3,4) projection matrices: finite, and rank 3 on the left 3x3 block.

    Raises:
        InputFileError: naming ``source`` and the first bad camera index.
    """
    proj = np.asarray(projections, dtype=np.float64)
    if proj.ndim != 3 or proj.shape[1:] != (3, 4) or proj.shape[0] < 2:
        raise InputFileError(source, f"projection matrices must be (C,3,4) with C >= 2, got {proj.shape}")
    for c in range(proj.shape[0]):
        if not np.all(np.isfinite(proj[c])):
            raise InputFileError(source, f"camera {c}: projection matrix has NaN/inf")
        s = np.linalg.svd(proj[c, :, :3], compute_uv=False)
        if s[0] == 0 or s[-1] / s[0] < 1e-12:
            raise InputFileError(source, f"camera {c}: singular projection matrix (rank < 3 on its 3x3 part)")
    return proj


@dataclass
class TriangulationResult:
    """3D points and bookkeeping of one triangulation."""

    points3d: np.ndarray  # (F, J, 3), NaN where not triangulated
    valid: np.ndarray  # (F, J) bool
    num_views: np.ndarray  # (F, J) views with non-zero confidence
    reprojection_error: np.ndarray  # (F, J) confidence-weighted mean pixel error, NaN where invalid

    @property
    def num_invalid(self) -> int:
        return int((~self.valid).sum())


def triangulate_dlt(projections: np.ndarray, keypoints: np.ndarray, weights: np.ndarray | None = None) -> TriangulationResult:
    """Confidence-weighted linear triangulation (seed Eq. 2), batched over frames and joints.

    Args:
        projections: (C, 3, 4) camera projection matrices (validated by the caller).
        keypoints: (C, F, J, 2) pixel positions; NaN means not seen.
        weights: (C, F, J) confidence per view (>= 0); None means all 1 (plain DLT).

    Returns:
        :class:`TriangulationResult`; a joint seen with non-zero weight by fewer than two
        views, or whose solution lies at infinity, is NaN and ``valid`` False.
    """
    proj = np.asarray(projections, dtype=np.float64)
    kp = np.asarray(keypoints, dtype=np.float64)
    views, frames, joints, _ = kp.shape
    w = np.ones(kp.shape[:3]) if weights is None else np.asarray(weights, dtype=np.float64).copy()
    seen = np.isfinite(kp).all(-1) & np.isfinite(w) & (w > 0)
    w = np.where(seen, w, 0.0)
    kp = np.where(seen[..., None], kp, 0.0)
    # DLT rows per view: x * P[2] - P[0], y * P[2] - P[1]  -> (C, F, J, 2, 4)
    rows = kp[..., :, None] * proj[:, None, None, 2:3, :] - proj[:, None, None, 0:2, :]
    rows = rows * w[..., None, None]
    a = np.moveaxis(rows, 0, 2).reshape(frames, joints, 2 * views, 4)
    # scale each system for conditioning (does not change its null vector)
    scale = np.linalg.norm(a, axis=(-2, -1), keepdims=True)
    a = a / np.where(scale > 0, scale, 1.0)
    _, _, vt = np.linalg.svd(a)
    homog = vt[..., -1, :]  # (F, J, 4)
    num_views = seen.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        points = homog[..., :3] / homog[..., 3:4]
    valid = (num_views >= 2) & (np.abs(homog[..., 3]) > 1e-12) & np.isfinite(points).all(-1)
    points = np.where(valid[..., None], points, np.nan)
    error = np.where(valid, _reprojection_error(proj, kp, w, points), np.nan)
    return TriangulationResult(points, valid, num_views, error)


def project(projections: np.ndarray, points3d: np.ndarray) -> np.ndarray:
    """Pixel positions (C, ..., 2) of points (..., 3) seen by cameras (C, 3, 4)."""
    pts = np.asarray(points3d, dtype=np.float64)
    homog = np.concatenate([pts, np.ones(pts.shape[:-1] + (1,))], axis=-1)
    img = np.einsum("crk,...k->c...r", np.asarray(projections, dtype=np.float64), homog)
    return img[..., :2] / img[..., 2:3]


def _reprojection_error(proj: np.ndarray, kp: np.ndarray, w: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Confidence-weighted mean pixel distance (F, J) between keypoints and reprojected points."""
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.nan_to_num(np.linalg.norm(project(proj, points) - kp, axis=-1), nan=0.0)  # (C, F, J)
        total = w.sum(0)
        return np.where(total > 0, (dist * w).sum(0) / np.where(total > 0, total, 1.0), np.nan)


def triangulate_sequence(
    projections: np.ndarray,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    *,
    image_size=None,
    crop_boxes=None,
    margin: float = DEFAULT_MARGIN,
    tau: float = DEFAULT_TAU,
    median: int = DEFAULT_MEDIAN,
) -> tuple[TriangulationResult, np.ndarray]:
    """The whole pipeline: median filter, edge-margin modulation (when a crop is known),
    threshold, weighted DLT. Returns the result and the final weights (C, F, J).

    Without ``image_size``/``crop_boxes`` the edge-margin step is skipped.
    """
    kp = median_filter_keypoints(keypoints, median)
    conf = np.asarray(confidence, dtype=np.float64)
    if image_size is not None or crop_boxes is not None:
        origin, size = crop_geometry(image_size, crop_boxes, shape=kp.shape[:2])
        conf = edge_margin_confidence(kp, conf, size, margin, crop_origin=origin)
    weights = threshold_confidence(conf, tau)
    return triangulate_dlt(projections, kp, weights), weights
