"""GPU timing and checking shared by the tuner, `aotgemm tune` and `aotgemm bench` (torch + tvm_ffi, no DSL).

Timing: each side (a kernel, cuBLAS) is captured once in a CUDA graph that
runs the GEMM `reps` times, rotating through copies of the operands that
together span 3x the L2, so weights that would not stay in L2 in a real
model do not here. Optionally each GEMM is preceded by a small non-GEMM
kernel that writes x, as the layer before it does in a model (a gain from
overlapping a launch with its predecessor, e.g. PDL, only counts there).
Trials of the sides are interleaved, so clock drift hits all of them alike,
and compared pairwise (`Comparison`).

The baseline (`cublas_call`) is what runs without aotgemm: cuBLAS, and for a
fused epilogue the epilogue as Inductor runs it after the mm (one fused Triton
pointwise kernel), or, where Inductor/Triton cannot run, as eager torch ops;
`baseline_name` says which one a problem got.
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
from dataclasses import dataclass
from typing import Callable

from .epilogues import epilogue
from .problem import GemmProblem, torch_dtype

TOLERANCE = 1e-2  # relative Frobenius error vs a float32 reference, for bf16/fp16 operands
L2_MULTIPLE = 3  # rotate operand copies until they span 3x the L2
MAX_COPIES = 16


def load_kernel_library(library: bytes, link_mode: str):
    """Load a kernel library not (yet) in a bundle, the way the runtime loads one (no DSL import)."""
    from .runtime.library import load_library

    fd, path = tempfile.mkstemp(prefix="aotgemm-", suffix=".so")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(library)
        return load_library(path, link_mode)
    finally:
        os.unlink(path)  # dlopen keeps the mapping; nothing is left behind


def random_operands(problem: GemmProblem, m: int, generator, device="cuda") -> tuple:
    """Fresh random x [m, k], W [n, k] (scaled so outputs are O(1)) and the epilogue's operands. Never zeros."""
    import torch

    dt = torch_dtype(problem.dtype)
    x = torch.randn(m, problem.k, device=device, generator=generator).to(dt)
    w = (torch.randn(problem.n, problem.k, device=device, generator=generator) / math.sqrt(problem.k)).to(dt)
    shapes = {"m": m, "n": problem.n, "n_out": problem.n_out}
    extras = {name: torch.randn(*(shapes[d] for d in dims), device=device, generator=generator).to(dt)
              for name, dims in epilogue(problem.epilogue).operand_shapes.items()}
    return x, w, extras


class Operands:
    """Rotating copies of the operands of `problem` at M rows, and outputs for each."""

    def __init__(self, problem: GemmProblem, m: int, l2_bytes: int, seed: int = 0) -> None:
        import torch

        g = torch.Generator(device="cuda").manual_seed(seed)
        elem = 2
        per_copy = (m * problem.k + problem.n * problem.k + m * problem.n_out) * elem
        copies = max(2, min(MAX_COPIES, math.ceil(L2_MULTIPLE * l2_bytes / per_copy)))
        self.problem, self.m = problem, m
        self.sets = [random_operands(problem, m, g) for _ in range(copies)]
        dt = torch_dtype(problem.dtype)
        self.outs = [torch.empty(m, problem.n_out, device="cuda", dtype=dt) for _ in range(copies)]
        # the "previous layer": writes x from a same-sized source before each GEMM (model mode)
        self.sources = [torch.randn_like(s[0]) for s in self.sets]

    def __len__(self) -> int:
        return len(self.sets)


def kernel_call(fn, problem: GemmProblem) -> Callable:
    """A callable (x, w, out, extras) that calls kernel `fn` by the one call convention (runtime.table)."""
    import torch

    from .runtime.table import call_kernel

    def call(x, w, out, extras):
        call_kernel(fn, problem, x, w, out, extras, torch.cuda.current_stream().cuda_stream)

    return call


CUBLAS_BASELINE = "cuBLAS"
INDUCTOR_BASELINE = "cuBLAS + Inductor-fused epilogue"
EAGER_BASELINE = "cuBLAS + eager torch epilogue"

# epilogue name -> (compiled function or None, why not compiled)
_INDUCTOR: dict[str, tuple[Callable | None, str]] = {}


def _inductor_epilogue(name: str) -> tuple[Callable | None, str]:
    """torch.compile of out <- epilogue(x @ W^T, operands), dynamic shapes, tried once on the GPU.

    Inductor emits the mm as an extern cuBLAS call and the epilogue (and the
    write into `out`) as one fused Triton pointwise kernel: what a compiled
    model runs without aotgemm. None (and the reason) where it cannot compile.
    """
    if name in _INDUCTOR:
        return _INDUCTOR[name]
    import torch

    ep = epilogue(name)

    def unfused(x, w, out, *operands):
        out.copy_(ep.unfused(torch.mm(x, w.t()), **dict(zip(ep.operands, operands))))

    try:
        # one graph per epilogue for all N and K (and M >= 2; M = 1 is specialised): a tune
        # over many shapes must not reach dynamo's recompile limit, past which it runs eagerly
        for knob in ("recompile_limit", "cache_size_limit"):
            if hasattr(torch._dynamo.config, knob):
                setattr(torch._dynamo.config, knob, max(64, getattr(torch._dynamo.config, knob)))
        fn = torch.compile(unfused, dynamic=True, fullgraph=True)
        probe = GemmProblem("bfloat16", "linear", name, 64, 64)
        for m in (1, 3):  # compile both graphs now, before any CUDA-graph capture
            x, w, extras = random_operands(probe, m, torch.Generator(device="cuda").manual_seed(m))
            out = torch.empty(m, probe.n_out, device="cuda", dtype=x.dtype)
            fn(x, w, out, *(extras[o] for o in ep.operands))
            ref = ep.unfused(x @ w.t(), **extras)
            if not torch.allclose(out.float(), ref.float(), rtol=2e-2, atol=2e-2):
                raise RuntimeError("the compiled epilogue disagrees with the eager one")
        torch.cuda.synchronize()
        _INDUCTOR[name] = (fn, "")
    except Exception as e:  # noqa: BLE001  (no Triton, no compiler, a dynamo limit...: fall back, and say so)
        _INDUCTOR[name] = (None, f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}")
    return _INDUCTOR[name]


def baseline_name(problem: GemmProblem) -> str:
    """Which baseline `cublas_call(problem)` times: cuBLAS alone, or with the Inductor-fused or eager epilogue."""
    if problem.epilogue == "identity":
        return CUBLAS_BASELINE
    fn, why = _inductor_epilogue(problem.epilogue)
    return INDUCTOR_BASELINE if fn is not None else f"{EAGER_BASELINE} (Inductor unavailable: {why})"


def cublas_call(problem: GemmProblem) -> Callable:
    """The stock path (what runs without aotgemm): cuBLAS, then for a fused epilogue the epilogue as
    Inductor runs it (compiled here, before any capture), else as eager torch ops (`baseline_name`)."""
    import torch

    ep = epilogue(problem.epilogue)
    if problem.epilogue == "identity":
        def call(x, w, out, extras):
            torch.mm(x, w.t(), out=out)
        return call
    fn, _ = _inductor_epilogue(problem.epilogue)
    if fn is not None:
        def call(x, w, out, extras):
            fn(x, w, out, *(extras[o] for o in ep.operands))
        return call

    def call(x, w, out, extras):
        out.copy_(ep.unfused(torch.mm(x, w.t()), **extras))

    return call


def check(call: Callable, problem: GemmProblem, m: int, seed: int) -> float:
    """Relative error of `call` against a float32 reference on fresh random inputs, output poisoned first."""
    import torch

    g = torch.Generator(device="cuda").manual_seed(seed)
    x, w, extras = random_operands(problem, m, g)
    out = torch.full((m, problem.n_out), float("nan"), device="cuda", dtype=x.dtype)
    call(x, w, out, extras)
    torch.cuda.synchronize()
    ref = epilogue(problem.epilogue).reference(x, w, **extras)
    err = ((out.float() - ref).norm() / ref.norm()).item()
    return err if math.isfinite(err) else float("inf")


class GraphTimer:
    """`call` captured `reps` times in one CUDA graph over rotating operands; `once()` times one replay."""

    def __init__(self, call: Callable, ops: Operands, *, reps: int = 20, model: bool = False) -> None:
        import torch

        self.reps = reps
        for i in range(len(ops)):  # warm-up outside the graph (first launches load modules)
            call(*ops.sets[i][:2], ops.outs[i], ops.sets[i][2])
        torch.cuda.synchronize()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            for r in range(reps):
                i = r % len(ops)
                x, w, extras = ops.sets[i]
                if model:
                    x.copy_(ops.sources[i])
                call(x, w, ops.outs[i], extras)
        self.graph.replay()
        torch.cuda.synchronize()
        self.start, self.end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def once(self) -> float:
        """Microseconds per call, from one replay."""
        self.start.record()
        self.graph.replay()
        self.end.record()
        self.end.synchronize()
        return self.start.elapsed_time(self.end) * 1e3 / self.reps


@dataclass(frozen=True)
class Timing:
    median_us: float
    spread: float  # (p90 - p10) / median over trials
    trials: int


def summarize(samples: list[float]) -> Timing:
    s = sorted(samples)
    med = statistics.median(s)
    lo, hi = s[int(0.1 * (len(s) - 1))], s[math.ceil(0.9 * (len(s) - 1))]
    return Timing(med, (hi - lo) / med, len(s))


def interleaved(timers: dict[str, GraphTimer], trials: int) -> dict[str, list[float]]:
    """`trials` rounds; each round times every side once, in rotating order (no side always goes first)."""
    names = list(timers)
    out: dict[str, list[float]] = {n: [] for n in names}
    for t in range(trials):
        for j in range(len(names)):
            n = names[(t + j) % len(names)]
            out[n].append(timers[n].once())
    return out


@dataclass(frozen=True)
class Comparison:
    """A kernel against cuBLAS from paired, interleaved trials."""

    kernel: Timing
    cublas: Timing
    ratio_median: float  # median over rounds of cublas/kernel (> 1: the kernel is faster)
    ratio_low: float  # 20th percentile of the same ratios

    def wins(self, margin: float) -> bool:
        """The kernel is faster by at least `margin` in the median round, and faster in 80% of rounds."""
        return self.ratio_median >= 1.0 + margin and self.ratio_low > 1.0


def compare(kernel: list[float], cublas: list[float]) -> Comparison:
    ratios = sorted(c / k for k, c in zip(kernel, cublas))
    return Comparison(summarize(kernel), summarize(cublas), statistics.median(ratios),
                      ratios[int(0.2 * (len(ratios) - 1))])


def warm_up(seconds: float = 0.5) -> None:
    """Run large GEMMs until the clocks reach steady state (the first timings would otherwise be slow)."""
    import time

    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(10):
            a @ a
        torch.cuda.synchronize()


REPLAY_TARGET_US = 2000.0  # GEMMs per graph replay are chosen to take about this long


def reps_for(problem: GemmProblem, m: int) -> int:
    """GEMMs per graph replay: ~2 ms a replay, enough to swamp event resolution, short enough for many rounds."""
    est = floor_us(m, problem.n, problem.k, 4000.0, 700.0)
    return max(2, min(20, int(REPLAY_TARGET_US / max(est, 1.0))))


def floor_us(m: int, n: int, k: int, mem_gbps: float, tflops: float, elem_bytes: int = 2,
             n_out: int | None = None, extra_elems: int = 0) -> float:
    """The time no kernel beats: max(bytes moved once / bandwidth, flops / peak).

    n_out: output columns (default n; swiglu writes n/2); extra_elems: epilogue operand elements read.
    """
    bytes_moved = elem_bytes * (m * k + n * k + m * (n if n_out is None else n_out) + extra_elems)
    return max(bytes_moved / (mem_gbps * 1e3), 2.0 * m * n * k / (tflops * 1e6))


def floor_for(problem: GemmProblem, m: int, mem_gbps: float, tflops: float) -> float:
    """`floor_us` of a problem at M rows, its epilogue's output width and operands included."""
    extents = {"m": m, "n": problem.n, "n_out": problem.n_out}
    extra = sum(math.prod(extents[d] for d in dims) for dims in epilogue(problem.epilogue).operand_shapes.values())
    return floor_us(m, problem.n, problem.k, mem_gbps, tflops, n_out=problem.n_out, extra_elems=extra)
