"""Hand-object data: synthetic object sequences, ``prep arctic`` with objects, ``prep grasps``, clip/render."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh
from object_files import BOTH_HOLD, FILTER_FRAMES, FRAMES, build_object_root
from PIL import Image

from data_prep.arctic_objects import load_template, read_object_track, template_folder
from data_prep.arctic_reader import read_mano_sequence
from data_prep.object_contact import ObjectDistance, posed_hands, sequence_contact
from data_prep.prep_arctic import prep_arctic
from data_prep.prep_grasps import grasp_frame_mask, prep_grasps
from data_prep.synthetic.object_catalog import catalog_object, default_ycb_dir
from data_prep.synthetic.object_scene import signed_grid
from data_prep.synthetic.sequences import is_object_sequence
from handgen import cli
from handgen.errors import HandgenError
from handgen.hand.topology import HANDS
from handgen.io.data_dir import DataDir
from handgen.io.motion_npz import load_motion
from handgen.io.object_folder import load_template as load_metric
from handgen.render.raster import OBJECT_COLOR
from handgen.repr.object_pose import canonical_to_top_part, world_to_canonical

CLIP, STRIDE = 30, 15


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("arctic_objects")
    return root, build_object_root(root)


@pytest.fixture(scope="module")
def data(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    prep_arctic(raw[0], out, clip_len=CLIP, stride=STRIDE, progress=False)
    return DataDir(out)


@pytest.fixture(scope="module")
def grasps(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("grasps")
    prep_grasps(raw[0], out, stride=1, progress=False)
    return out


def _sequence(root, key, hands):
    motion, valid = read_mano_sequence(root / "raw_seqs" / f"{key}.mano.npy", hands)
    track = read_object_track(root / "raw_seqs" / f"{key}.object.npy", motion.num_frames)
    return motion, valid, track


# ------------------------------------------------------------------ the synthetic sequences themselves


def test_both_hands_hold_the_lifted_box_without_deep_penetration(raw, hand_pair):
    root, results = raw
    key = "s01/box_use_0001"
    motion, valid, track = _sequence(root, key, hand_pair)
    template = load_template(template_folder(root, "box"))
    contact, _ = sequence_contact(motion, valid, hand_pair, track, ObjectDistance.build(template))
    assert (contact > 0.2).all(), contact.min(axis=0)  # every frame, both hands: a bimanual grasp
    lift = track.transl[-1, 1] - track.transl[0, 1]
    assert 0.12 <= lift <= 0.2 and np.abs(track.transl[-1, [0, 2]] - track.transl[0, [0, 2]]).max() < 1e-6
    # no hand vertex deeper than 4 mm inside the box (the thenar may sink 4 mm, as soft tissue does)
    verts, _ = posed_hands(motion, hand_pair)
    canonical = world_to_canonical(verts.reshape(FRAMES, -1, 3), track.rot, track.transl)
    depth = signed_grid(results[key].scene.obj)(canonical)
    assert depth.min() > -0.0045
    # the hands move rigidly with the box: wrists fixed in the box's frame
    joints = motion.joints(hand_pair)
    wrists = world_to_canonical(joints[:, :, 0], track.rot, track.transl)
    assert np.abs(wrists - wrists[:1]).max() < 1e-4


def test_the_lid_opens_with_the_right_hand_on_it(raw, hand_pair):
    root, _ = raw
    motion, valid, track = _sequence(root, "s02/hingebox_use_0002", hand_pair)
    template = load_template(template_folder(root, "hingebox"))
    assert template.articulated and np.allclose(template.pivot, 0.0) and np.allclose(template.axis, [0, 0, -1])
    assert track.articulation[0] == 0.0 and 0.9 <= track.articulation[-1] <= 1.4
    assert np.all(np.diff(track.articulation) >= -1e-6) and np.ptp(track.transl, axis=0).max() < 1e-6
    contact, _ = sequence_contact(motion, valid, hand_pair, track, ObjectDistance.build(template))
    assert (contact > 0.15).all()
    # the right hand rides the lid: its wrist is fixed in the lid's own frame
    joints = motion.joints(hand_pair)
    lid = canonical_to_top_part(template, world_to_canonical(joints[:, 1:2, 0], track.rot, track.transl),
                                track.articulation)
    assert np.abs(lid - lid[:1]).max() < 1e-4


def test_fast_contact_is_the_brute_force_contact_bit_for_bit(raw, hand_pair):
    """sequence_contact (lazy grids made exact only where a label depends on them, a lower-bound screen, the
    skeleton pre-test) = every vertex of every frame looked up in fully exact grids, on a lifted box, an opening
    lid (its top part) and hands that leave the box (frames the pre-test skips)."""
    root, _ = raw
    exact_grids: dict[str, ObjectDistance] = {}
    for key, name in (("s01/box_use_0001", "box"), ("s02/hingebox_use_0002", "hingebox"), ("s05/box_use_0005", "box")):
        motion, valid, track = _sequence(root, key, hand_pair)
        template = load_template(template_folder(root, name))
        fast = ObjectDistance.build(template)
        contact, tips = sequence_contact(motion, valid, hand_pair, track, fast)
        if name not in exact_grids:
            exact_grids[name] = ObjectDistance.build(template)
            for grid in exact_grids[name].grids:
                grid.materialize()
        exact = exact_grids[name]
        assert any(not np.array_equal(g.values, e.values) for g, e in zip(fast.grids, exact.grids))  # still lazy
        verts, tip_points = posed_hands(motion, hand_pair)  # (F,2,V,3), (F,2,5,3)
        pose, f = (track.articulation, track.rot, track.transl), motion.num_frames
        near = exact.distance(verts.reshape(f, -1, 3), *pose).reshape(f, 2, -1) < 0.01
        np.testing.assert_array_equal(contact, near.mean(axis=2).astype(np.float32))
        np.testing.assert_array_equal(tips, exact.distance(tip_points.reshape(f, -1, 3), *pose).reshape(f, 2, 5) < 0.01)
        assert contact.max() > 0.2 and (contact == 0).any() == key.endswith("0005")  # holding; hands away in 0005


def test_object_sequences_are_spread_over_the_dataset():
    assert [k for k in range(12) if is_object_sequence(k, 1 / 3)] == [2, 5, 8, 11]
    assert not any(is_object_sequence(k, 0.0) for k in range(10))
    assert all(is_object_sequence(k, 1.0) for k in range(10))


def test_generated_dataset_layout_captions_and_determinism(tmp_path, caplog):
    from data_prep.synthetic.generate import generate
    from data_prep.synthetic.sequences import make_object_sequence

    info = generate(tmp_path / "raw", num_seqs=3, seed=3, frames=60, progress=False, objects=0.5,
                    ycb_dir=tmp_path / "no_ycb")
    assert "YCB meshes not found" in caplog.text
    assert info["objects"]["names"] == ["box", "cylinder", "sphere", "hingebox", "bar"]
    objects = sorted((tmp_path / "raw" / "raw_seqs").rglob("*.object.npy"))
    assert [p.name.split("_")[1:] for p in objects] == [["use", "0001.object.npy"]]  # k = 1 at 1/2
    array = np.load(objects[0])
    assert array.shape == (60, 7) and array.dtype == np.float32 and np.isfinite(array).all()
    name = objects[0].name.split("_")[0]
    mesh = (tmp_path / "raw" / "meta" / "object_vtemplates" / name / "mesh.obj").read_text()
    coords = np.array([line.split()[1:] for line in mesh.splitlines() if line.startswith("v ")], dtype=float)
    assert 50 < np.abs(coords).max() < 200  # millimetres
    row = next(json.loads(line) for line in (tmp_path / "raw" / "captions.jsonl").read_text().splitlines()
               if name in json.loads(line)["sequence"])
    labels = row["labels"]
    assert labels["object"] == name and labels["both"] == "hold_object" and len(row["captions"]) == 5
    for caption in row["captions"]:
        assert labels["noun"] in caption["both"] or labels["layout"] in ("wrap_one", "pinch_one")
        assert any(labels["noun"] in caption[s] for s in HANDS)
    again = make_object_sequence(3, 1, 60, info["objects"]["names"], None)
    np.testing.assert_array_equal(again.object_array, array)
    with pytest.raises(HandgenError, match="made with objects 0.5"):  # the same folder with other objects
        generate(tmp_path / "raw", num_seqs=3, seed=3, frames=60, progress=False, objects=0.25, ycb_dir=tmp_path)
    with pytest.raises(HandgenError, match=r"--objects must be a fraction in \[0, 1\]"):
        generate(tmp_path / "other", objects=1.5)


@pytest.mark.skipif(not default_ycb_dir().is_dir(), reason="YCB meshes not found beside the checkout")
def test_ycb_objects_are_merged_watertight_and_stand_upright():
    box = catalog_object("crackerbox", str(default_ycb_dir()))
    mesh = trimesh.Trimesh(box.template.vertices, box.template.faces, process=False)
    assert mesh.is_watertight and mesh.volume > 0
    upright = np.asarray(dict(box.spec.rests)["upright"])
    extent = np.ptp(box.template.vertices @ upright.T, axis=0)
    assert extent[1] > 0.2 and extent[0] > 0.15 and extent[2] < 0.08  # 21 cm tall, 16 wide, 6-7 deep


# ------------------------------------------------------------------ prep arctic with objects


def test_prep_arctic_stores_object_pose_and_contact(raw, data, hand_pair):
    root, _ = raw
    rows = {r["id"]: r for r in data.manifest}
    assert {r["sequence"] for r in rows.values()} == {"box_use_0001", "hingebox_use_0002", "hands_use_0003",
                                                       "box_use_0005"}
    assert data.meta["objects"] == {"box": 4 + 3, "hingebox": 4}  # 75 and 60 frames in clips of 30 every 15
    skipped = [json.loads(line) for line in (data.path / "skipped.jsonl").read_text().splitlines()]
    assert [(s["file"], s["reason"]) for s in skipped] == [
        ("raw_seqs/s04/ghost_use_0004.mano.npy", "no template for object 'ghost'")
    ]
    assert all(r["object"] is None for r in rows.values() if r["sequence"] == "hands_use_0003")
    hands_only = next(r for r in rows.values() if r["sequence"] == "hands_use_0003")
    assert data.load_object(hands_only["id"]) is None

    motion, valid, track = _sequence(root, "s02/hingebox_use_0002", hand_pair)
    template = load_template(template_folder(root, "hingebox"))
    contact, tips = sequence_contact(motion, valid, hand_pair, track, ObjectDistance.build(template))
    for row in (r for r in rows.values() if r["sequence"] == "hingebox_use_0002"):
        obj = data.load_object(row["id"])
        a, b = row["start"], row["end"]
        with np.load(data.path / row["shard"]) as shard:
            offset = shard["canonical_offset"][row["index"]]
        assert obj.name == "hingebox" and obj.rot.shape == (CLIP, 3) and obj.tips.dtype == bool
        np.testing.assert_allclose(obj.transl, track.transl[a:b] + offset, atol=1e-6)  # canonicalised like the hands
        np.testing.assert_allclose(obj.rot, track.rot[a:b], atol=1e-6)
        np.testing.assert_allclose(obj.articulation, track.articulation[a:b], atol=1e-6)
        np.testing.assert_allclose(obj.contact, contact[a:b], atol=1e-6)
        np.testing.assert_array_equal(obj.tips, tips[a:b])
    # the stored contact agrees with exact point-to-mesh distances (trimesh) on a frame
    f = 40
    from handgen.repr.object_pose import pose_object

    world = pose_object(template, track.articulation[f : f + 1], track.rot[f : f + 1], track.transl[f : f + 1])[0]
    verts, _ = posed_hands(motion.slice(f, f + 1), hand_pair)
    exact = trimesh.Trimesh(world, template.faces, process=False).nearest.on_surface(verts[0].reshape(-1, 3))[1]
    np.testing.assert_allclose(contact[f], (exact.reshape(2, -1) < 0.01).mean(axis=1), atol=0.01)

    metric = load_metric(data.object_folder("hingebox"))
    np.testing.assert_allclose(metric.vertices, template.vertices, atol=1e-6)
    assert json.loads((data.object_folder("hingebox") / "object.json").read_text())["articulated"] is True


def test_clip_and_render_draw_the_object_with_both_hands(data, tmp_path, capsys):
    clip_id = next(r["id"] for r in data.manifest if r["sequence"] == "box_use_0001")
    assert cli.main(["clip", "--data", str(data.path), "--id", clip_id, "--out", str(tmp_path / "c.npz")]) == 0
    assert "object box" in capsys.readouterr().out
    motion, extras = load_motion(tmp_path / "c.npz")
    assert str(extras["object_name"]) == "box" and extras["object_rot"].shape == (CLIP, 3)
    render = ["render", "--motion", str(tmp_path / "c.npz"), "--out", str(tmp_path / "c.gif"), "--size", "160"]
    assert cli.main(render) == 0
    gif = Image.open(tmp_path / "c.gif")
    assert gif.n_frames == CLIP
    gif.seek(CLIP // 2)
    pixels = np.asarray(gif.convert("RGB")).reshape(-1, 3).astype(int)
    grey = np.abs(pixels - np.array(OBJECT_COLOR)).max(axis=1) < 60  # shaded object
    blue = (pixels[:, 2] > pixels[:, 0] + 60)  # left hand
    orange = (pixels[:, 0] > pixels[:, 2] + 80)  # right hand
    assert grey.mean() > 0.02 and blue.mean() > 0.005 and orange.mean() > 0.005


# ------------------------------------------------------------------ prep grasps


def test_grasp_filter_keeps_exactly_the_frames_over_the_thresholds(raw, grasps):
    assert grasp_frame_mask(np.array([[0.21, 0.3], [0.2, 0.5], [0.5, 0.19], [0.0, 0.9]]), 0.2).tolist() == [
        True, False, False, False]
    rows = [json.loads(line) for line in (grasps / "manifest.jsonl").read_text().splitlines()]
    kept = [r["frame"] for r in rows if r["sequence"] == "box_use_0005"]
    assert kept == BOTH_HOLD
    assert all(min(r["contact"].values()) > 0.2 for r in rows)
    # every considered frame of the filter sequence: kept iff both fractions exceed 0.2
    with np.load(grasps / "shards" / "s05" / "box_use_0005.npz") as shard:
        assert shard["frame"].tolist() == BOTH_HOLD and shard["contact_fraction"].min() > 0.2
    thinned = prep_grasps(raw[0], grasps.parent / "thin", stride=3, progress=False)
    thin_rows = [json.loads(line) for line in (grasps.parent / "thin" / "manifest.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in thin_rows if r["sequence"] == "box_use_0005"] == [f for f in BOTH_HOLD if f % 3 == 0]
    assert thinned["stride"] == 3 and len(BOTH_HOLD) < FILTER_FRAMES


def test_grasp_dir_follows_the_contract(raw, grasps):
    rows = [json.loads(line) for line in (grasps / "manifest.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    keys = {"id", "source", "subject", "sequence", "frame", "object", "category", "text", "articulation", "split",
            "shard", "index", "contact", "hand_model", "grasp_type"}
    for row in rows:
        assert set(row) == keys and row["split"] in ("train", "val", "test") and row["source"] == "arctic"
        assert row["grasp_type"] == ""  # no captions.jsonl labels in this root
        assert row["text"] == f"grasp {row['category']} with both hands" and row["hand_model"] == "procedural"
        assert row["id"] == f"{row['subject']}/{row['sequence']}/{row['frame']:06d}"
    meta = json.loads((grasps / "meta.json").read_text())
    assert meta["contact_dist"] == 0.01 and meta["min_fraction"] == 0.2 and meta["counts"]["frames"] == len(rows)
    assert meta["counts"]["per_object"]["box"] >= len(BOTH_HOLD) + FRAMES - 5
    skipped = {s["file"]: s["reason"] for s in map(json.loads, (grasps / "skipped.jsonl").read_text().splitlines())}
    assert "no object" in skipped["raw_seqs/s03/hands_use_0003.mano.npy"]
    assert "no template for object 'ghost'" in skipped["raw_seqs/s04/ghost_use_0004.mano.npy"]
    row = next(r for r in rows if r["sequence"] == "hingebox_use_0002")
    with np.load(grasps / row["shard"]) as shard:
        n = len(shard["frame"])
        shapes = {k: shard[k].shape for k in shard.files}
        assert shapes["joints"] == (n, 2, 21, 3) and shapes["hand_frame"] == (n, 4, 4)
        assert shapes["left_betas"] == (n, 10) and shapes["tips_in_contact"] == (n, 2, 5)
        assert shard["frame"][row["index"]] == row["frame"]
        assert abs(shard["articulation"][row["index"]] - row["articulation"]) < 1e-5
        frame, joints = shard["hand_frame"].astype(np.float64), shard["joints"].astype(np.float64)
        mapped = np.einsum("nij,nkhj->nkhi", frame[:, :3, :3], joints) + frame[:, None, None, :3, 3]
        np.testing.assert_allclose(mapped, shard["joints_normalized"], atol=1e-4)
    info = json.loads((grasps / "objects" / "hingebox" / "object.json").read_text())
    assert info == {"name": "hingebox", "category": "lidded box", "articulated": True, "axis": [0.0, 0.0, -1.0],
                    "pivot": [0.0, 0.0, 0.0]}
    template = load_metric(grasps / "objects" / "hingebox")
    assert np.abs(template.vertices).max() < 0.3  # metres
    # resumable: a second run reuses every sequence and writes the same manifest
    before = (grasps / "manifest.jsonl").read_text()
    again = prep_grasps(raw[0], grasps, stride=1, progress=False)
    assert again["run"]["frames_read"] == 0 and (grasps / "manifest.jsonl").read_text() == before


def test_prep_grasps_hold_test_keeps_exactly_the_frames_that_hold(raw, grasps, tmp_path, monkeypatch):
    import data_prep.prep_grasps as prep_module

    class EvenFramesHold:  # a stand-in verdict: frames with an even number hold in 6 directions, odd ones in 1
        def __init__(self, data, hands):
            self.data = data

        def __call__(self, i):
            even = self.data.rows[i]["frame"] % 2 == 0
            return type("Result", (), {"holds": even, "directions_held": 6 if even else 1})()

    monkeypatch.setattr(prep_module, "FrameHoldTester", EvenFramesHold)
    meta = prep_grasps(raw[0], tmp_path / "held", stride=1, progress=False, hold_test=True)
    every = [json.loads(line) for line in (grasps / "manifest.jsonl").read_text().splitlines()]
    kept = [json.loads(line) for line in (tmp_path / "held" / "manifest.jsonl").read_text().splitlines()]
    assert [r["id"] for r in kept] == [r["id"] for r in every if r["frame"] % 2 == 0]
    assert all(r["holds"] is True and r["hold_directions"] == 6 for r in kept)
    assert meta["hold_test"]["tested"] == len(every) and meta["hold_test"]["kept"] == len(kept) < len(every)
    assert meta["counts"]["frames"] == len(kept) == sum(meta["counts"]["per_split"].values())
    assert json.loads((tmp_path / "held" / "meta.json").read_text())["hold_test"]["dropped"] == len(every) - len(kept)
