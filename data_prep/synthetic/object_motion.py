"""Hand-object sequences: plan, object trajectory and both hands' motion.

An :class:`ObjectPlan` says which object, which layout (:mod:`object_scene`), which action,
which hand(s) hold it and whether the hands first reach for it. The timeline:

- with ``reach``: the holding hands start 10 cm back along their palm normals, fingers open,
  and arrive at frame 12-17; their fingers close over the next 8 frames; otherwise they hold
  the object from frame 0;
- a few frames later the action runs to the last frame (quintic ease): the object (and the
  hands holding it, rigidly) ``lift`` 12-20 cm, ``lower`` 10-15 cm (from a raised start),
  ``move_left``/``move_right`` 15-22 cm, ``push``/``pull`` 10-15 cm along the forward axis,
  ``turn`` 40-70 degrees about the vertical (the left hand pulls back), ``tilt`` 25-40 degrees
  about the forward axis (the left side rises), or, with the ``lid`` layout, ``open``: the lid
  rotates open by 0.9-1.4 rad with the right hand on it while the left hand holds the body;
- a free hand (one-handed layouts) stays still and relaxed on its own side.

The object pose is written as ARCTIC's ``.object.npy`` row
``[articulation, axis-angle (3), translation (3, mm)]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from data_prep.synthetic import curves
from data_prep.synthetic.compose import HandMotion, relaxed_start
from data_prep.synthetic.finger_poses import finger_trajectory
from data_prep.synthetic.grasp_solver import HandGrasp
from data_prep.synthetic.hand_geometry import pose_hand
from data_prep.synthetic.object_catalog import CatalogObject
from data_prep.synthetic.object_scene import ObjectScene, place_object, signed_grid, solve_layout
from data_prep.synthetic.wrist_paths import rest_anchor, wrist_primitive
from handgen.hand.topology import HANDS

LAYOUTS: tuple[str, ...] = ("sides", "bottom", "wrap_top", "wrap_one", "lid", "support_top", "wrap_both", "pinch",
                             "pinch_one")
BIMANUAL_LAYOUTS: tuple[str, ...] = ("sides", "bottom", "wrap_top", "lid", "support_top", "wrap_both", "pinch")
ONE_HAND_LAYOUTS: tuple[str, ...] = ("wrap_one", "pinch_one")  # the other hand is free
HOLDER_LAYOUTS: tuple[str, ...] = ("wrap_top", "support_top")  # two hands, ``holder`` names the one that carries
ACTIONS: tuple[str, ...] = ("lift", "lower", "move_left", "move_right", "push", "pull", "turn", "tilt", "open")
# per holding hand: the wrist label of each action (the lid hand of "open" rises)
ACTION_WRIST = {"lift": "up", "lower": "down", "move_left": "left", "move_right": "right", "push": "forward",
                "pull": "back", "turn": "rotate", "tilt": "rotate", "open": "still"}
REACH_DISTANCE = 0.10
CLOSE_FRAMES = 8
FREE_HAND_CLEARANCE = 0.02


@dataclass(frozen=True)
class ObjectPlan:
    """Ground truth of an object sequence."""

    object: str
    layout: str
    action: str
    holder: str  # "both", "left" or "right"
    reach: bool
    angle: float = 0.0  # signed amount of turn/tilt (radians), 0 otherwise



def hand_roles(plan: ObjectPlan) -> dict[str, str]:
    """What each hand does: "side", "bottom", "wrap", "top", "body", "lid", "support", "pinch" or "free"."""
    if plan.layout == "sides":
        return {"left": "side", "right": "side"}
    if plan.layout == "wrap_both":
        return {"left": "wrap", "right": "wrap"}
    if plan.layout == "pinch":
        return {"left": "pinch", "right": "pinch"}
    if plan.layout == "pinch_one":
        return {side: "pinch" if side == plan.holder else "free" for side in HANDS}
    if plan.layout == "support_top":
        return {side: "support" if side == plan.holder else "top" for side in HANDS}
    if plan.layout == "bottom":
        return {"left": "bottom", "right": "bottom"}
    if plan.layout == "lid":
        return {"left": "body", "right": "lid"}
    if plan.layout == "wrap_one":
        return {side: "wrap" if side == plan.holder else "free" for side in HANDS}
    return {side: "wrap" if side == plan.holder else "top" for side in HANDS}  # wrap_top: holder = wrapping hand


def plan_labels(plan: ObjectPlan, noun: str, category: str) -> dict:
    """JSON labels in the synthetic label scheme (fingers "grasp" for a holding hand)."""
    roles = hand_roles(plan)
    out: dict = {}
    for side in HANDS:
        role = roles[side]
        if role == "free":
            out[side] = {"fingers": "relaxed", "wrist": "still", "palm": "down"}
            continue
        wrist = "up" if role == "lid" else ACTION_WRIST[plan.action]
        palm = {"bottom": "up", "support": "up", "top": "down", "lid": "forward", "pinch": "down"}.get(role, "inward")
        out[side] = {"fingers": "grasp", "wrist": wrist, "palm": palm}
    out.update(both="hold_object", object=plan.object, noun=noun, category=category, action=plan.action,
               layout=plan.layout, holder=plan.holder, roles=roles, reach=plan.reach)
    return out


def sample_object_plan(rng: np.random.Generator, obj: CatalogObject) -> ObjectPlan:
    """Draw a layout, action, holder and reach compatible with the object."""
    layout = str(obj.spec.layouts[int(rng.integers(len(obj.spec.layouts)))])
    moves = [a for a in obj.spec.actions if a != "open"]
    if layout == "lid":
        action, holder = "open", "both"
    elif layout in ONE_HAND_LAYOUTS:
        holder = "left" if rng.random() < 0.5 else "right"
        away = "move_right" if holder == "left" else "move_left"  # never towards the free hand
        moves = [a for a in moves if a != away]
        action = str(moves[int(rng.integers(len(moves)))])
    else:
        holder = "both" if layout not in HOLDER_LAYOUTS else ("left" if rng.random() < 0.5 else "right")
        action = str(moves[int(rng.integers(len(moves)))])
    angle = 0.0
    if action == "turn":
        angle = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.7, 1.2))
    elif action == "tilt":
        angle = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.45, 0.7))
    return ObjectPlan(obj.name, layout, action, holder, bool(rng.random() < 0.5), angle)


def object_motion(plan: ObjectPlan, frames: int, start: int, rng: np.random.Generator):
    """Rigid motion of the object about its centre and articulation per frame.

    Returns rotations (F,3,3), displacements (F,3) metres and articulation (F,) radians.
    """
    s = curves.ease((np.arange(frames) - start) / max(frames - 1 - start, 1))
    rot = np.broadcast_to(np.eye(3), (frames, 3, 3)).copy()
    disp = np.zeros((frames, 3))
    articulation = np.zeros(frames)
    a = plan.action
    if a in ("lift", "lower"):
        disp[:, 1] = (1 if a == "lift" else -1) * rng.uniform(*((0.12, 0.2) if a == "lift" else (0.1, 0.15))) * s
    elif a in ("move_left", "move_right"):
        disp[:, 0] = (1 if a == "move_left" else -1) * rng.uniform(0.15, 0.22) * s
    elif a in ("push", "pull"):
        disp[:, 2] = (1 if a == "push" else -1) * rng.uniform(0.1, 0.15) * s
    elif a in ("turn", "tilt"):
        axis = np.array([0.0, 1.0, 0.0]) if a == "turn" else np.array([0.0, 0.0, 1.0])
        rot = Rotation.from_rotvec(np.outer(plan.angle * s, axis)).as_matrix()
    elif a == "open":
        articulation = rng.uniform(0.9, 1.4) * s
    else:
        raise ValueError(f"unknown action {a!r}")
    return rot, disp, articulation


def _held(g: HandGrasp, rot: np.ndarray, disp: np.ndarray, pivot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A hand rigidly attached to a motion x -> rot (x - pivot) + pivot + disp: orientations and wrists (F,3)."""
    orient = (Rotation.from_matrix(rot) * Rotation.from_rotvec(g.rotvec)).as_rotvec()
    wrist = np.einsum("fij,j->fi", rot, g.wrist - pivot) + pivot + disp
    return orient, wrist


def _holding_hand(g: HandGrasp, plan: ObjectPlan, scene: ObjectScene, frames: int, arrive: int, motion, normal,
                  lid: bool) -> HandMotion:
    rot, disp, articulation = motion
    if lid:  # rides the lid: rotation about the world hinge axis through the world pivot
        template = scene.obj.template
        axis = scene.rotation @ template.axis
        pivot = scene.rotation @ template.pivot + scene.translation
        rot = Rotation.from_rotvec(np.outer(articulation, axis)).as_matrix()
        disp = np.zeros((frames, 3))
    else:
        pivot = scene.centre
    orient, wrist = _held(g, rot, disp, pivot)
    fingers = np.repeat(g.pose[None], frames, axis=0)
    if plan.reach:
        t = np.arange(frames)
        approach = 1.0 - curves.ease(t / arrive)
        back = -REACH_DISTANCE * normal + np.array([0.0, 0.02, -0.03])
        wrist = wrist + approach[:, None] * back
        close = curves.ease((t - arrive) / CLOSE_FRAMES)[:, None]
        fingers = (1.0 - close) * g.open_pose[None] + close * g.pose[None]
    return HandMotion(global_orient=orient, hand_pose=fingers, wrist=wrist)


def _free_hand(side: str, scene: ObjectScene, frames: int, betas: np.ndarray, motion, rng) -> HandMotion:
    """A still, relaxed hand on its own side, moved outwards until it clears the moving object."""
    fingers = finger_trajectory("relaxed", side, relaxed_start(side, rng), frames, rng)
    anchor = rest_anchor(side, rng)
    path = wrist_primitive("still", side, frames, anchor, rng)
    orient = path.rotvec(side)
    posed = pose_hand(side, orient, fingers, betas)
    rot, disp, _ = motion
    outward = np.array([1.0 if side == "left" else -1.0, 0.0, 0.0])
    shift = np.zeros(3)
    for _ in range(10):
        world = posed.vertices + (path.position + shift)[:, None, :]
        # into the object's resting frame, undoing its motion about the centre
        local = np.einsum("fji,fvj->fvi", rot, world - scene.centre - disp[:, None, :]) + scene.centre
        if scene.sdf(local.reshape(-1, 3)).min() >= FREE_HAND_CLEARANCE:
            break
        shift = shift + 0.03 * outward
    return HandMotion(global_orient=orient, hand_pose=fingers, wrist=path.position + shift)


@dataclass
class ObjectSequenceMotion:
    hands: dict[str, HandMotion]
    object_array: np.ndarray  # (F, 7) ARCTIC .object.npy rows (translation in mm)
    grasps: dict[str, HandGrasp]
    scene: ObjectScene
    move_start: int


def compose_object_sequence(
    plan: ObjectPlan, obj: CatalogObject, frames: int, betas: np.ndarray, rng: np.random.Generator
) -> ObjectSequenceMotion:
    """Both hands' motion and the object's trajectory for ``plan``."""
    holder = plan.holder if plan.layout in ONE_HAND_LAYOUTS else "both"
    scene = place_object(obj, signed_grid(obj), rng, holder, raised=plan.action == "lower")
    grasps = solve_layout(plan.layout, scene, betas, rng, plan.holder)
    arrive = int(rng.integers(12, 18)) if plan.reach else 0
    start = (arrive + CLOSE_FRAMES + int(rng.integers(2, 7))) if plan.reach else int(rng.integers(4, 12))
    motion = object_motion(plan, frames, start, rng)
    roles = hand_roles(plan)
    hands: dict[str, HandMotion] = {}
    for side in HANDS:
        if roles[side] == "free":
            hands[side] = _free_hand(side, scene, frames, betas, motion, rng)
        else:
            normal = Rotation.from_rotvec(grasps[side].rotvec).apply([0.0, -1.0, 0.0])
            hands[side] = _holding_hand(grasps[side], plan, scene, frames, max(arrive, 1), motion, normal,
                                        lid=roles[side] == "lid")
    rot, disp, articulation = motion
    world_rot = Rotation.from_matrix(np.einsum("fij,jk->fik", rot, scene.rotation)).as_rotvec()
    transl = np.einsum("fij,j->fi", rot, scene.translation - scene.centre) + scene.centre + disp
    object_array = np.concatenate([articulation[:, None], world_rot, transl * 1000.0], axis=1)
    return ObjectSequenceMotion(hands, object_array.astype(np.float32), grasps, scene, start)
