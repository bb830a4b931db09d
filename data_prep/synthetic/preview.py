"""Contact sheets of synthetic sequences: both hand meshes (and the object) at a few frames, from a few views.

``python -m data_prep.synthetic.preview RAW_DIR SEQUENCE [SEQUENCE ...] --out DIR``
writes ``DIR/<subject>_<name>.png`` (rows = views, columns = frames, captions on top).
A sequence with a ``.object.npy`` is drawn with its object posed from the template in
``RAW_DIR/meta/object_vtemplates/``.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from data_prep.arctic_objects import (
    OBJECT_SUFFIX,
    load_template,
    object_name_of,
    pose_object,
    read_object_track,
    template_folder,
)
from handgen.render.camera import Camera
from handgen.render.raster import LEFT_COLOR, OBJECT_COLOR, RIGHT_COLOR, MeshLayer, draw_meshes, new_canvas

from data_prep.synthetic.readback import PosedSequence, load_mano_npy, pose_sequence

TILE = 240
HEADER = 64
# viewing directions (camera -> scene): facing the person at about eye level, from above, from their left
VIEWS: dict[str, tuple[float, float, float]] = {
    "face": (0.0, -0.2, -1.0),
    "top": (0.0, -1.0, 0.001),
    "side": (-1.0, -0.3, 0.0),
}


def render_sheet(
    posed: PosedSequence, title: str, frames: list[int] | None = None, views: tuple[str, ...] = ("face", "top", "side"),
    object_mesh: tuple[np.ndarray, np.ndarray] | None = None,
) -> Image.Image:
    """One image: a row per view, a column per frame; the camera frames the whole sequence.

    ``object_mesh``: posed object vertices (F, V, 3) and faces, drawn grey.
    """
    total = len(posed.joints)
    frames = frames if frames is not None else np.linspace(0, total - 1, 6).round().astype(int).tolist()
    sheet = Image.new("RGB", (TILE * len(frames), HEADER + TILE * len(views)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.multiline_text((4, 2), "\n".join(textwrap.wrap(title, 40 * len(frames) // 2)[:4]), fill=(0, 0, 0))
    everything = posed.vertices.reshape(-1, 3)
    if object_mesh is not None:
        everything = np.concatenate([everything, object_mesh[0][frames].reshape(-1, 3)])
    for row, view in enumerate(views):
        camera = Camera.framing(everything, view=VIEWS.get(view, view), size=(TILE, TILE), margin=0.04)
        for col, f in enumerate(frames):
            img = new_canvas(camera)
            layers = [
                MeshLayer(posed.vertices[f, 0], posed.faces[0], LEFT_COLOR),
                MeshLayer(posed.vertices[f, 1], posed.faces[1], RIGHT_COLOR),
            ]
            if object_mesh is not None:
                layers.append(MeshLayer(object_mesh[0][f], object_mesh[1], OBJECT_COLOR))
            draw_meshes(img, camera, layers)
            tile = ImageDraw.Draw(img)
            tile.text((4, 4), f"{view} f{f}", fill=(0, 0, 0))
            tile.rectangle([0, 0, TILE - 1, TILE - 1], outline=(200, 200, 200))
            sheet.paste(img, (col * TILE, HEADER + row * TILE))
    return sheet


def _segment_title(raw_dir: Path, key: str) -> str:
    path = raw_dir / "captions.jsonl"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["sequence"] == key:
                c = row["captions"][0]
                labels = json.dumps(row["labels"], sort_keys=True)
                return f"{key} {labels} | L: {c['left']} | R: {c['right']} | B: {c['both']}"
    return key


def _object_mesh(raw_dir: Path, key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The sequence's object posed per frame (F, V, 3) with its faces, or None."""
    path = raw_dir / "raw_seqs" / f"{key}{OBJECT_SUFFIX}"
    if not path.is_file():
        return None
    name = object_name_of(key.split("/")[-1])
    template = load_template(template_folder(raw_dir, name), name)
    track = read_object_track(path)
    return pose_object(template, track.articulation, track.rot, track.transl), template.faces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir")
    parser.add_argument("sequences", nargs="+", help="keys like s03/hands_use_0007")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    raw_dir, out = Path(args.raw_dir), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for key in args.sequences:
        posed = pose_sequence(load_mano_npy(raw_dir / "raw_seqs" / f"{key}.mano.npy"))
        render_sheet(posed, _segment_title(raw_dir, key), object_mesh=_object_mesh(raw_dir, key)).save(
            out / f"{key.replace('/', '_')}.png"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
