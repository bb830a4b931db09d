"""``GraspSynthesizer``: a trained grasp prior behind one ``synthesize`` call.

    import handgen
    synth = handgen.load("runs/grasp_prior")
    grasps = synth.synthesize("mug.obj", category="mug", num=4)
    grasps[0].joints            # (2, 21, 3) metres, in the mesh's own frame
    synth.save(grasps, "grasps/")

Options left as None take the run's ``sds:`` / ``refine:`` / ``sample:`` config sections
(the one place where they are merged; ``handgen grasp`` calls it too).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from handgen.device import resolve_device
from handgen.errors import HandgenError
from handgen.grasp.grasp_output import write_grasps
from handgen.grasp.mesh_input import ObjectMesh, load_object_mesh
from handgen.grasp.prior_run import GraspPrior
from handgen.grasp.refinement import RefineConfig
from handgen.grasp.sds import SDSConfig
from handgen.grasp.synthesis import GraspCandidate, sample_prior_grasps, synthesize_grasps
from handgen.hand.factory import make_hand_pair

log = logging.getLogger(__name__)


@dataclass
class Grasp:
    """One bimanual grasp (best first in a list), in the object mesh's own frame, metres.

    ``candidate`` holds both hands' MANO parameters (``orient``/``transl``/``pose`` (2, ...),
    absolute finger poses), ``joints`` (2, 21, 3), ``vertices`` (2, V, 3) and the metrics.
    """

    candidate: GraspCandidate
    object_vertices: np.ndarray  # (V, 3)
    object_faces: np.ndarray  # (F, 3)
    category: str

    @property
    def joints(self) -> np.ndarray:
        return self.candidate.joints

    @property
    def metrics(self) -> dict[str, float]:
        return self.candidate.metrics


class GraspSynthesizer:
    """A trained ``grasp_prior`` run with its hand model, ready to grasp meshes.

    Raises:
        HandgenError / InputFileError: not a grasp prior run dir, or files missing from it.
    """

    def __init__(self, run_dir: str | Path, device: str | None = "auto", mano_dir: str | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.prior = GraspPrior(run_dir, device=resolve_device(device))  # the UNet there; geometry on the CPU
        self.hands = make_hand_pair(mano_dir)
        if self.hands.name != self.prior.hand_model:
            log.warning("the prior was trained with the %s hand; using the %s hand", self.prior.hand_model,
                        self.hands.name)
        self.last_source: dict = {}

    @property
    def cfg(self):
        return self.prior.cfg

    def _refine(self, refine_steps: int | None) -> RefineConfig:
        return RefineConfig(steps=int(refine_steps if refine_steps is not None else self.cfg.refine.steps))

    def synthesize(self, mesh: str | Path | ObjectMesh, category: str, num: int = 1, *, scale: float = 1.0,
                   steps: int | None = None, inits: int | None = None, refine_steps: int | None = None,
                   guidance: float | None = None, seed: int = 0, progress: bool = False) -> list[Grasp]:
        """``num`` grasps of ``mesh`` (a path or a loaded :class:`ObjectMesh`), best first.

        ``scale`` multiplies a mesh file's coordinates (0.001 for millimetres).

        Raises:
            InputFileError: a missing, unreadable or degenerate mesh. HandgenError: bad counts.
        """
        _check_counts(num, steps, inits, refine_steps)
        obj = mesh if isinstance(mesh, ObjectMesh) else load_object_mesh(mesh, scale)
        s = self.cfg.sds
        sds_cfg = SDSConfig(steps=int(steps if steps is not None else s.steps), t_range=tuple(s.t_range),
                            guidance=float(guidance if guidance is not None else s.guidance), lr=float(s.lr),
                            eval_draws=int(s.eval_draws))
        refine_cfg = self._refine(refine_steps)
        found = synthesize_grasps(self.prior, self.hands, obj, category, num, sds_cfg, refine_cfg,
                                  inits if inits is not None else int(s.inits), seed, progress=progress)
        self.last_source = {"mesh": str(obj.path), "scale": obj.scale, "frame": "mesh", "mesh_fixes": "; ".join(obj.fixes),
                            "sds_steps": sds_cfg.steps, "refine_steps": refine_cfg.steps, "ckpt": str(self.run_dir),
                            "seed": seed}
        return [Grasp(g, obj.vertices, obj.faces, category) for g in found]

    def sample(self, category: str, num: int = 1, *, steps: int | None = None, guidance: float | None = None,
               refine_steps: int | None = None, seed: int = 0, progress: bool = False) -> list[Grasp]:
        """``num`` grasps with their objects sampled from the prior (right-hand frame)."""
        _check_counts(num, steps, None, refine_steps)
        if steps == 0:
            raise HandgenError("--steps 0 turns SDS off, which needs --mesh; sampling the prior needs at least 1 DDIM step")
        smp = self.cfg.sample
        steps = int(steps if steps is not None else smp.steps)
        refine_cfg = self._refine(refine_steps)
        results = sample_prior_grasps(self.prior, self.hands, category, num, steps,
                                      float(guidance if guidance is not None else smp.guidance), refine_cfg, seed,
                                      progress=progress)
        self.last_source = {"mesh": "", "scale": 1.0, "frame": "right_hand", "sample_steps": steps,
                            "refine_steps": refine_cfg.steps, "ckpt": str(self.run_dir), "seed": seed}
        return [Grasp(g, v, f, category) for g, v, f in results]

    def save(self, grasps: list[Grasp], out_dir: str | Path, render: bool = True) -> dict:
        """Write ``grasp_XXX.npz`` (+ ``.ply``, ``.png``) and ``summary.json``; returns the summary."""
        if not grasps:
            raise HandgenError("no grasps to save")
        faces = [self.hands.left.faces.numpy(), self.hands.right.faces.numpy()]
        objects = [(g.object_vertices, g.object_faces) for g in grasps]
        return write_grasps(out_dir, [g.candidate for g in grasps], objects, faces, grasps[0].category,
                            self.hands.name, self.last_source, render=render)


def _check_counts(num: int, steps: int | None, inits: int | None, refine_steps: int | None) -> None:
    if num < 1:
        raise HandgenError("--num must be at least 1")
    for name, value in (("steps", steps), ("inits", inits), ("refine-steps", refine_steps)):
        if value is not None and value < 0:
            raise HandgenError(f"--{name} must be non-negative")


def set_cpu_threads(threads: int | None) -> None:
    """torch CPU threads for grasp synthesis (default: min(2, cores))."""
    torch.set_num_threads(threads or max(1, min(2, os.cpu_count() or 1)))
