"""``MotionGenerator``: a trained text-to-motion run (diffusion or AR) behind one ``generate`` call.

    import handgen
    gen = handgen.load("runs/diff")
    motion = gen.generate(left="the left hand makes a fist", right="the right hand waves", num=4, seed=0)
    motion.save("samples/", render=True)

Sampling options left as None take the run's ``sample:`` config section (this is the one
place where options and config defaults are merged; ``handgen sample`` calls it too).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from handgen.api.motion import Motion
from handgen.device import resolve_device
from handgen.diffusion.guidance import GuidanceSchedule
from handgen.errors import HandgenError
from handgen.hand.factory import make_hand_pair
from handgen.hand.pair import HandPair
from handgen.io.motion_npz import load_motion
from handgen.io.run_dir import run_model_type
from handgen.sample.ar_condition import TokenCondition, read_token_condition
from handgen.sample.ar_generator import ARMotionGenerator
from handgen.sample.conditioning import MODES, MotionCondition, build_condition
from handgen.sample.consistency_generator import ConsistencyMotionGenerator
from handgen.sample.diffusion_generator import DiffusionMotionGenerator
from handgen.sample.prompts import BRANCH_KEYS

log = logging.getLogger(__name__)

DIFFUSION_OPTIONS: tuple[str, ...] = ("sampler", "steps", "noisy_guidance")
AR_OPTIONS: tuple[str, ...] = ("temperature", "top_k", "top_p", "greedy")
AR_MODES: tuple[str, ...] = ("text", "prefix")
ENGINES = {"motion_diffusion": DiffusionMotionGenerator, "motion_consistency": ConsistencyMotionGenerator,
           "motion_ar": ARMotionGenerator}


def hand_pair_for(data_meta: dict, mano_dir: str | None) -> HandPair:
    """The hand model for a run's samples (MANO when the run was trained on MANO features).

    Raises:
        HandgenError: a MANO-trained run without MANO files.
    """
    trained_on = data_meta.get("hand_model", "procedural")
    hands = make_hand_pair(mano_dir, flat_hand_mean=True)
    if trained_on == "mano" and hands.name != "mano":
        raise HandgenError("this model was trained on MANO features: pass --mano-dir (or set HANDGEN_MANO_DIR)")
    if trained_on != hands.name:
        log.warning("model trained with the %s hand, sampling with the %s hand", trained_on, hands.name)
    return hands


class MotionGenerator:
    """A trained ``motion_diffusion`` or ``motion_ar`` run, ready to generate :class:`Motion` objects.

    Raises:
        HandgenError / InputFileError: not a run dir of a motion model, or files missing from it.
    """

    def __init__(self, run_dir: str | Path, device: str | None = "auto", mano_dir: str | None = None) -> None:
        model_type = run_model_type(run_dir)
        if model_type not in ENGINES:
            hint = (" (a tokenizer: train configs/motion_ar*.yaml with tokenizer=THIS_DIR, then sample that run)"
                    if model_type == "fsq_tokenizer" else "")
            raise HandgenError(f"{run_dir}: holds a {model_type!r} model; motion generation takes motion_diffusion "
                               f"or motion_ar runs{hint}")
        self.model_type = str(model_type)
        self.engine = ENGINES[self.model_type](run_dir, device=resolve_device(device))
        self.hands = hand_pair_for(self.engine.data_meta, mano_dir)
        self.last_seconds = 0.0

    @property
    def is_ar(self) -> bool:
        return self.model_type == "motion_ar"

    @property
    def run_dir(self) -> Path:
        return self.engine.run_dir

    @property
    def clip_len(self) -> int:
        return self.engine.clip_len

    @property
    def fps(self) -> float:
        return self.engine.fps

    @property
    def cfg(self):
        return self.engine.cfg

    def inapplicable(self, options: dict[str, Any]) -> list[str]:
        """The names in ``options`` (given, i.e. not None/False) that do not apply to this kind of run."""
        foreign = AR_OPTIONS if not self.is_ar else DIFFUSION_OPTIONS
        return [name for name in foreign if options.get(name) not in (None, False)]

    def condition(self, mode: str, source: str | Path, frames: int | None = None, given: str | None = None,
                  frames_given: Sequence[int] | None = None) -> MotionCondition | TokenCondition:
        """A conditioning-mode condition from a motion file (or, for ``prefix``, token ids).

        Diffusion runs: ``reaction`` (``given`` hand), ``wrist``, ``inbetween``, ``keyframe``
        (``frames_given``); AR runs: ``prefix``.

        Raises:
            HandgenError: a mode the run's kind does not have, or options that do not fit it.
        """
        frames = frames or self.clip_len
        self.check_mode(mode, given, frames_given)
        if self.is_ar:
            return read_token_condition(source, self.engine.tokenizer, self.hands)
        motion, _ = load_motion(source)
        return build_condition(motion, self.hands, mode, frames, given, list(frames_given) if frames_given else None,
                               source=str(source))

    def check_mode(self, mode: str, given: str | None = None, frames_given: Sequence[int] | None = None) -> None:
        """Raise HandgenError when conditioning ``mode`` (or its options) does not fit this kind of run."""
        if self.is_ar:
            if mode not in AR_MODES:
                raise HandgenError(f"--mode {mode} is not available for AR runs (they generate one token stream for "
                                   f"both hands, left to right in time); use --mode prefix or a diffusion run")
            if given or frames_given:
                raise HandgenError("--given / --frames-given do not apply to AR runs")
            return
        if mode == "prefix":
            raise HandgenError("--mode prefix is for AR runs; for diffusion runs use --mode inbetween or keyframe")
        if mode not in MODES:
            raise HandgenError(f"unknown conditioning mode {mode!r}; choose from {', '.join(MODES)}")

    def sampling_options(self, sampler: str | None = None, steps: int | None = None, guidance: float | None = None,
                         temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
                         greedy: bool | None = None, use_cache: bool = True,
                         noisy_guidance: float | None = None) -> tuple[dict[str, Any], str, dict]:
        """Merge the given options with the run's ``sample:`` defaults.

        Diffusion runs: without ``guidance`` the run's ``sample.guidance`` applies, with its
        ``sample.noisy_guidance`` on the noisy steps when set; a given ``guidance`` is used at every
        step unless ``noisy_guidance`` is given too (:class:`~handgen.diffusion.guidance.GuidanceSchedule`).

        Returns ``(engine keyword arguments, a one-line label, arrays recorded in the sample files)``.

        Raises:
            HandgenError: options that do not apply to this kind of run.
        """
        given = {"sampler": sampler, "steps": steps, "temperature": temperature, "top_k": top_k, "top_p": top_p,
                 "greedy": greedy, "noisy_guidance": noisy_guidance}
        foreign = self.inapplicable(given)
        if foreign:
            raise HandgenError(f"{', '.join(foreign)} do(es) not apply to {'AR' if self.is_ar else 'diffusion'} runs")
        scfg = self.cfg.sample
        if not self.is_ar:
            name = sampler or str(scfg.sampler)
            noisy = noisy_guidance if noisy_guidance is not None else (
                scfg.noisy_guidance if guidance is None else None)
            schedule = GuidanceSchedule(float(guidance if guidance is not None else scfg.guidance),
                                        None if noisy is None else float(noisy), int(scfg.noisy_from))
            options = {"sampler": name, "steps": steps if steps is not None else (None if sampler else int(scfg.steps)),
                       "guidance": schedule if schedule.noisy is not None else schedule.scale}
            extra = {"sampler": np.asarray(name), "guidance": np.asarray(schedule.scale)}
            if schedule.noisy is not None:
                extra.update(noisy_guidance=np.asarray(schedule.noisy), noisy_from=np.asarray(schedule.noisy_from))
            return options, f"{name}, guidance {schedule.label()}", extra
        options = {
            "guidance": float(guidance if guidance is not None else scfg.guidance),
            "temperature": float(temperature if temperature is not None else scfg.temperature),
            "top_k": top_k if top_k is not None else scfg.top_k,
            "top_p": top_p if top_p is not None else scfg.top_p,
            "greedy": bool(greedy or scfg.greedy),
            "use_cache": bool(use_cache),
        }
        how = "greedy" if options["greedy"] else (
            f"temperature {options['temperature']}, top-k {options['top_k']}, top-p {options['top_p']}")
        extra = {"sampler": np.asarray("ar-greedy" if options["greedy"] else "ar"),
                 "guidance": np.asarray(options["guidance"]), "temperature": np.asarray(options["temperature"]),
                 "top_k": np.asarray(-1 if options["top_k"] is None else int(options["top_k"])),
                 "top_p": np.asarray(1.0 if options["top_p"] is None else float(options["top_p"]))}
        return options, f"AR {how}, guidance {options['guidance']}", extra

    def generate(
        self,
        left: str | None = None,
        right: str | None = None,
        both: str | None = None,
        *,
        prompts: Sequence[dict[str, str]] | None = None,
        num: int = 1,
        frames: int | None = None,
        seed: int = 0,
        sampler: str | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        noisy_guidance: float | None = None,
        condition: MotionCondition | TokenCondition | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        greedy: bool | None = None,
        use_cache: bool = True,
        progress: bool = False,
    ) -> Motion:
        """``num`` motions per prompt (``left``/``right``/``both`` texts, or a list of ``prompts`` dicts).

        ``frames`` defaults to the model's clip length (longer: long horizon, window by window).
        An empty or None text leaves that branch unconditional. Units: metres, seconds.

        Raises:
            HandgenError: no texts, bad counts, options that do not apply to the run, over-long prompts.
        """
        if prompts is None:
            if left is None and right is None and both is None:
                raise HandgenError("give left/right/both texts (empty strings are allowed) or prompts")
            prompts = [{"left": left or "", "right": right or "", "both": both or ""}]
        elif left is not None or right is not None or both is not None:
            raise HandgenError("give either prompts or left/right/both texts, not both")
        prompts = [{k: str(p.get(k) or "") for k in BRANCH_KEYS} for p in prompts]
        if num < 1:
            raise HandgenError("--num must be at least 1")
        frames = frames or self.clip_len
        self.engine.check_frames(frames)
        options, label, extra = self.sampling_options(sampler, steps, guidance, temperature, top_k, top_p, greedy,
                                                      use_cache, noisy_guidance)
        extra["mode"] = np.asarray("prefix" if isinstance(condition, TokenCondition) else
                                   condition.mode if condition is not None else "text")
        triplets = [p for p in prompts for _ in range(num)]
        started = time.perf_counter()
        features = self.engine.generate(triplets, frames, seed=seed, condition=condition, progress=progress, **options)
        self.last_seconds = time.perf_counter() - started
        self.last_label = label
        betas = getattr(condition, "betas", None)
        per_sample = self.engine.sample_arrays() if self.is_ar else None
        return Motion.from_features(features.numpy(), triplets, self.hands, self.fps, betas, extra, per_sample)
