"""The `aotgemm::aotgemm_scaled_mm` op: an fp8 (e4m3) W8A8 GEMM served from the active bundle, else by
`torch._scaled_mm`.

    torch.ops.aotgemm.aotgemm_scaled_mm(x, mat2, scale_a, scale_b)
        == torch._scaled_mm(x, mat2, scale_a, scale_b, out_dtype=torch.bfloat16)
    torch.ops.aotgemm.aotgemm_scaled_mm.fast_accum(x, mat2, scale_a, scale_b)
        == torch._scaled_mm(x, mat2, scale_a, scale_b, out_dtype=torch.bfloat16, use_fast_accum=True)

x [M, K] and mat2 = W.t() ([K, N], the transpose view of a row-major W [N, K]) are float8_e4m3fn; the
scales are float32; the output is [M, N] bf16 (problem.OUTPUT_DTYPE). The scale forms, and what serves them:

    scale_a        scale_b            problem epilogue   served by
    1 element      1 element          scale_tensor       a bundle kernel, else _scaled_mm (per-tensor)
    1 element      N ([N] or [1, N])  scale_row          a bundle kernel, else _scaled_mm (row-wise, with
                                                         scale_a broadcast to [M, 1])
    [M, 1], M > 1  [1, N]             scale_rowwise      a bundle kernel, else _scaled_mm (row-wise)
    e8m0, mx_scale_count(M, K) and (N, K) elements, contiguous (any shape; MXFP8 block scales, swizzled as
    torch's to_blocked)              scale_mx           a bundle kernel (B200), else _scaled_mm (MX form)

The two overloads differ only in what serves a miss: `_scaled_mm` in its default mode (partial sums promoted
into float32) or with use_fast_accum=True (what torchao's float8 inference configs ask for, and 0-10% faster
at large M on the H200: bench/results/h200-2026-12-01/session8). A bundle kernel serves both: the e4m3 kernels
promote as the default mode does (docs/kernel-sources.md, "Accumulation"), so they are at least as accurate as
the fast mode, and where the tuner keeps them (M <= 64) the two modes ran equally fast (the tuned per-tensor
Llama-3.1-8B kernels beat both at all 36 points, 1.06x-1.36x over the fast mode, which ran within 2% of the
default: bench/results/h200-2026-12-03/session28, call C). AOTInductor packages
call the default overload only (its C shim); the rewrite leaves a `_scaled_mm` call as it was, use_fast_accum
and all, at every M its bundle has no kernel for (aotgemm/aoti/rewrite.py).

MXFP8 is compile-only so far: no call of it has run on a GPU here (its kernels need sm_100a, and so does
_scaled_mm's MX form).

At M = 1 a per-token call's scale_a is one value, so its form reads as scale_row; where the bundle has no
scale_row entry its scale_rowwise one serves it (the same numbers at one row: dispatch_rule.scale_epilogues).

The lookup is by problem key + bucket_for(M), the decision is aotgemm.dispatch_rule.decide (the same rule
as aotgemm_linear and the AOTInductor shim, with x, W and the scales the epilogue indexes as the aligned
pointers: scale_row's scale_b, scale_rowwise's both), and every call is counted in aotgemm.runtime.stats()
under dtype "float8_e4m3fn". Nothing is compiled.
"""

from __future__ import annotations

import torch

from ..dispatch_rule import Reason, ScaleForm, decide, operand_contiguous, rows, scale_epilogues, scale_form
from ..epilogues import MX_BLOCK, SCALE_ROW, SCALE_ROWWISE, epilogue as epilogue_of, indexed, mx_scale_count
from ..errors import UnsupportedInput
from ..problem import DTYPE_BYTES, FLOAT8_E4M3, FLOAT8_E8M0, LINEAR, output_dtype, torch_dtype
from . import ops
from .table import call_epilogue

OP = "aotgemm::aotgemm_scaled_mm"
_FP8 = torch_dtype(FLOAT8_E4M3)
_OUT = torch_dtype(output_dtype(FLOAT8_E4M3))
_E8M0 = torch_dtype(FLOAT8_E8M0)

ops._LIB.define("aotgemm_scaled_mm(Tensor x, Tensor mat2, Tensor scale_a, Tensor scale_b) -> Tensor")
ops._LIB.define("aotgemm_scaled_mm.fast_accum(Tensor x, Tensor mat2, Tensor scale_a, Tensor scale_b) -> Tensor")


def _err(msg: str) -> UnsupportedInput:
    return UnsupportedInput(f"{OP}: {msg}")


def scales_form(x: torch.Tensor, mat2: torch.Tensor, scale_a: torch.Tensor, scale_b: torch.Tensor) -> ScaleForm:
    """The form of these scales, which selects the scale epilogue (scale_tensor, scale_row, scale_rowwise):
    dispatch_rule.scale_form. Raises UnsupportedInput for any other form."""
    m, n = x.shape[0], mat2.shape[1]
    form = scale_form(m, n, tuple(scale_a.shape), tuple(scale_b.shape))
    if form is ScaleForm.INVALID:
        raise _err(f"scale_a {tuple(scale_a.shape)} and scale_b {tuple(scale_b.shape)} for M={m}, N={n}: give one "
                   f"scale each (per tensor), scale_a of 1 element with scale_b [N] or [1, N] (per output channel), "
                   f"or scale_a [M, 1] with scale_b [1, N] (torch._scaled_mm's row-wise form)")
    return form


def check_inputs(x: torch.Tensor, mat2: torch.Tensor, scale_a: torch.Tensor, scale_b: torch.Tensor) -> ScaleForm:
    """Raise UnsupportedInput unless this is a well-formed call; return its scales' form (scales_form)."""
    if x.dim() != 2 or mat2.dim() != 2:
        raise _err(f"x and mat2 must be 2-D ([M, K] and [K, N]), got {tuple(x.shape)} and {tuple(mat2.shape)}")
    if x.shape[1] != mat2.shape[0]:
        raise _err(f"x is {tuple(x.shape)} and mat2 {tuple(mat2.shape)}: x's K must equal mat2's first dimension")
    if x.dtype != _FP8 or mat2.dtype != _FP8:
        raise _err(f"x and mat2 must be {FLOAT8_E4M3}, got {x.dtype} and {mat2.dtype}")
    for name, t in (("mat2", mat2), ("scale_a", scale_a), ("scale_b", scale_b)):
        if t.device != x.device:
            raise _err(f"{name} is on {t.device} but x is on {x.device}")
    if scale_a.dtype == _E8M0 or scale_b.dtype == _E8M0:
        return _check_mx_scales(x, mat2, scale_a, scale_b)
    for name, s in (("scale_a", scale_a), ("scale_b", scale_b)):
        if s.dtype != torch.float32:
            raise _err(f"{name} must be float32 (or both {FLOAT8_E8M0}: MXFP8 block scales), got {s.dtype}")
    return scales_form(x, mat2, scale_a, scale_b)


def _check_mx_scales(x, mat2, scale_a, scale_b) -> ScaleForm:
    """MXFP8 block scales (ScaleForm.MX): both e8m0, contiguous, of exactly the swizzled layout's element
    counts for x's M rows and W's N rows (a kernel reads that many and checks nothing)."""
    (m, k), n = x.shape, mat2.shape[1]
    if k % MX_BLOCK:
        raise _err(f"K={k} is not a multiple of {MX_BLOCK}: MXFP8 takes one scale per {MX_BLOCK} elements of K")
    for name, s, rows, what in (("scale_a", scale_a, m, "M"), ("scale_b", scale_b, n, "N")):
        if s.dtype != _E8M0:
            raise _err(f"{name} is {s.dtype} but the other scale is {FLOAT8_E8M0}: MXFP8 takes both in "
                       f"{FLOAT8_E8M0}")
        want = mx_scale_count(rows, k)
        if s.numel() != want:
            raise _err(f"{name} has {s.numel()} elements; MXFP8 scales for {what}={rows}, K={k} have {want} "
                       f"(round_up({what}, 128) * round_up(K/{MX_BLOCK}, 4), swizzled as torch's to_blocked)")
        if not s.is_contiguous():
            raise _err(f"{name} must be contiguous (MXFP8 scales are read as one flat swizzled array)")
    return ScaleForm.MX


def fallback(x: torch.Tensor, mat2: torch.Tensor, scale_a: torch.Tensor, scale_b: torch.Tensor,
             epilogue: str, fast_accum: bool = False) -> torch.Tensor:
    """torch._scaled_mm of the call (with use_fast_accum=`fast_accum`); a scale_row call becomes _scaled_mm's
    row-wise form (scale_rowwise's scales are in that form already; made contiguous, which _scaled_mm requires
    and the op does not)."""
    if epilogue == SCALE_ROW:
        scale_a = scale_a.reshape(1, 1).expand(x.shape[0], 1).contiguous()
        scale_b = scale_b.reshape(1, -1).contiguous()
    elif epilogue == SCALE_ROWWISE:  # _scaled_mm's row-wise form takes contiguous scales only
        scale_a, scale_b = scale_a.contiguous(), scale_b.contiguous()
    # scale_mx: the e8m0 scales as they are, _scaled_mm's MX form (sm_100 only)
    return torch._scaled_mm(x, mat2, scale_a, scale_b, out_dtype=_OUT, use_fast_accum=fast_accum)


def scaled_mm(x: torch.Tensor, mat2: torch.Tensor, scale_a: torch.Tensor, scale_b: torch.Tensor,
              fast_accum: bool = False) -> torch.Tensor:
    """torch._scaled_mm(x, mat2, scale_a, scale_b, out_dtype=torch.bfloat16, use_fast_accum=fast_accum), from a
    bundle kernel when it can."""
    form = check_inputs(x, mat2, scale_a, scale_b)
    epilogue = form.epilogue
    (m, k), n = x.shape, mat2.shape[1]
    dt = FLOAT8_E4M3
    d = ops.get_active()
    if d is None:
        ops.count_miss(dt, n, k, None, Reason.NOT_LOADED, "scaled_mm")
        return fallback(x, mat2, scale_a, scale_b, epilogue, fast_accum)
    _, bucket = ops.rows_and_bucket(d, x.shape)
    for served in scale_epilogues(form, m):  # the form's own epilogue, then at M = 1 the one that also serves it
        route = d.table.get((dt, LINEAR, served, n, k, bucket))
        if route is not None:
            break
    else:
        served, route = epilogue, None
    w = mat2.t()  # the [N, K] weight the kernel's wt operand is the transpose of
    ep = epilogue_of(served)
    # the op's scales under the epilogue's operand names (scale_mx's: block_scale_a, block_scale_b)
    scales = dict(zip(ep.operands, (scale_a.reshape(-1), scale_b.reshape(-1)) if form is ScaleForm.MX
                      else (scale_a, scale_b)))
    # the scales the kernel indexes (of M or N values): their layout and alignment are the rule's to check
    vectors = [(scales[o], ep.operand_shapes[o]) for o in ep.operands if indexed(ep.operand_shapes[o])]
    x_row = rows(x.shape, x.stride())
    pointers = (x.data_ptr(), w.data_ptr(), *(t.data_ptr() for t, _ in vectors))
    contiguous = all(operand_contiguous(shape, m, n, t.shape, t.stride()) for t, shape in vectors)
    reason = decide(loaded=True, fallback=d.fallback, dtype_supported=True, device=ops.device_of(d, x.device),
                    m=m, n=n, k=k, entry=None if route is None else route.entry, x_row=x_row,
                    w_strides=w.stride(), operands_contiguous=contiguous,
                    pointers=pointers, element_bytes=DTYPE_BYTES[dt])
    if reason is not Reason.HIT:
        ops.count_miss(dt, n, k, bucket, reason, "scaled_mm")
        return fallback(x, mat2, scale_a, scale_b, epilogue, fast_accum)
    x2 = x if x.stride(0) == x_row else x.as_strided((m, k), (x_row, 1))
    out = torch.empty((m, n), dtype=_OUT, device=x.device)
    # the kernel's scales, float32 vectors of their declared length: scale_a [1] or [M] (scale_rowwise), scale_b
    # [1] or [N] (unit stride where indexed: checked by the rule, so these are views)
    extent = {"1": 1, "m": m, "n": n}
    operands = scales if form is ScaleForm.MX else {  # MX: flat already (contiguous: checked, so views)
        o: scales[o].reshape(extent[ep.operand_shapes[o][0]]) for o in ep.operands}
    # The plain call convention, not KernelFunction.prepared: a prepared block fixes every operand but x and
    # out per (kernel, weight) and gives out W's dtype, while scale_a is the activation's (a new tensor per
    # call where x is quantized per call, as Fp8Linear does) and out is bf16 for fp8 W.
    call_epilogue(route.fn, served, x2, w, out, operands, ops._current_stream(x.device))
    ops._count((dt, n, k, bucket, ops.HIT))
    return out


def scaled_mm_fast_accum(x: torch.Tensor, mat2: torch.Tensor, scale_a: torch.Tensor,
                         scale_b: torch.Tensor) -> torch.Tensor:
    """The fast_accum overload: `scaled_mm` whose misses run _scaled_mm with use_fast_accum=True."""
    return scaled_mm(x, mat2, scale_a, scale_b, fast_accum=True)


for _key in ("CPU", "CUDA"):
    ops._LIB.impl("aotgemm_scaled_mm", scaled_mm, _key)
    ops._LIB.impl("aotgemm_scaled_mm.fast_accum", scaled_mm_fast_accum, _key)


def _scaled_mm_fake(x, mat2, scale_a, scale_b):
    check_inputs(x, mat2, scale_a, scale_b)
    return x.new_empty((x.shape[0], mat2.shape[1]), dtype=_OUT)


for _name in (OP, f"{OP}.fast_accum"):
    torch.library.register_fake(_name, _scaled_mm_fake, lib=ops._LIB)
