"""The animated, skinned two-hand .glb of ``handgen export --format glb`` (issue 24).

Read back with a small glTF reader (below): the skeleton's joints at 3 frames are the motion's
joints to 1 mm, and the skinned meshes are the hand model's meshes; the Khronos glTF validator
(npm ``gltf-validator``, installed once into a folder of the system's temp dir) reports 0 errors.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import cli_in_process
from scipy.spatial.transform import Rotation

from handgen.export.bvh import bvh_keypoint_names
from handgen.hand.topology import HANDS
from handgen.io.motion_npz import object_arrays, save_motion
from handgen.repr.motion import BimanualMotion
from handgen.repr.object_pose import ObjectTemplate, pose_object

_DTYPES = {5126: np.float32, 5121: np.uint8, 5123: np.uint16, 5125: np.uint32}
_WIDTH = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}


class Glb:
    """A minimal glTF 2.0 binary reader: accessors, node transforms at a key frame, skinned vertices."""

    def __init__(self, path) -> None:
        data = path.read_bytes()
        magic, version, total = struct.unpack_from("<4sII", data, 0)
        assert magic == b"glTF" and version == 2 and total == len(data)
        length, kind = struct.unpack_from("<I4s", data, 12)
        assert kind == b"JSON"
        self.gltf = json.loads(data[20 : 20 + length])
        blen, bkind = struct.unpack_from("<I4s", data, 20 + length)
        assert bkind == b"BIN\x00"
        self.bin = data[28 + length : 28 + length + blen]
        self.parent = {c: i for i, n in enumerate(self.gltf["nodes"]) for c in n.get("children", [])}

    def accessor(self, index: int) -> np.ndarray:
        acc = self.gltf["accessors"][index]
        view = self.gltf["bufferViews"][acc["bufferView"]]
        width = _WIDTH[acc["type"]]
        arr = np.frombuffer(self.bin, dtype=_DTYPES[acc["componentType"]], count=acc["count"] * width,
                            offset=view.get("byteOffset", 0) + acc.get("byteOffset", 0))
        return arr.reshape(acc["count"], width).astype(np.float64)

    def local(self, node: int, key: int) -> np.ndarray:
        n = self.gltf["nodes"][node]
        trs = {"translation": np.array(n.get("translation", [0.0, 0, 0])),
               "rotation": np.array(n.get("rotation", [0.0, 0, 0, 1]))}
        anim = self.gltf["animations"][0]
        for ch in anim["channels"]:
            if ch["target"]["node"] == node:
                trs[ch["target"]["path"]] = self.accessor(anim["samplers"][ch["sampler"]]["output"])[key]
        m = np.eye(4)
        m[:3, :3] = Rotation.from_quat(trs["rotation"]).as_matrix()
        m[:3, 3] = trs["translation"]
        return m

    def world(self, node: int, key: int) -> np.ndarray:
        m = self.local(node, key)
        while node in self.parent:
            node = self.parent[node]
            m = self.local(node, key) @ m
        return m

    def node_id(self, name: str) -> int:
        return next(i for i, n in enumerate(self.gltf["nodes"]) if n.get("name") == name)

    def skinned(self, mesh_node: int, key: int) -> np.ndarray:
        node = self.gltf["nodes"][mesh_node]
        skin = self.gltf["skins"][node["skin"]]
        prim = self.gltf["meshes"][node["mesh"]]["primitives"][0]
        verts = self.accessor(prim["attributes"]["POSITION"])
        joints = self.accessor(prim["attributes"]["JOINTS_0"]).astype(int)
        weights = self.accessor(prim["attributes"]["WEIGHTS_0"])
        ibm = self.accessor(skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
        mats = np.stack([self.world(j, key) @ ibm[i] for i, j in enumerate(skin["joints"])])
        homo = np.concatenate([verts, np.ones((len(verts), 1))], axis=1)
        per = np.einsum("vkab,vb->vka", mats[joints], homo)[..., :3]
        return (per * weights[..., None]).sum(axis=1)


def _motion(frames: int = 12, seed: int = 0) -> BimanualMotion:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, frames)[:, None, None]
    go = rng.normal(0.0, 1.0, (1, 2, 3)) + 0.8 * t * rng.normal(0.0, 1.0, (1, 2, 3))
    pose = rng.normal(0.0, 0.3, (1, 2, 45)) + 0.6 * t * rng.normal(0.0, 1.0, (1, 2, 45))
    transl = np.array([[[0.2, 1.0, 0.3], [-0.2, 1.0, 0.3]]]) + 0.1 * t * rng.normal(0.0, 1.0, (1, 2, 3))
    betas = rng.normal(0.0, 0.5, (2, 10))
    return BimanualMotion(global_orient=go, hand_pose=pose, transl=transl, betas=betas, fps=24.0)


def _save(path, hand_pair, motion, **kw):
    means = np.stack([hand_pair[s].hands_mean.numpy() for s in HANDS])
    return save_motion(path, motion, motion.joints(hand_pair), {"left": "l", "right": "r", "both": "b"},
                       "procedural", means, **kw)


@pytest.fixture(scope="module")
def animated(tmp_path_factory, hand_pair):
    root = tmp_path_factory.mktemp("gltf")
    motion = _motion()
    hinge = ObjectTemplate("lidbox", np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1], [0.1, 0.1, 0.1]]),
                           np.array([[0, 1, 2], [2, 3, 4]]), np.array([0, 0, 1, 1, 1]), axis=(1.0, 0.0, 0.0),
                           pivot=(0.0, 0.1, 0.0))
    rot = np.linspace([0.0, 0.0, 0.0], [0.0, 1.0, 0.2], motion.num_frames)
    transl = np.linspace([0.0, 0.9, 0.3], [0.1, 1.0, 0.3], motion.num_frames)
    articulation = np.linspace(0.0, 0.8, motion.num_frames)
    src = _save(root / "m.npz", hand_pair, motion, extra=object_arrays(hinge, rot, transl, articulation))
    out = root / "m.glb"
    assert cli_in_process("-q", "export", "--motion", src, "--format", "glb", "--out", out) == 0
    return out, motion, (hinge, articulation, rot, transl)


def test_glb_is_skinned_and_animated_at_the_motion_fps(animated):
    out, motion, _ = animated
    glb = Glb(out)
    g = glb.gltf
    assert len(g["skins"]) == 2 and len(g["animations"]) == 1
    assert {m["name"] for m in g["materials"]} == {"left_hand", "right_hand", "object"}
    for side in HANDS:
        prim = g["meshes"][g["nodes"][glb.node_id(f"{side}_hand")]["mesh"]]["primitives"][0]
        assert {"POSITION", "NORMAL", "JOINTS_0", "WEIGHTS_0"} <= set(prim["attributes"])
        assert len(g["skins"][g["nodes"][glb.node_id(f"{side}_hand")]["skin"]]["joints"]) == 21
    times = glb.accessor(g["animations"][0]["samplers"][0]["input"])[:, 0]
    np.testing.assert_allclose(times, np.arange(motion.num_frames) / 24.0, atol=1e-6)


def test_glb_joints_and_meshes_come_back_at_three_frames(animated, hand_pair):
    out, motion, (hinge, articulation, rot, transl) = animated
    glb = Glb(out)
    joints = motion.joints(hand_pair)
    with torch.no_grad():
        for key in (0, 5, motion.num_frames - 1):
            for i, side in enumerate(HANDS):
                back = np.stack([glb.world(glb.node_id(n), key)[:3, 3] for n in bvh_keypoint_names(side)])
                assert np.abs(back - joints[key, i]).max() < 1e-3, (key, side)  # 1 mm
                params = motion.slice(key, key + 1).torch_params()
                expected = hand_pair.pose(side, params).vertices[0].numpy()
                error = np.linalg.norm(glb.skinned(glb.node_id(f"{side}_hand"), key) - expected, axis=1)
                # glTF keeps 4 weights per vertex: the few vertices with more influences move up to ~1 mm
                assert error.max() < 2e-3 and error.mean() < 1e-4 and np.median(error) < 1e-5, key
            lid = glb.world(glb.node_id("object_lid"), key)
            posed = pose_object(hinge, articulation[key : key + 1], rot[key : key + 1], transl[key : key + 1])[0]
            tip = hinge.vertices[4] - hinge.pivot  # a lid vertex, in the lid node's frame
            np.testing.assert_allclose(lid[:3, :3] @ tip + lid[:3, 3], posed[4], atol=1e-5)


def test_frame_option_keeps_the_static_scene(animated, tmp_path):
    import trimesh

    out, _, _ = animated
    static = tmp_path / "s.glb"
    assert cli_in_process("-q", "export", "--motion", out.with_suffix(".npz"), "--format", "glb", "--out", static,
                          "--frame", "3") == 0
    scene = trimesh.load(static, force="scene")
    assert sorted(scene.geometry) == ["left_hand", "object", "right_hand"]
    assert "animations" not in Glb(static).gltf and "skins" not in Glb(static).gltf


@pytest.fixture(scope="session")
def gltf_validator(request):
    """The command of the Khronos glTF validator (npm gltf-validator), installed once into a temp folder."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed: the Khronos glTF validator runs on node")
    folder = Path(tempfile.gettempdir()) / "handgen-test-gltf-validator"
    folder.mkdir(exist_ok=True)
    if not (folder / "node_modules" / "gltf-validator").is_dir():
        proc = subprocess.run(["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund",
                               "gltf-validator@2.0.0-dev.3.10"], capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0:
            pytest.skip(f"npm install gltf-validator failed (offline?): {proc.stderr.strip()[-200:]}")
    script = folder / "validate.js"
    script.write_text(
        "const v = require('gltf-validator'); const fs = require('fs');\n"
        "const data = new Uint8Array(fs.readFileSync(process.argv[2]));\n"
        "v.validateBytes(data).then(r => console.log(JSON.stringify(r.issues)))"
        ".catch(e => { console.error(e); process.exit(2); });\n")
    return ["node", str(script)]


def test_khronos_validator_reports_no_errors(animated, gltf_validator, tmp_path):
    out, _, _ = animated
    proc = subprocess.run([*gltf_validator, str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    issues = json.loads(proc.stdout)
    errors = [m for m in issues["messages"] if m["severity"] == 0]
    assert issues["numErrors"] == 0, errors
    assert issues["numWarnings"] == 0, issues["messages"]
