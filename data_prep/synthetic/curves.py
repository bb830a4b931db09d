"""Smooth time curves for the synthetic motions: easing, progress profiles, oscillations, noise.

Every curve is C-infinity (or C2 for the easing) in time, so motions composed
from them have no jitter artefacts at 30 fps. Time is in frames unless a name
says otherwise; ``u`` is normalised time in [0, 1].
"""

from __future__ import annotations

import numpy as np


def frame_times(frames: int) -> np.ndarray:
    """Normalised time u (F,) from 0 at the first frame to 1 at the last."""
    return np.linspace(0.0, 1.0, frames)


def ease(u: np.ndarray) -> np.ndarray:
    """Quintic smoothstep: 0 -> 1 with zero velocity and acceleration at both ends (u clipped to [0,1])."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (u * (6.0 * u - 15.0) + 10.0)


def ramp(frames: int, duration: float) -> np.ndarray:
    """Weight (F,) easing from 0 at frame 0 to 1 at frame ``duration``, then 1."""
    return ease(np.arange(frames) / max(duration, 1.0))


def progress(frames: int, end_speed: float | None = None) -> np.ndarray:
    """Monotonic progress (F,) from 0 to 1 whose speed never drops below ``end_speed`` x the mean.

    ``s(u) = u - (1 - end_speed) sin(2 pi u) / (2 pi)``: slow at the ends, fastest in the
    middle, so that every window of the sequence shows movement in the same direction.
    By default ``end_speed`` is 0.3 for 90 frames and grows towards 1 (uniform speed) for
    longer sequences, which keeps the slowest 60-frame window moving.
    """
    if end_speed is None:
        end_speed = min(1.0, 0.3 * frames / 90.0)
    u = frame_times(frames)
    return u - (1.0 - end_speed) * np.sin(2.0 * np.pi * u) / (2.0 * np.pi)


def oscillation(frames: int, period: float, phase: float) -> np.ndarray:
    """sin(2 pi t / period + phase) over frames t (F,); ``period`` in frames."""
    return np.sin(2.0 * np.pi * np.arange(frames) / period + phase)


def smooth_noise(rng: np.random.Generator, frames: int, dims: int, amplitude: float) -> np.ndarray:
    """Band-limited noise (F, dims): three sinusoids per dim of 0.15-0.8 Hz at 30 fps.

    The standard deviation per dim is about ``amplitude``; the curve is infinitely smooth.
    """
    t = np.arange(frames)[:, None, None]
    freq = rng.uniform(0.15, 0.8, size=(1, dims, 3)) / 30.0
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(1, dims, 3))
    weight = rng.uniform(0.5, 1.0, size=(1, dims, 3))
    waves = weight * np.sin(2.0 * np.pi * freq * t + phase)
    scale = amplitude / np.sqrt(0.5 * (weight**2).sum(axis=-1))
    return waves.sum(axis=-1) * scale
