"""The `aotgemm::aotgemm_linear` op: serve `x @ W^T + b` from the active bundle, else from cuBLAS.

`torch.ops.aotgemm.aotgemm_linear(x, weight, bias)` has nn.Linear's semantics. The
real implementation looks the call up in the active dispatch table by
(dtype, "linear", N, K, bucket_for(M)); when the entry names a kernel and the
tensors meet its requirements it calls the kernel on the current CUDA stream
of x's device, otherwise it calls `torch.nn.functional.linear`. Every call
is counted, as a hit or as a miss with its reason, by (dtype, N, K, bucket);
the first miss of each (shape, reason) is logged. Nothing is ever compiled.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..bundle.format import bucket_for
from ..errors import UnsupportedInput
from .log import get_logger

# Reasons a call is served by cuBLAS instead of a bundle kernel.
NOT_LOADED = "not loaded"
ENV_MISMATCH = "environment mismatch"
UNSUPPORTED_DTYPE = "unsupported dtype"
CPU_TENSOR = "cpu tensor"
OTHER_DEVICE = "other device"
EMPTY = "empty input"
NO_ENTRY = "no entry"
CHOSE_CUBLAS = "bundle chose cublas"
UNALIGNED = "unaligned"
NON_CONTIGUOUS = "non-contiguous"
MISS_REASONS = (NOT_LOADED, ENV_MISMATCH, UNSUPPORTED_DTYPE, CPU_TENSOR, OTHER_DEVICE, EMPTY, NO_ENTRY,
                CHOSE_CUBLAS, UNALIGNED, NON_CONTIGUOUS)
# Misses that lose a kernel the bundle could have served are logged as warnings; the expected ones as info.
WARN_REASONS = frozenset({UNSUPPORTED_DTYPE, OTHER_DEVICE, NO_ENTRY, UNALIGNED, NON_CONTIGUOUS})

DTYPE_NAMES = {torch.bfloat16: "bfloat16", torch.float16: "float16"}
LAYOUT = "linear"


@dataclass(frozen=True)
class Route:
    """What one dispatch entry resolves to: a kernel function, or None for cuBLAS."""

    symbol: str | None
    fn: Callable | None
    alignment: int = 8


@dataclass
class Dispatch:
    """The table the op consults: (dtype, layout, n, k, m_bucket) -> Route."""

    buckets: tuple[int, ...]
    table: dict[tuple[str, str, int, int, int], Route]
    device_type: str = "cuda"
    device_index: int | None = None  # kernels are served on this device only (None: any)
    fallback: bool = False  # environment mismatch: serve everything from cuBLAS
    name: str = ""


_active: Dispatch | None = None


def set_active(dispatch: Dispatch | None) -> Dispatch | None:
    """Make `dispatch` the table the op uses (None: no bundle); the previous one."""
    global _active
    previous, _active = _active, dispatch
    return previous


def get_active() -> Dispatch | None:
    return _active


# --- statistics -----------------------------------------------------------------
_lock = threading.Lock()
_counts: Counter = Counter()  # (dtype, n, k, bucket, outcome) -> calls; outcome "hit" or a reason
_logged: set = set()
HIT = "hit"


@dataclass(frozen=True)
class Stats:
    """Calls of aotgemm::aotgemm_linear since the last reset_stats().

    hits:   (dtype, n, k, bucket) -> calls served by a bundle kernel
    misses: (dtype, n, k, bucket, reason) -> calls served by cuBLAS
    `bucket` is the M bucket of the active bundle, or None when no bundle was loaded.
    """

    hits: dict[tuple[str, int, int, int | None], int] = field(default_factory=dict)
    misses: dict[tuple[str, int, int, int | None, str], int] = field(default_factory=dict)

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
        }


def stats() -> Stats:
    with _lock:
        items = list(_counts.items())
    hits, misses = {}, {}
    for (dt, n, k, b, outcome), c in items:
        if outcome == HIT:
            hits[(dt, n, k, b)] = c
        else:
            misses[(dt, n, k, b, outcome)] = c
    return Stats(hits, misses)


def reset_stats() -> None:
    with _lock:
        _counts.clear()
        _logged.clear()


def _count(key: tuple) -> None:
    with _lock:
        _counts[key] += 1


def _miss(x, weight, bias, dt: str, n: int, k: int, bucket, reason: str):
    key = (dt, n, k, bucket, reason)
    with _lock:
        _counts[key] += 1
        first = key not in _logged
        if first:
            _logged.add(key)
    if first:
        level = logging.WARNING if reason in WARN_REASONS else logging.INFO
        get_logger().log(level, "cuBLAS serves %s linear N=%d K=%d (M bucket %s): %s (logged once per shape "
                         "and reason; see aotgemm.runtime.stats())", dt, n, k, bucket, reason)
    return torch.nn.functional.linear(x, weight, bias)


# --- validation -------------------------------------------------------------------
def check_inputs(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    """Raise UnsupportedInput unless (x, weight, bias) is a well-formed nn.Linear call."""
    if weight.dim() != 2:
        raise UnsupportedInput(f"aotgemm::aotgemm_linear: weight must be 2-D [N, K], got shape {tuple(weight.shape)}")
    n, k = weight.shape
    if x.dim() < 1 or x.shape[-1] != k:
        raise UnsupportedInput(f"aotgemm::aotgemm_linear: x has shape {tuple(x.shape)} but weight is [N={n}, K={k}]; "
                               f"x's last dimension must be K={k}")
    if x.dtype != weight.dtype:
        raise UnsupportedInput(f"aotgemm::aotgemm_linear: x is {x.dtype} but weight is {weight.dtype}; they must match")
    if x.device != weight.device:
        raise UnsupportedInput(f"aotgemm::aotgemm_linear: x is on {x.device} but weight is on {weight.device}")
    if bias is not None:
        if bias.dim() != 1 or bias.shape[0] != n:
            raise UnsupportedInput(f"aotgemm::aotgemm_linear: bias must have shape [N={n}], got {tuple(bias.shape)}")
        if bias.dtype != x.dtype:
            raise UnsupportedInput(f"aotgemm::aotgemm_linear: bias is {bias.dtype} but x is {x.dtype}; they must match")
        if bias.device != x.device:
            raise UnsupportedInput(f"aotgemm::aotgemm_linear: bias is on {bias.device} but x is on {x.device}")


def _aligned(t: torch.Tensor, elems: int) -> bool:
    return t.data_ptr() % 16 == 0 and t.data_ptr() % (elems * t.element_size()) == 0


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
_LIB.define("aotgemm_linear(Tensor x, Tensor weight, Tensor? bias=None) -> Tensor")


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """out = x @ weight.T + bias, like torch.nn.functional.linear; from a bundle kernel when it can."""
    check_inputs(x, weight, bias)
    n, k = weight.shape
    dt = DTYPE_NAMES.get(x.dtype) or str(x.dtype).removeprefix("torch.")
    d = _active
    if d is None:
        return _miss(x, weight, bias, dt, n, k, None, NOT_LOADED)
    shape = x.shape
    m = shape[0] if len(shape) == 2 else math.prod(shape[:-1])
    bucket = bucket_for(m, d.buckets) if d.buckets else None
    if d.fallback:
        return _miss(x, weight, bias, dt, n, k, bucket, ENV_MISMATCH)
    if x.dtype not in DTYPE_NAMES:
        return _miss(x, weight, bias, dt, n, k, bucket, UNSUPPORTED_DTYPE)
    dev = x.device
    if dev.type != d.device_type:
        return _miss(x, weight, bias, dt, n, k, bucket, CPU_TENSOR if dev.type == "cpu" else OTHER_DEVICE)
    if d.device_index is not None and dev.index != d.device_index:
        return _miss(x, weight, bias, dt, n, k, bucket, OTHER_DEVICE)
    if m == 0 or k == 0:
        return _miss(x, weight, bias, dt, n, k, bucket, EMPTY)
    route = d.table.get((dt, LAYOUT, n, k, bucket))
    if route is None:
        return _miss(x, weight, bias, dt, n, k, bucket, NO_ENTRY)
    if route.fn is None:
        return _miss(x, weight, bias, dt, n, k, bucket, CHOSE_CUBLAS)
    x2 = x if len(shape) == 2 else x.reshape(m, k)  # a view whenever x's rows are addressable: no copy
    xs0, xs1 = x2.stride()
    ws0, ws1 = weight.stride()
    if xs1 != 1 or (m > 1 and xs0 < k) or ws1 != 1 or ws0 != k:
        return _miss(x, weight, bias, dt, n, k, bucket, NON_CONTIGUOUS)
    a = route.alignment
    if k % a or n % a or xs0 % a or not _aligned(x2, a) or not _aligned(weight, a):
        return _miss(x, weight, bias, dt, n, k, bucket, UNALIGNED)
    out = torch.empty((m, n), dtype=x.dtype, device=dev)
    route.fn(x2, weight.t(), out, _current_stream(dev))
    if bias is not None:
        out.add_(bias)
    _count((dt, n, k, bucket, HIT))
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
