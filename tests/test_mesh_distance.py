"""The core's one distance to a mesh (handgen.geometry.mesh_distance / distance_grid): known answers on a box."""

from __future__ import annotations

import numpy as np
import trimesh

from handgen.geometry.distance_grid import DistanceGrid
from handgen.geometry.mesh_distance import MeshDistance, SurfaceSamples, nearest_face_distance
from handgen.geometry.ray_parity import grid_inside_votes, parity_inside

HALF = np.array([0.05, 0.03, 0.02])  # the box's half extents, metres


def _box_sdf(points: np.ndarray) -> np.ndarray:
    q = np.abs(points) - HALF
    return np.linalg.norm(np.maximum(q, 0), axis=-1) + np.minimum(q.max(-1), 0)


def test_lazy_and_eager_back_ends_give_the_exact_box_distance():
    box = trimesh.creation.box(2 * HALF)
    points = np.random.default_rng(0).uniform(-0.07, 0.07, size=(2000, 3))
    exact = _box_sdf(points)
    lazy = MeshDistance(box.vertices, box.faces)
    np.testing.assert_allclose(lazy(points), exact, atol=1e-12)  # exact distance, winding-number sign
    np.testing.assert_allclose(lazy.unsigned(points), np.abs(exact), atol=1e-12)
    grid = DistanceGrid.from_mesh(box.vertices, box.faces, spacing=0.004, band=0.02, cap=0.02, signed=True)
    close = np.abs(exact) < 0.015
    np.testing.assert_allclose(grid(points)[close], exact[close], atol=1.5e-3)  # trilinear on a 4 mm grid
    flat = close & (np.abs(points) < HALF - 0.006).sum(1).astype(bool)  # off edges and corners too
    assert np.abs(grid(points)[flat] - exact[flat]).max() < 1e-3


def test_surface_samples_lie_on_their_faces_and_find_the_closest_face():
    box = trimesh.creation.box(2 * HALF)
    samples = SurfaceSamples(box.vertices, box.faces, count=500, with_vertices=True)
    assert len(samples.points) == 500 + len(box.faces) + len(box.vertices)
    tri = np.asarray(box.vertices)[box.faces]
    on_face = nearest_face_distance(tri, samples.points, samples.faces[:, None])
    assert on_face.max() < 1e-12  # every sample lies on the face it names
    np.testing.assert_allclose(np.abs(samples.face_normals).sum(1), 1.0)  # axis-aligned unit normals


def test_parity_inside_is_the_first_ray_vote():
    box = trimesh.creation.box(2 * HALF)
    origin, spacing, shape = np.array([-0.06, -0.04, -0.03]), 0.0037, (33, 22, 17)
    inside = parity_inside(box.vertices[box.faces], origin, spacing, shape)  # (x, y, z)
    votes = np.transpose(grid_inside_votes(box.vertices, box.faces, origin, spacing, shape), (2, 1, 0))
    unanimous = (votes == 0) | (votes == 6)  # all but voxel centres within a ray offset of the surface
    assert unanimous.mean() > 0.99
    np.testing.assert_array_equal(inside[unanimous], votes[unanimous] == 6)
    centres = origin + spacing * np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1)
    sdf = _box_sdf(centres)
    assert inside[sdf < -1e-4].all() and not inside[sdf > 1e-4].any()
