"""HandX-format dataset files (docs/reference.md 4b) for tests and the prep benchmark, written from the facts alone.

Independent of handgen's HandX reader: the joint order comes from the names below.

A clip is made in the FILE's frame (z up): random MANO parameters through the procedural hand
give handgen-order joints, which are written in HandX's joint order (the names below), centred
on the right wrist at frame 0; the MANO file holds the same parameters with ``hand_pose``
relative to the hand model's mean pose and the same centring applied to ``trans``.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from handgen.hand.topology import HANDS, KEYPOINT_NAMES

# REFERENCE 4b: 0 wrist; 1-3 index; 4-6 middle; 7-9 pinky; 10-12 ring; 13-15 thumb; 16-20 tips thumb..pinky
HANDX_NAMES = (
    ["wrist"] + [f"{f}{i}" for f in ("index", "middle", "pinky", "ring", "thumb") for i in (1, 2, 3)]
    + [f"{f}_tip" for f in ("thumb", "index", "middle", "ring", "pinky")]
)
# handgen keypoint k <- HandX joint NAME_MAP[k]
NAME_MAP = [HANDX_NAMES.index(name) for name in KEYPOINT_NAMES]
FRAMES = 60


def captions(seed: int, variants: int = 5) -> dict[str, list[str]]:
    return {
        "left_annotation": [f"left hand variant {v} of clip {seed}" for v in range(variants)],
        "right_annotation": [f"right hand variant {v} of clip {seed}" for v in range(variants)],
        "interaction_annotation": [f"both hands variant {v} of clip {seed}" for v in range(variants)],
    }


def make_member(seed: int, hands) -> tuple[dict, dict]:
    """(can_pos entry, mano entry) of one clip, in the file's frame."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, FRAMES)[:, None]
    go = rng.normal(0, 0.4, (2, 3))[None] + t[..., None] * rng.normal(0, 0.5, (2, 3))[None]  # (T, 2, 3)
    pose_rel = rng.normal(0, 0.15, (2, 45))[None] + t[..., None] * rng.normal(0, 0.2, (2, 45))[None]
    trans = np.array([[0.15, 0.0, 0.3], [-0.15, 0.0, 0.3]])[None] + t[..., None] * rng.normal(0, 0.05, (2, 3))[None]
    betas = rng.normal(0, 0.5, (2, 10))
    means = np.stack([hands[s].hands_mean.double().numpy() for s in HANDS])
    joints = []
    with torch.no_grad():
        for i, side in enumerate(HANDS):
            joints.append(hands[side].joints(
                torch.as_tensor(go[:, i], dtype=torch.float32),
                torch.as_tensor(pose_rel[:, i] + means[i], dtype=torch.float32),
                torch.as_tensor(betas[i], dtype=torch.float32).expand(FRAMES, 10),
                torch.as_tensor(trans[:, i], dtype=torch.float32)).double().numpy())
    joints = np.stack(joints, axis=1)  # (T, 2, 21, 3) handgen order
    centre = joints[0, 1, 0].copy()
    handx = np.empty_like(joints)
    handx[:, :, NAME_MAP] = joints  # HandX joint NAME_MAP[k] = handgen keypoint k
    can_pos = {"motion": (handx - centre).astype(np.float32), **captions(seed)}
    mano = {}
    for i, side in enumerate(HANDS):
        mano[f"{side}_pose"] = np.concatenate([go[:, i], pose_rel[:, i]], axis=1).astype(np.float32)
        mano[f"{side}_shape"] = np.repeat(betas[i][None], FRAMES, axis=0).astype(np.float32)
        mano[f"{side}_trans"] = (trans[:, i] - centre).astype(np.float32)
    return can_pos, mano


def npy_bytes(value) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array(value, dtype=object), allow_pickle=True)
    return buffer.getvalue()


def write_npz(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for key, data in members.items():
            archive.writestr(f"{key}.npy", data)
    return path


def write_handx_dir(root: Path, hands, train: int = 6, test: int = 3, metadata: bool = True,
                    edit: Callable[[str, str, dict], dict] | None = None,
                    raw: Callable[[str, str, bytes], bytes] | None = None) -> Path:
    """A HANDX_DIR with ``train`` + ``test`` clips (seeds k and 100 + k). ``edit(split, key, entry)`` may
    change a can_pos entry before pickling, ``raw(split, key, data)`` its pickled bytes (tests: bad members)."""
    root.mkdir(parents=True, exist_ok=True)
    meta = {}
    for split, count, offset in (("train", train, 0), ("test", test, 100)):
        can, mano = {}, {}
        for k in range(count):
            entry, fit = make_member(offset + k, hands)
            key = str(k)
            if edit is not None:
                entry = edit(split, key, entry)
            can[key], mano[key] = npy_bytes(entry), npy_bytes(fit)
            if raw is not None:
                can[key] = raw(split, key, can[key])
        write_npz(root / f"{split}_can_pos_all_wotextfeat.npz", can)
        write_npz(root / f"{split}_mano.npz", mano)
        meta[split] = {str(k): ("ARCTIC" if k % 2 else "GigaHands") for k in range(count)}
    if metadata:
        (root / "source_metadata.json").write_text(json.dumps(meta))
    return root
