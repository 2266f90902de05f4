"""The dispatch rule: whether a bundle kernel serves a call, and if not, why cuBLAS does.

Written once, here, as a pure function of plain values (no torch), and applied
by both runtimes:

- `aotgemm.runtime.ops` (the torch op) calls `decide` for every call;
- the AOTInductor shim (aotgemm/native/) includes `aotgemm_rule.h`, generated
  from this module by `aotgemm.aoti.rule_header` (the reasons, their texts and
  counter names, the dtypes, the bucket rule, the kernels' operand order and
  the meta-file version), and its `decide` (aotgemm/native/dispatch.cpp) is
  this function, check for check, in the same order.

tests/test_dispatch_conformance.py runs the same cases through both and
requires the same reason, and the same counter, for each.

The order of the checks is part of the rule (the first that fails names the
reason):

 1. a bundle is loaded                          else NOT_LOADED
 2. it matches this machine                     else ENV_MISMATCH (strict off)
 3. the dtype is one kernels exist for          else UNSUPPORTED_DTYPE
 4. x is on the device the bundle serves        else CPU_TENSOR / OTHER_DEVICE
 5. M, N and K are all non-zero                 else EMPTY
 6. the bundle has an entry for (problem, bucket_for(M))   else NO_ENTRY
 7. the entry names a kernel, and M >= its min_m (a tuned split of the
    bucket: the kernel won from there up, cuBLAS below)
                                                else CHOSE_CUBLAS
 8. M <= the kernel's max_m (0: any M)          else ABOVE_MAX_M
 9. x is addressable as [M, K] rows without a copy (unit stride along K,
    leading dimensions collapsible, rows not overlapping), the weight is a
    compact row-major [N, K], the epilogue's operands are contiguous
    (`operand_contiguous`: a bias [N] with unit stride, a residual [M, N]
    addressable as rows exactly N apart), and
    for a kernel compiled for one row stride (x_row_stride; the shipped
    sources all take any, but the bundle format allows a kernel that
    specialises on it) x's rows are exactly that far apart
                                                else NON_CONTIGUOUS
10. K, N and the row stride are multiples of the kernel's alignment, and
    every base address is aligned to max(16 bytes, alignment elements)
                                                else UNALIGNED
11. HIT: the kernel runs.

fp8 (aotgemm_scaled_mm, torch._scaled_mm's semantics): before the rule, the
scales' shapes pick the problem's epilogue (`scale_form`, also ported to C++):
one element each -> scale_tensor; scale_a of one element and scale_b of N
([N] or [1, N]) -> scale_row; scale_a [M, 1] (M > 1) with scale_b [1, N]
(_scaled_mm's row-wise form) -> scale_rowwise; any other form is an error.
Scales of dtype float8_e8m0fnu are MXFP8's block scales -> scale_mx
(ScaleForm.MX), whatever their shapes, with exactly the element counts of
the swizzled layout for x and W (else an error: a kernel would read past them).
At M = 1 the per-token form is one scale_a value too, so its call reads as
scale_row; a scale_rowwise kernel computes the same there, and the lookup
takes the scale_rowwise entry when the bundle has no scale_row one
(`scale_epilogues`): a row-wise bundle serves a batch of one.
The rule then runs as above with dtype float8_e4m3fn, x and W (= mat2^T) as
the aligned pointers plus the scales the kernel indexes (those of more than
one value per the epilogue's operand shapes: scale_row's scale_b,
scale_rowwise's both), and "operands contiguous" meaning those have unit
stride; the one-element scales have no alignment requirement.

No copy is ever made to reach a kernel: an x that is not addressable as rows
goes to cuBLAS, which takes any strides. For a call with a bias, the entry of
the `bias` problem is used when the bundle has one (a fused kernel, or the
tuner's cuBLAS choice); otherwise the `identity` problem's, and the bias is
added after the kernel (the epilogue's unfused form). The fused-epilogue ops
(the gated ones, residual_add) look up the same way: their epilogue's entry, else the
identity problem's with the epilogue applied after the kernel; a miss runs
cuBLAS and then the epilogue's unfused form.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Sequence

from .problem import ROW_ALIGN_BYTES


class Reason(enum.IntEnum):
    """The outcome of one call: HIT, or the reason cuBLAS served it. Values are the C enum's."""

    HIT = 0
    NOT_LOADED = 1
    ENV_MISMATCH = 2
    UNSUPPORTED_DTYPE = 3
    CPU_TENSOR = 4
    OTHER_DEVICE = 5
    EMPTY = 6
    NO_ENTRY = 7
    CHOSE_CUBLAS = 8
    ABOVE_MAX_M = 9
    NON_CONTIGUOUS = 10
    UNALIGNED = 11

    @property
    def text(self) -> str:
        """The reason as `aotgemm.runtime.stats()` names it."""
        return _TEXT[self]

    @property
    def counter(self) -> str:
        """The shim's counter for it (aotgemm_aoti_counter / aotgemm.aoti.counters())."""
        return "hits" if self is Reason.HIT else "miss_" + self.name.lower()

    @property
    def warns(self) -> bool:
        """Whether the first such miss is logged as a warning (a kernel was lost) rather than info."""
        return self in _WARN

    @classmethod
    def from_text(cls, text: str) -> Reason:
        return _BY_TEXT[text]


_TEXT = {
    Reason.HIT: "hit",
    Reason.NOT_LOADED: "not loaded",
    Reason.ENV_MISMATCH: "environment mismatch",
    Reason.UNSUPPORTED_DTYPE: "unsupported dtype",
    Reason.CPU_TENSOR: "cpu tensor",
    Reason.OTHER_DEVICE: "other device",
    Reason.EMPTY: "empty input",
    Reason.NO_ENTRY: "no entry",
    Reason.CHOSE_CUBLAS: "bundle chose cublas",
    Reason.ABOVE_MAX_M: "above max_m",
    Reason.NON_CONTIGUOUS: "non-contiguous",
    Reason.UNALIGNED: "unaligned",
}
_BY_TEXT = {v: k for k, v in _TEXT.items()}
# Misses that lose a kernel the bundle could have served; the others are expected.
_WARN = frozenset({Reason.UNSUPPORTED_DTYPE, Reason.OTHER_DEVICE, Reason.NO_ENTRY, Reason.NON_CONTIGUOUS,
                   Reason.UNALIGNED})
MISS_REASONS = tuple(r for r in Reason if r is not Reason.HIT)
COUNTERS = ("calls", "hits", "misses") + tuple(r.counter for r in MISS_REASONS)


class Device(enum.IntEnum):
    """Where x lives, relative to the device the loaded bundle serves."""

    SERVED = 0
    CPU = 1  # a CPU tensor, and the bundle serves a CUDA device
    OTHER = 2  # another CUDA device (or another device type)


@dataclass(frozen=True)
class Entry:
    """What a dispatch entry gives the rule: a kernel (with its requirements), or the tuner's cuBLAS choice."""

    kernel: bool
    alignment: int = 1
    max_m: int = 0  # 0: any M
    x_row_stride: int = 0  # the one row stride of x the kernel takes; 0: any >= K
    min_m: int = 0  # the entry's DispatchEntry.min_m: cuBLAS serves M below it (0: none)


CUBLAS_ENTRY = Entry(False)


class ScaleForm(enum.IntEnum):
    """How aotgemm_scaled_mm's scales are given (the C enum's values); `epilogue` names the problem's."""

    TENSOR = 0  # scale_a and scale_b of one element each
    ROW = 1  # scale_a of one element, scale_b of N ([N] or [1, N]): one per output column
    ROWWISE = 2  # torch._scaled_mm's row-wise form: scale_a [M, 1] with M > 1 (one per token), scale_b [1, N]
    INVALID = 3  # anything else: the op raises
    # MXFP8: float8_e8m0fnu block scales, one per 32 elements of K, swizzled (epilogues.mx_scale_offset). Chosen
    # by the scales' dtype, not by scale_form (shapes only): aotgemm_scaled_mm checks their element counts
    # (epilogues.mx_scale_count; the kernels do not). The AOTInductor rewrite routes float32 scales only, so
    # the shim never meets this form.
    MX = 4

    @property
    def epilogue(self) -> str | None:
        return {ScaleForm.TENSOR: "scale_tensor", ScaleForm.ROW: "scale_row",
                ScaleForm.ROWWISE: "scale_rowwise", ScaleForm.MX: "scale_mx"}.get(self)

    @property
    def single_row_epilogue(self) -> str | None:
        """The epilogue that also serves this form when M = 1, where it computes the same: a per-output-channel
        call of one row is a per-token one (its one scale_a value is the row's scale)."""
        return "scale_rowwise" if self is ScaleForm.ROW else None


def scale_epilogues(form: ScaleForm, m: int) -> tuple[str, ...]:
    """The epilogues whose bundle entries serve a call of this scale form at M rows, in the order looked up:
    the form's own, then at M = 1 its single_row_epilogue (see the module docstring)."""
    own = (form.epilogue,) if form.epilogue else ()
    return own + ((form.single_row_epilogue,) if m == 1 and form.single_row_epilogue else ())


def scale_form(m: int, n: int, a_shape: Sequence[int], b_shape: Sequence[int]) -> ScaleForm:
    """The form of scales of shapes `a_shape`, `b_shape` for an [M, N] output (see the module docstring)."""
    a_numel = b_numel = 1
    for d in a_shape:
        a_numel *= d
    for d in b_shape:
        b_numel *= d
    if a_numel == 1:
        if b_numel == 1:
            return ScaleForm.TENSOR
        if tuple(b_shape) in ((n,), (1, n)):
            return ScaleForm.ROW
        return ScaleForm.INVALID
    if tuple(a_shape) == (m, 1) and tuple(b_shape) == (1, n):
        return ScaleForm.ROWWISE
    return ScaleForm.INVALID


def rows(sizes: Sequence[int], strides: Sequence[int]) -> int | None:
    """The row stride of x [..., K] seen as [M, K] rows without a copy, or None when no such view exists.

    The last dimension must have unit stride (unless K <= 1); the leading
    dimensions of size != 1 must collapse into one (each stride the next one's
    stride times its size). With a single row the row stride is K.
    """
    k = sizes[-1]
    if k > 1 and strides[-1] != 1:
        return None
    if len(sizes) == 2:  # the common case, without building lists
        return strides[0] if sizes[0] != 1 else k
    lead = [(s, st) for s, st in zip(sizes[:-1], strides[:-1]) if s != 1]
    if not lead:
        return k
    for (_, st0), (s1, st1) in zip(lead, lead[1:]):
        if st0 != st1 * s1:
            return None
    return lead[-1][1]


def operand_contiguous(shape: Sequence[str], m: int, n: int, sizes: Sequence[int], strides: Sequence[int]) -> bool:
    """Whether an epilogue operand of declared `shape` (Epilogue.operand_shapes: ("n",), ("m",) or ("m", "n"))
    can be handed to a kernel as is: a vector with unit stride (given as [N], [1, N] or [M, 1]: every
    dimension of more than one element has unit stride, and there is at most one), or [..., N] rows that are
    exactly N apart (what the kernels index: `v[i]`, `r[i * N + j]`). Its sizes were checked by the op; this
    is layout only."""
    if len(shape) == 1:
        spanned = [st for d, st in zip(sizes, strides) if d > 1]  # the strides of the dimensions it spans
        return len(spanned) <= 1 and all(st == 1 for st in spanned)
    row = rows(sizes, strides)
    return row is not None and (m <= 1 or row == n)


def decide(*, loaded: bool, fallback: bool, dtype_supported: bool, device: Device, m: int, n: int, k: int,
           entry: Entry | None, x_row: int | None, w_strides: Sequence[int], operands_contiguous: bool,
           pointers: Sequence[int], element_bytes: int) -> Reason:
    """The rule (see the module docstring). `x_row`: `rows(x.shape, x.stride())`; `pointers`: the base
    addresses of x, the weight and the epilogue's operands; `element_bytes`: of the dtype."""
    if not loaded:
        return Reason.NOT_LOADED
    if fallback:
        return Reason.ENV_MISMATCH
    if not dtype_supported:
        return Reason.UNSUPPORTED_DTYPE
    if device is Device.CPU:
        return Reason.CPU_TENSOR
    if device is not Device.SERVED:
        return Reason.OTHER_DEVICE
    if m == 0 or n == 0 or k == 0:
        return Reason.EMPTY
    if entry is None:
        return Reason.NO_ENTRY
    if not entry.kernel or m < entry.min_m:
        return Reason.CHOSE_CUBLAS
    if entry.max_m and m > entry.max_m:
        return Reason.ABOVE_MAX_M
    if (x_row is None or (m > 1 and x_row < k) or w_strides[0] != k or w_strides[1] != 1
            or not operands_contiguous or (m > 1 and entry.x_row_stride and x_row != entry.x_row_stride)):
        return Reason.NON_CONTIGUOUS
    a = entry.alignment
    if k % a or n % a or x_row % a:
        return Reason.UNALIGNED
    align_bytes = a * element_bytes
    if align_bytes < ROW_ALIGN_BYTES:
        align_bytes = ROW_ALIGN_BYTES
    for p in pointers:  # a loop, not any(): this runs on every call of the op
        if p % align_bytes:
            return Reason.UNALIGNED
    return Reason.HIT
