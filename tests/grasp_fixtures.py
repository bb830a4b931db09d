"""A small GRASP_DIR (the ``handgen prep grasps`` format) of bimanual grasps around primitives.

Used by the grasp tests, and (``python -m tests.grasp_fixtures OUT --per-object 40 --refine``)
to make development data: boxes, cylinders, spheres and the YCB meshes, each held palm to
palm by both hands (see :mod:`handgen.grasp.placement`), optionally refined so that the
fingertips rest on the surface, then placed in a random world frame.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import roma
import torch
import trimesh

from handgen.grasp.hand_frame import hand_frame_matrix, transform_hand_params
from handgen.grasp.object_sdf import MeshSDF
from handgen.grasp.placement import facing_palms
from handgen.hand import make_hand_pair
from handgen.hand.topology import FINGERTIP_KEYPOINTS, HANDS

CONTACT_DIST = 0.01


def primitive_objects(seed: int = 0, count: int = 2, ycb_dir: Path | None = None) -> list[tuple[str, str, trimesh.Trimesh]]:
    """(name, category, mesh) of ``count`` random primitives per kind (+ the YCB meshes if given)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        dims = rng.uniform([0.05, 0.08, 0.04], [0.12, 0.2, 0.1])
        out.append((f"box{k}", "box", trimesh.creation.box(dims)))
        r, h = rng.uniform(0.025, 0.045), rng.uniform(0.08, 0.2)
        out.append((f"cylinder{k}", "cylinder", trimesh.creation.cylinder(radius=r, height=h, sections=32)))
        out.append((f"ball{k}", "ball", trimesh.creation.icosphere(subdivisions=3, radius=rng.uniform(0.035, 0.07))))
    if ycb_dir is not None:
        from handgen.grasp.mesh_input import load_object_mesh

        cats = {"CrackerBox": "box", "MasterChefCan": "can", "TomatoSoupCan": "can"}
        for path in sorted(Path(ycb_dir).glob("*.obj")):
            m = load_object_mesh(path)
            out.append((path.stem.lower(), cats.get(path.stem, path.stem.lower()),
                        trimesh.Trimesh(m.vertices - m.center, m.faces, process=False)))
    return out


def _place(hands, mesh: trimesh.Trimesh, n: int, gen: torch.Generator):
    """Both hands around the object (object frame): orient, transl (n,2,3), pose (n,2,45)."""
    verts = torch.tensor(mesh.vertices, dtype=torch.float32)
    rot = roma.random_rotmat(n, generator=gen)
    spin = (torch.rand(n, generator=gen) - 0.5) * 1.2
    pl = facing_palms(hands, verts, rot, spin)
    inv = rot.transpose(1, 2)
    shift = -(inv @ pl["object_transl"][..., None])[..., 0]
    zeros = torch.zeros(n, 3)
    ro, rt = transform_hand_params(zeros, zeros, inv, shift, hands.right.rest_joints()[0].expand(n, 3))
    lo, lt = transform_hand_params(pl["left_orient"], pl["left_transl"], inv, shift, hands.left.rest_joints()[0].expand(n, 3))
    pose = torch.stack([hands.left.hands_mean, hands.right.hands_mean]).expand(n, 2, 45).clone()
    pose = pose + 0.1 * torch.randn(pose.shape, generator=gen)
    return torch.stack([lo, ro], 1), torch.stack([lt, rt], 1), pose


def write_grasp_dir(
    root: str | Path, objects=None, per_object: int = 3, seed: int = 0, refine_steps: int = 0,
    val_fraction: float = 0.25,
) -> Path:
    """Write a GRASP_DIR with ``per_object`` frames per object; returns ``root``."""
    from handgen.grasp.grid_sampling import GridSDF
    from handgen.grasp.object_sdf import compute_sdf_grid
    from handgen.grasp.refinement import RefineConfig, refine_grasps
    from handgen.io.atomic import atomic_save_npz, atomic_write_json, atomic_write_jsonl

    root = Path(root)
    hands = make_hand_pair()
    gen = torch.Generator().manual_seed(seed)
    objects = objects if objects is not None else primitive_objects(seed, 1)
    manifest = []
    for name, category, mesh in objects:
        folder = root / "objects" / name
        folder.mkdir(parents=True, exist_ok=True)
        mesh.export(folder / "mesh.obj")
        atomic_write_json(folder / "object.json", {"name": name, "category": category, "articulated": False,
                                                   "axis": [0, 0, -1], "pivot": [0, 0, 0]})
        orient, transl, pose = _place(hands, mesh, per_object, gen)
        if refine_steps:
            grid = GridSDF.from_grid(compute_sdf_grid(mesh.vertices, mesh.faces, max_cells=64))
            grasp, _ = refine_grasps(hands, grid, orient, transl, pose, RefineConfig(steps=refine_steps))
            orient, transl, pose = grasp.orient.detach(), grasp.transl.detach(), grasp.pose.detach()
        # a random world frame: x_world = W x_object + w
        w_rot = roma.random_rotmat(per_object, generator=gen)
        w_shift = torch.randn(per_object, 3, generator=gen) * 0.2
        params = {}
        for i, h in enumerate(HANDS):
            go, tr = transform_hand_params(orient[:, i], transl[:, i], w_rot, w_shift, hands[h].rest_joints()[0].expand(per_object, 3))
            params[h] = (go, pose[:, i], tr)
        with torch.no_grad():
            outs = {h: hands[h](params[h][0], params[h][1], None, params[h][2]) for h in HANDS}
            frame = hand_frame_matrix(hands.right, params["right"][0], params["right"][2])
        joints = torch.stack([outs[h].joints for h in HANDS], 1).numpy()
        verts_world = torch.stack([outs[h].vertices for h in HANDS], 1).numpy()
        normalized = (np.einsum("bij,bhkj->bhki", frame[:, :3, :3].numpy(), joints) + frame[:, None, None, :3, 3].numpy())
        # contact statistics in the object frame
        sdf = MeshSDF(mesh.vertices, mesh.faces)
        inv_rot = w_rot.transpose(1, 2).numpy()
        local_v = np.einsum("bij,bhvj->bhvi", inv_rot, verts_world - w_shift.numpy()[:, None, None])
        local_j = np.einsum("bij,bhkj->bhki", inv_rot, joints - w_shift.numpy()[:, None, None])
        v_sdf = sdf(local_v.reshape(-1, 3)).reshape(local_v.shape[:3])
        t_sdf = sdf(local_j[:, :, list(FINGERTIP_KEYPOINTS)].reshape(-1, 3)).reshape(per_object, 2, 5)
        seq = f"{name}_grasp"
        shard_rel = f"shards/s01/{seq}.npz"
        arrays = {
            "frame": np.arange(per_object, dtype=np.int64),
            "joints": joints.astype(np.float32),
            "object_rot": roma.rotmat_to_rotvec(w_rot).numpy().astype(np.float32),
            "object_transl": w_shift.numpy().astype(np.float32),
            "articulation": np.zeros(per_object, dtype=np.float32),
            "hand_frame": frame.numpy().astype(np.float32),
            "joints_normalized": normalized.astype(np.float32),
            "contact_fraction": (np.abs(v_sdf) < CONTACT_DIST).mean(-1).astype(np.float32),
            "tips_in_contact": np.abs(t_sdf) < CONTACT_DIST,
        }
        for h in HANDS:
            arrays[f"{h}_global_orient"] = params[h][0].numpy().astype(np.float32)
            arrays[f"{h}_hand_pose"] = params[h][1].numpy().astype(np.float32)
            arrays[f"{h}_transl"] = params[h][2].numpy().astype(np.float32)
            arrays[f"{h}_betas"] = np.zeros((per_object, 10), dtype=np.float32)
        atomic_save_npz(root / shard_rel, **arrays)
        n_val = int(round(per_object * val_fraction))
        for k in range(per_object):
            manifest.append({
                "id": f"s01/{seq}/{k:06d}", "source": "synthetic", "subject": "s01", "sequence": seq, "frame": k,
                "object": name, "category": category, "text": f"grasp {category} with both hands",
                "articulation": 0.0, "split": "val" if k < n_val else "train", "shard": shard_rel, "index": k,
                "contact": {h: float(arrays["contact_fraction"][k, i]) for i, h in enumerate(HANDS)},
                "hand_model": hands.name,
            })
    atomic_write_jsonl(root / "manifest.jsonl", sorted(manifest, key=lambda r: r["id"]))
    atomic_write_json(root / "meta.json", {"format": 1, "contact_dist": CONTACT_DIST, "min_fraction": 0.0,
                                           "hand_model": hands.name, "frames": len(manifest), "source": "tests.grasp_fixtures"})
    (root / "skipped.jsonl").write_text("")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--per-object", type=int, default=40)
    parser.add_argument("--kinds", type=int, default=4, help="random primitives per kind")
    parser.add_argument("--refine", type=int, default=200, help="refinement steps (0: placement only)")
    parser.add_argument("--ycb", default=None, help="folder of YCB meshes to include")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    objs = primitive_objects(args.seed, args.kinds, Path(args.ycb) if args.ycb else None)
    write_grasp_dir(args.out, objs, args.per_object, args.seed, args.refine)
    print(json.dumps({"out": args.out, "objects": len(objs)}))


if __name__ == "__main__":
    main()
