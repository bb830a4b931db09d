"""Animate a bimanual motion to a GIF (Pillow) or MP4 (imageio + imageio-ffmpeg).

One fixed orthographic camera frames the whole clip (every frame's hands fit, with a small
margin, in a picture shaped like the clip); the left hand is drawn blue, the right orange
(posed meshes of the hand model, or 21-keypoint skeletons), objects grey, with a legend naming
them, over a floor grid that carries the hands' shadows. The three texts sit above the scene as
a wrapped title, with a frame counter in the corner; fingertip trails are optional.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from handgen.errors import HandgenError
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS
from handgen.io.atomic import atomic_path
from handgen.render.camera import VIEWS, Camera
from handgen.render.floor import Floor
from handgen.render.object_layer import ObjectFrames
from handgen.render.overlay import FINGERTIPS, draw_legend, draw_trails
from handgen.render.raster import (
    BACKGROUND,
    LEFT_COLOR,
    OBJECT_COLOR,
    RIGHT_COLOR,
    MeshLayer,
    draw_meshes,
    draw_skeleton,
)
from handgen.repr.motion import BimanualMotion

log = logging.getLogger(__name__)
FORMATS = (".gif", ".mp4")
DEFAULT_VIEW = "three-quarter"
DEFAULT_SIZE = 512
HAND_COLORS = (LEFT_COLOR, RIGHT_COLOR)
TEXT_COLOR = (40, 40, 40)
_TITLE_ROWS = (("left", "Left", LEFT_COLOR), ("right", "Right", RIGHT_COLOR), ("both", "Both", TEXT_COLOR))


def _font(pixels: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=pixels)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default()


def _wrap(text: str, font, width: float) -> list[str]:
    """Greedy word wrap to ``width`` pixels (a word longer than a line is cut)."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if font.getlength(candidate) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
        while font.getlength(line) > width and len(line) > 1:
            cut = max(1, int(len(line) * width / font.getlength(line)))
            lines.append(line[:cut])
            line = line[cut:]
    if line:
        lines.append(line)
    return lines


def title_strip(texts: Mapping[str, str], width: int, font_px: int) -> Image.Image | None:
    """The wrapped title (one coloured label per non-empty text), or None when all are empty."""
    font = _font(font_px)
    pad = max(4, font_px // 2)
    line_h = int(font_px * 1.3)
    blocks = []
    for key, label, color in _TITLE_ROWS:
        text = (texts.get(key) or "").strip()
        if not text:
            continue
        label_w = font.getlength(f"{label}: ")
        blocks.append((f"{label}: ", color, label_w, _wrap(text, font, width - 2 * pad - label_w)))
    if not blocks:
        return None
    height = 2 * pad + line_h * sum(len(lines) for *_, lines in blocks)
    strip = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(strip)
    y = pad
    for label, color, label_w, lines in blocks:
        draw.text((pad, y), label, fill=color, font=font)
        for line in lines:
            draw.text((pad + label_w, y), line, fill=TEXT_COLOR, font=font)
            y += line_h
    draw.line([(0, height - 1), (width, height - 1)], fill=(210, 210, 205))
    return strip


def _posed_vertices(motion: BimanualMotion, hands: HandPair) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Vertices (T,V,3) and faces (F,3) of both hands, one hand-model call per hand."""
    if not hands.flat_hand_mean:
        raise ValueError("render_motion needs a flat_hand_mean=True HandPair (BimanualMotion poses are absolute)")
    params = motion.torch_params()
    verts, faces = [], []
    with torch.no_grad():
        for side in HANDS:
            out = hands.pose(side, params)
            verts.append(out.vertices.numpy().astype(np.float64))
            faces.append(out.faces.numpy())
    return verts, faces


def hand_share(frames: Sequence[Image.Image], top: int = 0) -> tuple[float, float]:
    """How much of the scene the hands take: (box, pixels).

    ``box`` is the area of the box around every hand-coloured pixel of the clip over the scene's
    area (below ``top`` title rows); ``pixels`` the mean fraction of hand-coloured pixels per frame.
    """
    boxes, shares = [], []
    for frame in frames:
        img = np.asarray(frame.convert("RGB"), dtype=np.int16)[top:]
        r, g, b = img[..., 0], img[..., 1], img[..., 2]
        hand = ((b > r + 40) | (r > b + 40)) & (np.abs(r - g) + np.abs(b - g) > 50)
        shares.append(float(hand.mean()))
        ys, xs = np.nonzero(hand)
        if len(xs):
            boxes.append((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    if not boxes:
        return 0.0, 0.0
    b = np.array(boxes)
    h, w = np.asarray(frames[0]).shape[0] - top, np.asarray(frames[0]).shape[1]
    area = (b[:, 2].max() - b[:, 0].min()) * (b[:, 3].max() - b[:, 1].min())
    return float(area / (w * h)), float(np.mean(shares))


def render_frames(
    motion: BimanualMotion, hands: HandPair | None, texts: Mapping[str, str] | None = None, *,
    view: str = DEFAULT_VIEW, skeleton: bool = False, size: int = DEFAULT_SIZE, joints: np.ndarray | None = None,
    label: str | None = None, objects: Sequence[ObjectFrames] = (), floor: bool = True, trails: int = 0,
    turntable: int = 0,
) -> list[Image.Image]:
    """RGB frames of the animation (see :func:`render_motion`)."""
    if turntable and motion.num_frames != 1:
        raise HandgenError(f"a turntable shows one frame (a grasp); this motion has {motion.num_frames}")
    if view not in VIEWS:
        raise HandgenError(f"unknown view {view!r}; choose one of {', '.join(VIEWS)}")
    if size < 64:
        raise HandgenError(f"--size must be at least 64 pixels, got {size}")
    if trails < 0:
        raise HandgenError(f"--trails must be 0 (off) or a number of frames, got {trails}")
    t = motion.num_frames
    if joints is None and (skeleton or trails):
        if hands is None:
            raise ValueError("skeleton rendering and trails need joints or a HandPair")
        joints = motion.joints(hands)
    if joints is not None:
        joints = np.asarray(joints, dtype=np.float64)
    if skeleton:
        framed = [joints.reshape(-1, 3)]
    else:
        if hands is None:
            raise ValueError("mesh rendering needs a HandPair")
        verts, faces = _posed_vertices(motion, hands)
        framed = [v.reshape(-1, 3) for v in verts]
    for obj in objects:
        if len(obj.vertices) != t:
            raise ValueError(f"object has {len(obj.vertices)} frames, the motion {t}")
        framed.append(obj.vertices.reshape(-1, 3))
    everything = np.concatenate(framed)
    ground = Floor.under(everything) if floor else None
    if ground is not None:  # the shadows must fit too; the grid may run off the picture
        everything = np.concatenate([everything, ground.flatten(everything[:: max(1, len(everything) // 20000)])])
    if turntable:
        cameras = Camera.turntable(everything, turntable, view=view, long_side=size)
    else:
        cameras = [Camera.fit(everything, view=view, long_side=size)]
    width, height = cameras[0].size
    font_px = max(11, max(width, height) // 34)
    title = title_strip(texts or {}, width, font_px)
    top = title.height if title is not None else 0
    base = Image.new("RGB", (width, top + height), BACKGROUND)
    if title is not None:
        base.paste(title, (0, 0))
    font = _font(font_px)
    backdrops = [Image.new("RGB", (width, height), BACKGROUND) for _ in cameras]
    if ground is not None:
        for backdrop, camera in zip(backdrops, cameras):
            ground.draw_grid(backdrop, camera)
    legend = [("left hand", LEFT_COLOR), ("right hand", RIGHT_COLOR)]
    if objects:
        legend.append(("object", OBJECT_COLOR))
    frames = []
    for k in range(turntable or t):
        i = 0 if turntable else k  # the motion's frame
        camera = cameras[k % len(cameras)]
        scene = backdrops[k % len(backdrops)].copy()
        object_layers = [MeshLayer(obj.vertices[i], obj.faces, OBJECT_COLOR) for obj in objects]
        if ground is not None:
            shadow_meshes = [(obj.vertices[i], obj.faces) for obj in objects]
            if not skeleton:
                shadow_meshes += [(verts[h][i], faces[h]) for h in range(2)]
            ground.draw_shadows(scene, camera, shadow_meshes)
        if trails:
            for h in range(2):
                draw_trails(scene, camera, joints[max(0, i - trails) : i + 1, h][:, FINGERTIPS], HAND_COLORS[h])
        if skeleton:
            draw_meshes(scene, camera, object_layers)
            for h in range(2):
                draw_skeleton(scene, camera, joints[i, h], HAND_COLORS[h])
        else:
            layers = [MeshLayer(verts[h][i], faces[h], HAND_COLORS[h]) for h in range(2)]
            draw_meshes(scene, camera, layers + object_layers)
        draw_legend(scene, legend, font, font_px)
        draw = ImageDraw.Draw(scene)
        counter = f"view {k + 1}/{turntable}" if turntable else f"frame {i + 1}/{t}  {i / motion.fps:.2f} s"
        draw.text((6, height - font_px - 6), counter, fill=TEXT_COLOR, font=font)
        if label:
            draw.text((width - 6 - font.getlength(label), height - font_px - 6), label, fill=(130, 130, 130), font=font)
        frame = base.copy()
        frame.paste(scene, (0, top))
        frames.append(frame)
    return frames


def _write_gif(frames: Sequence[Image.Image], path: Path, fps: float) -> None:
    # one palette for the whole clip: stable colours and a faster encode than per-frame palettes
    palette = frames[0].quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    indexed = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    duration = max(20, int(round(1000.0 / fps)))
    indexed[0].save(path, format="GIF", save_all=True, append_images=indexed[1:], duration=duration, loop=0)


def check_output(out: str | Path) -> str:
    """The animation format (".gif"/".mp4") of ``out``; raises HandgenError before any work when unusable."""
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise HandgenError(f"{out}: unsupported animation format {Path(out).suffix!r}; use .gif or .mp4")
    if suffix == ".mp4" and importlib.util.find_spec("imageio_ffmpeg") is None:
        raise HandgenError(
            f"{out}: writing .mp4 needs the imageio-ffmpeg package (pip install imageio-ffmpeg), or use a .gif"
        )
    return suffix


def _write_mp4(frames: Sequence[Image.Image], path: Path, fps: float) -> None:
    import imageio.v2 as imageio

    w, h = frames[0].size
    pad_w, pad_h = w + w % 2, h + h % 2  # H.264 wants even sizes
    with imageio.get_writer(path, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=1,
                            pixelformat="yuv420p") as writer:
        for frame in frames:
            canvas = Image.new("RGB", (pad_w, pad_h), BACKGROUND)
            canvas.paste(frame, (0, 0))
            writer.append_data(np.asarray(canvas))


def render_motion(
    motion: BimanualMotion, hands: HandPair | None, texts: Mapping[str, str] | None, out: str | Path, *,
    view: str = DEFAULT_VIEW, skeleton: bool = False, size: int = DEFAULT_SIZE, joints: np.ndarray | None = None,
    fps: float | None = None, label: str | None = None, objects: Sequence[ObjectFrames] = (), floor: bool = True,
    trails: int = 0, turntable: int = 0,
) -> Path:
    """Render ``motion`` to ``out`` (.gif or .mp4) at ``fps`` (default: the motion's) atomically.

    Args:
        motion: absolute hand_pose (flat-hand-mean), metres.
        hands: a flat_hand_mean=True HandPair for meshes (may be None with ``skeleton`` and ``joints``).
        texts: {"left", "right", "both"} shown as the title (empty ones are left out).
        view: a name of :data:`handgen.render.camera.VIEWS` (handgen's canonical frame, +y up, +z forward);
            the default three-quarter view shows the fingers from the side.
        skeleton: draw 21-keypoint skeletons (``joints`` (T,2,21,3) if given) instead of meshes.
        size: the scene's long side in pixels; the other side follows the clip's shape (between 9:16 and
            16:9), and the camera fits every frame's hands (and shadows) with a 6% margin. The title
            adds height above it.
        floor: draw a floor grid under the clip and the hands' shadows on it.
        trails: draw each fingertip's path over this many past frames (0: none).
        turntable: for a one-frame motion (a grasp), this many views circling it (0: the frame itself).
        label: small grey text in the bottom-right corner (e.g. the hand model).
        objects: objects posed per frame (:func:`handgen.render.object_layer.object_frames`), drawn grey.

    Raises:
        HandgenError: unknown view or extension, .mp4 without imageio-ffmpeg.
    """
    out = Path(out)
    suffix = check_output(out)
    started = time.perf_counter()
    frames = render_frames(motion, hands, texts, view=view, skeleton=skeleton, size=size, joints=joints, label=label,
                           objects=objects, floor=floor, trails=trails, turntable=turntable)
    rate = float(fps or motion.fps)
    with atomic_path(out, suffix=suffix) as tmp:
        (_write_gif if suffix == ".gif" else _write_mp4)(frames, tmp, rate)
    log.debug("rendered %d frames to %s in %.2f s", len(frames), out, time.perf_counter() - started)
    return out
