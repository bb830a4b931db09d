"""Numerical placement of the thumb (and index) for poses that need a contact.

The four long fingers are posed by hand (flexion about +z); where the thumb must
land somewhere specific (folded over a fist, tucked for a point, meeting the
index tip for a pinch) its 3 joints are solved for by a small torch optimisation
through :class:`ProceduralHand`, in the right hand's template frame
(``global_orient = 0``). Finger flesh is approximated by capsules along the
21 keypoints with the procedural hand's radii, so the solved thumb rests on the
fingers instead of passing through them.

All poses are ABSOLUTE (flat-hand-mean) right-hand poses (45,), radians; the left
hand uses their mirror image. Results are rounded to 1e-4 rad so that they do not
depend on the last bits of the optimiser.
"""

from __future__ import annotations

import numpy as np
import torch

from handgen.hand import ProceduralHand
from handgen.hand.anatomy import bone_capsules, palm_outline, right_hands_mean
from handgen.hand.topology import FINGER_KEYPOINTS, FINGER_MANO_JOINTS, PALM_KEYPOINTS, pose_slice


def _segment_radii() -> dict[str, tuple[float, ...]]:
    """Flesh radius of each finger segment (base, middle, distal), metres, from the hand's anatomy."""
    radius = {joint: r for joint, _, _, r in bone_capsules()}
    return {finger: tuple(radius[j] for j in joints) for finger, joints in FINGER_MANO_JOINTS.items()}


SEGMENT_RADII = _segment_radii()
_, _PALM_HALF, _PALM_ROUNDING = palm_outline()
PALM_RADIUS = _PALM_HALF + _PALM_ROUNDING  # palm skin to its mid-plane (wrist->knuckle lines), metres
_SAMPLES = torch.linspace(0.0, 1.0, 6, dtype=torch.float64)
_STEPS = 400


class Capsules:
    """Flesh of a posed hand as sample points (N,3) with radii (N,) and a part label per point."""

    def __init__(self, joints: torch.Tensor) -> None:
        points, radii, parts = [], [], []
        for finger, chain in FINGER_KEYPOINTS.items():
            ends = [joints[k] for k in chain]
            for seg in range(3):
                a, b = ends[seg], ends[seg + 1]
                r = SEGMENT_RADII[finger][seg]
                if seg == 2:  # the tip keypoint is on the surface: stop the axis one radius short
                    b = b - r * (b - a) / torch.linalg.norm(b - a)
                points.append(a + _SAMPLES[:, None] * (b - a))
                radii.append(torch.full((len(_SAMPLES),), r, dtype=joints.dtype))
                parts += [f"{finger}{seg}"] * len(_SAMPLES)
        for k in PALM_KEYPOINTS[1:]:
            a, b = joints[0], joints[k]
            points.append(a + _SAMPLES[:, None] * (b - a))
            radii.append(torch.full((len(_SAMPLES),), PALM_RADIUS, dtype=joints.dtype))
            parts += ["palm"] * len(_SAMPLES)
        self.points = torch.cat(points)
        self.radii = torch.cat(radii)
        self.parts = parts

    def penetration(self, mover: str, skip: tuple[str, ...] = ()) -> torch.Tensor:
        """Sum of squared overlaps (m^2) between the segments of finger ``mover`` and every other part."""
        own = torch.tensor([p.startswith(mover) for p in self.parts])
        other = torch.tensor([not p.startswith(mover) and p not in skip for p in self.parts])
        # the base segment of the thumb is embedded in the thenar: only its outer two segments count
        if mover == "thumb":
            own = own & torch.tensor([p != "thumb0" for p in self.parts])
        d = torch.cdist(self.points[own], self.points[other])
        overlap = torch.relu(self.radii[own][:, None] + self.radii[other][None, :] - d)
        return (overlap**2).sum()


def _hand(betas: np.ndarray) -> tuple[ProceduralHand, torch.Tensor]:
    hand = ProceduralHand("right", flat_hand_mean=True, dtype=torch.float64)
    return hand, torch.as_tensor(np.asarray(betas, dtype=np.float64))[None]


def _joints(hand: ProceduralHand, pose: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    zero = torch.zeros(1, 3, dtype=torch.float64)
    return hand(zero, pose[None], betas).joints[0]


def _thumb_slice() -> slice:
    return slice(pose_slice(FINGER_MANO_JOINTS["thumb"][0]).start, pose_slice(FINGER_MANO_JOINTS["thumb"][2]).stop)


def _optimise(pose0: np.ndarray, free: np.ndarray, loss_fn, steps: int = _STEPS) -> np.ndarray:
    """Adam over the entries ``free`` (bool mask (45,)) of ``pose0``; returns the rounded pose."""
    base = torch.as_tensor(pose0, dtype=torch.float64)
    mask = torch.as_tensor(free)
    delta = torch.zeros(int(mask.sum()), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([delta], lr=0.02)
    for _ in range(steps):
        pose = base.clone()
        pose[mask] = base[mask] + delta
        loss = loss_fn(pose)
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = pose0.copy()
    out[free] = pose0[free] + delta.detach().numpy()
    return np.round(out, 4)


def fold_thumb(finger_pose: np.ndarray, betas: np.ndarray, over: str = "middle") -> np.ndarray:
    """Thumb folded across the curled fingers, its tip on the outer face of ``over``'s middle phalanx.

    ``finger_pose`` (45,) must already curl ``over``; only the thumb's 9 entries change.
    """
    hand, b = _hand(betas)
    _, mid, dist, _ = FINGER_KEYPOINTS[over]
    r_target = SEGMENT_RADII[over][1] + SEGMENT_RADII["thumb"][2]
    prior = torch.as_tensor(right_hands_mean()[_thumb_slice()])
    free = np.zeros(45, dtype=bool)
    free[_thumb_slice()] = True

    def loss(pose: torch.Tensor) -> torch.Tensor:
        j = _joints(hand, pose, b)
        caps = Capsules(j)
        centre = 0.5 * (j[mid] + j[dist])
        # outward = away from the palm plane, towards the palmar side (-y in the template frame)
        target = centre + torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64) * r_target
        tip = j[FINGER_KEYPOINTS["thumb"][3]]
        others = j[[FINGER_KEYPOINTS[f][3] for f in ("index", "middle", "ring", "pinky")]]
        keep_off_tips = torch.relu(0.032 - torch.linalg.norm(others - tip, dim=1)).pow(2).sum()
        return (
            ((tip - target) ** 2).sum()
            + 4.0 * caps.penetration("thumb")
            + 4.0 * keep_off_tips
            + 1e-4 * ((pose[_thumb_slice()] - prior) ** 2).sum()
        )

    return _optimise(np.asarray(finger_pose, dtype=np.float64), free, loss)


def pinch_thumb_index(finger_pose: np.ndarray, betas: np.ndarray, gap: float = 0.006) -> np.ndarray:
    """Thumb and index flexed so that their tips meet ``gap`` metres apart, end to end.

    The thumb's 9 entries and the index's three flexion angles are solved for;
    the middle, ring and pinky keep their angles from ``finger_pose`` and the
    thumb tip is kept more than 3 cm from their tips.
    """
    hand, b = _hand(betas)
    free = np.zeros(45, dtype=bool)
    free[_thumb_slice()] = True
    index_flex = [pose_slice(j).start + 2 for j in FINGER_MANO_JOINTS["index"]]
    free[index_flex] = True
    pose0 = np.asarray(finger_pose, dtype=np.float64).copy()
    pose0[index_flex] = (0.55, 0.75, 0.35)
    index_prior = torch.as_tensor(pose0[index_flex])
    thumb_prior = torch.as_tensor(right_hands_mean()[_thumb_slice()])
    r_t, r_i = SEGMENT_RADII["thumb"][2], SEGMENT_RADII["index"][2]
    t3, tt = FINGER_KEYPOINTS["thumb"][2:]
    i3, it = FINGER_KEYPOINTS["index"][2:]

    def loss(pose: torch.Tensor) -> torch.Tensor:
        j = _joints(hand, pose, b)
        caps = Capsules(j)
        d_tips = torch.linalg.norm(j[tt] - j[it])
        # fingertip spheres (one radius back from the tip points) must not overlap
        c_t = j[tt] - r_t * (j[tt] - j[t3]) / torch.linalg.norm(j[tt] - j[t3])
        c_i = j[it] - r_i * (j[it] - j[i3]) / torch.linalg.norm(j[it] - j[i3])
        overlap = torch.relu(r_t + r_i - 0.001 - torch.linalg.norm(c_t - c_i)) ** 2
        others = j[[FINGER_KEYPOINTS[f][3] for f in ("middle", "ring", "pinky")]]
        keep_off = torch.relu(0.032 - torch.linalg.norm(others - j[tt], dim=1)).pow(2).sum()
        thumb_pen = caps.penetration("thumb", skip=("index2",))
        return (
            (d_tips - gap) ** 2
            + 4.0 * overlap
            + 4.0 * keep_off
            + 2.0 * thumb_pen
            + 1e-4 * ((pose[_thumb_slice()] - thumb_prior) ** 2).sum()
            + 1e-4 * ((pose[index_flex] - index_prior) ** 2).sum()
        )

    return _optimise(pose0, free, loss)


def tip_distances(pose: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Distances (4,) from the thumb tip to the index, middle, ring and pinky tips, metres."""
    hand, b = _hand(betas)
    with torch.no_grad():
        j = _joints(hand, torch.as_tensor(pose, dtype=torch.float64), b)
    tips = j[[FINGER_KEYPOINTS[f][3] for f in ("index", "middle", "ring", "pinky")]]
    return torch.linalg.norm(tips - j[FINGER_KEYPOINTS["thumb"][3]], dim=1).numpy()


def thumb_penetration(pose: np.ndarray, betas: np.ndarray) -> float:
    """Deepest overlap (m) of the thumb's outer segments with the other fingers' and palm's flesh."""
    hand, b = _hand(betas)
    with torch.no_grad():
        caps = Capsules(_joints(hand, torch.as_tensor(pose, dtype=torch.float64), b))
        own = torch.tensor([p in ("thumb1", "thumb2") for p in caps.parts])
        other = torch.tensor([not p.startswith("thumb") for p in caps.parts])
        d = torch.cdist(caps.points[own], caps.points[other])
        overlap = caps.radii[own][:, None] + caps.radii[other][None, :] - d
    return float(torch.clamp(overlap.max(), min=0.0))
