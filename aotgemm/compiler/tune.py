"""Tune the dispatch table on a GPU: measure the compiled candidates against cuBLAS.

Uses the very library that goes into the bundle, loaded through tvm_ffi.
Per (layer N x K):
1. correctness gate: every kernel against a float32 reference on fresh
   random inputs, output poisoned first; a kernel that fails is excluded
   (and reported), never selected;
2. per M bucket: a short screening run of every surviving kernel; the
   best `FINALISTS` (by screening) and cuBLAS are then timed properly at the
   bucket value and at its lower edge (previous bucket + 1), and the
   fastest by the sum of both wins. cuBLAS wins when it is faster: the
   bundle never makes a GEMM slower than the stock path.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from ..bundle import CUBLAS, DispatchEntry, Kernel
from ..manifest import Manifest
from .. import timing

FINALISTS = 3


@dataclass
class TuneRow:
    layer: str
    n: int
    k: int
    m_bucket: int
    chosen: str
    kernel_us: float | None
    cublas_us: float
    edge_m: int
    edge_kernel_us: float | None
    edge_cublas_us: float
    spread: float
    screened: int


@dataclass
class TuneLog:
    rows: list[TuneRow] = field(default_factory=list)
    excluded: list[tuple[str, str, str]] = field(default_factory=list)  # (symbol, layer, reason)
    seconds: float = 0.0


def tune_dispatch(library: bytes, kernels: tuple[Kernel, ...], manifest: Manifest, fallback: dict, *,
                  link_mode: str = "static-runtime"):
    """Measure `kernels` (all of them: the library is small) and cuBLAS for every layer x bucket;
    returns the tuned dispatch {(dtype, n, k, m_bucket): DispatchEntry}, what it was tuned with, and the log."""
    import torch

    t_start = time.perf_counter()
    mod = timing.load_kernel_library(library, link_mode)
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    log = TuneLog()
    dispatch = dict(fallback)
    calls = {k.symbol: timing.kernel_call(mod.get_function(k.symbol)) for k in kernels}
    buckets = list(manifest.m_buckets)
    for dtype in manifest.dtypes:
        for layer in manifest.layers:
            n, k = layer.n, layer.k
            good = []
            for kern in kernels:
                if kern.dtype != dtype:
                    continue
                errs = [timing.check(calls[kern.symbol], m, n, k, dtype, seed=hash((kern.symbol, m)) & 0xFFFF)
                        for m in (1, 77, 1000)]
                if max(errs) < timing.TOLERANCE:
                    good.append(kern.symbol)
                else:
                    log.excluded.append((kern.symbol, layer.name, f"rel. error {max(errs):.2e}"))
                    print(f"aotgemm: tune: EXCLUDED {kern.symbol} on {layer.name}: rel. error {max(errs):.2e}",
                          file=sys.stderr)
            for bi, m in enumerate(buckets):
                edge = buckets[bi - 1] + 1 if bi > 0 else m
                ops = timing.Operands(m, n, k, dtype, l2, seed=m)
                screen = sorted((timing.time_call(calls[s], ops, reps=5, trials=3).median_us, s) for s in good)
                finalists = [s for _, s in screen[:FINALISTS]]
                at_m = {s: timing.time_call(calls[s], ops) for s in finalists}
                cub = timing.time_call(timing.cublas_call, ops)
                del ops
                if edge != m:
                    eops = timing.Operands(edge, n, k, dtype, l2, seed=edge)
                    at_edge = {s: timing.time_call(calls[s], eops).median_us for s in finalists}
                    cub_edge = timing.time_call(timing.cublas_call, eops).median_us
                    del eops
                else:
                    at_edge = {s: at_m[s].median_us for s in finalists}
                    cub_edge = cub.median_us
                score = {s: at_m[s].median_us + at_edge[s] for s in finalists}
                best = min(finalists, key=lambda s: (score[s], s)) if finalists else None
                if best is None or score[best] >= cub.median_us + cub_edge:
                    chosen, kus, eus = CUBLAS, None, None
                else:
                    chosen, kus, eus = best, at_m[best].median_us, at_edge[best]
                dispatch[(dtype, n, k, m)] = DispatchEntry(
                    dtype, "linear", n, k, m, chosen, "tuned",
                    kernel_us=round(kus, 3) if kus is not None else None, cublas_us=round(cub.median_us, 3))
                log.rows.append(TuneRow(layer.name, n, k, m, chosen, kus, cub.median_us, edge, eus, cub_edge,
                                        max([cub.spread] + [t.spread for t in at_m.values()]), len(screen)))
                print(f"aotgemm: tune: {layer.name:8} M={m:5d} {chosen[:16]:16} "
                      f"{(kus or cub.median_us):9.2f} us  cuBLAS {cub.median_us:9.2f} us", file=sys.stderr,
                      flush=True)
    torch.cuda.synchronize()
    log.seconds = time.perf_counter() - t_start
    info = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0)}
    return dispatch, info, log
