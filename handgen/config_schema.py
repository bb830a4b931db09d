"""The schema of every training config: one dataclass per section, one run schema per ``model_type``.

A YAML file (and every ``key=value`` override) is merged onto the structured schema of its
``model_type`` (OmegaConf structured configs), so

- a misspelt key is an error naming the key and the nearest valid one
  (``unknown config key 'model.widht' (did you mean 'model.width'?)``);
- a value of the wrong type (``max_steps=abc``) is an error naming the key;
- a key a file leaves out takes the default written here, so code reads ``cfg.train.mirror``,
  never ``cfg.get("mirror", False)``.

The model sections are built from the models' own config dataclasses (the fields a config
sets; sizes derived from the data, such as ``feature_dim``, are filled in by the builders).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from handgen.errors import HandgenError
from handgen.models.grid_unet import GridUNetConfig
from handgen.models.motion_ar import ARConfig
from handgen.models.motion_denoiser import PREDICTION_TYPES, DenoiserConfig
from handgen.models.motion_evaluator import EvaluatorConfig
from handgen.models.object_autoencoder import AutoencoderConfig

_SCALARS: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str}


def _annotation(text: str) -> Any:
    """The schema type of a model-config field annotation (``"int | None"``, ``"tuple[int, ...]"``...)."""
    optional = text.replace(" ", "").endswith("|None")
    base = text.replace("| None", "").strip()
    kind = list[int] if base.startswith(("tuple", "list")) else _SCALARS[base]
    return Optional[kind] if optional else kind


def _section(name: str, source: type, derived: tuple[str, ...]) -> type:
    """A config-section dataclass with ``source``'s fields except the ``derived`` ones."""
    fields = []
    for f in dataclasses.fields(source):
        if f.name in derived:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        if isinstance(default, (tuple, list)):
            fields.append((f.name, _annotation(str(f.type)), field(default_factory=lambda d=default: list(d))))
        else:
            fields.append((f.name, _annotation(str(f.type)), field(default=default)))
    return dataclasses.make_dataclass(name, fields)


DenoiserSection = _section("DenoiserSection", DenoiserConfig, ("feature_dim", "text_dim"))
ARSection = _section("ARSection", ARConfig, ("codebook_size", "text_dim", "groups"))
EvaluatorSection = _section("EvaluatorSection", EvaluatorConfig, ("motion_dim", "text_dim"))
GridUNetSection = _section("GridUNetSection", GridUNetConfig, ("in_channels", "text_dim", "num_train_timesteps"))
AutoencoderSection = _section("AutoencoderSection", AutoencoderConfig, ("resolution",))


@dataclass
class TokenizerSection:
    """FSQ tokenizer sizes (see :class:`handgen.models.motion_tokenizer.TokenizerConfig`)."""

    preset: str = "base"
    width: int | None = None
    blocks: int | None = None
    attention: int = 0
    levels: list[int] = field(default_factory=lambda: [7, 5, 5, 5, 5])
    downsample: int = 2
    groups: int = 1
    dropout: float = 0.0
    hand_split: bool = False  # per-hand encoders (the left hand's feature block and the right's)
    hand_split_decoder: bool = False
    upsample: str = "nearest"  # the decoder's x2 temporal upsampling: nearest (before issue 22) or linear


@dataclass
class TrainSection:
    """The ``train:`` block shared by every model type (keys a model does not use are ignored by it)."""

    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.0
    lr_schedule: str = "cosine"
    warmup_steps: int = 0
    grad_accum: int = 1
    grad_clip: float = 1.0
    mixed_precision: str = "no"
    cpu: bool = False
    ema: bool = True
    ema_decay: float = 0.999
    checkpoint_every: int = 1000
    checkpoints_total_limit: int = 2
    val_every: int = 1000
    val_items: int = 256
    log_every: int = 50
    cond_drop_prob: float = 0.0  # text dropped for classifier-free guidance
    uncond_prob: float = 0.0  # diffusion: all three texts dropped together (guidance's unconditional pass)
    branch_drop_prob: float = 0.0  # AR: one branch's text dropped alone
    input_noise: float = 0.0  # evaluator: Gaussian noise on the normalised motion input
    crop_frames: int | None = None  # tokenizer: random re-canonicalised windows
    code_noise: float = 0.0  # tokenizer: share of tokens moved one FSQ level before decoding (the target stays clean)
    freeze_encoder: bool = False  # tokenizer: train the decoder only (with init_from: the token ids keep their meaning)
    mirror: bool = False  # left-right mirror images of the training clips


@dataclass
class TextSection:
    encoder: str = "minilm"
    max_tokens: int = 24
    caption_field: str = "captions"
    cache_dir: str | None = None


@dataclass
class DiffusionSection:
    num_train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"
    # what the network outputs: motion runs "sample" (x0) or "v_prediction" (v, converted to x0 inside the
    # denoiser, handgen/models/motion_denoiser.py); the grasp prior "epsilon" (STRING_CHOICES)
    prediction_type: str = "sample"


@dataclass
class MotionLossSection:
    mse: float = 0.5
    velocity: float = 0.2
    acceleration: float = 0.1
    # s in [0, 1]: velocity and acceleration terms divided by (the data's mean squared velocity) ** s;
    # 0 raw differences (HandX), 1 the data's velocity units (handgen/diffusion/motion_loss.py)
    derivative_scale: float = 0.0
    # old switch, kept so older run dirs load: true means derivative_scale 1 (motion_loss.derivative_scale_exponent)
    derivatives_in_data_units: bool = False
    # x0 runs ("sample"): weight each clip's loss by 1 / (1 - abar_t) = SNR_t + 1, the v loss's weighting, capped at
    # max_weight (more weight on nearly clean inputs, where the denoiser must copy its input's motion)
    snr_weighting: bool = False
    # the per-clip weight 1 / (1 - abar_t) of the x0 loss (v_prediction, or snr_weighting) capped at this value
    # (min-SNR-style); null: uncapped
    max_weight: float | None = None


@dataclass
class TokenizerLossSection:
    recon: float = 1.0
    velocity: float = 0.5
    joints: float = 1.0
    beta: float = 0.03
    # smooth L1 on the second (frame-to-frame) differences; 0 (before issue 22) leaves the token-rate tremble unpunished
    acceleration: float = 0.0


@dataclass
class EvaluatorLossSection:
    temperature: float = 0.1


@dataclass
class AutoencoderLossSection:
    far_weight: float = 0.2


@dataclass
class DiffusionSampleSection:
    sampler: str = "dpmpp"
    steps: int = 20
    guidance: float = 2.5
    noisy_guidance: float | None = None  # guidance at timesteps t >= noisy_from (null: `guidance` at every step)
    noisy_from: int = 400


@dataclass
class ARSampleSection:
    guidance: float = 2.0
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    greedy: bool = False


@dataclass
class GridSampleSection:
    sampler: str = "ddim"
    steps: int = 100
    guidance: float = 4.0


@dataclass
class SDSSection:
    steps: int = 500
    inits: int = 8
    t_range: list[float] = field(default_factory=lambda: [0.25, 0.75])
    guidance: float = 4.0
    lr: float = 0.03
    eval_draws: int = 8


@dataclass
class RefineSection:
    steps: int = 300


@dataclass
class SDFSection:
    cells: int = 64
    articulation_step: float = 0.1


@dataclass
class AugmentSection:
    rotate: bool = True
    jitter: float = 0.05


@dataclass
class RunBase:
    model_type: str = "???"
    data: str | None = None
    output_dir: str = "???"
    max_steps: int = "???"  # type: ignore[assignment]
    seed: int = 0
    resume: str | None = None
    train: TrainSection = field(default_factory=TrainSection)


@dataclass
class MotionDiffusionRun(RunBase):
    model: DenoiserSection = field(default_factory=DenoiserSection)  # type: ignore[valid-type]
    text: TextSection = field(default_factory=TextSection)
    diffusion: DiffusionSection = field(default_factory=DiffusionSection)
    loss: MotionLossSection = field(default_factory=MotionLossSection)
    sample: DiffusionSampleSection = field(default_factory=DiffusionSampleSection)


@dataclass
class DistillSection:
    """Consistency distillation (``motion_consistency``): see handgen/diffusion/consistency.py."""

    guidance: float | None = None  # classifier-free guidance baked into the student (null: the teacher's sample.guidance)
    solver_steps: int = 50  # DDIM grid the teacher's ODE is walked on (LCM's 50)
    target_ema: float = 0.95  # EMA decay of the target network (LCM's 0.95)
    timestep_scaling: float = 10.0  # LCMScheduler's boundary-condition scaling
    ode_pairs: int = 0  # teacher samples (noise -> DPM-Solver++ end) made at the start; 0: consistency loss only
    pair_weight: float = 1.0  # weight of the student-to-teacher-sample loss on those pairs
    pair_solver_steps: int = 20  # DPM-Solver++ steps of the teacher for each pair
    dm_weight: float = 0.0  # weight of the distribution-matching loss (0: off)
    dm_warmup: int = 0  # first steps in which only the fake denoiser learns
    fake_updates: int = 1  # optimiser steps of the fake denoiser per micro-batch (DMD2's two time-scale rule)


@dataclass
class MotionConsistencyRun(MotionDiffusionRun):
    """A few-step student; ``model``, ``diffusion``, ``loss`` and the text encoder are the teacher's (copied at training)."""

    teacher: str | None = None
    distill: DistillSection = field(default_factory=DistillSection)
    sample: DiffusionSampleSection = field(default_factory=lambda: DiffusionSampleSection(sampler="lcm", steps=4))


@dataclass
class MotionARRun(RunBase):
    tokenizer: str | None = None
    model: ARSection = field(default_factory=ARSection)  # type: ignore[valid-type]
    text: TextSection = field(default_factory=TextSection)
    sample: ARSampleSection = field(default_factory=ARSampleSection)


@dataclass
class FSQTokenizerRun(RunBase):
    init_from: str | None = None  # a tokenizer run dir whose weights (and data) this training starts from
    model: TokenizerSection = field(default_factory=TokenizerSection)
    loss: TokenizerLossSection = field(default_factory=TokenizerLossSection)


@dataclass
class MotionEvaluatorRun(RunBase):
    model: EvaluatorSection = field(default_factory=EvaluatorSection)  # type: ignore[valid-type]
    text: TextSection = field(default_factory=TextSection)
    loss: EvaluatorLossSection = field(default_factory=EvaluatorLossSection)


@dataclass
class GraspVQVAERun(RunBase):
    sdf_cache: str | None = None
    sdf: SDFSection = field(default_factory=SDFSection)
    model: AutoencoderSection = field(default_factory=AutoencoderSection)  # type: ignore[valid-type]
    augment: AugmentSection = field(default_factory=AugmentSection)
    loss: AutoencoderLossSection = field(default_factory=AutoencoderLossSection)


@dataclass
class GraspPriorRun(RunBase):
    object_encoder: str | None = None
    sdf_cache: str | None = None
    sdf: SDFSection = field(default_factory=SDFSection)
    text: TextSection = field(default_factory=lambda: TextSection(max_tokens=16))
    model: GridUNetSection = field(default_factory=GridUNetSection)  # type: ignore[valid-type]
    diffusion: DiffusionSection = field(default_factory=lambda: DiffusionSection(beta_schedule="linear",
                                                                                 prediction_type="epsilon"))
    sample: GridSampleSection = field(default_factory=GridSampleSection)
    sds: SDSSection = field(default_factory=SDSSection)
    refine: RefineSection = field(default_factory=RefineSection)


RUN_SCHEMAS: dict[str, type] = {
    "motion_diffusion": MotionDiffusionRun,
    "motion_consistency": MotionConsistencyRun,
    "motion_ar": MotionARRun,
    "fsq_tokenizer": FSQTokenizerRun,
    "motion_evaluator": MotionEvaluatorRun,
    "grasp_vqvae": GraspVQVAERun,
    "grasp_prior": GraspPriorRun,
}


# (run schema, dotted key) -> the values a string key may take (subclasses of the schema included)
STRING_CHOICES: dict[tuple[type, str], tuple[str, ...]] = {
    (MotionDiffusionRun, "diffusion.prediction_type"): PREDICTION_TYPES,
    (GraspPriorRun, "diffusion.prediction_type"): ("epsilon",),
}


def check_choices(cfg: DictConfig, schema: type, where: str = "") -> None:
    """Raise HandgenError where a key of :data:`STRING_CHOICES` holds a value not in its list."""
    for (owner, key), choices in STRING_CHOICES.items():
        if issubclass(schema, owner):
            value = OmegaConf.select(cfg, key)
            if value not in choices:
                raise HandgenError(f"config key {key!r}{where} must be one of {', '.join(choices)}, got {value!r}")


def schema_keys(schema: Any, prefix: str = "") -> list[str]:
    """Every dotted key of a schema dataclass (sections expanded)."""
    out = []
    for f in dataclasses.fields(schema):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default  # type: ignore[misc]
        if dataclasses.is_dataclass(default):
            out += schema_keys(type(default), f"{prefix}{f.name}.")
        else:
            out.append(prefix + f.name)
    return out


def _unknown_keys(cfg: Any, valid: set[str], prefix: str = "") -> list[str]:
    out = []
    for key, value in cfg.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, DictConfig):
            if not any(v.startswith(dotted + ".") for v in valid):
                out.append(dotted)
            else:
                out += _unknown_keys(value, valid, dotted + ".")
        elif dotted not in valid:
            out.append(dotted)
    return out


def unknown_key_message(key: str, valid: list[str], where: str = "") -> str:
    """``unknown config key 'x' in FILE (did you mean 'y'?)``."""
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if not near:  # a misspelt last part: compare within the same section
        section, _, last = key.rpartition(".")
        names = [v.rpartition(".")[2] for v in valid if v.rpartition(".")[0] == section]
        found = difflib.get_close_matches(last, names, n=1, cutoff=0.5)
        near = [f"{section}.{found[0]}" if section else found[0]] if found else []
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return f"unknown config key {key!r}{where}{hint}"


def validate(cfg: DictConfig, where: str = "") -> DictConfig:
    """``cfg`` merged onto its model type's schema: defaults filled, types checked, unknown keys refused.

    Raises:
        HandgenError: an unknown model type, an unknown key (with the nearest valid one),
            a value of the wrong type, or a required key left unset.
    """
    model_type = cfg.get("model_type")
    if model_type not in RUN_SCHEMAS:
        raise HandgenError(f"unknown model_type {model_type!r}{where}; known: {', '.join(sorted(RUN_SCHEMAS))}")
    schema = RUN_SCHEMAS[str(model_type)]
    valid = schema_keys(schema)
    unknown = _unknown_keys(cfg, set(valid))
    if unknown:
        raise HandgenError(unknown_key_message(unknown[0], valid, where))
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), cfg)
    except ValidationError as exc:
        key = getattr(exc, "full_key", "") or ""
        raise HandgenError(f"config key {key!r}{where}: {exc.msg if hasattr(exc, 'msg') else exc}".split("\n")[0]) from None
    except (ConfigKeyError, OmegaConfBaseException) as exc:
        raise HandgenError(f"bad config{where}: {str(exc).splitlines()[0]}") from None
    missing = sorted(OmegaConf.missing_keys(merged))
    if missing:
        raise HandgenError(f"config key {missing[0]!r}{where} must be set")
    check_choices(merged, schema, where)
    return merged
