"""A small BVH reader and its forward kinematics (numpy), used to check exported files.

It reads any ordinary BVH file (one or more ROOTs, any channel order, End Sites) and
computes the world position of every joint and End Site per frame. Conventions: each
joint's local transform is ``T(OFFSET + position channels) @ R`` where ``R`` is the
product of its rotation channels in the order listed (``Zrotation Xrotation Yrotation``
-> ``Rz @ Rx @ Ry``), angles in degrees. End Sites are named ``<parent>_end``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from handgen.errors import InputFileError

_AXES = {"X": 0, "Y": 1, "Z": 2}
_KNOWN_CHANNELS = {f"{a}{kind}" for a in "XYZ" for kind in ("position", "rotation")}


@dataclass
class BvhNode:
    """One joint (or End Site) of a BVH hierarchy."""

    name: str
    parent: int  # index into Bvh.nodes, -1 for a root
    offset: np.ndarray  # (3,) in the file's unit
    channels: list[str] = field(default_factory=list)
    first_column: int = 0  # column of its first channel in the MOTION table
    end_site: bool = False


@dataclass
class Bvh:
    """A parsed BVH file: hierarchy nodes (parents before children) and the motion table (F, C)."""

    nodes: list[BvhNode]
    frame_time: float
    frames: np.ndarray  # (F, C) channel values

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    def node(self, name: str) -> BvhNode:
        """The node called ``name`` (KeyError when absent)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)


class _Tokens:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.items = text.split()
        self.pos = 0

    def next(self) -> str:
        if self.pos >= len(self.items):
            raise InputFileError(self.path, "BVH file ends early (truncated?)")
        self.pos += 1
        return self.items[self.pos - 1]

    def expect(self, word: str) -> None:
        got = self.next()
        if got != word:
            raise InputFileError(self.path, f"BVH syntax: expected {word!r}, found {got!r}")

    def number(self) -> float:
        word = self.next()
        try:
            return float(word)
        except ValueError:
            raise InputFileError(self.path, f"BVH syntax: expected a number, found {word!r}") from None


def _read_node(tokens: _Tokens, name: str, parent: int, nodes: list[BvhNode], column: int) -> int:
    """Parse ``{ OFFSET .. CHANNELS .. children }`` of node ``name``; returns the next free column."""
    index = len(nodes)
    tokens.expect("{")
    tokens.expect("OFFSET")
    node = BvhNode(name, parent, np.array([tokens.number() for _ in range(3)]), first_column=column)
    nodes.append(node)
    word = tokens.next()
    if word == "CHANNELS":
        count = int(tokens.number())
        node.channels = [tokens.next() for _ in range(count)]
        unknown = [c for c in node.channels if c not in _KNOWN_CHANNELS]
        if unknown:
            raise InputFileError(tokens.path, f"BVH joint {name}: unknown channels {unknown}")
        column += count
        word = tokens.next()
    while word != "}":
        if word == "JOINT":
            column = _read_node(tokens, tokens.next(), index, nodes, column)
        elif word == "End":
            tokens.expect("Site")
            tokens.expect("{")
            tokens.expect("OFFSET")
            nodes.append(BvhNode(f"{name}_end", index, np.array([tokens.number() for _ in range(3)]),
                                 first_column=column, end_site=True))
            tokens.expect("}")
        else:
            raise InputFileError(tokens.path, f"BVH syntax: unexpected {word!r} in joint {name}")
        word = tokens.next()
    return column


def read_bvh(path: str | Path) -> Bvh:
    """Parse the BVH file at ``path``.

    Raises:
        InputFileError: missing file, syntax errors, a truncated or inconsistent MOTION table.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "BVH file not found")
    tokens = _Tokens(path, path.read_text(encoding="utf-8", errors="replace"))
    tokens.expect("HIERARCHY")
    nodes: list[BvhNode] = []
    column = 0
    word = tokens.next()
    while word == "ROOT":
        column = _read_node(tokens, tokens.next(), -1, nodes, column)
        word = tokens.next()
    if not nodes:
        raise InputFileError(path, "BVH file has no ROOT")
    if word != "MOTION":
        raise InputFileError(path, f"BVH syntax: expected 'MOTION', found {word!r}")
    tokens.expect("Frames:")
    num_frames = int(tokens.number())
    tokens.expect("Frame")
    tokens.expect("Time:")
    frame_time = tokens.number()
    values = tokens.items[tokens.pos :]
    if len(values) != num_frames * column:
        raise InputFileError(path, f"BVH MOTION holds {len(values)} values, expected {num_frames} x {column}")
    try:
        frames = np.asarray(values, dtype=np.float64).reshape(num_frames, column)
    except ValueError:
        raise InputFileError(path, "BVH MOTION table holds a non-number") from None
    return Bvh(nodes, frame_time, frames)


def _axis_rotations(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Rotation matrices (F, 3, 3) about ``axis`` by ``degrees`` (F,)."""
    angle = np.radians(degrees)
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros((len(angle), 3, 3))
    i = _AXES[axis]
    j, k = (i + 1) % 3, (i + 2) % 3
    out[:, i, i] = 1.0
    out[:, j, j], out[:, j, k], out[:, k, j], out[:, k, k] = c, -s, s, c
    return out


def bvh_world_positions(bvh: Bvh) -> dict[str, np.ndarray]:
    """World positions (F, 3) of every node (joints and ``<parent>_end`` End Sites), in the file's unit."""
    frames = bvh.num_frames
    rotations: list[np.ndarray] = []
    positions: list[np.ndarray] = []
    out: dict[str, np.ndarray] = {}
    for node in bvh.nodes:
        local_t = np.broadcast_to(node.offset, (frames, 3)).copy()
        local_r = np.broadcast_to(np.eye(3), (frames, 3, 3)).copy()
        for c, channel in enumerate(node.channels):
            values = bvh.frames[:, node.first_column + c]
            if channel.endswith("position"):
                local_t[:, _AXES[channel[0]]] += values
            else:
                local_r = local_r @ _axis_rotations(channel[0], values)
        if node.parent < 0:
            world_r, world_t = local_r, local_t
        else:
            parent_r, parent_t = rotations[node.parent], positions[node.parent]
            world_r = parent_r @ local_r
            world_t = parent_t + np.einsum("fij,fj->fi", parent_r, local_t)
        rotations.append(world_r)
        positions.append(world_t)
        out[node.name] = world_t
    return out
