"""GPU timing and checking shared by the tuner and `aotgemm bench` (torch + tvm_ffi, no DSL).

Timing: warm-up, then CUDA events around replays of a CUDA graph that calls
the GEMM `reps` times, rotating through copies of the operands so weights
that would not stay in L2 in a real model do not here; the median of
`trials` replays, and the spread (max - min) / median.
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
from dataclasses import dataclass
from typing import Callable


TOLERANCE = 1e-2  # relative Frobenius error vs a float32 reference, for bf16/fp16 operands
L2_MULTIPLE = 3  # rotate operand copies until they span 3x the L2


@dataclass(frozen=True)
class Timing:
    median_us: float
    spread: float  # (max - min) / median over trials
    trials: int


def torch_dtype(name: str):
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_kernel_library(library: bytes, link_mode: str):
    """Load a kernel library not (yet) in a bundle, the way the runtime loads one (no DSL import)."""
    from .runtime.library import load_library

    fd, path = tempfile.mkstemp(prefix="aotgemm-", suffix=".so")
    with os.fdopen(fd, "wb") as f:
        f.write(library)
    return load_library(path, link_mode)


class Operands:
    """Rotating copies of x [m, k] and W [n, k] (random, never zeros) and outputs [m, n]."""

    def __init__(self, m: int, n: int, k: int, dtype: str, l2_bytes: int, seed: int = 0) -> None:
        import torch

        dt = torch_dtype(dtype)
        g = torch.Generator(device="cuda").manual_seed(seed)
        per_copy = (m * k + n * k + m * n) * 2
        copies = max(1, min(8, math.ceil(L2_MULTIPLE * l2_bytes / per_copy)))
        self.m, self.n, self.k = m, n, k
        self.xs = [torch.randn(m, k, device="cuda", generator=g).to(dt) for _ in range(copies)]
        self.ws = [(torch.randn(n, k, device="cuda", generator=g) / math.sqrt(k)).to(dt) for _ in range(copies)]
        self.outs = [torch.empty(m, n, device="cuda", dtype=dt) for _ in range(copies)]

    def __len__(self) -> int:
        return len(self.xs)


def kernel_call(fn) -> Callable:
    import torch

    def call(x, w, out):
        fn(x, w.t(), out, torch.cuda.current_stream().cuda_stream)

    return call


def cublas_call(x, w, out) -> None:
    import torch

    torch.mm(x, w.t(), out=out)


def check(call: Callable, m: int, n: int, k: int, dtype: str, seed: int) -> float:
    """Relative error of `call` against a float32 reference on fresh random inputs, output poisoned first."""
    import torch

    dt = torch_dtype(dtype)
    g = torch.Generator(device="cuda").manual_seed(seed)
    x = torch.randn(m, k, device="cuda", generator=g).to(dt)
    w = (torch.randn(n, k, device="cuda", generator=g) / math.sqrt(k)).to(dt)
    out = torch.full((m, n), float("nan"), device="cuda", dtype=dt)
    call(x, w, out)
    torch.cuda.synchronize()
    ref = x.float() @ w.float().t()
    err = ((out.float() - ref).norm() / ref.norm()).item()
    return err if math.isfinite(err) else float("inf")


def time_call(call: Callable, ops: Operands, *, reps: int = 20, trials: int = 7) -> Timing:
    import torch

    for i in range(len(ops)):  # warm-up, outside the graph (first launches load modules)
        call(ops.xs[i], ops.ws[i], ops.outs[i])
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for r in range(reps):
            i = r % len(ops)
            call(ops.xs[i], ops.ws[i], ops.outs[i])
    graph.replay()
    torch.cuda.synchronize()
    times = []
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(trials):
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e3 / reps)
    del graph
    med = statistics.median(times)
    return Timing(med, (max(times) - min(times)) / med, trials)


def floor_us(m: int, n: int, k: int, mem_gbps: float, tflops: float, elem_bytes: int = 2) -> float:
    """The time no kernel beats: max(bytes moved once / bandwidth, flops / peak)."""
    bytes_moved = elem_bytes * (m * k + n * k + m * n)
    return max(bytes_moved / (mem_gbps * 1e3), 2.0 * m * n * k / (tflops * 1e6))
