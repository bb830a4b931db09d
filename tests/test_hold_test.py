"""Known answers of the hold test (handgen.grasp.hold_test): squeeze, one palm, no hands, and a
U shape whose convex hull would hold falsely."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh

from handgen.grasp.convex_pieces import hand_pieces, hull_gap, is_convex, object_pieces
from handgen.grasp.hold_test import DIRECTIONS, HOLD_DISTANCE, direction_vector, hold_test
from handgen.hand.factory import make_hand_pair
from handgen.hand.topology import PALM_KEYPOINTS

HALF = 0.03  # the boxes' half height along y


@pytest.fixture(scope="module")
def palms() -> tuple[np.ndarray, np.ndarray]:
    """Two flat hands, palm skin on y = -HALF (left, facing +y) and y = +HALF (right, facing -y):
    vertices (2, V, 3), joints (2, 21, 3)."""
    hands = make_hand_pair()

    def flat(side: str, orient: list[float], height: float, up: bool):
        with torch.no_grad():
            out = hands[side](torch.tensor([orient]), torch.zeros(1, 45))
        v, j = out.vertices[0].double().numpy(), out.joints[0].double().numpy()
        c = j[list(PALM_KEYPOINTS)].mean(0)
        near = np.linalg.norm((v - c)[:, [0, 2]], axis=1) < 0.02
        skin = v[near, 1].max() if up else v[near, 1].min()
        shift = np.array([-c[0], height - skin, -c[2]])
        return v + shift, j + shift

    left = flat("left", [math.pi, 0.0, 0.0], -HALF, up=True)
    right = flat("right", [0.0, 0.0, 0.0], HALF, up=False)
    return np.stack([left[0], right[0]]), np.stack([left[1], right[1]])


def u_shape() -> trimesh.Trimesh:
    """A U: a 28 cm bar under the left palm, prongs at x = +-13 cm reaching y = +HALF, open
    where the right palm is (the right palm touches the U's hull, not the U)."""
    base = trimesh.creation.box((0.28, 0.02, 0.08))
    base.apply_translation((0.0, -0.02, 0.0))
    prongs = [trimesh.creation.box((0.02, 0.04, 0.08)) for _ in range(2)]
    prongs[0].apply_translation((-0.13, 0.01, 0.0))
    prongs[1].apply_translation((0.13, 0.01, 0.0))
    return trimesh.util.concatenate([base, *prongs])  # three touching boxes


BOX = trimesh.creation.box((0.08, 2 * HALF, 0.08))


def test_box_squeezed_between_two_palms_holds_in_all_six(palms):
    r = hold_test(BOX.vertices, BOX.faces, *palms)
    assert r.directions_held == 6 and r.holds
    assert max(r.displacement.values()) < 0.005
    assert r.mass == pytest.approx(400.0 * 0.08 * 0.06 * 0.08, rel=1e-3)
    m = r.as_metrics()
    assert m["holds"] == 1.0 and m["hold_directions"] == 6.0 and "hold_displacement_my_mm" in m


def test_box_on_one_open_palm_holds_only_towards_the_palm(palms):
    v, j = palms
    r = hold_test(BOX.vertices, BOX.faces, v[:1], j[:1])  # the left palm under the box, facing +y
    assert r.directions_held == 1 and not r.holds
    assert r.displacement["-y"] < HOLD_DISTANCE
    assert min(r.displacement[d] for d in DIRECTIONS if d != "-y") > 0.5


def test_no_hands_holds_in_none_and_falls_freely():
    r = hold_test(BOX.vertices, BOX.faces, None, None)
    assert r.directions_held == 0
    for d in r.displacement.values():
        assert d == pytest.approx(0.5 * 9.81 * 1.0**2, rel=0.02)


def test_u_shape_hull_would_hold_falsely_decomposition_does_not(palms):
    u = u_shape()
    assert not is_convex(u.vertices, u.faces) and hull_gap(u.vertices, u.faces) > 0.03
    assert hold_test(u.vertices, u.faces, *palms, decomposition="hull").holds
    pieces = object_pieces(u.vertices, u.faces)
    assert len(pieces) >= 3
    r = hold_test(u.vertices, u.faces, *palms, pieces=pieces)
    assert not r.holds and r.directions_held <= 2


def test_convex_objects_stay_one_piece():
    assert is_convex(BOX.vertices, BOX.faces)
    cyl = trimesh.creation.cylinder(radius=0.04, height=0.12, sections=32)
    assert len(object_pieces(cyl.vertices, cyl.faces)) == 1


def test_hand_pieces_cover_the_skin_and_inflate_outwards(palms):
    v, j = palms
    pieces = hand_pieces(v[1], j[1])
    assert len(pieces) == 16 and sum(len(p) for p in pieces) == len(v[1])
    fat = hand_pieces(v[1], j[1], margin=0.003)
    palm, palm_fat = pieces[0], fat[0]
    # the palm piece's skin side (facing -y) moved 3 mm further down
    assert palm_fat[:, 1].min() == pytest.approx(palm[:, 1].min() - 0.003, abs=5e-4)
    with pytest.raises(ValueError):
        hand_pieces(v[1], j[1][:20])


def test_direction_parsing():
    assert np.array_equal(direction_vector("-y"), [0.0, -1.0, 0.0])
    assert np.array_equal(direction_vector("z"), [0.0, 0.0, 1.0])
    with pytest.raises(ValueError):
        direction_vector("--x")
    with pytest.raises(ValueError):
        direction_vector("w")
