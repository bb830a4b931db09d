"""Animated, skinned two-hand glTF 2.0 (binary .glb) of a motion.

Each hand is a skeleton of glTF nodes named as in the BVH export (``left_wrist``,
``left_index1`` ... and the fingertips ``left_index_tip`` ...): the wrist node carries the
wrist's position and ``global_orient``, every finger joint its MANO local rotation, over
the rest offsets of the motion's hand model and betas (every MANO joint frame is aligned
with the world axes at rest, so the inverse bind matrices are pure translations). The rest
mesh of each hand (normals, one material per hand in the render colours) is skinned to its
skeleton with the hand model's linear-blend weights (the 4 largest per vertex); one
animation holds every frame at the motion's fps, linear interpolation. An object, when the
motion has one, is a node animated rigidly (its lid, if articulated, a child node turning
about the hinge). Metres, +y up (glTF's convention and handgen's).

The procedural hand is pure linear-blend skinning, so the glTF mesh is the model's mesh at
every frame; MANO adds pose correctives that glTF skinning cannot carry (millimetres).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch
import trimesh
from scipy.spatial.transform import Rotation

from handgen.export.bvh import bvh_joint_name, bvh_tip_name
from handgen.export.hand_rig import HandRig, hand_rigs
from handgen.hand.base import HandModel
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS, MANO_PARENTS, NUM_MANO_JOINTS, TIP_PARENTS
from handgen.io.atomic import atomic_path
from handgen.render.raster import LEFT_COLOR, OBJECT_COLOR, RIGHT_COLOR
from handgen.repr.motion import BimanualMotion
from handgen.repr.object_pose import ObjectTemplate

FLOAT, UINT8, UINT16, UINT32 = 5126, 5121, 5123, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
HAND_COLORS = {"left": LEFT_COLOR, "right": RIGHT_COLOR}


def skin_weights(hand: HandModel) -> np.ndarray:
    """Linear-blend weights (V, 16) of a hand model (procedural or MANO)."""
    weights = getattr(hand, "weights", None)
    if weights is None:
        weights = hand.mano.lbs_weights
    return weights.detach().cpu().double().numpy()


def top4(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 4 largest weights per vertex, renormalised: joints (V,4) uint8, weights (V,4) float32."""
    order = np.argsort(-weights, axis=1)[:, :4]
    w = np.take_along_axis(weights, order, axis=1).clip(min=0.0)
    w = w / w.sum(axis=1, keepdims=True)
    w = w.astype(np.float32)
    w[:, 0] += 1.0 - w.sum(axis=1)  # exact sums in float32 (the validator checks them)
    order[w == 0] = 0  # glTF: unused slots point at joint 0
    return order.astype(np.uint8), w


def _continuous(quats: np.ndarray) -> np.ndarray:
    """Quaternions (T, 4) with signs flipped so consecutive ones interpolate the short way."""
    out = quats.copy()
    for t in range(1, len(out)):
        if np.dot(out[t], out[t - 1]) < 0:
            out[t] = -out[t]
    return out


class _Builder:
    """Accumulates the JSON and the binary buffer of one .glb."""

    def __init__(self) -> None:
        self.gltf: dict[str, Any] = {"asset": {"version": "2.0", "generator": "handgen"}, "scene": 0,
                                     "scenes": [{"nodes": []}], "nodes": [], "meshes": [], "materials": [],
                                     "accessors": [], "bufferViews": [], "buffers": []}
        self.blob = bytearray()

    def accessor(self, data: np.ndarray, kind: str, target: int | None = None, bounds: bool = False) -> int:
        data = np.ascontiguousarray(data)
        component = {np.dtype(np.float32): FLOAT, np.dtype(np.uint8): UINT8, np.dtype(np.uint16): UINT16,
                     np.dtype(np.uint32): UINT32}[data.dtype]
        while len(self.blob) % 4:
            self.blob.append(0)
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": data.nbytes}
        if target is not None:
            view["target"] = target
        self.blob += data.tobytes()
        self.gltf["bufferViews"].append(view)
        count = data.shape[0]
        acc: dict[str, Any] = {"bufferView": len(self.gltf["bufferViews"]) - 1, "componentType": component,
                               "count": int(count), "type": kind}
        if bounds:
            flat = data.reshape(count, -1)
            acc["min"] = flat.min(axis=0).tolist()
            acc["max"] = flat.max(axis=0).tolist()
        self.gltf["accessors"].append(acc)
        return len(self.gltf["accessors"]) - 1

    def node(self, **fields: Any) -> int:
        self.gltf["nodes"].append({k: v for k, v in fields.items() if v is not None})
        return len(self.gltf["nodes"]) - 1

    def material(self, name: str, rgb: tuple[int, int, int]) -> int:
        self.gltf["materials"].append({"name": name, "pbrMetallicRoughness": {
            "baseColorFactor": [c / 255.0 for c in rgb] + [1.0], "metallicFactor": 0.0, "roughnessFactor": 0.7}})
        return len(self.gltf["materials"]) - 1

    def mesh(self, name: str, vertices: np.ndarray, faces: np.ndarray, material: int,
             skin: tuple[np.ndarray, np.ndarray] | None = None) -> int:
        normals = trimesh.Trimesh(vertices, faces, process=False).vertex_normals
        attributes = {"POSITION": self.accessor(vertices.astype(np.float32), "VEC3", ARRAY_BUFFER, bounds=True),
                      "NORMAL": self.accessor(normals.astype(np.float32), "VEC3", ARRAY_BUFFER)}
        if skin is not None:
            attributes["JOINTS_0"] = self.accessor(skin[0], "VEC4", ARRAY_BUFFER)
            attributes["WEIGHTS_0"] = self.accessor(skin[1], "VEC4", ARRAY_BUFFER)
        indices = self.accessor(faces.astype(np.uint32).reshape(-1), "SCALAR", ELEMENT_ARRAY_BUFFER)
        self.gltf["meshes"].append({"name": name, "primitives": [
            {"attributes": attributes, "indices": indices, "material": material}]})
        return len(self.gltf["meshes"]) - 1

    def glb(self) -> bytes:
        while len(self.blob) % 4:
            self.blob.append(0)
        self.gltf["buffers"] = [{"byteLength": len(self.blob)}]
        text = json.dumps(self.gltf, separators=(",", ":")).encode("utf-8")
        text += b" " * (-len(text) % 4)
        total = 12 + 8 + len(text) + 8 + len(self.blob)
        return b"".join([struct.pack("<4sII", b"glTF", 2, total), struct.pack("<I4s", len(text), b"JSON"), text,
                         struct.pack("<I4s", len(self.blob), b"BIN\x00"), bytes(self.blob)])


def _hand(b: _Builder, side: str, rig: HandRig, hand: HandModel, betas: np.ndarray, motion: BimanualMotion,
          index: int, channels: list[tuple[int, str, np.ndarray]]) -> tuple[int, int]:
    """The skeleton, skinned mesh and animation channels of one hand; returns (wrist node, mesh node)."""
    nodes: list[int] = []
    for j in range(NUM_MANO_JOINTS):
        offset = rig.rest_joints[j] if j == 0 else rig.rest_joints[j] - rig.rest_joints[MANO_PARENTS[j]]
        nodes.append(b.node(name=bvh_joint_name(side, j), translation=offset.tolist(), children=[]))
    tips = []
    for k, parent in enumerate(TIP_PARENTS):
        tips.append(b.node(name=bvh_tip_name(side, k), translation=rig.tip_offsets[k].tolist()))
        b.gltf["nodes"][nodes[parent]]["children"].append(tips[-1])
    for j in range(1, NUM_MANO_JOINTS):
        b.gltf["nodes"][nodes[MANO_PARENTS[j]]]["children"].append(nodes[j])
    for n in nodes:
        if not b.gltf["nodes"][n]["children"]:
            del b.gltf["nodes"][n]["children"]
    # animation: wrist position (rest joint + transl) and every joint's local rotation
    rotvecs = np.concatenate([motion.global_orient[:, index, None], motion.hand_pose[:, index].reshape(-1, 15, 3)], 1)
    for j in range(NUM_MANO_JOINTS):
        quats = _continuous(Rotation.from_rotvec(rotvecs[:, j]).as_quat())
        channels.append((nodes[j], "rotation", quats.astype(np.float32)))
    channels.append((nodes[0], "translation", (rig.rest_joints[0] + motion.transl[:, index]).astype(np.float32)))
    # the rest mesh, skinned (inverse bind matrices: translations by minus the rest joint)
    dtype = hand.hands_mean.dtype
    rest_pose = torch.zeros(45, dtype=dtype) if hand.flat_hand_mean else -hand.hands_mean.detach().cpu()
    with torch.no_grad():
        rest = hand(torch.zeros(3, dtype=dtype), rest_pose, torch.as_tensor(betas, dtype=dtype),
                    torch.zeros(3, dtype=dtype)).vertices.double().numpy()
    joints = nodes + tips
    ibm = np.tile(np.eye(4), (len(joints), 1, 1))
    ibm[:NUM_MANO_JOINTS, :3, 3] = -rig.rest_joints
    ibm[NUM_MANO_JOINTS:, :3, 3] = -rig.rest_tips
    ibm_acc = b.accessor(np.transpose(ibm, (0, 2, 1)).astype(np.float32).reshape(len(joints), 16), "MAT4")
    b.gltf.setdefault("skins", []).append({"name": f"{side}_hand", "inverseBindMatrices": ibm_acc,
                                           "joints": joints, "skeleton": nodes[0]})
    material = b.material(f"{side}_hand", HAND_COLORS[side])
    faces = hand.faces.detach().cpu().numpy().astype(np.int64)
    mesh = b.mesh(f"{side}_hand", rest, faces, material, top4(skin_weights(hand)))
    mesh_node = b.node(name=f"{side}_hand", mesh=mesh, skin=len(b.gltf["skins"]) - 1)
    return nodes[0], mesh_node


def _object(b: _Builder, template: ObjectTemplate, articulation: np.ndarray, rot: np.ndarray, transl: np.ndarray,
            channels: list[tuple[int, str, np.ndarray]]) -> int:
    """The object's node (rigid motion) with its lid as a child node turning about the hinge."""
    material = b.material("object", OBJECT_COLOR)
    face_parts = template.face_parts() if template.articulated else np.zeros(len(template.faces), dtype=np.int8)
    meshes = {}
    for part in (0, 1):
        faces = template.faces[face_parts == part]
        if len(faces) == 0:
            continue
        used, local = np.unique(faces, return_inverse=True)
        verts = template.vertices[used] - (template.pivot if part == 1 else 0.0)
        meshes[part] = b.mesh(f"object_part{part}", verts, local.reshape(-1, 3), material)
    root = b.node(name="object", mesh=meshes.get(0), children=[] if 1 in meshes else None)
    quats = _continuous(Rotation.from_rotvec(rot).as_quat())
    channels.append((root, "rotation", quats.astype(np.float32)))
    channels.append((root, "translation", transl.astype(np.float32)))
    if 1 in meshes:
        lid = b.node(name="object_lid", mesh=meshes[1], translation=template.pivot.tolist())
        b.gltf["nodes"][root]["children"].append(lid)
        lid_quats = _continuous(Rotation.from_rotvec(articulation[:, None] * template.axis).as_quat())
        channels.append((lid, "rotation", lid_quats.astype(np.float32)))
    return root


def animated_glb(
    motion: BimanualMotion, hands: HandPair,
    obj: tuple[ObjectTemplate, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> bytes:
    """The .glb bytes of ``motion`` (absolute hand poses, metres) as skinned hands and one animation."""
    b = _Builder()
    rigs = hand_rigs(hands, motion)
    channels: list[tuple[int, str, np.ndarray]] = []
    roots = []
    for index, side in enumerate(HANDS):
        roots += _hand(b, side, rigs[side], hands[side], motion.betas[index], motion, index, channels)
    if obj is not None:
        template, articulation, rot, transl = obj
        roots.append(_object(b, template, np.asarray(articulation, dtype=np.float64).reshape(-1),
                             np.asarray(rot, dtype=np.float64), np.asarray(transl, dtype=np.float64), channels))
    b.gltf["scenes"][0]["nodes"] = roots
    times = b.accessor((np.arange(motion.num_frames) / motion.fps).astype(np.float32), "SCALAR", bounds=True)
    samplers, targets = [], []
    for node, path, values in channels:
        kind = "VEC4" if path == "rotation" else "VEC3"
        samplers.append({"input": times, "output": b.accessor(values, kind), "interpolation": "LINEAR"})
        targets.append({"sampler": len(samplers) - 1, "target": {"node": node, "path": path}})
    b.gltf["animations"] = [{"name": "motion", "samplers": samplers, "channels": targets}]
    b.gltf["asset"]["extras"] = {"fps": float(motion.fps), "frames": int(motion.num_frames),
                                 "hand_model": hands.name}
    return b.glb()


def write_animated_glb(
    path: str | Path, motion: BimanualMotion, hands: HandPair,
    obj: tuple[ObjectTemplate, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Path:
    """Write :func:`animated_glb` to ``path`` atomically; returns the path."""
    path = Path(path)
    data = animated_glb(motion, hands, obj)
    with atomic_path(path, suffix=".glb") as tmp:
        tmp.write_bytes(data)
    return path
