"""Build tiny ARCTIC-format inputs (``raw_seqs/sXX/<name>.mano.npy`` pickled dicts) for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def mano_dict(frames: int, seed: int = 0, per_frame_shape: bool = False) -> dict:
    """A smooth two-hand sequence in ARCTIC's layout (pose relative to hands_mean), metres."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 30.0
    out = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        phase = rng.uniform(0, 2 * np.pi)
        out[side] = {
            "rot": np.stack([0.3 * np.sin(t + phase), sign * np.pi / 2 + 0.2 * np.cos(t), 0.1 * t], 1).astype(np.float32),
            "pose": (0.15 * rng.normal(size=(1, 45)) + 0.2 * np.sin(2 * t + phase)[:, None]).astype(np.float32),
            "trans": np.stack([sign * 0.15 + 0.05 * np.sin(t), 0.9 + 0.02 * t, 0.4 + 0.1 * np.cos(t)], 1).astype(np.float32),
            "shape": (0.5 * rng.normal(size=(frames, 10) if per_frame_shape else 10)).astype(np.float32),
            "fitting_err": np.full(frames, 0.002, dtype=np.float32),
        }
    return out


def write_mano(root: Path, key: str, data) -> Path:
    """Save ``data`` as ``root/raw_seqs/<key>.mano.npy`` (key = "subject/sequence")."""
    path = Path(root) / "raw_seqs" / f"{key}.mano.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.array(data, dtype=object) if isinstance(data, dict) else data, allow_pickle=True)
    return path


def load_mano(path: Path) -> dict:
    return np.load(path, allow_pickle=True).item()
