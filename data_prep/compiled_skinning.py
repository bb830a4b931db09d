"""Prep's skinning of the procedural hand as one compiled pass: torch's numbers bit for bit, ~3x faster per call.

:class:`~handgen.hand.skinning.SkinningLayout` poses the vertices with one GEMM ``A (b*12, 16) @ weights (16, N)``
(torch hands it to MKL) and three ``addcmul`` s with the rest points. On the CPUs where MKL's float32 GEMM sums
each output element as one chain of fused multiply-adds over ``k = 0..15``, starting from zero, and torch's
``addcmul`` is ``fma(t1, t2, self)`` in its vectorised body and its scalar tail alike, :func:`blend_vertices`
does the same operations in the same order with LLVM's ``fma`` intrinsic: per vertex only the joints that weigh
on it (3.3 of 16 on average; the skipped terms are ``fma(a, 0, acc)``, which leave ``acc`` unchanged for finite
``a``, and ``acc`` is never ``-0``), vectorised over frames. The rest points stay torch's ``addmm`` (its order
depends on the batch size). 1.8-2.2 ms -> ~0.6 ms per 90-frame hand; the GEMM's 2 MB intermediate, which made
torch's skinning the part of the contact most slowed by the other core, is gone.

Whether a CPU sums that way is checked, not assumed: :class:`CompiledSkinning` skins a probe batch both ways on
its first call without autograd and keeps torch's path for good if a single byte differs (as on a CPU where MKL
splits the sum). Non-finite inputs (``inf * 0`` is NaN in the GEMM) and tracked or non-float32 tensors take
torch's path too. tests/test_compiled_skinning.py compares the bytes over many batch sizes and poses.
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from handgen.hand.skinning import SKIN_CHUNK, SkinningLayout

_FRAME_BLOCK = 32  # frames per vector block of blend_vertices
_PROBE_FRAMES = (1, 7, 90, 300)  # batch sizes of the first-call check (one chunk, several, and a tail)


@intrinsic
def fma32(typingctx, a, b, c):
    """``a * b + c`` with one rounding (LLVM's ``llvm.fma.f32``), for float32 scalars."""
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        f32 = ir.FloatType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f32, [f32, f32, f32]), "llvm.fma.f32")
        return builder.call(fn, args)

    return sig, codegen


@numba.njit(cache=True, nogil=True)
def blend_vertices(mats_t, rest, shift, starts, joints, weights, out):
    """Posed vertices into ``out`` (B, N, 3) float32.

    ``mats_t`` (ceil(B / 32), 12, 16, 32): per block of 32 frames, the skin matrices' rows ``4 r + c`` per joint,
    frames last, zero-padded after frame B (whole vectors, no scalar remainder; a block's data stays in L1);
    ``rest`` (B, 3, N) shaped rest points; ``shift`` (B, 3) added last; the nonzero weights of vertex ``j`` are
    ``weights[starts[j]:starts[j+1]]`` for joints ``joints[...]`` (increasing).
    """
    b, n, block = rest.shape[0], rest.shape[2], mats_t.shape[3]
    acc = np.empty((12, block), dtype=np.float32)
    zero = np.float32(0.0)
    for f0 in range(0, b, block):
        mats = mats_t[f0 // block]
        frames = min(block, b - f0)
        for j in range(n):
            first, last = starts[j], starts[j + 1]
            for m in range(12):
                row = acc[m]
                a, w = mats[m, joints[first]], weights[first]
                for i in range(block):
                    row[i] = fma32(a[i], w, zero)
                for s in range(first + 1, last):
                    a, w = mats[m, joints[s]], weights[s]
                    for i in range(block):
                        row[i] = fma32(a[i], w, row[i])
            for i in range(frames):
                f = f0 + i
                p0, p1, p2 = rest[f, 0, j], rest[f, 1, j], rest[f, 2, j]
                for r in range(3):
                    x = fma32(acc[4 * r, i], p0, acc[4 * r + 3, i])
                    x = fma32(acc[4 * r + 1, i], p1, x)
                    x = fma32(acc[4 * r + 2, i], p2, x)
                    out[f, j, r] = x + shift[f, r]


def _sparse_weights(weights_t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts (N+1,), joints, weights) of the nonzero entries of ``weights_t`` (16, N), per vertex, joints increasing."""
    nonzero = weights_t.T != 0  # (N, 16)
    nonzero[~nonzero.any(axis=1), 0] = True  # a vertex without weights: one zero term (+0, as the GEMM gives)
    starts = np.concatenate([[0], np.cumsum(nonzero.sum(axis=1))]).astype(np.int64)
    joints = np.nonzero(nonzero)[1].astype(np.int64)  # row-major: per vertex, increasing joint
    return starts, joints, np.ascontiguousarray(weights_t.T[nonzero], dtype=np.float32)


class CompiledSkinning(torch.nn.Module):
    """A :class:`SkinningLayout` whose forward is :func:`blend_vertices` when that gives torch's bytes (see the
    module); ``rest_points`` and every other use stay the layout's."""

    def __init__(self, layout: SkinningLayout) -> None:
        super().__init__()
        self.layout = layout
        self._sparse = _sparse_weights(layout.weights_t.numpy()) if layout.weights_t.dtype == torch.float32 else None
        self._verified: bool | None = None if self._sparse is not None else False

    def rest_points(self, betas: torch.Tensor) -> torch.Tensor:
        return self.layout.rest_points(betas)

    def forward(self, betas: torch.Tensor, matrices: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`SkinningLayout.forward`'s result (B, N, 3)."""
        if self._verified is not False and self._compilable(betas, matrices, shift):
            if self._verified is None:
                self._verified = self._probe()
            if self._verified:
                return self._compiled(betas, matrices, shift)
        return self.layout(betas, matrices, shift)

    @staticmethod
    def _compilable(betas, matrices, shift) -> bool:
        tensors = (betas, matrices) if shift is None else (betas, matrices, shift)
        if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
            return False
        if any(t.dtype != torch.float32 or t.device.type != "cpu" for t in tensors) or not len(betas):
            return False
        return bool(torch.isfinite(matrices).all())

    def _compiled(self, betas, matrices, shift) -> torch.Tensor:
        # the layout's chunks: addmm's order differs for batches under ~5 rows
        chunks = range(0, len(betas), SKIN_CHUNK)
        rest = torch.cat([self.layout.rest_points(betas[a : a + SKIN_CHUNK]) for a in chunks])
        batch, num_v = len(betas), rest.shape[2]
        blocks = -(-batch // _FRAME_BLOCK)
        padded = np.zeros((blocks * _FRAME_BLOCK, 12, 16), dtype=np.float32)
        padded[:batch] = matrices.reshape(batch, 12, 16).numpy()
        mats_t = np.ascontiguousarray(padded.reshape(blocks, _FRAME_BLOCK, 12, 16).transpose(0, 2, 3, 1))
        offsets = np.zeros((batch, 3), np.float32) if shift is None else shift.reshape(batch, 3).numpy()
        out = np.empty((batch, num_v, 3), dtype=np.float32)
        blend_vertices(mats_t, rest.numpy(), offsets, *self._sparse, out)
        return torch.from_numpy(out)

    def _probe(self) -> bool:
        """Whether :func:`blend_vertices` gives the layout's bytes on random poses (see the module)."""
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for batch in _PROBE_FRAMES:
                betas = torch.randn(batch, self.layout.shapedirs_cm.shape[0], generator=generator)
                matrices = torch.randn(batch, 12, 16, generator=generator)
                shift = torch.randn(batch, 1, 3, generator=generator)
                for extra in (None, shift):
                    expected = self.layout(betas, matrices, extra)
                    found = self._compiled(betas, matrices, extra)
                    if not torch.equal(expected.view(torch.int32), found.view(torch.int32)):
                        return False
        return True
