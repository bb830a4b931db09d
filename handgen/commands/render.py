"""``handgen render``: animate a motion file (and its object, when it carries one) to a GIF or MP4."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("render", help="animate a motion .npz (both hands, texts as title) to .gif or .mp4")
    parser.add_argument("--motion", required=True, help="motion file (.npz from `handgen sample` or `handgen clip`)")
    parser.add_argument("--out", required=True, help="animation to write: FILE.gif or FILE.mp4 (needs imageio-ffmpeg)")
    parser.add_argument(
        "--view", default="three-quarter", choices=["three-quarter", "front", "ego", "top", "side"],
        help="camera direction (default three-quarter: in front, to the left and above, fingers seen from the side)",
    )
    parser.add_argument("--skeleton", action="store_true", help="draw 21-keypoint skeletons instead of meshes")
    parser.add_argument(
        "--size", type=int, default=512,
        help="the scene's long side in pixels (default 512; the other side follows the motion's shape)",
    )
    parser.add_argument("--trails", type=int, default=0, metavar="FRAMES",
                        help="draw each fingertip's path over the last FRAMES frames (default 0: off)")
    parser.add_argument("--turntable", type=int, default=None, metavar="VIEWS",
                        help="one-frame motions (grasp_XXX.npz): circle the hands and object in VIEWS frames "
                             "(default 48 for them; 0: a still)")
    parser.add_argument("--no-floor", action="store_true", help="leave out the floor grid and the hands' shadows")
    parser.add_argument("--fps", type=float, default=None, help="playback rate (default: the motion's fps)")
    parser.add_argument(
        "--mano-dir", default=None,
        help="MANO files, used for meshes when the motion was made with MANO (default: $HANDGEN_MANO_DIR)",
    )
    parser.set_defaults(func=run)


def _turntable(views: int | None, frames: int) -> int:
    from handgen.errors import HandgenError

    if views is None:
        return 48 if frames == 1 else 0
    if views < 0 or (views and frames != 1):
        raise HandgenError(f"--turntable needs a one-frame motion (a grasp) and a view count >= 0; got {views} "
                           f"for {frames} frames")
    return views


def run(args: argparse.Namespace) -> int:
    import logging
    import time

    from handgen.errors import HandgenError
    from handgen.hand.factory import make_hand_pair, resolve_mano_dir
    from handgen.io.motion_npz import load_motion, object_from_extras
    from handgen.render.animation import check_output, render_motion
    from handgen.render.object_layer import object_frames

    check_output(args.out)
    motion, extras = load_motion(args.motion)
    hands, label = None, None
    if not args.skeleton:
        mano_dir = resolve_mano_dir(args.mano_dir) if extras["hand_model"] == "mano" else None
        if extras["hand_model"] == "mano" and mano_dir is None:
            logging.getLogger(__name__).warning(
                "%s was made with MANO; drawing the procedural hand (give --mano-dir for MANO meshes)", args.motion
            )
        try:
            hands = make_hand_pair(mano_dir, flat_hand_mean=True)
        except (OSError, ValueError, ImportError) as exc:
            raise HandgenError(f"cannot build the MANO hand model from {mano_dir}: {exc}") from None
        label = f"{hands.name} hand"
    turntable = _turntable(args.turntable, motion.num_frames)
    started = time.perf_counter()
    found = object_from_extras(args.motion, extras, motion.num_frames)
    objects = [object_frames(*found)] if found is not None else []
    out = render_motion(
        motion, hands, extras["texts"], args.out, view=args.view, skeleton=args.skeleton, size=args.size,
        joints=extras["joints"], fps=args.fps or (16.0 if turntable else None), label=label, objects=objects,
        floor=not args.no_floor, trails=args.trails, turntable=turntable,
    )
    print(f"rendered {motion.num_frames} frames to {out} in {time.perf_counter() - started:.2f} s")
    return 0
