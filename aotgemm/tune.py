"""Tune a target's dispatch on a GPU of its model: each entry's kept kernels against cuBLAS.

Needs torch and tvm_ffi only (no DSL, no nvMatmulHeuristics), so the same
code serves `aotgemm build` on a GPU host and `aotgemm tune BUNDLE` on a
serving install. The rules, which make a bundle never slower than cuBLAS:

1. Correctness gate: every candidate, per problem, against a float32
   reference on fresh random inputs with the output poisoned first, at M
   values across the range it serves. A kernel that fails is excluded
   (and logged), never chosen.
2. Clocks at steady state first (`timing.warm_up`).
3. Per entry: a short screening of the candidates at the bucket's M; the
   best `FINALISTS` and cuBLAS are then timed in `TRIALS` interleaved rounds
   (`timing.interleaved`). A kernel is chosen only if it beats cuBLAS by
   `MARGIN` in the median round and in 80% of rounds (`Comparison.wins`),
   at the bucket's M *and* at its lower edge (previous bucket + 1).
4. Every chosen kernel is checked again at the end on fresh inputs; one
   that fails goes back to cuBLAS.
"""

from __future__ import annotations

import dataclasses
import datetime
import sys
import time
from dataclasses import dataclass, field

from . import timing
from .bundle.format import CUBLAS, DispatchEntry, Target
from .problem import GemmProblem

FINALISTS = 3
MARGIN = 0.03
TRIALS = 15
SCREEN_TRIALS = 3
REPLAY_TARGET_US = 2000.0  # GEMMs per graph replay are chosen to take about this long


@dataclass
class TuneRow:
    layer: str
    n: int
    k: int
    epilogue: str
    m_bucket: int
    edge_m: int
    chosen: str
    candidates: int
    kernel_us: float | None
    cublas_us: float
    ratio: float | None  # median cublas/kernel over rounds, of the best finalist
    ratio_low: float | None
    edge_ratio: float | None
    spread: float  # cuBLAS's (p90 - p10) / median


@dataclass
class TuneLog:
    rows: list[TuneRow] = field(default_factory=list)
    excluded: list[tuple[str, str, str]] = field(default_factory=list)  # (symbol, problem, reason)
    reverted: list[tuple[str, str, str]] = field(default_factory=list)  # chosen, then failed the final check
    seconds: float = 0.0
    device: str = ""

    def to_doc(self) -> dict:
        return {"device": self.device, "seconds": round(self.seconds, 2), "excluded": self.excluded,
                "reverted": self.reverted, "rows": [dataclasses.asdict(r) for r in self.rows]}


def _say(msg: str) -> None:
    print(f"aotgemm: tune: {msg}", file=sys.stderr, flush=True)


def _reps(problem: GemmProblem, m: int) -> int:
    # ~2 ms a replay: enough to swamp event resolution, short enough for many interleaved rounds.
    est = timing.floor_us(m, problem.n, problem.k, 4000.0, 700.0)
    return max(2, min(20, int(REPLAY_TARGET_US / max(est, 1.0))))


def _check_points(max_m: int) -> tuple[int, ...]:
    top = max_m or 1000
    return tuple(sorted({1, min(7, top), min(77, top), top}))


def tune_target(target: Target, library, layers=(), *, trials: int = TRIALS) -> tuple[Target, TuneLog]:
    """The target with its dispatch tuned on GPU 0 (which must be of the target's model), and the log.

    `library`: the target's library as bytes, or a loaded tvm_ffi module.
    """
    import torch

    t_start = time.perf_counter()
    module = library
    if isinstance(library, (bytes, bytearray)):
        module = timing.load_kernel_library(bytes(library), target.env["link_mode"])
    kernels = {k.symbol: k for k in target.kernels}
    needed = sorted({s for e in target.dispatch for s in e.ranked})
    calls_by_symbol = {s: module.get_function(s) for s in needed}
    names = {(x.n, x.k, x.epilogue): x.name for x in layers}
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    log = TuneLog(device=torch.cuda.get_device_name(0))
    buckets = sorted({e.m_bucket for e in target.dispatch})
    gate: dict[tuple[str, GemmProblem], bool] = {}

    def passes(symbol: str, problem: GemmProblem) -> bool:
        if (symbol, problem) not in gate:
            call = timing.kernel_call(calls_by_symbol[symbol], problem)
            errs = [timing.check(call, problem, m, seed=hash((symbol, m)) & 0xFFFF)
                    for m in _check_points(kernels[symbol].max_m)]
            gate[(symbol, problem)] = max(errs) < timing.TOLERANCE
            if not gate[(symbol, problem)]:
                log.excluded.append((symbol, problem.describe(), f"rel. error {max(errs):.2e}"))
                _say(f"EXCLUDED {symbol} on {problem.describe()}: rel. error {max(errs):.2e}")
        return gate[(symbol, problem)]

    timing.warm_up()
    new_entries = []
    for e in target.dispatch:
        p, m = e.problem, e.m_bucket
        i = buckets.index(m)
        edge = buckets[i - 1] + 1 if i > 0 else m
        good = [s for s in e.ranked if kernels[s].serves(m) and passes(s, p)]
        entry, row = _decide(e, p, m, edge, good, calls_by_symbol, kernels, l2, trials)
        row.layer = names.get((p.n, p.k, p.epilogue), f"{p.n}x{p.k}")
        new_entries.append(entry)
        log.rows.append(row)
        _say(f"{row.layer:10} M={m:5d} {entry.kernel[:24]:24} "
             f"{(row.kernel_us or row.cublas_us):9.2f} us  cuBLAS {row.cublas_us:9.2f} us"
             + (f"  x{row.ratio:.3f}" if row.ratio else ""))

    # Final check of every choice on fresh inputs; a failure goes back to cuBLAS.
    final = []
    for e in new_entries:
        if e.kernel != CUBLAS:
            call = timing.kernel_call(calls_by_symbol[e.kernel], e.problem)
            i = buckets.index(e.m_bucket)
            ms = {e.m_bucket, buckets[i - 1] + 1 if i > 0 else 1}
            err = max(timing.check(call, e.problem, mm, seed=0xA07 + mm) for mm in ms)
            if err >= timing.TOLERANCE:
                log.reverted.append((e.kernel, e.problem.describe(), f"rel. error {err:.2e}"))
                e = dataclasses.replace(e, kernel=CUBLAS, kernel_us=None)
        final.append(e)
    torch.cuda.synchronize()
    log.seconds = time.perf_counter() - t_start
    env = dict(target.environment)
    env.update(torch_tuned_with=torch.__version__, tuned_on=log.device, tuned_at=datetime.date.today().isoformat(),
               tuned_driver=_driver_version())
    tuned = dataclasses.replace(target, environment=tuple(sorted(env.items())),
                                dispatch=tuple(sorted(final, key=lambda d: d.key)))
    return tuned, log


def _decide(e: DispatchEntry, p: GemmProblem, m: int, edge: int, good: list[str], fns: dict, kernels: dict,
            l2: int, trials: int) -> tuple[DispatchEntry, TuneRow]:
    ops = timing.Operands(p, m, l2, seed=m)
    reps = _reps(p, m)
    cub = timing.GraphTimer(timing.cublas_call(p), ops, reps=reps)
    timers = {s: timing.GraphTimer(timing.kernel_call(fns[s], p), ops, reps=reps) for s in good}
    if len(timers) > FINALISTS:
        screen = timing.interleaved(timers, SCREEN_TRIALS)
        keep = sorted(timers, key=lambda s: (sorted(screen[s])[SCREEN_TRIALS // 2], s))[:FINALISTS]
        timers = {s: timers[s] for s in keep}
    samples = timing.interleaved({**timers, CUBLAS: cub}, trials)
    comps = {s: timing.compare(samples[s], samples[CUBLAS]) for s in timers}
    cub_t = timing.summarize(samples[CUBLAS])
    best = max(comps, key=lambda s: (comps[s].ratio_median, s)) if comps else None
    chosen, edge_ratio = CUBLAS, None
    if best is not None and comps[best].wins(MARGIN):
        if edge == m or not kernels[best].serves(edge):
            edge_ok = edge == m
        else:
            eops = timing.Operands(p, edge, l2, seed=edge)
            ereps = _reps(p, edge)
            es = timing.interleaved({best: timing.GraphTimer(timing.kernel_call(fns[best], p), eops, reps=ereps),
                                     CUBLAS: timing.GraphTimer(timing.cublas_call(p), eops, reps=ereps)}, trials)
            ec = timing.compare(es[best], es[CUBLAS])
            edge_ratio, edge_ok = ec.ratio_median, ec.wins(MARGIN)
            del eops
        if edge_ok:
            chosen = best
    del ops
    c = comps.get(best) if best else None
    entry = dataclasses.replace(
        e, kernel=chosen, decided_by="tuned", cublas_us=round(cub_t.median_us, 3),
        kernel_us=round(c.kernel.median_us, 3) if chosen != CUBLAS else None)
    row = TuneRow("", p.n, p.k, p.epilogue, m, edge, chosen, len(good),
                  c.kernel.median_us if c else None, cub_t.median_us,
                  c.ratio_median if c else None, c.ratio_low if c else None, edge_ratio, cub_t.spread)
    return entry, row


def _driver_version() -> int | None:
    """The CUDA driver version (e.g. 13000) through libcuda, or None."""
    import ctypes

    try:
        lib = ctypes.CDLL("libcuda.so.1")
        v = ctypes.c_int()
        return v.value if lib.cuDriverGetVersion(ctypes.byref(v)) == 0 else None
    except OSError:
        return None
