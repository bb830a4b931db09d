"""One motion to a file for animation tools: the format dispatch shared by ``handgen export`` and ``Motion.export``."""

from __future__ import annotations

from pathlib import Path

from handgen.errors import HandgenError
from handgen.export.bvh import write_bvh
from handgen.export.glb import write_glb
from handgen.export.gltf_animation import write_animated_glb
from handgen.export.hand_rig import hand_rigs
from handgen.export.obj_sequence import write_obj_sequence
from handgen.hand.pair import HandPair
from handgen.repr.motion import BimanualMotion

EXPORT_FORMATS: tuple[str, ...] = ("bvh", "obj-seq", "glb")


def export_motion(path: str | Path, motion: BimanualMotion, hands: HandPair, format: str, *, frame: int | None = None,
                  obj=None, bvh_scale: float = 1.0, progress: bool = False) -> Path:
    """Write ``motion`` as ``bvh`` (skeletons, x ``bvh_scale`` metres), ``obj-seq`` (a folder of OBJ frames) or
    ``glb`` (skinned, animated hands; a still of ``frame`` when given, or when the motion has one frame).

    ``obj`` is the object of :func:`handgen.io.motion_npz.object_from_extras` (or None). Returns the path written.

    Raises:
        HandgenError: an unknown format.
    """
    if format == "bvh":
        return write_bvh(path, motion, hand_rigs(hands, motion), scale=bvh_scale)
    if format == "obj-seq":
        write_obj_sequence(path, motion, hands, obj, progress=progress)
        return Path(path)
    if format == "glb":
        if frame is not None or motion.num_frames == 1:  # a still (a grasp file is one)
            return write_glb(path, motion, hands, frame or 0, obj)
        return write_animated_glb(path, motion, hands, obj)
    raise HandgenError(f"unknown export format {format!r}; choose from {', '.join(EXPORT_FORMATS)}")
