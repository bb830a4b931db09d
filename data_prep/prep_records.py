"""The records of a prep run: input files as tasks, what a reader returns, a source, results, the summary.

Shared by the clip pipeline (:mod:`data_prep.clip_pipeline`) and the sources that feed it
(``prep arctic``, ``prep ahx``, ``prep handx``, ``prep grasps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from handgen.hand.pair import HandPair
from handgen.io import data_dir as fmt
from handgen.repr.motion import BimanualMotion
from handgen.repr.object_pose import ObjectTemplate


@dataclass(frozen=True)
class SequenceTask:
    """One input sequence: its main file and any side files read with it."""

    path: str  # absolute
    relfile: str  # relative to the source root, forward slashes
    subject: str
    sequence: str
    size: int
    mtime_ns: int
    side_files: tuple[tuple[str, int, int], ...] = ()  # (relfile, size, mtime_ns) of files read too

    @property
    def key(self) -> str:
        return f"{self.subject}/{self.sequence}"

    def source(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.relfile, "size": self.size, "mtime_ns": self.mtime_ns}
        if self.side_files:
            out["side_files"] = [list(entry) for entry in self.side_files]
        return out


def file_task(path: Path, root: Path, subject: str, sequence: str, side_files: list[Path] = ()) -> SequenceTask:
    """A task for ``path`` (and the existing ``side_files``) with their sizes and mtimes."""
    stat = path.stat()
    sides = []
    for side in side_files:
        if side.is_file():
            s = side.stat()
            sides.append((side.relative_to(root).as_posix(), s.st_size, s.st_mtime_ns))
    return SequenceTask(
        path=str(path.resolve()), relfile=path.relative_to(root).as_posix(), subject=subject, sequence=sequence,
        size=stat.st_size, mtime_ns=stat.st_mtime_ns, side_files=tuple(sides),
    )


@dataclass
class ReadSequence:
    """What a reader returns for one sequence."""

    motion: BimanualMotion  # absolute hand_pose, metres
    valid: np.ndarray  # (F,) bool
    frame_arrays: dict[str, np.ndarray] = field(default_factory=dict)  # (F, ...) clipped like the hands
    positions: tuple[str, ...] = ()  # frame_arrays holding positions (F, ..., 3): canonicalised like the hands
    row_fields: dict[str, Any] = field(default_factory=dict)  # added to every manifest row
    info: dict[str, Any] = field(default_factory=dict)  # kept in the shard marker


class SequenceReader(Protocol):
    """Reads one sequence. A reader may also define ``start_worker(hands)``: called once in each worker process
    before its first sequence (what a worker needs that unpickling does not bring, e.g. compiled kernels)."""

    def read(self, task: SequenceTask, hands: HandPair) -> ReadSequence:
        """Raises InputFileError for a bad file (the sequence is skipped with its message)."""


@dataclass
class PrepSource:
    """Everything source-specific the pipeline needs."""

    name: str  # manifest/meta "source": "arctic", "ahx"
    root: Path  # splits_json/protocol_p1.json is looked up here
    tasks: list[SequenceTask]
    reader: Any  # a picklable SequenceReader
    settings: dict[str, Any]  # conversion settings that invalidate shards when they change
    annotate: Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]] = lambda key, rows: rows
    templates: dict[str, ObjectTemplate] = field(default_factory=dict)  # object templates by name
    meta_extra: dict[str, Any] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # input files refused before conversion
    prepare: Callable[[list[SequenceTask]], None] | None = None  # called with the tasks to convert, before


@dataclass
class SequenceResult:
    task: SequenceTask
    rows: list[dict[str, Any]] = field(default_factory=list)  # prep rows (split/annotations filled later)
    skipped: dict[str, Any] | None = None
    frames: int = 0  # source frames read (0 when reused)
    reused: bool = False
    cpu_seconds: float = 0.0  # CPU time of the process that converted it


@dataclass
class PrepSummary:
    source: str
    converted: int
    reused: int
    skipped: int
    partial: int
    clips: dict[str, int]
    clip_frames: int
    frames_converted: int
    seconds: float
    setup_seconds: float = 0.0  # the source's preparation (object grids) + the hands' first call, not in ``seconds``
    cpu_seconds: float = 0.0  # CPU time the workers spent converting, all together (load-independent)

    @property
    def frames_per_second(self) -> float:
        return self.frames_converted / self.seconds if self.seconds > 0 else 0.0

    @property
    def frames_per_cpu_second(self) -> float:
        """Source frames per CPU-second of one worker: the wall-clock rate of a worker on an idle core."""
        return self.frames_converted / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def line(self, workers: int) -> str:
        split_counts = " / ".join(f"{s} {self.clips.get(s, 0)}" for s in fmt.SPLITS)
        return (
            f"prep {self.source}: {self.converted + self.reused} sequences in the DATA_DIR ({self.converted} converted "
            f"now, {self.reused} already up to date), {self.skipped} files skipped ({self.partial} partially "
            f"converted); {self.clips['total']} clips ({split_counts}), {self.clip_frames} clip frames; "
            f"{self.frames_converted} source frames in {self.seconds:.2f} s = {self.frames_per_second:.0f} frames/s "
            f"({workers} worker(s); {self.frames_per_cpu_second:.0f} frames per CPU-second of a worker)"
            + (f"; setup (object grids, compiled kernels) {self.setup_seconds:.1f} s" if self.setup_seconds else "")
        )
