"""Confidence-weighted triangulation (seed Eq. 1-2) and ``handgen prep triangulate``."""

from __future__ import annotations

import numpy as np
import pytest

from data_prep.triangulation import (
    edge_margin_confidence,
    median_filter_keypoints,
    project,
    threshold_confidence,
    triangulate_dlt,
    triangulate_sequence,
    validate_projections,
)
from handgen.errors import InputFileError
from tests.helpers import run_cli

K = np.array([[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]])


def ring_cameras(views: int = 6, radius: float = 1.0):
    """Cameras on a ring ~1 m around the origin, looking at it: (K, R, t) stacks and P (C,3,4)."""
    rs, ts = [], []
    for angle in np.linspace(0.0, 2 * np.pi, views, endpoint=False):
        centre = radius * np.array([np.cos(angle), 0.4, np.sin(angle)])
        z = -centre / np.linalg.norm(centre)
        x = np.cross([0.0, 1.0, 0.0], z)
        x /= np.linalg.norm(x)
        rot = np.stack([x, np.cross(z, x), z])
        rs.append(rot)
        ts.append(-rot @ centre)
    r, t = np.stack(rs), np.stack(ts)
    proj = np.einsum("ij,cjk->cik", K, np.concatenate([r, t[:, :, None]], 2))
    return r, t, proj


def scene(seed: int = 0, frames: int = 30, joints: int = 17, sigma: float = 0.5, views: int = 6, static=False):
    """Random 3D points within ~0.3 m of the origin (the same in every frame if ``static``), noisy 2D views."""
    rng = np.random.default_rng(seed)
    _, _, proj = ring_cameras(views)
    points = rng.normal(size=(1 if static else frames, joints, 3)) * 0.12
    points = np.broadcast_to(points, (frames, joints, 3)).copy()
    kp = project(proj, points) + rng.normal(size=(views, frames, joints, 2)) * sigma
    return proj, points, kp


def error_mm(result, points):
    return float(np.linalg.norm(result.points3d - points, axis=-1).mean() * 1000.0)


def test_all_views_confident_recovers_points_below_1mm():
    proj, points, kp = scene()
    result = triangulate_dlt(proj, kp, np.full(kp.shape[:3], 0.9))
    assert result.valid.all() and result.num_invalid == 0
    assert error_mm(result, points) < 1.0
    assert 0.2 < np.nanmean(result.reprojection_error) < 1.0  # about the 0.5 px noise


def test_low_confidence_corrupted_view_is_ignored_but_hurts_plain_dlt():
    proj, points, kp = scene(seed=1)
    bad = kp.copy()
    bad[2] += np.array([50.0, -50.0]) / np.sqrt(2)  # view 2 moved 50 px
    conf = np.full(kp.shape[:3], 0.9)
    conf[2] = 0.05
    weighted = error_mm(triangulate_dlt(proj, bad, threshold_confidence(conf)), points)
    soft = error_mm(triangulate_dlt(proj, bad, conf), points)  # low weight, not zeroed
    plain = error_mm(triangulate_dlt(proj, bad), points)
    assert weighted < 1.0 and soft < 3.0
    assert plain > 5.0 and plain > 5 * soft


def test_edge_margin_rule_threshold_and_rescale():
    size = np.array([200.0, 100.0])
    kp = np.array([[0.0, 50.0], [100.0, 50.0], [190.0, 50.0], [100.0, 5.0], [-4.0, 50.0], [100.0, 100.0]])
    conf = np.full(6, 0.8)
    w = edge_margin_confidence(kp, conf, size, margin=20.0)
    np.testing.assert_allclose(w, [0.0, 0.8, 0.4, 0.2, 0.0, 0.0])
    # crop origin: the same points in a frame shifted by (300, 400)
    w_shift = edge_margin_confidence(kp + [300.0, 400.0], conf, size, 20.0, crop_origin=np.array([300.0, 400.0]))
    np.testing.assert_allclose(w_shift, w)
    np.testing.assert_allclose(threshold_confidence(np.array([0.0, 0.1, 0.15, 0.2, 0.575, 1.0, np.nan])),
                               [0.0, 0.0, 0.0, 0.05 / 0.85, 0.5, 1.0, 0.0])


def test_median_filter_removes_spikes_and_handles_edges_and_nan():
    track = np.arange(10, dtype=float)[None, :, None, None] * np.ones((2, 10, 1, 2))
    spiky = track.copy()
    spiky[0, 5] = 500.0  # window of frame 5: 3, 4, 500, 6, 7
    spiky[1, 3] = np.nan
    out = median_filter_keypoints(spiky, 5)
    assert out.shape == spiky.shape
    np.testing.assert_allclose(out[0, 5], 6.0)  # spike gone
    np.testing.assert_allclose(out[1, 3], 3.0)  # NaN filled from its neighbours 1, 2, 4, 5
    np.testing.assert_allclose(out[0, 0], 1.0)  # edge: median of frames 0..2
    np.testing.assert_allclose(median_filter_keypoints(track, 5)[:, 2:8], track[:, 2:8])
    np.testing.assert_array_equal(median_filter_keypoints(spiky, 1), spiky)
    with pytest.raises(ValueError, match="odd"):
        median_filter_keypoints(spiky, 4)


def test_fewer_than_two_confident_views_gives_nan_and_is_counted():
    proj, points, kp = scene(seed=2, frames=4, joints=5)
    conf = np.ones(kp.shape[:3])
    conf[1:, 0, 0] = 0.0  # one view left for frame 0 joint 0
    conf[:, 2, 3] = 0.0  # no view for frame 2 joint 3
    kp[:, 1, 1] = np.nan  # undetected everywhere except ...
    kp[0, 1, 1] = project(proj[:1], points[1, 1])[0]  # ... one view
    result = triangulate_dlt(proj, kp, conf)
    assert result.num_invalid == 3
    assert np.isnan(result.points3d[0, 0]).all() and np.isnan(result.points3d[2, 3]).all()
    assert np.isnan(result.points3d[1, 1]).all() and np.isnan(result.reprojection_error[1, 1])
    assert result.num_views[0, 0] == 1 and result.num_views[2, 3] == 0
    assert error_mm(type(result)(result.points3d[3:], result.valid[3:], None, None), points[3:]) < 1.0


def test_pipeline_zeroes_points_at_the_crop_edge():
    proj, points, kp = scene(seed=3, frames=8, joints=4, static=True)  # static: the median filter keeps them
    image_size = np.tile([1280.0, 720.0], (proj.shape[0], 1))
    kp[0, :, 0] = [2.0, 300.0]  # view 0 sees joint 0 at the left image edge
    result, weights = triangulate_sequence(proj, kp, np.full(kp.shape[:3], 0.9), image_size=image_size)
    assert (weights[0, :, 0] == 0).all()
    assert (weights[1:] > 0.8).all()
    assert error_mm(result, points) < 1.0


def test_singular_camera_is_an_input_error():
    _, _, proj = ring_cameras(4)
    bad = proj.copy()
    bad[2, :, :3] = np.outer([1.0, 2.0, 3.0], [1.0, 0.0, 1.0])  # rank 1
    with pytest.raises(InputFileError, match="cams.npz: camera 2: singular"):
        validate_projections(bad, "cams.npz")
    bad = proj.copy()
    bad[1, 0, 0] = np.nan
    with pytest.raises(InputFileError, match="camera 1: projection matrix has NaN"):
        validate_projections(bad, "cams.npz")


def test_cli_end_to_end(tmp_path):
    proj, points, kp = scene(seed=4, frames=12, joints=6)
    r, t, _ = ring_cameras(6)
    conf = np.full(kp.shape[:3], 0.9)
    conf[:, 5, 2] = 0.0
    np.savez(tmp_path / "kp.npz", keypoints=kp, confidence=conf, image_size=np.tile([1280, 720], (6, 1)))
    np.savez(tmp_path / "cams.npz", K=np.repeat(K[None], 6, 0), R=r, t=t)
    proc = run_cli("prep", "triangulate", "--keypoints2d", tmp_path / "kp.npz", "--cameras", tmp_path / "cams.npz",
                   "--out", tmp_path / "out.npz", "--median", "1", check=True)
    assert "12 frames x 6 joints" in proc.stdout and "1 of 72" in proc.stdout
    out = np.load(tmp_path / "out.npz")
    assert out["points3d"].shape == (12, 6, 3) and out["valid"].sum() == 71
    valid = out["valid"]
    assert np.linalg.norm(out["points3d"][valid] - points[valid], axis=-1).mean() < 1e-3

    bad_r = r.copy()
    bad_r[3] = 0.0
    np.savez(tmp_path / "bad.npz", K=np.repeat(K[None], 6, 0), R=bad_r, t=t)
    proc = run_cli("prep", "triangulate", "--keypoints2d", tmp_path / "kp.npz", "--cameras", tmp_path / "bad.npz",
                   "--out", tmp_path / "o2.npz")
    assert proc.returncode == 1 and "camera 3: singular" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "o2.npz").exists()
    np.savez(tmp_path / "kp_bad.npz", keypoints=kp[:4], confidence=conf[:4])
    proc = run_cli("prep", "triangulate", "--keypoints2d", tmp_path / "kp_bad.npz", "--cameras",
                   tmp_path / "cams.npz", "--out", tmp_path / "o3.npz")
    assert proc.returncode == 1 and "kp_bad.npz: keypoints have 4 views but the cameras file has 6" in proc.stderr
    proc = run_cli("prep", "triangulate", "--keypoints2d", tmp_path / "kp.npz", "--cameras",
                   tmp_path / "cams.npz", "--out", tmp_path / "o4.npz", "--median", "4")
    assert proc.returncode == 1 and "--median must be odd" in proc.stderr
