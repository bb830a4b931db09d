"""What each ``model_type`` is: its training task, and the object :func:`handgen.load` returns for its run.

One table, read by ``handgen train`` (the task), ``handgen.load`` / ``handgen sample`` /
``handgen grasp`` (the loaded run) and the config schema (:mod:`handgen.config_schema`).
Entries are ``"module:attribute"`` strings resolved on use, so importing the registry
imports no model code, and the core's sampling side never imports ``handgen.train``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from handgen.errors import HandgenError


@dataclass(frozen=True)
class ModelKind:
    """One model type: where its training task and its loaded-run class live."""

    model_type: str
    task: str  # "module:Class" of the TrainingTask
    run: str  # "module:Class" of what handgen.load returns for a run dir of this type
    summary: str


MODEL_KINDS: dict[str, ModelKind] = {kind.model_type: kind for kind in (
    ModelKind("motion_diffusion", "handgen.train.tasks.motion_diffusion:MotionDiffusionTask",
              "handgen.api.motion_generator:MotionGenerator", "text-to-motion diffusion (HandX-style denoiser)"),
    ModelKind("motion_consistency", "handgen.train.tasks.motion_consistency:MotionConsistencyTask",
              "handgen.api.motion_generator:MotionGenerator", "few-step student distilled from a motion diffusion run"),
    ModelKind("motion_ar", "handgen.train.tasks.motion_ar:MotionARTask",
              "handgen.api.motion_generator:MotionGenerator", "text-prefix autoregressive model over FSQ tokens"),
    ModelKind("fsq_tokenizer", "handgen.train.tasks.fsq_tokenizer:FSQTokenizerTask",
              "handgen.sample.tokenizer_run:TokenizerRun", "FSQ motion tokenizer"),
    ModelKind("motion_evaluator", "handgen.train.tasks.motion_evaluator:MotionEvaluatorTask",
              "handgen.sample.evaluator_run:Evaluator", "contrastive text-motion evaluator"),
    ModelKind("grasp_vqvae", "handgen.train.tasks.grasp_vqvae:GraspVQVAETask",
              "handgen.grasp.prior_run:load_object_encoder", "object SDF autoencoder (grasp prior, stage 1)"),
    ModelKind("grasp_prior", "handgen.train.tasks.grasp_prior:GraspPriorTask",
              "handgen.api.grasp_synthesizer:GraspSynthesizer", "bimanual interaction-grid diffusion prior"),
)}


def model_kind(model_type: Any) -> ModelKind:
    """The registry entry of ``model_type``.

    Raises:
        HandgenError: an unknown model type (the message lists the known ones).
    """
    if model_type not in MODEL_KINDS:
        raise HandgenError(f"unknown model_type {model_type!r}; known: {', '.join(sorted(MODEL_KINDS))}")
    return MODEL_KINDS[model_type]


def resolve(reference: str) -> Any:
    """The object a ``"module:attribute"`` reference names (imports the module)."""
    module, name = reference.split(":")
    return getattr(importlib.import_module(module), name)


def task_class(model_type: Any) -> type:
    """The TrainingTask class of ``model_type`` (imports handgen.train: training side only)."""
    return resolve(model_kind(model_type).task)
