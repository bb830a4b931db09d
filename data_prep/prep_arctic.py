"""``handgen prep arctic``: ARCTIC ``raw_seqs/`` (MANO per frame, objects) -> a DATA_DIR of canonical clips.

Inputs under ``ARCTIC_ROOT`` (docs/reference.md section 2)::

    raw_seqs/<subject>/<object>_<grab|use>_NN.mano.npy     both hands' MANO parameters (required)
    raw_seqs/<subject>/<object>_<grab|use>_NN.object.npy   (F,7) object pose (optional)
    meta/object_vtemplates/<object>/mesh.obj, parts.json    object templates (mm; optional)
    captions.jsonl                                          ground-truth caption segments (optional)
    splits_json/protocol_p1.json                            split protocol (optional)

Hands: :mod:`data_prep.arctic_reader`. Objects are used when ``meta/object_vtemplates/``
exists: a sequence with a ``.object.npy`` then also stores, per clip frame, the object's
pose and the hands' contact with it (:mod:`data_prep.arctic_objects`,
:mod:`data_prep.object_contact`); the manifest row gets ``object`` (its name; null without
one) and the DATA_DIR gets the template in metres under ``objects/<name>/``. A sequence whose
object has no template is skipped ("no template for object X"); without
``meta/object_vtemplates/`` the ``.object.npy`` files are ignored (hands only, as before).
Shard arrays added for object sequences (N clips, T frames; ``handgen.io.data_dir``)::

    object_rot (N,T,3)       axis-angle: x_world = R x_canonical' + object_transl
    object_transl (N,T,3)    metres, canonical clip frame (shifted by canonical_offset like the hands)
    articulation (N,T)       radians (0 for rigid objects)
    object_contact (N,T,2)   fraction of each hand's vertices within contact_dist (1 cm) of the surface
    object_tips (N,T,2,5)    bool: fingertips (thumb..pinky) within contact_dist

Everything else (clipping, resume, workers, splits, index) is :mod:`data_prep.clip_pipeline`.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from data_prep.arctic_objects import (
    OBJECT_SUFFIX,
    TEMPLATES_DIR,
    ObjectTemplate,
    load_template,
    object_name_of,
    read_object_track,
    template_folder,
)
from data_prep.arctic_reader import ARCTIC_FPS, MANO_SUFFIX, read_mano_sequence
from data_prep.caption_segments import SIDE_FILE, CaptionSegment, match_segment, read_caption_segments
from data_prep.clip_pipeline import run_pipeline
from data_prep.compiled_hand import with_compiled_skeleton
from data_prep.object_contact import CONTACT_DIST, ObjectDistance, flesh_radius, sequence_contact, warm_up_contact
from data_prep.prep_records import PrepSource, PrepSummary, ReadSequence, SequenceTask, file_task
from handgen.errors import HandgenError, InputFileError
from handgen.geometry import grid_kernels
from handgen.hand.factory import make_hand_pair, resolve_mano_dir
from handgen.hand.pair import HandPair
from handgen.hand.topology import HANDS
from handgen.io import data_dir as fmt

log = logging.getLogger(__name__)
SOURCE = "arctic"
TEMPLATE_FILES = ("mesh.obj", "parts.json", "object.json")


def objects_enabled(root: str | Path) -> bool:
    """Whether ARCTIC_ROOT has ``meta/object_vtemplates/`` (objects are then read)."""
    return (Path(root) / TEMPLATES_DIR).is_dir()


def find_sequences(src: str | Path) -> list[SequenceTask]:
    """Every ``raw_seqs/<subject>/<name>.mano.npy`` under ``src``, sorted, with its object side files.

    Raises:
        HandgenError: no such folder, no raw_seqs/, or no .mano.npy file in it.
    """
    root = Path(src)
    if not root.is_dir():
        raise HandgenError(f"--src {src}: ARCTIC_ROOT not found (a folder holding raw_seqs/)")
    raw = root / "raw_seqs"
    if not raw.is_dir():
        raise HandgenError(f"--src {src}: no raw_seqs/ folder (expected raw_seqs/<subject>/<name>{MANO_SUFFIX})")
    with_objects = objects_enabled(root)
    tasks = []
    for path in sorted(raw.glob(f"*/*{MANO_SUFFIX}")):
        if not path.is_file():
            continue
        sequence = path.name[: -len(MANO_SUFFIX)]
        sides: list[Path] = []
        object_file = path.with_name(sequence + OBJECT_SUFFIX)
        if with_objects and object_file.is_file():
            folder = template_folder(root, object_name_of(sequence))
            sides = [object_file, *(folder / name for name in TEMPLATE_FILES)]
        tasks.append(file_task(path, root, path.parent.name, sequence, sides))
    if not tasks:
        raise HandgenError(f"--src {src}: raw_seqs/ holds no <subject>/*{MANO_SUFFIX} files")
    return tasks


class ArcticReader:
    """Reads a sequence's hands and, when it has one, its object (template, pose, contact)."""

    def __init__(self, root: str | Path, contact_dist: float = CONTACT_DIST) -> None:
        self.root = Path(root)
        self.objects = objects_enabled(root)
        self.contact_dist = contact_dist
        self.templates: dict[str, ObjectTemplate] = {}
        self.problems: dict[str, str] = {}  # object name -> why its template is unusable
        self.distances: dict[str, ObjectDistance] = {}

    def object_file(self, task: SequenceTask) -> Path | None:
        path = Path(task.path).with_name(task.sequence + OBJECT_SUFFIX)
        return path if self.objects and path.is_file() else None

    def template(self, name: str) -> ObjectTemplate:
        """The template of ``name`` (cached). Raises InputFileError when it is missing or bad."""
        if name in self.problems:
            raise InputFileError(template_folder(self.root, name), self.problems[name])
        if name not in self.templates:
            folder = template_folder(self.root, name)
            try:
                if not folder.is_dir():
                    raise InputFileError(folder, f"no template for object {name!r}")
                self.templates[name] = load_template(folder, name)
            except InputFileError as exc:
                self.problems[name] = exc.problem
                raise
        return self.templates[name]

    def distance(self, name: str) -> ObjectDistance:
        if name not in self.distances:
            self.distances[name] = ObjectDistance.build(self.template(name), reach=max(self.contact_dist, CONTACT_DIST))
        return self.distances[name]

    def prepare(self, tasks: list[SequenceTask], hands: HandPair | None = None) -> None:
        """Load the templates and build the distance grids the tasks need (once, before any worker starts), and
        what the contact of ``hands`` needs in this process (:meth:`start_worker`)."""
        for task in tasks:
            if self.object_file(task) is not None:
                try:
                    self.distance(object_name_of(task.sequence))
                except InputFileError:
                    pass  # reported per sequence by read()
        if hands is not None:
            self.start_worker(hands)

    def start_worker(self, hands: HandPair) -> None:
        """What a process computing contact needs before its first sequence: numba's start-up for the contact
        kernels and the hands' flesh radii (called by :meth:`prepare` and in each worker process)."""
        if self.distances:
            grid_kernels.load()
            for side in HANDS:
                flesh_radius(hands, side)
            warm_up_contact(hands)

    def read(self, task: SequenceTask, hands: HandPair) -> ReadSequence:
        motion, valid = read_mano_sequence(task.path, hands)
        object_path = self.object_file(task)
        if object_path is None:
            return ReadSequence(motion, valid, row_fields={"object": None})
        name = object_name_of(task.sequence)
        try:
            distance = self.distance(name)
        except InputFileError as exc:  # "no template for object X" is about the sequence; other problems name the file
            raise InputFileError(task.path, exc.problem if "no template" in exc.problem else str(exc)) from None
        track = read_object_track(object_path, frames=motion.num_frames)
        valid = valid & track.valid
        contact, tips = sequence_contact(motion, valid, hands, track, distance, self.contact_dist)
        arrays = {"object_rot": track.rot, "object_transl": track.transl, "articulation": track.articulation,
                  "object_contact": contact, "object_tips": tips}
        info = {"object": name, "object_template": distance.template.digest()}
        return ReadSequence(motion, valid, frame_arrays=arrays, positions=("object_transl",),
                            row_fields={"object": name}, info=info)


def caption_annotator(segments: dict[str, list[CaptionSegment]]):
    """Row annotation from ``captions.jsonl`` segments (the clip's best-overlapping segment)."""

    def annotate(key: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            segment = match_segment(segments.get(key, []), row["start"], row["end"])
            row = dict(row)
            if segment is None:
                row.update(captions=[], gt_captions=[], gt_labels=None, caption_source=None)
            else:
                captions = [dict(c) for c in segment.captions]
                row.update(captions=captions, gt_captions=[dict(c) for c in captions], gt_labels=segment.labels,
                           caption_source="synthetic")
            out.append(row)
        return out

    return annotate


def make_hands(mano_dir: str | None) -> HandPair:
    """The flat-hand-mean hand pair (MANO from ``mano_dir``/$HANDGEN_MANO_DIR, else procedural, with its skeleton
    compiled: :mod:`data_prep.compiled_hand`)."""
    mano_path = resolve_mano_dir(mano_dir)
    mano_arg = str(mano_path) if mano_path is not None else None
    try:
        return with_compiled_skeleton(make_hand_pair(mano_arg, flat_hand_mean=True))
    except (OSError, ValueError, ImportError) as exc:
        raise HandgenError(f"cannot build the MANO hand model from {mano_arg}: {exc}") from None


def prep_arctic(
    src: str | Path, out: str | Path, mano_dir: str | None = None, clip_len: int = 60, stride: int = 30,
    workers: int = 1, progress: bool = True, contact_dist: float = CONTACT_DIST,
) -> PrepSummary:
    """Convert ``src/raw_seqs`` (and its objects) into the DATA_DIR ``out``; see the module docstring.

    Raises:
        HandgenError: bad options, no input files, an unusable MANO folder, a bad side file
            (captions.jsonl, splits_json), or not a single clip converted.
    """
    if not 0 < contact_dist <= 0.05:
        raise HandgenError(f"--contact-dist must be in (0, 0.05] metres, got {contact_dist}")
    tasks = find_sequences(src)
    hands = make_hands(mano_dir)
    side_file = Path(src) / SIDE_FILE
    segments = read_caption_segments(side_file) if side_file.is_file() else {}
    reader = ArcticReader(src, contact_dist)
    source = PrepSource(
        name=SOURCE, root=Path(src), tasks=tasks, reader=reader,
        settings={"fps": ARCTIC_FPS, "objects": reader.objects, "contact_dist": contact_dist},
        annotate=caption_annotator(segments), templates=reader.templates, prepare=partial(reader.prepare, hands=hands),
        meta_extra={"captions_side_file": SIDE_FILE if segments else None, "contact_dist": contact_dist},
    )
    # templates of reused sequences are needed for objects/<name>/ too
    names = {object_name_of(t.sequence) for t in tasks if reader.object_file(t) is not None}
    for name in sorted(names):
        try:
            reader.template(name)
        except InputFileError as exc:
            log.warning("%s", exc)
    return run_pipeline(source, out, hands, clip_len, stride, workers, progress)


def run_from_args(args) -> int:
    """Entry point of ``handgen prep arctic`` (see handgen/commands/prep.py)."""
    summary = prep_arctic(
        src=args.src, out=args.out, mano_dir=args.mano_dir, clip_len=args.clip_len, stride=args.stride,
        workers=args.workers, progress=not getattr(args, "quiet", False),
        contact_dist=getattr(args, "contact_dist", CONTACT_DIST),
    )
    print(summary.line(args.workers))
    if summary.skipped:
        print(f"prep arctic: skipped files are listed in {Path(args.out) / fmt.SKIPPED}")
    return 0

