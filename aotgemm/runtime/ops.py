"""The `aotgemm::aotgemm_linear` op: serve `x @ W^T + b` from the active bundle, else from cuBLAS.

`torch.ops.aotgemm.aotgemm_linear(x, weight, bias)` has nn.Linear's semantics. The
real implementation looks the call up in the active dispatch table by
problem key + bucket_for(M) (aotgemm.problem), lets the dispatch rule
(aotgemm.dispatch_rule.decide, shared with the AOTInductor shim) decide, and
either calls the kernel through the problem's call convention
(table.call_kernel) on the current CUDA stream of x's device, or calls
`torch.nn.functional.linear`. Every call is counted, as a hit or as a miss
with its reason, by (dtype, N, K, bucket); the first miss of each
(shape, reason) is logged. Nothing is ever compiled.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import torch

from ..epilogues import BIAS, IDENTITY, epilogue
from ..errors import UnsupportedInput
from ..problem import DTYPE_BYTES, DTYPES, LINEAR, SCALED_DTYPES, bucket_for
from .log import get_logger
from ..dispatch_rule import MISS_REASONS as _MISS, Device, Reason, decide, operand_contiguous, rows
from .ffi import KernelFunction
from .table import Dispatch, Route, call_epilogue, call_order, dtype_name, supported_dtype  # noqa: F401  (Dispatch, Route: re-exported)

_LINEAR_DTYPES = frozenset(DTYPES) - frozenset(SCALED_DTYPES)

# Reasons a call is served by cuBLAS instead of a bundle kernel, as stats() names them (aotgemm.dispatch_rule).
MISS_REASONS = tuple(r.text for r in _MISS)

_active: Dispatch | None = None
_BIAS_SHAPE = epilogue(BIAS).operand_shapes["bias"]  # ("n",): a vector the kernel reads with unit stride


def set_active(dispatch: Dispatch | None) -> Dispatch | None:
    """Make `dispatch` the table the op uses (None: no bundle); the previous one."""
    global _active
    previous, _active = _active, dispatch
    return previous


def get_active() -> Dispatch | None:
    return _active


# --- statistics -----------------------------------------------------------------
# Every call bumps a counter, so the bump takes no lock: one itertools.count per key, whose next() is a
# single C call that no other thread can interleave (a `with lock: counts[key] += 1` cost ~0.5 µs, a
# sixth of a patched nn.Linear call). Readers hold _lock, read a count by ticking it once more, and
# subtract the ticks readers took (_reads). A call racing reset_stats() lands on either side of it.
_lock = threading.Lock()
_ticks: defaultdict = defaultdict(itertools.count)  # (dtype, n, k, bucket, outcome[, epilogue]) -> count
_reads: Counter = Counter()  # key -> ticks taken by readers
_logged: set = set()
HIT = "hit"


def _counts() -> dict[tuple, int]:
    """key -> calls since the last reset_stats(), the keys with at least one call."""
    out = {}
    with _lock:
        for key, tick in list(_ticks.items()):  # list(): one C call, safe against a concurrent insert
            n = next(tick) - _reads[key]
            _reads[key] += 1
            if n:
                out[key] = n
    return out


@dataclass(frozen=True)
class Stats:
    """Calls of the aotgemm ops (aotgemm_linear and the fused-epilogue ops) since the last reset_stats().

    hits:   (dtype, n, k, bucket) -> calls served by a bundle kernel
    misses: (dtype, n, k, bucket, reason) -> calls served by cuBLAS
    epilogues: (epilogue, dtype, n, k, bucket, outcome) -> calls of the fused-epilogue ops
            (aotgemm.runtime.epilogue_ops), outcome "hit" or a miss reason; these calls are
            also counted in hits / misses (n is the weight's N: 2 x intermediate for a gated epilogue).
    `bucket` is the M bucket of the active bundle, or None when no bundle was loaded.
    """

    hits: dict[tuple[str, int, int, int | None], int] = field(default_factory=dict)
    misses: dict[tuple[str, int, int, int | None, str], int] = field(default_factory=dict)
    epilogues: dict[tuple[str, str, int, int, int | None, str], int] = field(default_factory=dict)

    @property
    def total_hits(self) -> int:
        return sum(self.hits.values())

    @property
    def total_misses(self) -> int:
        return sum(self.misses.values())

    def by_reason(self) -> dict[str, int]:
        out: Counter = Counter()
        for (*_, reason), n in self.misses.items():
            out[reason] += n
        return dict(out)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form: {"hits": [...], "misses": [...], "total_hits", "total_misses"}."""
        return {
            "total_hits": self.total_hits,
            "total_misses": self.total_misses,
            "hits": [{"dtype": d, "n": n, "k": k, "bucket": b, "calls": c}
                     for (d, n, k, b), c in sorted(self.hits.items(), key=str)],
            "misses": [{"dtype": d, "n": n, "k": k, "bucket": b, "reason": r, "calls": c}
                       for (d, n, k, b, r), c in sorted(self.misses.items(), key=str)],
            "epilogues": [{"epilogue": e, "dtype": d, "n": n, "k": k, "bucket": b, "outcome": o, "calls": c}
                          for (e, d, n, k, b, o), c in sorted(self.epilogues.items(), key=str)],
        }


def stats() -> Stats:
    items = _counts().items()
    hits: Counter = Counter()
    misses: Counter = Counter()
    epilogues = {}
    for key, c in items:  # (dtype, n, k, bucket, outcome[, epilogue]): the epilogue ops add their name
        dt, n, k, b, outcome = key[:5]
        if len(key) == 6:
            epilogues[(key[5], dt, n, k, b, outcome)] = c
        if outcome == HIT:
            hits[(dt, n, k, b)] += c
        else:
            misses[(dt, n, k, b, outcome)] += c
    return Stats(dict(hits), dict(misses), epilogues)


def reset_stats() -> None:
    global _ticks
    with _lock:
        _ticks = defaultdict(itertools.count)
        _reads.clear()
        _logged.clear()


def _count(key: tuple) -> None:
    """Count one call under `key` (hot paths inline this: next(ops._ticks[key]))."""
    next(_ticks[key])


def record_miss(key: tuple) -> bool:
    """Count a miss under `key` (dtype, n, k, bucket, reason[, epilogue]); True for the first of its key
    since reset_stats() (the one to log)."""
    next(_ticks[key])
    with _lock:
        first = key not in _logged
        if first:
            _logged.add(key)
    return first


def count_miss(dt: str, n: int, k: int, bucket, reason: Reason, what: str = "linear") -> None:
    """Count a call cuBLAS serves, and log the first of each (shape, reason)."""
    if record_miss((dt, n, k, bucket, reason.text)):
        level = logging.WARNING if reason.warns else logging.INFO
        get_logger().log(level, "cuBLAS serves %s %s N=%d K=%d (M bucket %s): %s (logged once per shape "
                         "and reason; see aotgemm.runtime.stats())", dt, what, n, k, bucket, reason.text)


def _miss(x, weight, bias, dt: str, n: int, k: int, bucket, reason: Reason):
    count_miss(dt, n, k, bucket, reason)
    return torch_linear(x, weight, bias)


def matmul_folds(x: torch.Tensor) -> bool:
    """Whether matmul folds x [..., K]'s leading dims into the rows of one GEMM: their strides chain literally,
    stride[i] == stride[i + 1] * size[i + 1], dims of size 1 included (ATen's should_fold)."""
    size, stride = x.shape, x.stride()
    return all(stride[i] == stride[i + 1] * size[i + 1] for i in range(x.dim() - 2))


def torch_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """torch.nn.functional.linear as one 2-D GEMM: x [..., K] seen as its [M, K] rows first (a view, or a copy
    where no view exists). What every call cuBLAS serves goes through.

    F.linear sends an x of more than 2 dims without a bias to matmul, which folds the leading dims only where
    their strides chain literally (stride[i] == stride[i + 1] * size[i + 1], dims of size 1 included), and
    otherwise runs M batched GEMMs of one row each against the broadcast weight. torch.compile hands the op
    such views: an attention's output as [M, 1, K] with strides (K, 128, 1). On the H200 that made Llama-3.1-8B's
    o_proj at M = 128 a batched kernel of 421 us where one GEMM takes 18, and the compiled patched decoder layer
    0.30x of the compiled one (bench/results/h200-2026-12-05/session42, bench/compiled_block_profile.py)."""
    if x.dim() <= 2 or x.numel() == 0 or matmul_folds(x):  # (an empty x: no GEMM to run)
        return torch.nn.functional.linear(x, weight, bias)
    k = x.shape[-1]
    row = rows(x.shape, x.stride())
    x2 = x.reshape(-1, k) if row is None else x.as_strided((x.numel() // k, k), (row, 1))
    return torch.nn.functional.linear(x2, weight, bias).view(*x.shape[:-1], weight.shape[0])


def rows_and_bucket(d: Dispatch, shape) -> tuple[int, int | None]:
    """M (x's rows: all but its last dimension) and the bucket of table `d` that serves it."""
    m = shape[0] if len(shape) == 2 else math.prod(shape[:-1])
    return m, (bucket_for(m, d.buckets) if d.buckets else None)


def static_rows(shape) -> int | None:
    """M, the product of x's leading dimensions (`shape` is x's), where it is a Python int; None where it is
    symbolic (torch.compile or export with a dynamic M). Under Dynamo a SymInt passes isinstance(m, int), and
    type(m) is int too, so the test is whether a comparison on M gives a Python bool: `m >= 0` is True for an
    int and a SymBool (traced, never the True object) for a SymInt."""
    m = math.prod(shape[:-1])
    return m if (m >= 0) is True else None


def has_kernel(dtype: torch.dtype, epilogues: tuple[str, ...], n: int, k: int, m: int) -> bool:
    """Whether the active table serves (dtype, n, k) at M rows with a kernel: of `epilogues`, in the order a call
    looks them up, the first with an entry in M's bucket decides, and its kernel must serve M (Route.serves).
    Called while torch.compile traces, and marked as torch._dynamo.assume_constant_result marks a function
    (below): evaluated then, its answer a constant of the graph, so a graph keeps the table's answer of when
    it was compiled, as an AOTInductor package does."""
    d = get_active()
    if d is None or d.fallback or not d.buckets:  # (a fallback bundle, of another GPU or driver, runs none)
        return False
    bucket = bucket_for(m, d.buckets)
    for name in epilogues:
        route = d.table.get((dtype_name(dtype), LINEAR, name, n, k, bucket))
        if route is not None:
            return route.serves(m)
    return False


def has_kernel_at_some_m(dtype: torch.dtype, epilogues: tuple[str, ...], n: int, k: int) -> bool:
    """Whether the active table serves (dtype, n, k) with a kernel in any bucket, for any of `epilogues`: what
    a trace with a symbolic M can know (the op then decides per call). Marked constant as has_kernel is."""
    d = get_active()
    if d is None or d.fallback or not d.buckets:
        return False
    dt, names = dtype_name(dtype), set(epilogues)
    return any(route.fn is not None and key[0] == dt and key[2] in names and key[3:5] == (n, k)
               for key, route in d.table.items())


# What torch._dynamo.assume_constant_result(has_kernel) does, without importing torch._dynamo, which would add
# ~1.8 s to `import aotgemm.runtime` (tests/test_runtime_epilogues.py checks that the decorator still sets it).
has_kernel._dynamo_marked_constant = True
has_kernel_at_some_m._dynamo_marked_constant = True


def device_of(d: Dispatch, dev: torch.device) -> Device:
    """Where `dev` is relative to the device the active bundle serves (the rule's `device`)."""
    if dev.type == d.device_type and (d.device_index is None or dev.index == d.device_index):
        return Device.SERVED
    return Device.CPU if dev.type == "cpu" else Device.OTHER


# --- validation -------------------------------------------------------------------
def check_x_and_weight(where: str, x: torch.Tensor, weight: torch.Tensor) -> None:
    """Raise UnsupportedInput (one line, naming op `where`) unless x [..., K] and weight [N, K] go together."""
    if weight.dim() != 2:
        raise UnsupportedInput(f"{where}: weight must be 2-D [N, K], got shape {tuple(weight.shape)}")
    n, k = weight.shape
    if x.dim() < 1 or x.shape[-1] != k:
        raise UnsupportedInput(f"{where}: x has shape {tuple(x.shape)} but weight is [N={n}, K={k}]; "
                               f"x's last dimension must be K={k}")
    if x.dtype != weight.dtype:
        raise UnsupportedInput(f"{where}: x is {x.dtype} but weight is {weight.dtype}; they must match")
    if x.device != weight.device:
        raise UnsupportedInput(f"{where}: x is on {x.device} but weight is on {weight.device}; they must match")


def check_inputs(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    """Raise UnsupportedInput unless (x, weight, bias) is a well-formed nn.Linear call."""
    check_x_and_weight("aotgemm::aotgemm_linear", x, weight)
    n = weight.shape[0]
    if bias is not None:
        if bias.dim() != 1 or bias.shape[0] != n:
            raise UnsupportedInput(f"aotgemm::aotgemm_linear: bias must have shape [N={n}], got {tuple(bias.shape)}")
        if bias.dtype != x.dtype:
            raise UnsupportedInput(f"aotgemm::aotgemm_linear: bias is {bias.dtype} but x is {x.dtype}; they must match")
        if bias.device != x.device:
            raise UnsupportedInput(f"aotgemm::aotgemm_linear: bias is on {bias.device} but x is on {x.device}")


def _current_stream(device: torch.device) -> int:
    if device.type != "cuda":
        return 0
    return _raw_stream(device.index)


try:
    _raw_stream = torch._C._cuda_getCurrentRawStream  # an int, without building a Stream object
except AttributeError:  # CPU-only torch builds
    def _raw_stream(index):
        return torch.cuda.current_stream(index).cuda_stream


# --- the op -----------------------------------------------------------------------
# Registered with the low-level Library API rather than torch.library.custom_op:
# custom_op wraps the implementation in a dynamo-disabling decorator that imports
# torch._dynamo (and sympy, ~800 modules) on the first call, which cost 4-5 s of
# "first GEMM" on the H100 host (bench/results/h100-2026-11-25/startup.log).
_LIB = torch.library.Library("aotgemm", "DEF")
# No layout tag: Inductor hands the ops their inputs with eager's strides. It then writes a fused input once per
# op that reads it (the RMSNorm output twice for a patched MLP's gate and up GEMMs), but tagged flexible_layout
# it chose a column-major layout for that input: the compiled patched decoder layer ran 38x slower at M = 128
# (bench/results/h200-2026-12-01/session11, G; tests/test_runtime_ops.py holds it).
_LIB.define("aotgemm_linear(Tensor x, Tensor weight, Tensor? bias=None) -> Tensor")


def _lookup(d: Dispatch, dt: str, n: int, k: int, bucket, has_bias: bool) -> tuple[Route | None, str]:
    """The entry that serves the call, and its epilogue: the bias problem's when the bundle has one, else
    the identity problem's (the bias then added after the kernel)."""
    if has_bias:
        route = d.table.get((dt, LINEAR, BIAS, n, k, bucket))
        if route is not None:
            return route, BIAS
    return d.table.get((dt, LINEAR, IDENTITY, n, k, bucket)), IDENTITY


@dataclass(frozen=True)
class Decision:
    """What the rule decided for one call, with what serving it needs (see `decision`)."""

    reason: Reason
    dt: str
    n: int
    k: int
    bucket: int | None
    route: Route | None = None
    epilogue: str = IDENTITY
    m: int = 0
    x_row: int | None = None

    @property
    def fused(self) -> bool:
        return self.epilogue == BIAS


def decision(d: Dispatch | None, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> Decision:
    """The dispatch rule applied to one (checked) call against table `d`: the one place the op's inputs are
    turned into decide()'s arguments (the op and the patched modules' eager path both use it)."""
    n, k = weight.shape
    dt = dtype_name(x.dtype)
    if d is None:
        return Decision(Reason.NOT_LOADED, dt, n, k, None)
    shape = x.shape
    m, bucket = rows_and_bucket(d, shape)
    dev = x.device
    device = device_of(d, dev)
    route, epilogue = _lookup(d, dt, n, k, bucket, bias is not None)
    fused = epilogue == BIAS
    x_row = rows(shape, x.stride())
    pointers = (x.data_ptr(), weight.data_ptr(), bias.data_ptr()) if fused else (x.data_ptr(), weight.data_ptr())
    # fp8 GEMMs go through aotgemm_scaled_mm (scaled_mm.py): linear has no kernels for them
    reason = decide(loaded=True, fallback=d.fallback, dtype_supported=dt in _LINEAR_DTYPES,
                    device=device, m=m, n=n, k=k, entry=None if route is None else route.entry, x_row=x_row,
                    w_strides=weight.stride(),
                    operands_contiguous=not fused or operand_contiguous(_BIAS_SHAPE, m, n, bias.shape, bias.stride()),
                    pointers=pointers, element_bytes=DTYPE_BYTES.get(dt, 0))
    return Decision(reason, dt, n, k, bucket, route, epilogue, m, x_row)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """out = x @ weight.T + bias, like torch.nn.functional.linear; from a bundle kernel when it can."""
    check_inputs(x, weight, bias)
    c = decision(_active, x, weight, bias)
    if c.reason is not Reason.HIT:
        return _miss(x, weight, bias, c.dt, c.n, c.k, c.bucket, c.reason)
    shape, m, k, n, x_row, fused = x.shape, c.m, c.k, c.n, c.x_row, c.fused
    dev = x.device
    out = torch.empty((m, n), dtype=x.dtype, device=dev)
    fn = c.route.fn
    if isinstance(fn, KernelFunction):  # the argument block of (kernel, weight, bias) is made once and kept
        extras = (bias,) if fused else ()
        fn.prepared(weight.t(), extras, call_order(c.epilogue), n)(x.data_ptr(), m, x_row, out.data_ptr(),
                                                                    _current_stream(dev))
    else:  # any other callable (tests' stand-ins): the call convention with tensors
        # [M, K] rows with the row stride the rule checked (the shim passes the same): a view, never a copy
        x2 = x if len(shape) == 2 and x.stride(0) == x_row else x.as_strided((m, k), (x_row, 1))
        call_epilogue(fn, c.epilogue, x2, weight, out, {BIAS: bias} if fused else {}, _current_stream(dev))
    if bias is not None and not fused:
        out.add_(bias)
    _count((c.dt, n, k, c.bucket, HIT))
    return out if len(shape) == 2 else out.view(*shape[:-1], n)


for _key in ("CPU", "CUDA"):
    _LIB.impl("aotgemm_linear", linear, _key)


@torch.library.register_fake("aotgemm::aotgemm_linear", lib=_LIB)
def _linear_fake(x, weight, bias=None):
    check_inputs(x, weight, bias)
    return x.new_empty((*x.shape[:-1], weight.shape[0]))


def _setup_context(ctx, inputs, output):
    x, weight, bias = inputs
    ctx.save_for_backward(x, weight)
    ctx.has_bias = bias is not None


def _backward(ctx, grad):
    x, weight = ctx.saved_tensors
    gx = gw = gb = None
    if ctx.needs_input_grad[0]:
        gx = grad @ weight
    g2 = grad.reshape(-1, grad.shape[-1])
    if ctx.needs_input_grad[1]:
        gw = g2.t() @ x.reshape(-1, x.shape[-1])
    if ctx.has_bias and ctx.needs_input_grad[2]:
        gb = g2.sum(0)
    return gx, gw, gb


# Backward in plain torch ops (cuBLAS): the op also works where weights require grad.
torch.library.register_autograd("aotgemm::aotgemm_linear", _backward, setup_context=_setup_context, lib=_LIB)

from . import scaled_mm as _scaled_mm  # noqa: E402,F401  (registers aotgemm::aotgemm_scaled_mm on _LIB)
