"""The runtime's dispatch table, and the one way a kernel is called.

`build_table` turns a bundle target and its resolved kernel functions into
`{problem.key + (m_bucket,): Route}`; `call_kernel` calls a kernel with the
argument list of the problem's call convention (`GemmProblem.operands`:
x, W^T, out, the epilogue's operands, stream), for the op (ops.py) and for the
tuner's timing (aotgemm/timing.py) alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import torch

from ..bundle.format import CUBLAS, Target
from ..errors import MalformedIndex
from ..epilogues import epilogue as epilogue_of
from ..problem import DTYPE_BYTES, LEADING_OPERANDS, LINEAR, TRAILING_OPERANDS, GemmProblem
from ..dispatch_rule import CUBLAS_ENTRY, Entry

# torch dtype -> the dtype names of aotgemm.problem (the one table of dtypes).
_DTYPE_NAMES = {getattr(torch, name): name for name in DTYPE_BYTES}


def dtype_name(dtype: torch.dtype) -> str:
    """aotgemm's name of a torch dtype ("bfloat16"); torch's own name ("float32") for the ones without kernels."""
    return _DTYPE_NAMES.get(dtype) or str(dtype).removeprefix("torch.")


def supported_dtype(dtype: torch.dtype) -> str | None:
    """aotgemm's name of a torch dtype bundles hold kernels for, else None."""
    return _DTYPE_NAMES.get(dtype)


@dataclass(frozen=True)
class Route:
    """What one dispatch entry resolves to: a kernel function (with its requirements), or None for cuBLAS."""

    symbol: str | None
    fn: Callable | None
    alignment: int = 8
    max_m: int = 0  # 0: any M
    x_row_stride: int = 0  # 0: any row stride >= K
    min_m: int = 0  # the entry's tuned lower bound (DispatchEntry.min_m): cuBLAS below it; 0: none
    entry: Entry = field(init=False, repr=False, compare=False)  # the rule's view of it, made once

    def __post_init__(self) -> None:
        object.__setattr__(self, "entry", CUBLAS_ENTRY if self.fn is None else
                           Entry(True, self.alignment, self.max_m, self.x_row_stride, self.min_m))

    def serves(self, m: int) -> bool:
        """Whether the entry's kernel serves M rows, as far as M goes (the rule's checks 7 and 8)."""
        return self.fn is not None and m >= self.min_m and (not self.max_m or m <= self.max_m)


@dataclass
class Dispatch:
    """The table the op consults: (dtype, layout, epilogue, n, k, m_bucket) -> Route."""

    buckets: tuple[int, ...]
    table: dict[tuple[str, str, str, int, int, int], Route]
    device_type: str = "cuda"
    device_index: int | None = None  # kernels are served on this device only (None: any)
    fallback: bool = False  # environment mismatch: serve everything from cuBLAS
    name: str = ""


def build_table(target: Target, functions: Mapping[str, Callable]) -> dict[tuple, Route]:
    """problem.key + (m_bucket,) -> Route, from a target and its resolved kernel functions."""
    kernels = {k.symbol: k for k in target.kernels}
    table: dict[tuple, Route] = {}
    for e in target.dispatch:
        if e.kernel == CUBLAS:
            table[e.key] = Route(None, None)
            continue
        k = kernels[e.kernel]
        if (k.dtype, k.layout, k.epilogue) != (e.dtype, e.layout, e.epilogue):
            raise MalformedIndex(f"target {target.gpu}: dispatch entry {e.key} names kernel {k.symbol!r}, "
                                 f"which is {k.dtype}/{k.layout}/{k.epilogue}")
        table[e.key] = Route(k.symbol, functions[k.symbol], k.alignment, k.max_m, k.x_row_stride, e.min_m)
    return table


def shapes(targets: Iterable[Target]) -> frozenset[tuple[str, int, int]]:
    """(dtype, N, K) of every nn.Linear-layout problem some target has an entry for."""
    return frozenset((d.dtype, d.n, d.k) for t in targets for d in t.dispatch if d.layout == LINEAR)


def served(targets: Iterable[Target]) -> frozenset[tuple[str, int, int, str]]:
    """(dtype, N, K, epilogue) of every nn.Linear-layout problem for which some target names a kernel at some
    M bucket: what `patch` routes (a problem the tuner left to cuBLAS at every M is not worth a call's host
    cost; the AOTInductor rewrite leaves such GEMMs to Inductor the same way)."""
    return frozenset((d.dtype, d.n, d.k, d.epilogue) for t in targets for d in t.dispatch
                     if d.layout == LINEAR and d.kernel != CUBLAS)


_ORDERS: dict[str, tuple[str, ...]] = {}


def call_order(epilogue: str) -> tuple[str, ...]:
    """A kernel's arguments in call order (GemmProblem.operands: they depend on the epilogue only), cached:
    the op's hot path."""
    order = _ORDERS.get(epilogue)
    if order is None:
        order = _ORDERS[epilogue] = LEADING_OPERANDS + epilogue_of(epilogue).operands + TRAILING_OPERANDS
    return order


def call_kernel(fn: Callable, problem: GemmProblem, x: Any, w: Any, out: Any, operands: Mapping[str, Any],
                stream: Any) -> Any:
    """Call kernel `fn` for `problem`: fn(x, W^T, out, *the epilogue's operands in order, stream).

    `x` is [M, K] row-major, `w` the [N, K] weight (passed as its [K, N]
    transpose view), `out` [M, n_out]; `operands` maps the epilogue's operand
    names ("bias") to tensors; `stream` the raw CUDA stream (0 on the CPU).
    """
    return call_epilogue(fn, problem.epilogue, x, w, out, operands, stream)


def call_epilogue(fn: Callable, epilogue: str, x: Any, w: Any, out: Any, operands: Mapping[str, Any],
                  stream: Any) -> Any:
    """`call_kernel` by epilogue name (what the op has at hand)."""
    values = {"x": x, "wt": w.t(), "out": out, "stream": stream}
    return fn(*[values[name] if name in values else operands[name] for name in call_order(epilogue)])
