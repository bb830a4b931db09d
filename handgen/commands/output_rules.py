"""Checks every command's outputs and inputs before it runs (called by :func:`handgen.cli.main`).

- ``--out`` never points inside an input folder (``--data``, ``--ckpt``, ``--src``, ``--results``,
  ``--evaluator``), nor at an input file, nor inside any folder that holds a DATA_DIR, a RUN_DIR or an
  ARCTIC root (so ``handgen clip --out DATA_DIR/shards/...`` cannot destroy a shard).
- A folder output (``sample``, ``grasp``, ``export --format obj-seq``) that is not empty is refused
  unless ``--overwrite``, which removes the files that command writes (``sample_*``, ``grasp_*`` +
  ``summary.json``, ``frame_*.obj``) and says how many; other files are left alone.
- ``--out`` naming a file where a folder is expected (or a folder where a file is) is one line.
- ``--device cuda`` on a torch build without CUDA is one line (before any other work).
- A RUN_DIR without ``DONE`` (training unfinished, or still running) gets a warning.

Raises :class:`~handgen.errors.HandgenError` (one line, exit 1).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from handgen.errors import HandgenError

log = logging.getLogger(__name__)

INPUT_FOLDERS = ("data", "ckpt", "src", "results", "evaluator")
INPUT_FILES = ("motion", "mesh", "condition", "prompts", "keypoints2d", "cameras", "labels", "keypoints")
# what a folder-writing command owns in its --out (removed by --overwrite)
OWNED = {
    "sample": ("sample_*.npz", "sample_*.gif", "sample_*.mp4", "summary.json"),
    "grasp": ("grasp_*.npz", "grasp_*.ply", "grasp_*.glb", "grasp_*.png", "summary.json"),
    "export:obj-seq": ("frame_*.obj", "frame_*.mtl"),
}
PREP_KINDS = ("arctic", "ahx", "grasps", "handx")


def _markers(folder: Path) -> str | None:
    """What kind of input folder ``folder`` is (None: an ordinary folder)."""
    if (folder / "manifest.jsonl").is_file() and (folder / "meta.json").is_file():
        return "a DATA_DIR"
    if (folder / "config.yaml").is_file() and ((folder / "model.safetensors").is_file() or (folder / "checkpoints").is_dir()):
        return "a RUN_DIR"
    if (folder / "raw_seqs").is_dir():
        return "an ARCTIC root"
    return None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _command_key(args: argparse.Namespace) -> str:
    if args.command == "export":
        return f"export:{getattr(args, 'format', '')}"
    if args.command in ("prep", "eval"):
        return f"{args.command}:{getattr(args, 'prep_kind', None) or getattr(args, 'eval_kind', None) or ''}"
    return str(args.command)


def check_out_location(args: argparse.Namespace) -> None:
    """Refuse an ``--out`` inside an input folder or equal to an input file."""
    out_arg = getattr(args, "out", None)
    if not out_arg:
        return
    out = Path(out_arg).resolve()
    for name in INPUT_FOLDERS:
        value = getattr(args, name, None)
        if value and not str(value).startswith(("handx:",)):
            folder = Path(value).resolve()
            if folder.is_dir() and _inside(out, folder):
                raise HandgenError(f"--out {out_arg} is inside the input folder --{name} {value}; "
                                   "choose an output path outside it (no command writes into its inputs)")
    for name in INPUT_FILES:
        value = getattr(args, name, None)
        if value and Path(value).resolve() == out:
            raise HandgenError(f"--out {out_arg} is the input file --{name}; choose another output path")
    is_prep = args.command == "prep" and getattr(args, "prep_kind", None) in PREP_KINDS
    # prep writes its own DATA_DIR in place (that is how it resumes); everything else: out and its parents
    folders = list(out.parents) if is_prep else [out, *out.parents]
    for folder in folders:
        kind = _markers(folder)
        if kind is not None and not (args.command == "prep" and getattr(args, "prep_kind", None) == "synthetic"
                                     and folder == out):
            raise HandgenError(f"--out {out_arg} is inside {folder}, {kind}; writing there would damage it "
                               "(choose a path outside it)")


def check_out_kind(args: argparse.Namespace) -> None:
    """A folder output that is a file (or the reverse) is one line; non-empty output folders need --overwrite."""
    out_arg = getattr(args, "out", None)
    if not out_arg:
        return
    out = Path(out_arg)
    key = _command_key(args)
    if key in OWNED:
        if out.exists() and not out.is_dir():
            raise HandgenError(f"--out {out_arg} is an existing file; {args.command} writes a folder there")
        if out.is_dir() and any(out.iterdir()):
            if not getattr(args, "overwrite", False):
                raise HandgenError(f"--out {out_arg} is not empty; pass --overwrite to replace what "
                                   f"{args.command} wrote there, or choose an empty folder")
            removed = [p for pattern in OWNED[key] for p in out.glob(pattern) if p.is_file()]
            for path in removed:
                path.unlink()
            kept = sum(1 for _ in out.iterdir())
            log.info("--overwrite: removed %d files of an earlier %s from %s%s", len(removed), args.command, out_arg,
                     f" ({kept} other entries left alone)" if kept else "")
    elif out.is_dir() and not (args.command in ("prep", "demo")):
        raise HandgenError(f"--out {out_arg} is a folder; {args.command} writes a file there")
    parent = out.parent
    for folder in (parent, *parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise HandgenError(f"--out {out_arg}: {folder} is a file, not a folder")
            break


def check_device(args: argparse.Namespace) -> None:
    """``--device`` names a device this machine and torch build have (``handgen.device.resolve_device``)."""
    if getattr(args, "device", None) not in (None, "auto", "cpu"):
        from handgen.device import resolve_device  # imports torch: only when a device is named

        resolve_device(args.device)


def warn_unfinished_run(args: argparse.Namespace) -> None:
    ckpt = getattr(args, "ckpt", None)
    if ckpt and Path(ckpt).is_dir() and (Path(ckpt) / "config.yaml").is_file() and not (Path(ckpt) / "DONE").exists():
        log.warning("%s has no DONE: its training is unfinished or still running; using its latest weights", ckpt)


def check_prep_origin(args: argparse.Namespace) -> None:
    """``prep arctic|ahx|grasps|handx``: the output folder must come from the same --src (or --overwrite)."""
    if args.command == "prep" and getattr(args, "prep_kind", None) in PREP_KINDS and getattr(args, "src", None):
        from data_prep.origin import claim_origin

        claim_origin(args.out, args.prep_kind, args.src, overwrite=bool(getattr(args, "overwrite", False)))


def check_command(args: argparse.Namespace) -> None:
    """Every check above, in order (cheap: no heavy imports unless --device asks for one)."""
    check_out_location(args)
    check_device(args)
    check_out_kind(args)
    check_prep_origin(args)
    warn_unfinished_run(args)
