"""Render framing and scene aids: the hands fill the picture, floor and shadows, legend, trails."""

from __future__ import annotations

import numpy as np
import pytest

from handgen.render.animation import hand_share, render_frames
from handgen.render.camera import Camera
from handgen.render.floor import SHADOW_COLOR, Floor
from handgen.render.object_layer import split_long_faces
from handgen.render.overlay import draw_trails
from handgen.render.raster import BACKGROUND, LEFT_COLOR, RIGHT_COLOR
from handgen.repr.motion import BimanualMotion
from handgen.repr.object_pose import ObjectTemplate, pose_object


def _apart(frames: int = 6, gap: float = 0.4) -> BimanualMotion:
    """Two hands ``gap`` metres apart, fingers closing over the clip."""
    t = np.arange(frames)[:, None] / 30.0
    go = np.zeros((frames, 2, 3))
    pose = np.zeros((frames, 2, 45))
    pose[:, :, 2::3] = np.linspace(0.0, 1.2, frames)[:, None, None]
    transl = np.stack([np.hstack([gap / 2 + 0 * t, 0 * t, 0.3 + 0 * t]), np.hstack([-gap / 2 + 0 * t, 0 * t, 0.3 + 0 * t])], 1)
    return BimanualMotion(global_orient=go, hand_pose=pose, transl=transl, betas=np.zeros((2, 10)))


def test_camera_fit_shapes_the_picture_like_the_points():
    wide = np.array([[-0.5, 0.0, 0.0], [0.5, 0.1, 0.0]])
    cam = Camera.fit(wide, view="front", long_side=400, margin=0.05)
    assert cam.size[0] == 400 and cam.size[1] == 224  # clamped at 16:9 (even sizes)
    px, _ = cam.project(wide)
    assert px[:, 0].min() == pytest.approx(20, abs=0.5) and px[:, 0].max() == pytest.approx(380, abs=0.5)
    tall = wide[:, [1, 0, 2]]
    assert Camera.fit(tall, view="front", long_side=400).size[1] == 400
    square = np.array([[-0.1, -0.1, 0.0], [0.1, 0.1, 0.0]])
    cam = Camera.fit(square, view="front", long_side=300, margin=0.1)
    px, _ = cam.project(square)
    assert cam.size[0] == cam.size[1] or abs(cam.size[0] - cam.size[1]) < 300 * 0.2
    assert px.min() >= 0.1 * min(cam.size) - 1 and px.max() <= max(cam.size) * 0.9 + 1


def test_default_render_fills_the_picture_with_both_hands(hand_pair):
    frames = render_frames(_apart(), hand_pair, {}, size=256)
    box, pixels = hand_share(frames)
    assert box >= 1 / 3, box  # hands 40 cm apart still fill the picture's box
    img = np.asarray(frames[-1]).astype(int)
    assert ((img == LEFT_COLOR).all(axis=2)).sum() > 20 and ((img == RIGHT_COLOR).all(axis=2)).sum() > 20  # legend swatches
    # the old square front view framed the same clip far more loosely
    old = render_frames(_apart(), hand_pair, {}, size=256, view="front", floor=False)
    assert box > hand_share(old)[0] or pixels > hand_share(old)[1]


def test_floor_shadows_can_be_turned_off(hand_pair):
    with_floor = np.asarray(render_frames(_apart(2), hand_pair, {}, size=200)[0])
    without = np.asarray(render_frames(_apart(2), hand_pair, {}, size=200, floor=False)[0])
    shadow = lambda img: (np.abs(img.astype(int) - SHADOW_COLOR).sum(axis=2) < 6).sum()
    assert shadow(with_floor) > 300 and shadow(without) < 30  # (a few anti-aliased text pixels)


def test_floor_sits_below_every_point():
    pts = np.array([[0.0, 0.1, 0.0], [0.2, -0.05, 0.3]])
    floor = Floor.under(pts, gap=0.03)
    assert floor.height == pytest.approx(-0.08)
    x0, x1, z0, z1 = floor.extent
    assert x0 <= -0.05 and x1 >= 0.25 and z0 <= -0.05 and z1 >= 0.35
    np.testing.assert_allclose(floor.flatten(pts)[:, 1], -0.08)


def test_trails_draw_the_fingertip_paths(hand_pair):
    from PIL import Image

    cam = Camera.fit(np.array([[-0.1, -0.1, 0.0], [0.1, 0.1, 0.0]]), view="front", long_side=100)
    img = Image.new("RGB", cam.size, BACKGROUND)
    tips = np.zeros((5, 5, 3))
    tips[:, :, 0] = np.linspace(-0.08, 0.08, 5)[:, None]
    draw_trails(img, cam, tips, LEFT_COLOR)
    changed = (np.asarray(img) != BACKGROUND).any(axis=2)
    assert changed.sum() > 40
    frames = render_frames(_apart(8), hand_pair, {}, size=160, trails=4, floor=False)
    plain = render_frames(_apart(8), hand_pair, {}, size=160, floor=False)
    assert (np.asarray(frames[-1]) != np.asarray(plain[-1])).any()


def test_long_object_faces_are_split_and_pose_the_same():
    verts = np.array([[0, 0, 0], [0.01, 0, 0], [0, 0.2, 0], [0.01, 0.2, 0.0]])
    faces = np.array([[0, 1, 2], [1, 3, 2]])
    template = ObjectTemplate("slab", verts, faces, np.zeros(4, dtype=np.int8))
    split = split_long_faces(template, max_edge=0.03)
    edges = np.linalg.norm(split.vertices[split.faces] - split.vertices[np.roll(split.faces, 1, axis=1)], axis=2)
    assert edges.max() <= 0.03 and len(split.faces) > 8
    rot, transl = np.array([[0.3, -0.2, 0.1]]), np.array([[0.1, 0.0, 0.2]])
    posed = pose_object(split, np.zeros(1), rot, transl)[0]
    corners = pose_object(template, np.zeros(1), rot, transl)[0]
    for corner in corners:  # the split mesh is the same surface, posed the same way
        assert np.linalg.norm(posed - corner, axis=1).min() < 1e-9
