"""Sampled features -> MANO parameters -> ``sample_XXX.npz`` (+ GIF), the DESIGN.md motion format."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handgen.hand.pair import HandPair
from handgen.io.motion_npz import save_motion
from handgen.repr.features import features_to_motion


def write_samples(
    out_dir: Path,
    features: np.ndarray,
    texts: list[dict[str, str]],
    hands: HandPair,
    fps: float,
    betas: np.ndarray | None = None,
    render: bool = False,
    extra: dict | None = None,
    per_sample: list[dict] | None = None,
) -> list[Path]:
    """Write one ``sample_XXX.npz`` per row of ``features`` (N, T, D); returns the npz paths.

    ``extra`` arrays go into every file, ``per_sample[i]`` only into file i.
    """
    from handgen.render.animation import render_motion

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    hands_mean = np.stack([hands.left.hands_mean.numpy(), hands.right.hands_mean.numpy()])
    for i, (feats, text) in enumerate(zip(features, texts)):
        motion = features_to_motion(feats, hands, betas=betas, fps=fps)
        joints = motion.joints(hands)
        arrays = {**(extra or {}), **(per_sample[i] if per_sample else {})}
        path = save_motion(out_dir / f"sample_{i:03d}.npz", motion, joints, text, hands.name, hands_mean, extra=arrays)
        if render:
            render_motion(motion, hands, text, path.with_suffix(".gif"), joints=joints, label=hands.name)
        paths.append(path)
    return paths
