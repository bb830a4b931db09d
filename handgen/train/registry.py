"""model_type -> TrainingTask class (imported lazily)."""

from __future__ import annotations

import importlib

from handgen.errors import HandgenError

TASKS: dict[str, str] = {
    "motion_diffusion": "handgen.train.tasks.motion_diffusion:MotionDiffusionTask",
    "motion_evaluator": "eval.evaluator.task:MotionEvaluatorTask",
    "fsq_tokenizer": "handgen.train.tasks.fsq_tokenizer:FSQTokenizerTask",
    "motion_ar": "handgen.train.tasks.motion_ar:MotionARTask",
    "grasp_vqvae": "handgen.train.tasks.grasp_vqvae:GraspVQVAETask",
    "grasp_prior": "handgen.train.tasks.grasp_prior:GraspPriorTask",
}


def task_class(model_type: str):
    if model_type not in TASKS:
        raise HandgenError(f"unknown model_type {model_type!r}; known: {', '.join(sorted(TASKS))}")
    module, name = TASKS[model_type].split(":")
    return getattr(importlib.import_module(module), name)
