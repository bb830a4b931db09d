"""Reading GRASP_DIR, the training data of the grasp prior (written by ``handgen prep grasps``).

Layout (the contract shared with the writer; see its module docstring)::

    GRASP_DIR/manifest.jsonl              one row per kept frame: id, split, object, category,
                                          text, shard, index, articulation, hand_model, ...
    GRASP_DIR/shards/<subj>/<seq>.npz     per-frame arrays: joints_normalized (N,2,21,3),
                                          hand_frame (N,4,4), object_rot (N,3), object_transl (N,3),
                                          articulation (N,), MANO params of both hands, ...
    GRASP_DIR/objects/<name>/mesh.obj     canonical template, metres (+ object.json, parts.json)

For training, each frame gives the object's SDF on the 64^3 grid of the right hand's
normalised frame (from a per-object SDF grid, computed once and cached in
``GRASP_DIR/sdf_cache/`` or ``cache_dir``) and both hands' 20-channel fields (from
``joints_normalized``). Articulated objects get one SDF grid per articulation bin.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handgen.errors import HandgenError, InputFileError
from handgen.geometry.mesh_file import read_mesh
from handgen.grasp.grid_sampling import GridSDF, object_sdf_in_hand_frame
from handgen.grasp.hand_frame import FRAME_SCALE
from handgen.grasp.object_sdf import SDFGrid, compute_sdf_grid
from handgen.io.atomic import atomic_save_npz

log = logging.getLogger(__name__)
_REQUIRED_ARRAYS = ("joints_normalized", "hand_frame", "object_rot", "object_transl")


@dataclass
class GraspObject:
    """An object template of GRASP_DIR/objects/<name>/."""

    name: str
    category: str
    vertices: np.ndarray  # (V,3) metres, articulation 0
    faces: np.ndarray
    articulated: bool = False
    axis: np.ndarray | None = None
    pivot: np.ndarray | None = None
    parts: np.ndarray | None = None  # (V,) 1 = moving top part

    def vertices_at(self, articulation: float) -> np.ndarray:
        """Template vertices with the top part rotated by ``articulation`` radians."""
        if not self.articulated or self.parts is None or articulation == 0.0:
            return self.vertices
        import roma

        axis = np.asarray(self.axis, dtype=np.float64)
        rot = roma.rotvec_to_rotmat(torch.tensor(axis / np.linalg.norm(axis) * articulation)).numpy()
        out = self.vertices.copy()
        top = self.parts.astype(bool)
        out[top] = (out[top] - self.pivot) @ rot.T + self.pivot
        return out


def load_grasp_object(folder: Path) -> GraspObject:
    """Read one object folder (mesh.obj, object.json, optional parts.json)."""
    mesh = read_mesh(folder / "mesh.obj", what="object template")
    meta_path = folder / "object.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    parts = None
    if (folder / "parts.json").is_file():
        raw = json.loads((folder / "parts.json").read_text())
        parts = np.asarray(raw.get("labels", raw) if isinstance(raw, dict) else raw, dtype=np.int64)
        if len(parts) != len(mesh.vertices):
            raise InputFileError(folder / "parts.json", f"{len(parts)} labels for {len(mesh.vertices)} vertices")
    return GraspObject(
        name=str(meta.get("name", folder.name)),
        category=str(meta.get("category", folder.name)),
        vertices=np.asarray(mesh.vertices, dtype=np.float64),
        faces=np.asarray(mesh.faces, dtype=np.int64),
        articulated=bool(meta.get("articulated", False)),
        axis=np.asarray(meta.get("axis", [0.0, 0.0, -1.0]), dtype=np.float64),
        pivot=np.asarray(meta.get("pivot", [0.0, 0.0, 0.0]), dtype=np.float64),
        parts=parts,
    )


class GraspDataset:
    """The frames of one or more splits of a GRASP_DIR, with their object SDFs.

    Args:
        root: GRASP_DIR.
        splits: manifest splits to keep.
        cache_dir: where per-object SDF grids are cached (default GRASP_DIR/sdf_cache).
        sdf_cells: voxels along the longest side of each object's SDF grid.
        articulation_step: radians per SDF bin of articulated objects.

    Raises:
        InputFileError: missing manifest, shards, objects or arrays.
    """

    def __init__(
        self, root: str | Path, splits: tuple[str, ...] = ("train",), cache_dir: str | Path | None = None,
        sdf_cells: int = 64, articulation_step: float = 0.1,
    ) -> None:
        self.root = Path(root)
        manifest = self.root / "manifest.jsonl"
        if not manifest.is_file():
            raise InputFileError(self.root, "not a GRASP_DIR (no manifest.jsonl); make one with `handgen prep grasps`")
        rows = []
        for n, line in enumerate(manifest.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputFileError(manifest, f"line {n} is not JSON ({exc.msg})") from exc
        self.rows = [r for r in rows if r.get("split", "train") in splits]
        self.cache_dir = Path(cache_dir) if cache_dir else self.root / "sdf_cache"
        self.sdf_cells = int(sdf_cells)
        self.articulation_step = float(articulation_step)
        self._shards: dict[str, dict[str, np.ndarray]] = {}
        self._objects: dict[str, GraspObject] = {}
        self._grids: dict[tuple[str, int], SDFGrid] = {}
        self._cache_warned = False
        for r in self.rows:
            self._shard(r["shard"])
            self.object(r["object"])
        self.hand_models = sorted({str(r.get("hand_model", "procedural")) for r in self.rows})

    def __len__(self) -> int:
        return len(self.rows)

    def _shard(self, rel: str) -> dict[str, np.ndarray]:
        if rel not in self._shards:
            path = self.root / rel
            if not path.is_file():
                raise InputFileError(path, "shard listed in manifest.jsonl is missing")
            try:
                with np.load(path) as z:
                    arrays = {k: z[k] for k in z.files}
            except Exception as exc:
                raise InputFileError(path, f"unreadable shard ({exc})") from exc
            for key in _REQUIRED_ARRAYS:
                if key not in arrays:
                    raise InputFileError(path, f"missing array {key!r}")
                if not np.isfinite(arrays[key]).all():
                    raise InputFileError(path, f"array {key!r} has NaN/inf")
            if "articulation" not in arrays:
                arrays["articulation"] = np.zeros(len(arrays["object_rot"]))
            self._shards[rel] = arrays
        return self._shards[rel]

    def object(self, name: str) -> GraspObject:
        if name not in self._objects:
            self._objects[name] = load_grasp_object(self.root / "objects" / name)
        return self._objects[name]

    def frame(self, i: int) -> dict:
        """Arrays of item ``i`` plus its manifest row (``row``)."""
        r = self.rows[i]
        arrays = self._shard(r["shard"])
        k = int(r["index"])
        return {key: arrays[key][k] for key in arrays} | {"row": r}

    def text(self, i: int) -> str:
        r = self.rows[i]
        return str(r.get("text") or f"grasp {r.get('category', r['object'])} with both hands")

    def joints_normalized(self, indices) -> np.ndarray:
        """(B, 2, 21, 3) both hands' joints in the right hand's normalised frame."""
        return np.stack([self.frame(int(i))["joints_normalized"] for i in indices]).astype(np.float32)

    def object_in_right_local(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(rot (3,3), transl (3,)) with ``p = rot x + transl`` from object template to the right-local
        frame shifted so that the normalised frame's centre is the origin (metres)."""
        import roma

        f = self.frame(i)
        h = np.asarray(f["hand_frame"], dtype=np.float64)
        lin = FRAME_SCALE * h[:3, :3]
        if np.abs(lin @ lin.T - np.eye(3)).max() > 1e-3:
            raise InputFileError(self.root / f["row"]["shard"], "hand_frame is not a rotation scaled by 1/0.2")
        r_obj = roma.rotvec_to_rotmat(torch.tensor(f["object_rot"], dtype=torch.float64)).numpy()
        rot = lin @ r_obj
        transl = FRAME_SCALE * (h[:3, :3] @ f["object_transl"] + h[:3, 3])
        return rot, transl

    def sdf_grid(self, name: str, articulation: float = 0.0) -> SDFGrid:
        """The object's SDF grid at (the bin of) ``articulation``, cached in memory and on disk."""
        obj = self.object(name)
        b = int(round(articulation / self.articulation_step)) if obj.articulated else 0
        key = (name, b)
        if key not in self._grids:
            path = self.cache_dir / f"{name}_b{b:+04d}_s{self.articulation_step:g}_c{self.sdf_cells}.npz"
            grid = None
            if path.is_file():
                try:
                    with np.load(path) as z:
                        grid = SDFGrid.from_npz_dict(z)
                except Exception:
                    grid = None
            if grid is None:
                verts = obj.vertices_at(b * self.articulation_step)
                grid = compute_sdf_grid(verts, obj.faces, max_cells=self.sdf_cells)
                self._save_grid(path, grid)
            self._grids[key] = grid
        return self._grids[key]

    def _save_grid(self, path: Path, grid: SDFGrid) -> None:
        try:
            atomic_save_npz(path, **grid.to_npz_dict())
        except OSError as exc:
            if not self._cache_warned:
                log.warning("cannot cache object SDFs in %s (%s); keeping them in memory", self.cache_dir, exc)
                self._cache_warned = True

    def object_grids(
        self, indices, resolution: int = 64, generator: torch.Generator | None = None, rotate: bool = False,
        jitter: float = 0.0,
    ) -> torch.Tensor:
        """Objects' truncated SDFs (B, 1, r, r, r) on the hand-frame grid, values in [-1, 1].

        ``rotate`` turns each object by a random rotation about the frame centre and
        ``jitter`` shifts it by up to that many metres (augmentation for the autoencoder).
        """
        import roma


        out = []
        zero = torch.zeros(3)
        for i in indices:
            r = self.rows[int(i)]
            rot, transl = (torch.tensor(a, dtype=torch.float32) for a in self.object_in_right_local(int(i)))
            if rotate:
                q = roma.random_rotmat(generator=generator)
                rot, transl = q @ rot, q @ transl
            if jitter > 0:
                transl = transl + jitter * (2 * torch.rand(3, generator=generator) - 1)
            sdf = GridSDF.from_grid(self.sdf_grid(r["object"], float(self.frame(int(i))["articulation"])))
            out.append(object_sdf_in_hand_frame(sdf, rot[None], transl[None], zero, resolution))
        return torch.cat(out)

    def categories(self) -> list[str]:
        return sorted({str(r.get("category", r["object"])) for r in self.rows})


def require_items(dataset: GraspDataset, what: str) -> None:
    if len(dataset) == 0:
        raise HandgenError(f"{dataset.root}: no {what} frames in manifest.jsonl")
