"""Motion files (save/load/validation), `handgen clip` and `handgen render`."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from arctic_files import mano_dict, write_mano
from conftest import run_cli
from PIL import Image

from data_prep.prep_arctic import prep_arctic
from handgen.errors import HandgenError, InputFileError
from handgen.io.data_dir import DataDir
from handgen.io.motion_npz import HAND_POSE_CONVENTION, load_motion, save_motion
from handgen.render.animation import render_frames, render_motion
from handgen.render.raster import BACKGROUND
from handgen.repr.motion import BimanualMotion

TEXTS = {"left": "The left hand waves.", "right": "The right hand makes a fist and holds it.",
         "both": "The hands move apart, the right one staying in front of the chest."}


def _motion(frames=12) -> BimanualMotion:
    t = np.arange(frames)[:, None] / 30.0
    go = np.stack([np.hstack([0 * t, -np.pi / 2 + 0 * t, 0 * t]), np.hstack([0 * t, np.pi / 2 + 0 * t, 0 * t])], 1)
    pose = np.zeros((frames, 2, 45))
    pose[:, :, 2::3] = 0.6 * np.sin(3 * t)[:, :, None]  # fingers flex and open about z
    transl = np.stack([np.hstack([0.2 + 0 * t, 0 * t, 0.3 + 0.1 * t]), np.hstack([-0.2 + 0 * t, 0 * t, 0.3 + 0 * t])], 1)
    return BimanualMotion(global_orient=go, hand_pose=pose, transl=transl, betas=np.zeros((2, 10)))


def _save(path, hand_pair, motion=None, **kw):
    motion = motion or _motion()
    means = np.stack([hand_pair[s].hands_mean.numpy() for s in ("left", "right")])
    return save_motion(path, motion, motion.joints(hand_pair), kw.pop("texts", TEXTS), "procedural", means, **kw)


def test_motion_file_round_trip_without_pickle(tmp_path, hand_pair):
    motion = _motion()
    path = _save(tmp_path / "m.npz", hand_pair, motion, source_id="s01/x/000000", extra={"seed": np.int64(7)})
    with np.load(path, allow_pickle=False) as raw:  # every key, strings included, loads without pickle
        data = {k: raw[k] for k in raw.files}
    assert data["left_hand_pose"].shape == (12, 45) and data["joints"].shape == (12, 2, 21, 3)
    assert str(data["hand_pose_convention"]) == HAND_POSE_CONVENTION and str(data["text_both"]) == TEXTS["both"]
    back, extras = load_motion(path)
    np.testing.assert_allclose(back.hand_pose, motion.hand_pose, atol=1e-6)
    np.testing.assert_allclose(back.transl, motion.transl, atol=1e-6)
    np.testing.assert_allclose(extras["joints"], motion.joints(hand_pair), atol=1e-6)
    np.testing.assert_allclose(extras["hands_mean"][1], hand_pair.right.hands_mean.numpy(), atol=1e-6)
    assert extras["texts"] == TEXTS and extras["hand_model"] == "procedural" and extras["fps"] == 30.0
    assert extras["source_id"] == "s01/x/000000" and int(extras["seed"]) == 7


def _rewrite(path, **changes):
    with np.load(path) as raw:
        data = {k: raw[k] for k in raw.files}
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    np.savez(path, **data)


@pytest.mark.parametrize(
    "changes, needle",
    [
        ({"right_transl": None}, "missing array 'right_transl'"),
        ({"left_hand_pose": np.zeros((12, 40))}, "left_hand_pose has shape (12, 40), expected (12, 45)"),
        ({"joints": np.full((12, 2, 21, 3), np.nan)}, "joints contains NaN"),
        ({"text_left": None}, "missing array 'text_left'"),
        ({"fps": np.float64(0)}, "fps must be positive"),
    ],
)
def test_motion_file_validation(tmp_path, hand_pair, changes, needle):
    path = _save(tmp_path / "m.npz", hand_pair)
    _rewrite(path, **changes)
    with pytest.raises(InputFileError) as info:
        load_motion(path)
    assert str(info.value).startswith(str(path)) and needle in str(info.value)


def test_motion_file_not_npz_or_missing(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match="not a readable"):
        load_motion(tmp_path / "bad.npz")
    with pytest.raises(InputFileError, match="not found"):
        load_motion(tmp_path / "none.npz")


def test_render_frames_show_both_hands_and_the_title(hand_pair):
    frames = render_frames(_motion(4), hand_pair, TEXTS, size=160)
    assert len(frames) == 4
    img = np.asarray(frames[0]).astype(int)
    r, b = img[..., 0], img[..., 2]
    blue = (b > r + 40).sum()  # left hand
    orange = (r > b + 40).sum()  # right hand
    assert blue > 300 and orange > 300
    no_title = render_frames(_motion(2), hand_pair, {}, size=160)
    assert max(no_title[0].size) == 160 and no_title[0].size[0] == frames[0].size[0]
    title_h = img.shape[0] - no_title[0].size[1]
    assert title_h > 30 and (img[:title_h] != BACKGROUND).any()


def test_render_errors(tmp_path, hand_pair):
    with pytest.raises(HandgenError, match="use .gif or .mp4"):
        render_motion(_motion(2), hand_pair, TEXTS, tmp_path / "x.avi")
    with pytest.raises(HandgenError, match="unknown view"):
        render_motion(_motion(2), hand_pair, TEXTS, tmp_path / "x.gif", view="under")
    if importlib.util.find_spec("imageio_ffmpeg") is None:
        with pytest.raises(HandgenError, match="pip install imageio-ffmpeg"):
            render_motion(_motion(2), hand_pair, TEXTS, tmp_path / "x.mp4")
    assert not list(tmp_path.iterdir())


def test_skeleton_gif_needs_no_hand_model(tmp_path, hand_pair):
    motion = _motion(6)
    out = render_motion(motion, None, TEXTS, tmp_path / "s.gif", skeleton=True, joints=motion.joints(hand_pair), size=120)
    with Image.open(out) as gif:
        assert gif.n_frames == 6


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    write_mano(root, "s01/hands_use_0001", mano_dict(90))
    caption = {"left": "Left opens.", "right": "Right closes.", "both": "Hands approach."}
    (root / "captions.jsonl").write_text(json.dumps(
        {"sequence": "s01/hands_use_0001", "start": 0, "end": 90, "captions": [caption], "labels": {}}) + "\n")
    out = tmp_path_factory.mktemp("data")
    prep_arctic(root, out, progress=False)
    return out, caption


def test_clip_and_render_commands(data_dir, tmp_path):
    out, caption = data_dir
    data = DataDir(out)
    clip_id = data.manifest[1]["id"]
    proc = run_cli("clip", "--data", out, "--id", clip_id, "--out", tmp_path / "c.npz")
    assert proc.returncode == 0, proc.stderr
    motion, extras = load_motion(tmp_path / "c.npz")
    record = data.load_clip(clip_id)
    assert motion.num_frames == 60 and extras["texts"] == caption and extras["source_id"] == clip_id
    np.testing.assert_array_equal(extras["joints"], record.joints)
    np.testing.assert_allclose(motion.hand_pose, record.motion.hand_pose)
    np.testing.assert_allclose(extras["hands_mean"][0], data.meta["hands_mean"]["left"], atol=1e-6)

    proc = run_cli("render", "--motion", tmp_path / "c.npz", "--out", tmp_path / "c.gif", "--size", "200")
    assert proc.returncode == 0, proc.stderr
    with Image.open(tmp_path / "c.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 60 and gif.info["duration"] in (30, 33, 40)
        assert max(gif.size) >= 200 and gif.size[1] > 200  # the scene's long side + the title


def test_clip_command_unknown_id_is_one_line(data_dir, tmp_path):
    proc = run_cli("clip", "--data", data_dir[0], "--id", "s09/none/000000", "--out", tmp_path / "c.npz")
    err = proc.stderr.strip()
    assert proc.returncode == 1 and "\n" not in err and "no clip 's09/none/000000'" in err
    assert not (tmp_path / "c.npz").exists()


@pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is None, reason="needs imageio-ffmpeg (the video extra)")
def test_mp4_has_every_frame(tmp_path, hand_pair):
    import imageio.v2 as imageio

    out = render_motion(_motion(9), hand_pair, TEXTS, tmp_path / "m.mp4", size=121)
    with imageio.get_reader(out) as reader:
        assert reader.count_frames() == 9 and reader.get_meta_data()["fps"] == 30.0
