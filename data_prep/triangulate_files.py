"""``handgen prep triangulate``: 2D keypoints of C calibrated views -> 3D points (one file in, one out).

File layouts (all ``.npz``, read with ``allow_pickle=False``):

- ``--keypoints2d``: ``keypoints (C,F,J,2)`` pixels (x right, y down; NaN = not detected),
  ``confidence (C,F,J)`` in [0,1] (or ``keypoints (C,F,J,3)`` with the confidence last);
  optional ``image_size (C,2)`` as (W,H) of each view's crop, or ``crop_boxes`` (C,4) or
  (C,F,4) as (x0, y0, x1, y1) in the keypoints' pixel frame. Without either, the
  edge-margin step (seed Eq. 1) is skipped and only the threshold applies.
- ``--cameras``: ``P (C,3,4)`` projection matrices mapping world points to the keypoints'
  pixels, or ``K (C,3,3)``, ``R (C,3,3)``, ``t (C,3)`` (world -> camera ``x_c = R X + t``;
  ``P = K [R | t]``).
- ``--out``: ``points3d (F,J,3)`` (NaN where fewer than two views are confident; the unit
  of ``t``/``P``), ``valid (F,J)`` bool, ``num_views (F,J)``, ``reprojection_error (F,J)``
  pixels, and the settings used (``margin``, ``tau``, ``median``).
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import numpy as np

from data_prep.triangulation import DEFAULT_MARGIN, DEFAULT_MEDIAN, DEFAULT_TAU, triangulate_sequence, validate_projections
from handgen.errors import HandgenError, InputFileError
from handgen.io.atomic import atomic_save_npz


def _load_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise InputFileError(path, f"{what} file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: np.asarray(data[key]) for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(path, f"cannot read {what} (.npz expected): {exc}") from None


def load_cameras(path: str | Path) -> np.ndarray:
    """Validated projection matrices (C,3,4) from a cameras ``.npz``; see the module docstring.

    Raises:
        InputFileError: missing keys, wrong shapes, NaN, or a singular camera (its index named).
    """
    path = Path(path)
    data = _load_npz(path, "cameras")
    if "P" in data:
        return validate_projections(data["P"], path)
    if not all(key in data for key in ("K", "R", "t")):
        raise InputFileError(path, "cameras need P (C,3,4), or K (C,3,3), R (C,3,3) and t (C,3)")
    k, r, t = (np.asarray(data[key], dtype=np.float64) for key in ("K", "R", "t"))
    views = k.shape[0] if k.ndim == 3 else -1
    if k.shape != (views, 3, 3) or r.shape != (views, 3, 3) or t.reshape(views, -1).shape != (views, 3):
        raise InputFileError(path, f"K, R, t must be (C,3,3), (C,3,3), (C,3); got {k.shape}, {r.shape}, {t.shape}")
    proj = k @ np.concatenate([r, t.reshape(views, 3, 1)], axis=2)
    return validate_projections(proj, path)


def load_keypoints2d(path: str | Path, num_views: int) -> dict[str, np.ndarray | None]:
    """``keypoints (C,F,J,2)``, ``confidence (C,F,J)``, ``image_size``/``crop_boxes`` (or None).

    Raises:
        InputFileError: missing keys, shapes that disagree with each other or with the cameras.
    """
    path = Path(path)
    data = _load_npz(path, "2D keypoints")
    if "keypoints" not in data:
        raise InputFileError(path, "missing key 'keypoints' (C,F,J,2)")
    kp = np.asarray(data["keypoints"], dtype=np.float64)
    conf = data.get("confidence")
    if kp.ndim == 4 and kp.shape[-1] == 3 and conf is None:
        kp, conf = kp[..., :2], kp[..., 2]
    if kp.ndim != 4 or kp.shape[-1] != 2:
        raise InputFileError(path, f"keypoints must be (C,F,J,2), got {kp.shape}")
    if conf is None:
        raise InputFileError(path, "missing key 'confidence' (C,F,J)")
    conf = np.asarray(conf, dtype=np.float64)
    if conf.shape != kp.shape[:3]:
        raise InputFileError(path, f"confidence must be {kp.shape[:3]} to match keypoints, got {conf.shape}")
    if kp.shape[0] != num_views:
        raise InputFileError(path, f"keypoints have {kp.shape[0]} views but the cameras file has {num_views}")
    if kp.shape[1] == 0 or kp.shape[2] == 0:
        raise InputFileError(path, f"no frames or joints in keypoints {kp.shape}")
    if np.isinf(kp).any():
        raise InputFileError(path, "keypoints hold inf (use NaN for undetected points)")
    return {"keypoints": kp, "confidence": conf, "image_size": data.get("image_size"), "crop_boxes": data.get("crop_boxes")}


def triangulate_files(
    keypoints2d: str | Path,
    cameras: str | Path,
    out: str | Path,
    margin: float = DEFAULT_MARGIN,
    tau: float = DEFAULT_TAU,
    median: int = DEFAULT_MEDIAN,
) -> dict[str, float]:
    """Triangulate one keypoint file and write the result atomically; returns a summary dict."""
    if median < 0 or (median > 1 and median % 2 == 0):
        raise HandgenError(f"--median must be odd (or 0/1 to disable), got {median}")
    if margin <= 0:
        raise HandgenError(f"--margin must be positive, got {margin}")
    if not 0.0 <= tau < 1.0:
        raise HandgenError(f"--tau must be in [0, 1), got {tau}")
    proj = load_cameras(cameras)
    data = load_keypoints2d(keypoints2d, proj.shape[0])
    try:
        result, _ = triangulate_sequence(
            proj, data["keypoints"], data["confidence"], image_size=data["image_size"],
            crop_boxes=data["crop_boxes"], margin=margin, tau=tau, median=median,
        )
    except ValueError as exc:  # crop shapes
        raise InputFileError(keypoints2d, str(exc)) from None
    atomic_save_npz(
        out, points3d=result.points3d, valid=result.valid, num_views=result.num_views,
        reprojection_error=result.reprojection_error, margin=np.float64(margin), tau=np.float64(tau),
        median=np.int64(median), edge_margin_applied=np.bool_(data["image_size"] is not None or data["crop_boxes"] is not None),
    )
    frames, joints = result.valid.shape
    err = result.reprojection_error[result.valid]
    return {
        "views": proj.shape[0],
        "frames": frames,
        "joints": joints,
        "nan_joints": result.num_invalid,
        "mean_reprojection_px": float(err.mean()) if err.size else float("nan"),
    }


def run_from_args(args: argparse.Namespace) -> int:
    summary = triangulate_files(args.keypoints2d, args.cameras, args.out, args.margin, args.tau, args.median)
    total = summary["frames"] * summary["joints"]
    print(
        f"triangulated {summary['frames']} frames x {summary['joints']} joints from {summary['views']} views: "
        f"{summary['nan_joints']} of {total} joint positions NaN (fewer than 2 confident views), "
        f"mean reprojection error {summary['mean_reprojection_px']:.2f} px -> {args.out}"
    )
    return 0
