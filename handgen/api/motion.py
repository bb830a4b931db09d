"""``Motion``: a batch of generated bimanual motions, with the files users want from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from handgen.errors import HandgenError
from handgen.export.motion_export import EXPORT_FORMATS, export_motion  # noqa: F401  (EXPORT_FORMATS re-exported)
from handgen.hand.pair import HandPair
from handgen.io.motion_npz import save_motion
from handgen.render.animation import render_motion
from handgen.repr.features import features_to_motion
from handgen.repr.motion import BimanualMotion



@dataclass
class Motion:
    """N generated motions of both hands (what :meth:`MotionGenerator.generate` returns).

    Attributes:
        motions: per sample, both hands' MANO parameters (absolute finger poses, metres).
        joints: (N, T, 2, 21, 3) metres, 21-keypoint order, index 0 left / 1 right.
        texts: per sample, the ``{left, right, both}`` texts it was generated from.
        fps: frames per second.
        hands: the hand model that turns the parameters into joints and meshes.
        extra: arrays written into every sample file (sampler, guidance, mode, ...).
        per_sample: arrays written into one sample's file each (e.g. AR motion tokens).
    """

    motions: list[BimanualMotion]
    joints: np.ndarray
    texts: list[dict[str, str]]
    fps: float
    hands: HandPair
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    per_sample: list[dict[str, np.ndarray]] | None = None

    @classmethod
    def from_features(
        cls, features: np.ndarray, texts: Sequence[dict[str, str]], hands: HandPair, fps: float,
        betas: np.ndarray | None = None, extra: dict | None = None, per_sample: list[dict] | None = None,
    ) -> Motion:
        """Motions from raw (de-normalised) features (N, T, D) in the DATA_DIR layout."""
        motions = [features_to_motion(f, hands, betas=betas, fps=fps) for f in np.asarray(features)]
        joints = np.stack([m.joints(hands) for m in motions]) if motions else np.zeros((0, 0, 2, 21, 3))
        return cls(motions, joints, [dict(t) for t in texts], float(fps), hands, dict(extra or {}), per_sample)

    def __len__(self) -> int:
        return len(self.motions)

    @property
    def hand_model(self) -> str:
        return self.hands.name

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[1])

    def _hands_mean(self) -> np.ndarray:
        return np.stack([self.hands.left.hands_mean.numpy(), self.hands.right.hands_mean.numpy()])

    def save(self, path: str | Path, render: bool = False) -> list[Path]:
        """Write ``sample_XXX.npz`` per motion into the folder ``path`` (+ ``.gif`` with ``render``).

        A ``path`` ending in ``.npz`` writes that one file (a single motion only).
        Returns the ``.npz`` paths.

        Raises:
            HandgenError: a ``.npz`` path for more than one motion.
        """
        path = Path(path)
        if path.suffix == ".npz":
            if len(self) != 1:
                raise HandgenError(f"{path}: one file holds one motion; save {len(self)} motions into a folder")
            targets = [path]
        else:
            targets = [path / f"sample_{i:03d}.npz" for i in range(len(self))]
        hands_mean = self._hands_mean()
        written = []
        for i, target in enumerate(targets):
            arrays = {**self.extra, **(self.per_sample[i] if self.per_sample else {})}
            out = save_motion(target, self.motions[i], self.joints[i], self.texts[i], self.hand_model, hands_mean,
                              extra=arrays)
            if render:
                self.render(out.with_suffix(".gif"), index=i)
            written.append(out)
        return written

    def render(self, path: str | Path, index: int = 0, **options) -> Path:
        """Animate motion ``index`` to ``path`` (.gif, or .mp4 with imageio-ffmpeg); ``options`` go to the renderer."""
        return render_motion(self.motions[index], self.hands, self.texts[index], Path(path),
                             joints=self.joints[index], label=self.hand_model, **options)

    def export(self, path: str | Path, format: str = "bvh", index: int = 0, frame: int | None = None) -> Path:
        """Export motion ``index`` for animation tools: ``bvh`` (skeletons), ``obj-seq`` (a folder), ``glb``
        (skinned, animated hands; ``frame=N``: that frame as a static scene), as ``handgen export`` does.

        Raises:
            HandgenError: an unknown format.
        """
        return export_motion(path, self.motions[index], self.hands, format, frame=frame)
