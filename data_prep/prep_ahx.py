"""``handgen prep ahx``: AssemblyHands-X style SMPL-X sequences -> a DATA_DIR of canonical clips.

Accepted inputs under ``AHX_ROOT`` (searched recursively; details in :mod:`data_prep.ahx_reader`):

- ``<name>.smplx.npy``: an ARCTIC-style pickled dict of SMPL-X parameters (trusted files only);
- ``<name>.npz``: the same standard SMPL-X keys without pickle (``SMPLX_*.npz`` model files are ignored);
- wrist positions from 3D hand keypoints: ``keypoints3d`` in the file, a sidecar
  ``<name>.keypoints3d.npy`` ((F,42,3) AssemblyHands order or (F,2,21,3) handgen order), or
  ``--keypoints FILE`` (an AssemblyHands annotation json with
  ``annotations[<name>]["%06d" % frame]["world_coord"]``, or an array file of one sequence);
  units by ``--keypoint-unit`` (default: detected from the hand size); or from the SMPL-X
  body model with ``--smplx-dir``.

Subject and sequence of ``AHX_ROOT/a/b/<name>.smplx.npy``: subject ``a-b`` (``ahx`` for files
directly in the root), sequence ``<name>``. Clips are 30 fps, ``source: "ahx"`` in the manifest.

``--labels CSV`` (Assembly101 fine-grained style, :mod:`data_prep.assembly_labels`): each clip
gets ``verb``, the verb covering most of its frames (null when none), from the rows whose
sequence equals ``<name>``; ``--benchmark-verbs`` restricts that to the six verbs of the
AssemblyHands-X action benchmark. Labels are attached when the index is assembled, so a
changed csv does not re-convert any sequence.

Skipped (recorded in ``skipped.jsonl`` with the reader's message): unreadable files, missing
SMPL-X keys, arrays that disagree in length, keypoints with the wrong joint count or frame
count, no wrist source, duplicate sequence names.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from data_prep.ahx_reader import KEYPOINTS_SIDECAR_SUFFIX, discover_sequences, read_smplx_sequence, sequence_name
from data_prep.assembly_labels import ActionSegment, dominant_verb, read_action_labels
from data_prep.clip_pipeline import run_pipeline
from data_prep.hand_keypoints import UNIT_SCALE
from data_prep.prep_arctic import make_hands
from data_prep.prep_records import PrepSource, PrepSummary, ReadSequence, SequenceTask, file_task
from data_prep.smplx_hands import parse_wrist_offset
from handgen.errors import HandgenError
from handgen.hand.pair import HandPair
from handgen.io import data_dir as fmt

log = logging.getLogger(__name__)
SOURCE = "ahx"
AHX_FPS = 30.0
ROOT_SUBJECT = "ahx"


def find_ahx_sequences(src: str | Path) -> tuple[list[SequenceTask], list[dict[str, Any]]]:
    """Tasks for every SMPL-X sequence file under ``src`` (sorted) and skip records for duplicates.

    Raises:
        HandgenError: no such folder, or no sequence file in it.
    """
    root = Path(src)
    if not root.is_dir():
        raise HandgenError(f"--src {src}: AHX_ROOT not found")
    paths = discover_sequences(root)
    if not paths:
        raise HandgenError(f"--src {src}: no SMPL-X sequences (*.smplx.npy or *.npz) found")
    tasks, skipped, seen = [], [], {}
    for path in paths:
        rel = path.relative_to(root)
        subject = "-".join(rel.parent.parts) or ROOT_SUBJECT
        sequence = sequence_name(path)
        key = f"{subject}/{sequence}"
        if key in seen:
            skipped.append({"file": rel.as_posix(), "reason": f"duplicate sequence name {key!r} (also {seen[key]})",
                            "partial": False})
            continue
        seen[key] = rel.as_posix()
        tasks.append(file_task(path, root, subject, sequence, [path.with_name(sequence + KEYPOINTS_SIDECAR_SUFFIX)]))
    return tasks, skipped


class AhxReader:
    """:func:`data_prep.ahx_reader.read_smplx_sequence` with the command's options."""

    def __init__(self, smplx_dir: str | None, keypoints: str | None, keypoint_unit: str, wrist_offset: str | None,
                 fit_betas: bool, frame_offset: int) -> None:
        self.smplx_dir, self.keypoints, self.keypoint_unit = smplx_dir, keypoints, keypoint_unit
        self.wrist_offset, self.fit_betas, self.frame_offset = wrist_offset, fit_betas, frame_offset

    def read(self, task: SequenceTask, hands: HandPair) -> ReadSequence:
        motion, valid, info = read_smplx_sequence(
            task.path, hands, self.smplx_dir, self.keypoints, keypoint_unit=self.keypoint_unit,
            keypoints_sequence=task.sequence, frame_offset=self.frame_offset, wrist_offset=self.wrist_offset,
            fit_betas=self.fit_betas, fps=AHX_FPS,
        )
        info = {k: v for k, v in info.items() if isinstance(v, (str, int, float, bool, type(None)))}
        return ReadSequence(motion, valid, info=info)


def verb_annotator(labels: dict[str, list[ActionSegment]], benchmark_only: bool):
    """Row annotation: ``verb`` from the action segments of the row's sequence name."""

    def annotate(key: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            segments = labels.get(row["sequence"], [])
            verb = dominant_verb(segments, row["start"], row["end"], benchmark_only=benchmark_only,
                                 motion_fps=row["fps"]) if segments else None
            out.append(dict(row, verb=verb))
        return out

    return annotate


def _file_stat(path: str | None) -> list | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise HandgenError(f"{path}: file not found")
    stat = p.stat()
    return [str(p.resolve()), stat.st_size, stat.st_mtime_ns]


def prep_ahx(
    src: str | Path, out: str | Path, *, mano_dir: str | None = None, smplx_dir: str | None = None,
    keypoints: str | None = None, keypoint_unit: str = "auto", wrist_offset: str | None = None,
    labels: str | None = None, benchmark_verbs: bool = False, fit_betas: bool = False, frame_offset: int = 0,
    clip_len: int = 60, stride: int = 30, workers: int = 1, progress: bool = True,
) -> PrepSummary:
    """Convert the SMPL-X sequences under ``src`` into the DATA_DIR ``out``; see the module docstring.

    Raises:
        HandgenError: bad options (unit, wrist offset, missing files), no sequences, or no clip.
        InputFileError: an unreadable labels csv.
    """
    if keypoint_unit not in ("auto", *UNIT_SCALE):
        raise HandgenError(f"--keypoint-unit must be one of auto, {', '.join(UNIT_SCALE)}; got {keypoint_unit!r}")
    try:
        parse_wrist_offset(wrist_offset)
    except ValueError as exc:
        raise HandgenError(f"--wrist-offset: {exc}") from None
    if smplx_dir is not None and not Path(smplx_dir).is_dir():
        raise HandgenError(f"--smplx-dir {smplx_dir}: folder not found")
    keypoint_stat = _file_stat(keypoints)
    action_labels = read_action_labels(labels) if labels else {}
    tasks, duplicates = find_ahx_sequences(src)
    hands = make_hands(mano_dir)
    reader = AhxReader(smplx_dir, keypoints, keypoint_unit, wrist_offset, fit_betas, frame_offset)
    settings = {
        "fps": AHX_FPS, "smplx_dir": str(Path(smplx_dir).resolve()) if smplx_dir else None, "keypoints": keypoint_stat,
        "keypoint_unit": keypoint_unit, "wrist_offset": wrist_offset, "fit_betas": fit_betas,
        "frame_offset": frame_offset,
    }
    matched = sorted({t.sequence for t in tasks} & set(action_labels))
    source = PrepSource(
        name=SOURCE, root=Path(src), tasks=tasks, reader=reader, settings=settings,
        annotate=verb_annotator(action_labels, benchmark_verbs),
        skipped=duplicates,
        meta_extra={"labels": {"file": str(labels) if labels else None, "benchmark_verbs_only": benchmark_verbs,
                               "sequences_with_labels": len(matched)}},
    )
    return run_pipeline(source, out, hands, clip_len, stride, workers, progress)


def run_from_args(args) -> int:
    """Entry point of ``handgen prep ahx`` (see handgen/commands/prep.py)."""
    summary = prep_ahx(
        args.src, args.out, mano_dir=args.mano_dir, smplx_dir=args.smplx_dir, keypoints=args.keypoints,
        keypoint_unit=args.keypoint_unit, wrist_offset=args.wrist_offset, labels=args.labels,
        benchmark_verbs=args.benchmark_verbs, fit_betas=args.fit_betas, frame_offset=args.frame_offset,
        clip_len=args.clip_len, stride=args.stride, workers=args.workers,
        progress=not getattr(args, "quiet", False),
    )
    print(summary.line(args.workers))
    if summary.skipped:
        print(f"prep ahx: skipped files are listed in {Path(args.out) / fmt.SKIPPED}")
    return 0

