"""The whole bimanual grasp pipeline: SDS against the prior, contact refinement, metrics, ranking.

:func:`synthesize_grasps` (``handgen grasp --mesh``): K candidates start from object
orientations dealt by several strategies (:mod:`handgen.grasp.init_strategies`: squeezing
along a principal axis, palm on a surface normal, random as in BG-HOP), with the object under
the right palm and the left hand across it (:mod:`handgen.grasp.placement`, mean
articulation), are optimised together by SDS (:mod:`handgen.grasp.sds`), refined against
the object's SDF (:mod:`handgen.grasp.refinement`), scored, put through the hold test
(:mod:`handgen.grasp.hold_test`) and ranked: grasps that hold first, then by directions
held, then those meeting the plausibility bar (>= 2 fingertips within 5 mm per hand,
penetration < 1 cm), then by SDS loss of the final grasp (deterministic draws).

:func:`sample_prior_grasps` (``handgen grasp --sample-prior``): grids sampled from the
prior with DDIM + CFG, hands recovered (articulation fit, Procrustes for the left hand),
the object decoded and meshed, then the same refinement against the decoded SDF.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from handgen.diffusion.schedulers import sampling_scheduler
from handgen.grasp.convex_pieces import object_pieces
from handgen.grasp.grasp_metrics import VOXEL, grasp_metrics, object_voxels
from handgen.grasp.grid_sampling import GridSDF
from handgen.grasp.hand_field import unit_to_field
from handgen.grasp.hand_frame import frame_center
from handgen.grasp.hold_test import hold_test
from handgen.grasp.init_strategies import STRATEGIES, initial_orientations, principal_axes, squeeze_type
from handgen.grasp.interaction import interaction_grid, object_frame_from_relative, relative_from_object_frame
from handgen.grasp.mesh_input import ObjectMesh
from handgen.grasp.object_sdf import MeshSDF, compute_sdf_grid
from handgen.grasp.placement import facing_palms
from handgen.grasp.prior_run import GraspPrior
from handgen.grasp.recovery import decode_object, hand_frame_sdf, marching_cubes_mesh, recover_hands
from handgen.grasp.refinement import RefineConfig, refine_grasps
from handgen.grasp.sds import SDSConfig, SDSGraspParams, run_sds, sds_loss
from handgen.hand.pair import HandPair

log = logging.getLogger(__name__)
MIN_TIPS = 2
MIN_GRASP_DISTANCE = 0.03  # metres: mean joint distance below which two returned grasps count as the same
MAX_PENETRATION_MM = 10.0


@dataclass
class GraspCandidate:
    """One bimanual grasp in the object frame (metres), with its scores."""

    orient: np.ndarray  # (2, 3)
    transl: np.ndarray  # (2, 3)
    pose: np.ndarray  # (2, 45) absolute (flat-hand-mean)
    joints: np.ndarray  # (2, 21, 3)
    vertices: np.ndarray  # (2, V, 3)
    sds_loss: float
    metrics: dict[str, float]
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return bool(self.metrics.get("holds", 0.0))

    def rank_key(self) -> tuple:
        """Sort key, best first: holds, directions held, plausible, SDS loss."""
        return (not self.holds, -self.metrics.get("hold_directions", 0.0), not self.plausible, self.sds_loss)

    @property
    def plausible(self) -> bool:
        m = self.metrics
        return (m["tips_in_contact_left"] >= MIN_TIPS and m["tips_in_contact_right"] >= MIN_TIPS
                and m["penetration_depth_mm"] < MAX_PENETRATION_MM)


def grasp_text(category: str) -> str:
    return f"grasp {category} with both hands"


def initial_candidates(hands: HandPair, mesh: ObjectMesh, count: int, generator: torch.Generator,
                       strategies: tuple[str, ...] = STRATEGIES) -> tuple[SDSGraspParams, list[str]]:
    """Mean articulations, object orientations dealt by ``strategies``, palms facing across the
    object; returns the parameters and each candidate's strategy label."""
    rot, labels = initial_orientations(mesh.vertices, mesh.faces, count, generator, strategies)
    spin = (torch.rand(count, generator=generator) - 0.5) * 1.2
    pts = torch.tensor(mesh.vertices[:: max(1, len(mesh.vertices) // 4000)], dtype=torch.float32)
    place = facing_palms(hands, pts, rot, spin)
    jitter = (torch.rand(count, 3, generator=generator) * 2 - 1) * 0.01
    means = [hands[h].hands_mean.expand(count, 45) for h in ("left", "right")]
    return SDSGraspParams(rot, place["object_transl"] + jitter, place["left_orient"], place["left_transl"], *means), labels


def add_hold_results(cands: list[GraspCandidate], vertices: np.ndarray, faces: np.ndarray,
                     decomposition: str = "auto") -> None:
    """Run the hold test on every candidate (object frame) and put its figures in ``metrics``."""
    pieces = object_pieces(vertices, faces, decomposition)
    for c in cands:
        c.metrics.update(hold_test(vertices, faces, c.vertices, c.joints, pieces=pieces).as_metrics())


def object_sdfs(mesh: ObjectMesh) -> tuple[MeshSDF, GridSDF]:
    """Exact SDF (metrics) and the precomputed grid (optimisation) of the object, object frame."""
    exact = MeshSDF(mesh.vertices, mesh.faces)
    grid = compute_sdf_grid(mesh.vertices, mesh.faces, mesh_sdf=exact, max_cells=80)
    return exact, GridSDF.from_grid(grid)


def select_diverse(cands: list[GraspCandidate], order: list[int], num: int,
                   min_distance: float = MIN_GRASP_DISTANCE) -> list[int]:
    """``num`` candidates in rank ``order``, skipping any whose mean joint distance (both hands,
    object frame) to one already taken is below ``min_distance`` metres; the skipped fill up the
    list only when too few differ."""
    taken: list[int] = []
    for b in order:
        if all(np.linalg.norm(cands[b].joints - cands[a].joints, axis=-1).mean() >= min_distance for a in taken):
            taken.append(b)
        if len(taken) == num:
            return taken
    return taken + [b for b in order if b not in taken][: num - len(taken)]


@torch.no_grad()
def score_candidates(prior, hands, grid_sdf, exact, orient, transl, pose, text, sds_cfg, voxels=None):
    """SDS loss (B,) and exact metrics of grasps given in the object frame."""
    obj_rot, obj_transl, lo, lt = relative_from_object_frame(hands, orient, transl)
    x = interaction_grid(prior, hands, grid_sdf, obj_rot, obj_transl, lo, lt, pose[:, 0], pose[:, 1])
    losses = sds_loss(prior, x, prior.text_condition(text, x.shape[0]), sds_cfg)
    outs = [hands[h](orient[:, i], pose[:, i], None, transl[:, i]) for i, h in enumerate(("left", "right"))]
    verts = torch.stack([o.vertices for o in outs], 1).numpy()
    joints = torch.stack([o.joints for o in outs], 1).numpy()
    faces = [hands.left.faces.numpy(), hands.right.faces.numpy()]
    voxels = object_voxels(exact) if voxels is None else voxels
    metrics = [grasp_metrics(verts[b], faces, joints[b], exact, voxels=voxels) for b in range(len(verts))]
    return losses, verts, joints, metrics


def synthesize_grasps(
    prior: GraspPrior, hands: HandPair, mesh: ObjectMesh, category: str, num: int = 1, sds_cfg: SDSConfig | None = None,
    refine_cfg: RefineConfig | None = None, inits: int | None = None, seed: int = 0, progress: bool = True,
    strategies: tuple[str, ...] = STRATEGIES, hold: bool = True,
) -> list[GraspCandidate]:
    """Bimanual grasps of ``mesh`` (object frame = the mesh's coordinates), best first.

    ``hold``: run the hold test on every candidate and rank by it (module docstring)."""
    sds_cfg = sds_cfg or SDSConfig()
    refine_cfg = refine_cfg or RefineConfig()
    count = max(int(inits or 0), num, 1)
    t0 = time.time()
    exact, grid_sdf = object_sdfs(mesh)
    gen = torch.Generator().manual_seed(seed)
    params, labels = initial_candidates(hands, mesh, count, gen, strategies)
    text = grasp_text(category)
    if sds_cfg.steps > 0:
        run_sds(prior, hands, grid_sdf, params, text, sds_cfg, gen, progress)
    with torch.no_grad():
        rel = params.relative()
        orient, transl = object_frame_from_relative(hands, rel["obj_rot"], rel["obj_transl"], rel["left_orient"], rel["left_transl"])
        pose = torch.stack([rel["left_pose"], rel["right_pose"]], 1)
    grasp, _ = refine_grasps(hands, grid_sdf, orient, transl, pose, refine_cfg, progress)
    orient, transl, pose = grasp.orient.detach(), grasp.transl.detach(), grasp.pose.detach()
    losses, verts, joints, metrics = score_candidates(prior, hands, grid_sdf, exact, orient, transl, pose, text, sds_cfg)
    cands = [
        GraspCandidate(orient[b].numpy(), transl[b].numpy(), pose[b].numpy(), joints[b], verts[b], float(losses[b]), metrics[b])
        for b in range(count)
    ]
    if hold:
        add_hold_results(cands, mesh.vertices, mesh.faces)
    axes = principal_axes(mesh.vertices)
    order = sorted(range(count), key=lambda b: cands[b].rank_key())
    total = time.time() - t0
    for b in order:
        cands[b].seconds = total / max(num, 1)
        cands[b].extra = {"candidates": count, "total_seconds": total, "init": labels[b],
                          "grasp_type": squeeze_type(cands[b].joints, axes)}
    log.info("%d candidates in %.1f s; %d plausible, %d hold", count, total, sum(c.plausible for c in cands),
             sum(c.holds for c in cands))
    return [cands[b] for b in select_diverse(cands, order, num)]


@torch.no_grad()
def decoded_object_voxels(sdf: GridSDF, verts_obj: np.ndarray) -> np.ndarray:
    """Centres (N, 3) of the 5 mm voxels inside a decoded object, read off its SDF grid.

    Candidates for the intersection volume: the parity + winding-number voxelisation of a
    noisy decoded mesh (up to 20k faces, many split parity votes) took minutes.
    """
    lo, hi = verts_obj.min(0), verts_obj.max(0)
    counts = np.maximum(np.ceil((hi - lo) / VOXEL).astype(int), 1)
    origin = 0.5 * (lo + hi) - 0.5 * VOXEL * (counts - 1)
    axes = [origin[k] + VOXEL * np.arange(counts[k]) for k in range(3)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    inside = sdf(torch.as_tensor(pts, dtype=sdf.values.dtype)).numpy() < 0
    return pts[inside]


@torch.no_grad()
def sample_prior_grids(prior: GraspPrior, text: str, num: int, steps: int, guidance: float, generator: torch.Generator,
                       progress: bool = True) -> torch.Tensor:
    """Interaction grids (num, C, 16, 16, 16) sampled with DDIM and classifier-free guidance."""
    from tqdm.auto import tqdm


    sched = sampling_scheduler("ddim", prior.scheduler, steps)
    c = int(prior.info["in_channels"])
    x = torch.randn(num, c, 16, 16, 16, generator=generator)
    cond = prior.text_condition(text, num)
    for t in tqdm(sched.timesteps, desc="sample", disable=not progress, dynamic_ncols=True, leave=False):
        eps = prior.eps(x, t.reshape(1), cond, guidance)
        x = sched.step(eps, t, x).prev_sample
    return x


def sample_prior_grasps(
    prior: GraspPrior, hands: HandPair, category: str, num: int = 1, steps: int = 50, guidance: float = 4.0,
    refine_cfg: RefineConfig | None = None, seed: int = 0, progress: bool = True,
) -> list[tuple[GraspCandidate, np.ndarray, np.ndarray]]:
    """Grasps sampled from the prior, in the right-local frame, each with its decoded object mesh."""
    t0 = time.time()
    gen = torch.Generator().manual_seed(seed)
    x = sample_prior_grids(prior, grasp_text(category), num, steps, guidance, gen, progress)
    zc = x.shape[1] - 40
    right_field = unit_to_field(x[:, zc : zc + 20]).clamp(0.0, 0.12)
    left_field = unit_to_field(x[:, zc + 20 :]).clamp(0.0, 0.12)
    orient, transl, pose = recover_hands(hands, right_field, left_field)
    sdf = decode_object(prior, x[:, :zc])
    center = frame_center(hands.right).detach()
    out = []
    for b in range(num):
        verts_obj, faces_obj = marching_cubes_mesh(sdf[b].numpy(), center.numpy())
        o, t, p = orient[b : b + 1], transl[b : b + 1], pose[b : b + 1]
        if len(faces_obj) and refine_cfg is not None and refine_cfg.steps > 0:
            grasp, _ = refine_grasps(hands, hand_frame_sdf(sdf[b], center), o, t, p, refine_cfg, progress)
            o, t, p = grasp.orient.detach(), grasp.transl.detach(), grasp.pose.detach()
        metrics = {}
        with torch.no_grad():
            outs = [hands[h](o[:, i], p[:, i], None, t[:, i]) for i, h in enumerate(("left", "right"))]
        verts = torch.stack([q.vertices for q in outs], 1)[0].numpy()
        joints = torch.stack([q.joints for q in outs], 1)[0].numpy()
        if len(faces_obj):
            # intersection volume against the decoded SDF itself (all its pieces inside the mesh's box)
            voxels = decoded_object_voxels(hand_frame_sdf(sdf[b], center), verts_obj)
            metrics = grasp_metrics(verts, [hands.left.faces.numpy(), hands.right.faces.numpy()], joints,
                                    MeshSDF(verts_obj, faces_obj), voxels=voxels)
        cand = GraspCandidate(o[0].numpy(), t[0].numpy(), p[0].numpy(), joints, verts, float("nan"), metrics)
        if len(faces_obj):
            add_hold_results([cand], verts_obj, faces_obj)
        cand.seconds = (time.time() - t0) / num
        out.append((cand, verts_obj, faces_obj))
    return out
