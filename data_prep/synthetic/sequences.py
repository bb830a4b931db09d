"""One synthetic sequence: its subject, its ARCTIC arrays and its caption segments.

Sequence k of a dataset draws from ``numpy.random.default_rng`` seeded with
``SeedSequence([seed, k])`` (split into independent streams for the plan, the
motion and the wording), so it depends on neither the number of sequences nor
the order in which they are made.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from data_prep.synthetic import captions as captioning
from data_prep.synthetic.compose import (
    PALM_LABELS,
    RELATION_WEIGHTS,
    WRIST_LABELS,
    HandMotion,
    compose_segment,
    sample_plan,
)
from data_prep.synthetic.finger_poses import FINGER_PRIMITIVES
from data_prep.synthetic.object_captions import object_caption_triplets
from data_prep.synthetic.object_catalog import catalog_object
from data_prep.synthetic.object_motion import compose_object_sequence, plan_labels, sample_object_plan
from handgen.hand import ProceduralHand
from handgen.hand.topology import HANDS

NUM_SUBJECTS = 10
BETAS_SD = 0.7
_SUBJECT_SEED = 20_240_611  # subjects are fixed people, the same for every --seed


def subject_name(index: int) -> str:
    """Subject of sequence ``index``: s01..s10 round-robin."""
    return f"s{index % NUM_SUBJECTS + 1:02d}"


def subject_betas(subject: str) -> np.ndarray:
    """Fixed shape (10,) of a subject ("s01".."s10"): normal with sd 0.7, clipped to +-2 sd (float64)."""
    number = int(subject.lstrip("s"))
    rng = np.random.default_rng([_SUBJECT_SEED, number])
    return np.clip(rng.normal(0.0, BETAS_SD, 10), -2 * BETAS_SD, 2 * BETAS_SD)


def sequence_name(index: int) -> str:
    """ARCTIC-like file stem ``<object>_<grab|use>_<NN>``; object-free sequences use object "hands"."""
    return f"hands_use_{index:04d}"


def vocabulary() -> dict[str, list[str]]:
    """All label values, by label field."""
    return {
        "fingers": list(FINGER_PRIMITIVES),
        "wrist": list(WRIST_LABELS),
        "palm": list(PALM_LABELS),
        "both": list(RELATION_WEIGHTS),
    }


@dataclass
class Sequence:
    subject: str
    name: str
    arrays: dict[str, dict[str, np.ndarray]]  # the .mano.npy dict
    segments: list[dict]  # rows of captions.jsonl
    object_array: np.ndarray | None = None  # (F, 7) the .object.npy rows, for hand-object sequences
    object_name: str | None = None

    @property
    def key(self) -> str:
        return f"{self.subject}/{self.name}"


@lru_cache(maxsize=2)
def _arctic_hand(side: str) -> ProceduralHand:
    return ProceduralHand(side)


def to_arctic(motion: dict[str, HandMotion], betas: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Absolute per-hand motion -> ARCTIC's ``.mano.npy`` dict (float32; pose relative to hands_mean)."""
    out = {}
    b32 = torch.as_tensor(betas, dtype=torch.float32)
    for side in HANDS:
        hand = _arctic_hand(side)
        m = motion[side]
        offset = hand.wrist_offset(b32).numpy().astype(np.float64)
        out[side] = {
            "rot": m.global_orient.astype(np.float32),
            "pose": (m.hand_pose - hand.hands_mean.numpy().astype(np.float64)).astype(np.float32),
            "trans": (m.wrist - offset).astype(np.float32),
            "shape": betas.astype(np.float32),
            "fitting_err": np.zeros(len(m.wrist), dtype=np.float32),
        }
    return out


def sequence_rngs(seed: int, index: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """Independent generators (plan, motion, wording) of sequence ``index`` of the dataset ``seed``."""
    plan_seed, motion_seed, text_seed = np.random.SeedSequence([seed, index]).spawn(3)
    return np.random.default_rng(plan_seed), np.random.default_rng(motion_seed), np.random.default_rng(text_seed)


def is_object_sequence(index: int, fraction: float) -> bool:
    """Whether sequence ``index`` holds an object: the ``fraction`` of indices spread evenly (k = 2, 5, 8... at 1/3)."""
    return int(np.floor((index + 1) * fraction + 1e-9)) > int(np.floor(index * fraction + 1e-9))


def object_sequence_name(obj: str, index: int) -> str:
    """ARCTIC-like ``<object>_use_<index>`` (the object name is the part before the first ``_``)."""
    return f"{obj}_use_{index:04d}"


def make_object_sequence(seed: int, index: int, frames: int, objects: list[str], ycb_dir: str | None) -> Sequence:
    """Sequence ``index`` as a hand-object sequence with one of ``objects`` (names of the catalogue)."""
    plan_rng, motion_rng, text_rng = sequence_rngs(seed, index)
    subject = subject_name(index)
    betas = subject_betas(subject)
    obj = catalog_object(objects[int(plan_rng.integers(len(objects)))], ycb_dir)
    plan = sample_object_plan(plan_rng, obj)
    result = compose_object_sequence(plan, obj, frames, betas, motion_rng)
    texts = object_caption_triplets(plan, obj.spec.noun, text_rng)
    name = object_sequence_name(obj.name, index)
    labels = plan_labels(plan, obj.spec.noun, obj.spec.category)
    segment = {"sequence": f"{subject}/{name}", "start": 0, "end": frames, "captions": texts, "labels": labels}
    return Sequence(subject=subject, name=name, arrays=to_arctic(result.hands, betas), segments=[segment],
                    object_array=result.object_array, object_name=obj.name)


def make_sequence(seed: int, index: int, frames: int) -> Sequence:
    """Sequence ``index`` of the dataset made with ``seed``: ARCTIC arrays and its caption segment."""
    plan_rng, motion_rng, text_rng = sequence_rngs(seed, index)
    subject = subject_name(index)
    betas = subject_betas(subject)
    plan = sample_plan(plan_rng)
    motion = compose_segment(plan, frames, betas, motion_rng)
    texts = captioning.caption_triplets(plan, text_rng)
    name = sequence_name(index)
    segment = {"sequence": f"{subject}/{name}", "start": 0, "end": frames, "captions": texts, "labels": plan.labels()}
    return Sequence(subject=subject, name=name, arrays=to_arctic(motion, betas), segments=[segment])
