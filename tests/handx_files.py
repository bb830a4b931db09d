"""HandX-format test files: the writer of :mod:`handgen.testing.handx_files` plus bad members.

Train member ``corrupt`` is truncated in the can_pos file; train member ``foreign`` holds a
:class:`FileMaker`, whose unpickling would create ``canary``.
"""

from __future__ import annotations

from pathlib import Path

from handgen.testing.handx_files import FRAMES, HANDX_NAMES, NAME_MAP, make_member, npy_bytes, write_npz  # noqa: F401
from handgen.testing.handx_files import write_handx_dir as write_clean_dir


class FileMaker:
    """Pickling this object calls ``open(path, "w")``: it creates a file when unpickled unsafely."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def write_handx_dir(root: Path, hands, train: int = 6, test: int = 3, corrupt: str | None = "2",
                    foreign: str | None = "4", canary: Path | None = None, metadata: bool = True) -> Path:
    def edit(split: str, key: str, entry: dict) -> dict:
        if split == "train" and key == foreign:
            return dict(entry, extra=FileMaker(str(canary or root / "canary.txt")))
        return entry

    def raw(split: str, key: str, data: bytes) -> bytes:
        return data[: len(data) // 2] if split == "train" and key == corrupt else data

    return write_clean_dir(root, hands, train, test, metadata=metadata, edit=edit, raw=raw)
