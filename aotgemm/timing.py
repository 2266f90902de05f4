"""GPU timing and checking shared by the tuner, `aotgemm tune` and `aotgemm bench` (torch + tvm_ffi, no DSL).

Timing: each side (a kernel, cuBLAS) is captured once in a CUDA graph that
runs the GEMM `reps` times, rotating through copies of the operands that
together span 3x the L2, so weights that would not stay in L2 in a real
model do not here. Optionally each GEMM is preceded by a small non-GEMM
kernel that writes x, as the layer before it does in a model (a gain from
overlapping a launch with its predecessor, e.g. PDL, only counts there).
That kernel is torch's copy (`COPY_WRITER`: a plain launch, as in eager and
in Inductor's default code), or the same copy compiled by Inductor with its
programmatic dependent launch on (`PDL_WRITER`, TORCHINDUCTOR_ENABLE_PDL=1),
which lets a GEMM launched with PDL start before the writer ends; then a
fused epilogue's Inductor baseline is compiled with PDL on too.
Trials of the sides are interleaved, so clock drift hits all of them alike,
and compared pairwise (`Comparison`).

The baseline (`cublas_call`) is what runs without aotgemm: cuBLAS, and for a
fused epilogue the epilogue as Inductor runs it after the mm (one fused Triton
pointwise kernel), or, where Inductor/Triton cannot run, as eager torch ops;
for an fp8 problem (a scale epilogue), torch._scaled_mm (Epilogue.stock);
`baseline_name` says which one a problem got.
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

from .epilogues import E8M0, epilogue, mx_k_blocks, mx_swizzle, operand_extents
from .problem import DTYPE_BYTES, FLOAT8_E4M3, SCALED_DTYPES, GemmProblem, torch_dtype

T = TypeVar("T")

# Relative Frobenius error vs a float32 reference, for bf16/fp16 operands, and for fp8 ones (whose
# reference is computed on the dequantized operands, so only accumulation and the bf16 output round).
TOLERANCE = 1e-2
L2_MULTIPLE = 3  # rotate operand copies until they span 3x the L2
MAX_COPIES = 16


def open_for_gpu(path, gpu_index: int = 0):
    """(device properties, GPU model, bundle, its target) of the bundle at `path` for CUDA device `gpu_index`,
    blobs verified. EnvironmentMismatch, one line, where the bundle has no target for that GPU's model."""
    import torch

    from .bundle import open_bundle
    from .errors import EnvironmentMismatch
    from .gpus import identify

    props = torch.cuda.get_device_properties(gpu_index)
    model = identify(props.name, props.multi_processor_count, (props.major, props.minor))
    b = open_bundle(path, verify_blobs=True)
    target = b.index.target(model.name) if model else None
    if target is None:
        raise EnvironmentMismatch(
            f"{path} has no target for this GPU ({props.name}, {props.multi_processor_count} SMs"
            f"{', model ' + model.name if model else ', not a model aotgemm knows'}); it holds "
            f"{', '.join(t.gpu for t in b.index.targets)}: build one with "
            f"`aotgemm build MANIFEST --gpu {model.name if model else 'MODEL'}`")
    return props, model, b, target


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
    """Fresh random x [m, k], W [n, k] and the epilogue's operands, each of its dtype. Never zeros.

    bf16/fp16: normal x, W scaled by 1/sqrt(k), so outputs are O(1). fp8 (a scaled dtype): x and W are
    normal values cast to e4m3 (O(1), the well-resolved part of its range) and the scales, like every
    `positive` operand, are drawn from [0.5, 1.5); MXFP8 block scales are 0.5, 1 or 2 per block, swizzled
    (epilogues.mx_swizzle).
    """
    import torch

    dt = torch_dtype(problem.dtype)
    w_scale = 1.0 if problem.dtype in SCALED_DTYPES else 1.0 / math.sqrt(problem.k)
    x = torch.randn(m, problem.k, device=device, generator=generator).to(dt)
    w = (torch.randn(problem.n, problem.k, device=device, generator=generator) * w_scale).to(dt)
    shapes = operand_extents(m, problem.n, problem.n_out, problem.k)
    ep = epilogue(problem.epilogue)
    extras = {}
    for name, dims in ep.operand_shapes.items():
        size = tuple(shapes[d] for d in dims)
        odt = torch_dtype(ep.operand_dtype(name, problem.out_dtype))
        if odt == torch.float8_e8m0fnu:  # MXFP8 block scales: powers of two per block, laid out swizzled
            rows = m if dims == ("mx_m",) else problem.n
            per_block = 2.0 ** torch.randint(-1, 2, (rows, mx_k_blocks(problem.k)), device=device,
                                             generator=generator).float()
            extras[name] = mx_swizzle(per_block.to(odt), problem.k)
            continue
        if name in ep.positive:
            v = torch.rand(*size, device=device, generator=generator) + 0.5
        else:
            v = torch.randn(*size, device=device, generator=generator)
        extras[name] = v.to(odt)
    return x, w, extras


def operand_bytes(problem: GemmProblem, m: int) -> int:
    """Bytes of one set of operands and the output at M rows (x, W, out; epilogue operands are small)."""
    return (m * problem.k + problem.n * problem.k) * DTYPE_BYTES[problem.dtype] + \
        m * problem.n_out * DTYPE_BYTES[problem.out_dtype]


class Operands:
    """Rotating copies of the operands of `problem` at M rows, and outputs for each."""

    def __init__(self, problem: GemmProblem, m: int, l2_bytes: int, seed: int = 0) -> None:
        import torch

        g = torch.Generator(device="cuda").manual_seed(seed)
        per_copy = operand_bytes(problem, m)
        copies = max(2, min(MAX_COPIES, math.ceil(L2_MULTIPLE * l2_bytes / per_copy)))
        self.problem, self.m = problem, m
        self.sets = [random_operands(problem, m, g) for _ in range(copies)]
        out_dt = torch_dtype(problem.out_dtype)
        self.outs = [torch.empty(m, problem.n_out, device="cuda", dtype=out_dt) for _ in range(copies)]
        # the "previous layer": writes x from a same-sized source before each GEMM (model mode)
        self.sources = [torch.randn(s[0].shape, device="cuda", generator=g).to(s[0].dtype) for s in self.sets]

    def __len__(self) -> int:
        return len(self.sets)


# How model mode writes x before each GEMM (GraphTimer(model=True, writer=...)).
COPY_WRITER = "copy"  # torch's copy kernel, a plain launch: what eager and Inductor's default code run
# x.copy_(src) compiled by Inductor with triton.enable_pdl: a PDL launch whose Triton kernel waits for the
# kernel before it (gdc_wait), loads, and then releases its dependents (gdc_launch_dependents) before it
# stores; a GEMM launched with PDL may then start, and request its weights, while the writer finishes.
PDL_WRITER = "inductor-pdl"
WRITERS = (COPY_WRITER, PDL_WRITER)
_PDL_COPY: list = []  # the compiled PDL writer, made once


def allow_recompiles(torch) -> None:
    """Let one torch.compile'd function serve many shapes: past dynamo's recompile limit it runs eagerly."""
    for knob in ("recompile_limit", "cache_size_limit"):
        if hasattr(torch._dynamo.config, knob):
            setattr(torch._dynamo.config, knob, max(64, getattr(torch._dynamo.config, knob)))


def require_inductor_pdl(torch) -> None:
    """Raise, saying why, where this torch's Inductor cannot emit PDL (its triton.enable_pdl came in 2.10)."""
    import torch._inductor.config as inductor_config

    if not hasattr(inductor_config.triton, "enable_pdl"):
        raise RuntimeError(f"torch {torch.__version__}'s Inductor has no triton.enable_pdl (programmatic dependent "
                           "launch); the PDL writer needs torch 2.10 or later")


def writer(kind: str) -> Callable:
    """write(x, src): copies src into x with the kernel of `kind` (WRITERS). The PDL one is compiled on first
    use, on the device of the tensors it is given: call it once per shape before any CUDA-graph capture."""
    import torch

    if kind == COPY_WRITER:
        return lambda x, src: x.copy_(src)
    if kind != PDL_WRITER:
        raise ValueError(f"unknown model-mode writer {kind!r}; use one of {', '.join(WRITERS)}")
    if not _PDL_COPY:
        require_inductor_pdl(torch)
        allow_recompiles(torch)

        def write(x, src):
            x.copy_(src)

        _PDL_COPY.append(torch.compile(write, dynamic=True, fullgraph=True, options={"triton.enable_pdl": True}))
    return _PDL_COPY[0]


def kernel_call(fn, problem: GemmProblem) -> Callable:
    """A callable (x, w, out, extras) that calls kernel `fn` by the one call convention (runtime.table)."""
    import torch

    from .runtime.table import call_kernel

    def call(x, w, out, extras):
        call_kernel(fn, problem, x, w, out, extras, torch.cuda.current_stream().cuda_stream)

    return call


CUBLAS_BASELINE = "cuBLAS"
SCALED_MM_BASELINE = "torch._scaled_mm"  # fp8 (scale epilogues): cuBLASLt, or torch's row-wise kernel
INDUCTOR_BASELINE = "cuBLAS + Inductor-fused epilogue"
EAGER_BASELINE = "cuBLAS + eager torch epilogue"

# (epilogue name, pdl) -> (compiled function or None, why not compiled)
_INDUCTOR: dict[tuple[str, bool], tuple[Callable | None, str]] = {}


def _inductor_epilogue(name: str, pdl: bool = False) -> tuple[Callable | None, str]:
    """torch.compile of out <- epilogue(x @ W^T, operands), dynamic shapes, tried once on the GPU.

    Inductor emits the mm as an extern cuBLAS call and the epilogue (and the
    write into `out`) as one fused Triton pointwise kernel: what a compiled
    model runs without aotgemm (with `pdl`, as Inductor compiles it with its
    triton.enable_pdl on). None (and the reason) where it cannot compile.
    """
    if (name, pdl) in _INDUCTOR:
        return _INDUCTOR[name, pdl]
    import torch

    ep = epilogue(name)

    def unfused(x, w, out, *operands):
        out.copy_(ep.unfused(torch.mm(x, w.t()), **dict(zip(ep.operands, operands))))

    try:
        # one graph per epilogue for all N and K (and M >= 2; M = 1 is specialised)
        allow_recompiles(torch)
        fn = torch.compile(unfused, dynamic=True, fullgraph=True, options={"triton.enable_pdl": pdl})
        probe = GemmProblem("bfloat16", "linear", name, 64, 64)
        for m in (1, 3):  # compile both graphs now, before any CUDA-graph capture
            x, w, extras = random_operands(probe, m, torch.Generator(device="cuda").manual_seed(m))
            out = torch.empty(m, probe.n_out, device="cuda", dtype=x.dtype)
            fn(x, w, out, *(extras[o] for o in ep.operands))
            ref = ep.unfused(x @ w.t(), **extras)
            if not torch.allclose(out.float(), ref.float(), rtol=2e-2, atol=2e-2):
                raise RuntimeError("the compiled epilogue disagrees with the eager one")
        torch.cuda.synchronize()
        _INDUCTOR[name, pdl] = (fn, "")
    except Exception as e:  # noqa: BLE001  (no Triton, no compiler, a dynamo limit...: fall back, and say so)
        _INDUCTOR[name, pdl] = (None, f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}")
    return _INDUCTOR[name, pdl]


def baseline_name(problem: GemmProblem) -> str:
    """Which baseline `cublas_call(problem)` times: cuBLAS alone, or with the Inductor-fused or eager epilogue;
    torch._scaled_mm for fp8 (a scale epilogue)."""
    if problem.epilogue == "identity":
        return CUBLAS_BASELINE
    if epilogue(problem.epilogue).scales is not None:
        return SCALED_MM_BASELINE
    fn, why = _inductor_epilogue(problem.epilogue)
    return INDUCTOR_BASELINE if fn is not None else f"{EAGER_BASELINE} (Inductor unavailable: {why})"


def cublas_call(problem: GemmProblem, pdl: bool = False) -> Callable:
    """The stock path (what runs without aotgemm): cuBLAS, then for a fused epilogue the epilogue as
    Inductor runs it (compiled here, before any capture; with `pdl`, with Inductor's PDL on), else as eager
    torch ops (`baseline_name`)."""
    import torch

    ep = epilogue(problem.epilogue)
    if problem.epilogue == "identity":
        def call(x, w, out, extras):
            torch.mm(x, w.t(), out=out)
        return call
    if ep.scales is not None:  # fp8: torch._scaled_mm with the scales (Epilogue.stock)
        def call(x, w, out, extras):
            ep.stock(x, w, out, **extras)
        return call
    fn, _ = _inductor_epilogue(problem.epilogue, pdl)
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
    out = torch.full((m, problem.n_out), float("nan"), device="cuda", dtype=torch_dtype(problem.out_dtype))
    call(x, w, out, extras)
    torch.cuda.synchronize()
    ref = epilogue(problem.epilogue).reference(x, w, **extras)
    err = ((out.float() - ref).norm() / ref.norm()).item()
    return err if math.isfinite(err) else float("inf")


class GraphTimer:
    """`call` captured `reps` times in one CUDA graph over rotating operands; `once()` times one replay."""

    def __init__(self, call: Callable, ops: Operands, *, reps: int = 20, model: bool = False,
                 writer_kind: str = COPY_WRITER) -> None:
        import torch

        self.reps = reps
        write = writer(writer_kind)
        for i in range(len(ops)):  # warm-up outside the graph (first launches load modules, compile the writer)
            if model:
                write(ops.sets[i][0], ops.sources[i])
            call(*ops.sets[i][:2], ops.outs[i], ops.sets[i][2])
        torch.cuda.synchronize()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            for r in range(reps):
                i = r % len(ops)
                x, w, extras = ops.sets[i]
                if model:
                    write(x, ops.sources[i])
                call(x, w, ops.outs[i], extras)
        self.graph.replay()
        torch.cuda.synchronize()
        self.start, self.end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def once(self) -> float:
        """Microseconds per call, from one replay."""
        return replay_us(self.graph, self.start, self.end, self.reps)


def replay_us(graph, start, end, calls: int) -> float:
    """Microseconds per call of one replay of `graph`, which holds `calls` calls, between CUDA events."""
    start.record()
    graph.replay()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) * 1e3 / calls


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


def trial_order(names: Sequence[T], t: int) -> list[T]:
    """The order of round `t` of interleaved trials: row t of a balanced Latin square (Williams design).

    Over a cycle of rounds (len(names) of them, twice that for an odd count) every side runs in every
    position equally often, and every side directly follows every other equally often. So nothing that
    depends on the position in a round (a clock that sags during a burst of work, caches or an allocator
    warmed by the side before) favours one side. Two sides alternate A-B, B-A. A plain rotation would
    keep B right after A in three rounds of four when four sides are timed."""
    n = len(names)
    if n < 2:
        return list(names)
    base, lo, hi = [0], 1, n - 1  # 0, 1, n-1, 2, n-2, ...: consecutive differences all distinct mod n
    for i in range(1, n):
        if i % 2:
            base.append(lo)
            lo += 1
        else:
            base.append(hi)
            hi -= 1
    r = t % (n if n % 2 == 0 else 2 * n)
    order = [(b + r) % n for b in base]
    if r >= n:  # odd n: the second half of the cycle runs the first half's rows backwards
        order.reverse()
    return [names[i] for i in order]


# Untimed interleaved rounds before a benchmark's trials (`interleaved(..., warmup=WARMUP_ROUNDS)`). Timed straight
# after a correctness check (a float32 reference GEMM), the first trials of large GEMMs ran at other clocks: at
# M = 4096-8192 back to back, `aotgemm bench`'s spread was 10-20% and its medians 0.977-0.991x where the tuner,
# whose screening rounds precede its trials, saw a 0.1-1% spread and 1.03x (H200, session 14, call C).
WARMUP_ROUNDS = 3


def interleaved(timers: dict[str, GraphTimer], trials: int, warmup: int = 0) -> dict[str, list[float]]:
    """`trials` rounds, after `warmup` untimed ones; each round times every side once, in `trial_order`."""
    for t in range(warmup):
        for n in trial_order(list(timers), t):
            timers[n].once()
    out: dict[str, list[float]] = {n: [] for n in timers}
    for t in range(trials):
        for n in trial_order(list(timers), t):
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


def launch_floor_us(trials: int = 15, reps: int = 20) -> float:
    """What one more kernel costs in a CUDA graph whatever it does: the median time per call of torch's copy
    kernel moving 256 bytes, `reps` of them captured in one graph, timed as GraphTimer times a GEMM.

    `aotgemm bench` adds it to each point's floor for the ceiling of a GEMM run as one kernel: a kernel that
    streams its bytes at the floor still pays a launch, and on a weight of a few MB that is most of the time.
    It bounds a plain launch; a PDL launch can hide part of it behind the kernel before."""
    import torch

    g = torch.Generator(device="cuda").manual_seed(0)
    src = [torch.randn(64, device="cuda", generator=g) for _ in range(2)]
    dst = [torch.empty(64, device="cuda") for _ in range(2)]
    for d, s in zip(dst, src):  # first launch outside the graph
        d.copy_(s)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for r in range(reps):
            dst[r % 2].copy_(src[r % 2])
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples = [replay_us(graph, start, end, reps) for _ in range(trials + WARMUP_ROUNDS)]
    return statistics.median(samples[WARMUP_ROUNDS:])


REPLAY_TARGET_US = 2000.0  # GEMMs per graph replay are chosen to take about this long


def reps_for(problem: GemmProblem, m: int) -> int:
    """GEMMs per graph replay: ~2 ms a replay, enough to swamp event resolution, short enough for many rounds."""
    est = floor_us(m, problem.n, problem.k, 4000.0, 700.0, DTYPE_BYTES[problem.dtype])
    return max(2, min(20, int(REPLAY_TARGET_US / max(est, 1.0))))


# Tensor-core peak of a dtype relative to the GPU table's bf16 floor_tflops: Hopper's and Blackwell's fp8
# MMAs do twice the bf16 work per clock (their datasheets' dense figures; not measured here).
FLOPS_MULTIPLE = {FLOAT8_E4M3: 2}
_OPERAND_BYTES = {"float32": 4, E8M0: 1, **DTYPE_BYTES}


def floor_us(m: int, n: int, k: int, mem_gbps: float, tflops: float, elem_bytes: int = 2,
             n_out: int | None = None, extra_elems: int = 0, out_bytes: int | None = None,
             extra_bytes: int = 0) -> float:
    """The time no kernel beats: max(bytes moved once / bandwidth, flops / peak).

    elem_bytes: per element of x and W (1 for fp8); out_bytes: per output element (default elem_bytes);
    n_out: output columns (default n; a gated epilogue writes n/2); extra_elems: epilogue operand elements read (of
    out_bytes each), extra_bytes: epilogue operand bytes read, given as bytes (float32 scales).
    """
    out_bytes = elem_bytes if out_bytes is None else out_bytes
    bytes_moved = (elem_bytes * (m * k + n * k) + out_bytes * (m * (n if n_out is None else n_out) + extra_elems)
                   + extra_bytes)
    return max(bytes_moved / (mem_gbps * 1e3), 2.0 * m * n * k / (tflops * 1e6))


def floor_for(problem: GemmProblem, m: int, mem_gbps: float, tflops: float) -> float:
    """`floor_us` of a problem at M rows: its dtypes' bytes (fp8: 1 per element of x and W, the bf16 output's
    2), its epilogue's output width and operands, and its dtype's peak (FLOPS_MULTIPLE x the bf16 `tflops`)."""
    extents = operand_extents(m, problem.n, problem.n_out, problem.k)
    ep = epilogue(problem.epilogue)
    extra = sum(math.prod(extents[d] for d in dims) * _OPERAND_BYTES[ep.operand_dtype(name, problem.out_dtype)]
                for name, dims in ep.operand_shapes.items())
    return floor_us(m, problem.n, problem.k, mem_gbps, tflops * FLOPS_MULTIPLE.get(problem.dtype, 1),
                    DTYPE_BYTES[problem.dtype], n_out=problem.n_out, out_bytes=DTYPE_BYTES[problem.out_dtype],
                    extra_bytes=extra)
