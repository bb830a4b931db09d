"""Conditioning by inpainting (RePaint-style, soft mask) for any diffusers scheduler.

At every step the x0 estimate is warped to the known values (:meth:`InpaintingCondition.warp_x0`):
each given frame's mismatch with the model's estimate there is carried into the generated frames
(the displacement map below) and then ``x0 <- m * known + (1 - m) * x0``; after the scheduler step
the known region of x_{t-1} is replaced by the known values noised to the next level. ``m`` in
[0, 1] may be soft (feathered at the borders of the given region). Without the warp the generated
frames only met the given ones at the end and rushed to them in the last few frames.

At the end the given values are not simply pasted over the sample: the difference between
each given frame and the generated frame next to it (on each side) is carried into the
generated frames (:func:`seam_correction`): between two given frames it is interpolated
linearly across the gap (a displacement map, as in motion warping), after the last or before
the first given frame it fades linearly to zero over ``blend_frames`` frames. The given frames
stay exact and the step the correction adds is at most ``1/(blend_frames+1)`` of the difference
at an open end and the two given frames' difference over their gap between them, so no seam
appears where the model did not quite reach the condition.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

SEAM_BLEND_FRAMES = 15  # half a second at 30 fps


def seam_correction(residual: torch.Tensor, given: torch.Tensor, blend_frames: int,
                    residual_before: torch.Tensor | None = None) -> torch.Tensor:
    """Carry each given frame's residual into the free frames around it (a displacement map).

    Args:
        residual: (B, T, D) known minus sampled values on the given entries (anything elsewhere);
            carried into the frames after each given frame.
        given: (B, T, D) bool, True where the value is given.
        blend_frames: frames over which a residual fades to zero (weight ``1 - d/(blend_frames+1)``
            at distance ``d``).
        residual_before: like ``residual``, carried into the frames before each given frame
            (default: ``residual``).

    Returns:
        (B, T, D) correction to add to the sample: on a free frame between two given frames
        the linear interpolation of their residuals (the step it adds is their difference over
        the gap); on a free frame with a given frame on one side only, that frame's residual
        faded to zero over ``blend_frames``; on a given frame its own residual.
    """
    frames = residual.shape[1]
    t = torch.arange(frames, device=residual.device).view(1, frames, 1).expand_as(residual)
    big = frames + blend_frames + 1
    before = torch.where(given, t, torch.full_like(t, -big)).cummax(dim=1).values  # nearest given frame at or before
    after = torch.where(given, t, torch.full_like(t, frames - 1 + big)).flip(1).cummin(dim=1).values.flip(1)
    w_before = (1.0 - (t - before).to(residual.dtype) / (blend_frames + 1)).clamp(min=0.0)
    w_after = (1.0 - (after - t).to(residual.dtype) / (blend_frames + 1)).clamp(min=0.0)
    r_before = residual.gather(1, before.clamp(0, frames - 1))
    r_after = (residual if residual_before is None else residual_before).gather(1, after.clamp(0, frames - 1))
    ramps = w_before * r_before + w_after * r_after  # one side only: a fade
    gap = after - before
    inside = (before >= 0) & (after < frames)  # given frames on both sides: interpolate across the gap
    alpha = ((t - before).to(residual.dtype) / gap.clamp(min=1).to(residual.dtype)).clamp(0.0, 1.0)
    return torch.where(inside, (1.0 - alpha) * r_before + alpha * r_after, ramps)


@dataclass
class InpaintingCondition:
    """Known normalised features and where they hold."""

    known: torch.Tensor  # (B, T, D) normalised features (anything where mask == 0)
    mask: torch.Tensor  # (B, T, D) in [0, 1]; 1 = given
    blend_frames: int = SEAM_BLEND_FRAMES  # frames over which the last step's mismatch fades (0 = paste)

    def to(self, device) -> "InpaintingCondition":
        return InpaintingCondition(self.known.to(device), self.mask.to(device), self.blend_frames)

    @property
    def given(self) -> torch.Tensor:
        """(B, T, D) bool: the fully given entries (mask 1; feathered entries are not)."""
        return self.mask >= 1.0 - 1e-6

    def finish(self, sample: torch.Tensor) -> torch.Tensor:
        """The final sample: given values exact, each seam's mismatch carried into the generated frames.

        The mismatch at a given frame is measured on each side against the generated frame
        next to it (``known[g] - sample[g+1]`` for the frames after, ``known[g] - sample[g-1]``
        for the frames before), so the step across the seam is a fraction of it (``1/(blend_frames+1)``
        at an open end, the residuals' difference over the gap between two given frames), the generated
        motion's own step there included: a seam may hold for a frame, it never jumps.
        """
        if self.blend_frames <= 0:
            return self.apply_x0(sample)
        given = self.given
        zero = torch.zeros_like(sample)
        next_frame = torch.cat([sample[:, 1:], sample[:, -1:]], dim=1)
        prev_frame = torch.cat([sample[:, :1], sample[:, :-1]], dim=1)
        res_after = torch.where(given, self.known - next_frame, zero)
        res_before = torch.where(given, self.known - prev_frame, zero)
        out = sample + seam_correction(res_after, given, self.blend_frames, residual_before=res_before)
        return torch.where(given, self.known, self.apply_x0(out))

    def warp_x0(self, x0: torch.Tensor) -> torch.Tensor:
        """A denoising step's x0 (B, T, D) warped to the condition: the given values in place and each given
        frame's mismatch with the model's own estimate there (``known - x0``) carried into the generated
        frames as in :meth:`finish` (a displacement map), so the next steps denoise a motion that already
        meets the given frames instead of jumping to them at the end. ``blend_frames`` 0: pasted only."""
        if self.blend_frames <= 0:
            return self.apply_x0(x0)
        given = self.given
        residual = torch.where(given, self.known - x0, torch.zeros_like(x0))
        return torch.where(given, self.known, self.apply_x0(x0 + seam_correction(residual, given, self.blend_frames)))

    def apply_x0(self, x0: torch.Tensor) -> torch.Tensor:
        return self.mask * self.known + (1.0 - self.mask) * x0

    def apply_xt(self, x_t: torch.Tensor, noised_known: torch.Tensor) -> torch.Tensor:
        return self.mask * noised_known + (1.0 - self.mask) * x_t


def frame_mask(frames: int, given, feather: int = 0) -> torch.Tensor:
    """(T,) weights: 1 on the given frames, 0 elsewhere.

    With ``feather > 0`` the given frames nearest to a non-given frame ramp down
    (1/(feather+1), 2/(feather+1), ...) so the generated part can blend into them.
    """
    given_set = {int(f) for f in given if 0 <= int(f) < frames}
    weights = torch.zeros(frames)
    for f in given_set:
        if feather <= 0:
            weights[f] = 1.0
            continue
        free = [abs(f - g) for g in range(frames) if g not in given_set]
        dist = min(free) if free else feather + 1
        weights[f] = min(1.0, dist / (feather + 1))
    return weights
