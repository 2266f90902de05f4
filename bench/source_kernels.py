"""Check and time every kernel one source contributed to a bundle, against the stock path, on this GPU.

    python3 bench/source_kernels.py BUNDLE --source quack [--epilogue E] [--trials 9] [--min-m 256] [-o OUT.json]

`aotgemm tune` reports only the best finalist per entry; this reports each kernel of the source.
For the bundle's target of this GPU: every kernel of `--source` is checked on each problem it is
ranked for against a float32 reference on fresh random inputs, output poisoned with NaN
(timing.check; M = 1, 77, 300, 1000, 2049, so ragged tiles are covered), and then, for each
dispatch entry (problem, M bucket >= --min-m) that ranks it, timed against the stock path (cuBLAS; for a
fused epilogue cuBLAS + the epilogue as Inductor fuses it: timing.cublas_call) in interleaved
trials over L2-rotated operands in CUDA graphs (timing.GraphTimer / interleaved / compare). Needs
torch and tvm_ffi only (no DSL). Prints one row per (entry, kernel), the table last.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aotgemm import timing  # noqa: E402
from aotgemm.bundle import open_bundle  # noqa: E402
from aotgemm.gpus import identify  # noqa: E402

CHECK_MS = (1, 77, 300, 1000, 2049)


def short(k) -> str:
    d = k.design_dict
    tile = "x".join(map(str, d.get("tile", [])[:2]))
    cluster = "x".join(map(str, d.get("cluster", [])[:2]))
    pp = {True: " pp", False: " coop"}.get(d.get("pingpong"), "")
    return f"{tile} c{cluster}{pp}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle")
    ap.add_argument("--source", required=True)
    ap.add_argument("--trials", type=int, default=9)
    ap.add_argument("--min-m", type=int, default=256, help="time only M buckets from this one")
    ap.add_argument("--epilogue", help="only the problems with this epilogue")
    ap.add_argument("-o", "--output")
    a = ap.parse_args(argv)

    import torch

    props = torch.cuda.get_device_properties(0)
    model = identify(props.name, props.multi_processor_count, (props.major, props.minor))
    b = open_bundle(a.bundle, verify_blobs=True)
    target = b.index.target(model.name) if model else None
    if target is None:
        sys.exit(f"{a.bundle} has no target for {props.name}")
    mod = timing.load_kernel_library(b.blob(target.library), target.env["link_mode"])
    mine = {k.symbol: k for k in target.kernels if k.source == a.source and a.epilogue in (None, k.epilogue)}
    if not mine:
        sys.exit(f"{a.bundle}: no kernel of source {a.source!r} in the {target.gpu} target")
    names = {(ly.n, ly.k): ly.name for ly in b.index.layers}
    timing.warm_up()
    l2 = props.L2_cache_size

    # correctness: each kernel on each problem it is ranked for
    errors: dict[tuple[str, tuple], float] = {}
    for e in target.dispatch:
        for s in e.ranked:
            if s in mine and (s, e.problem.key) not in errors:
                call = timing.kernel_call(mod.get_function(s), e.problem)
                errors[(s, e.problem.key)] = max(timing.check(call, e.problem, m, seed=m + 17) for m in CHECK_MS)
    if not errors:
        sys.exit(f"{a.bundle}: no dispatch entry ranks a kernel of source {a.source!r}")
    bad = {k: v for k, v in errors.items() if not v < timing.TOLERANCE}
    print(f"correctness: {len(errors)} (kernel, problem) pairs, M in {CHECK_MS}, {len(bad)} over "
          f"{timing.TOLERANCE:g}; worst rel. error {max(errors.values()):.2e}", flush=True)
    for (s, p), v in sorted(bad.items()):
        print(f"  FAIL {short(mine[s])} on N={p[3]} K={p[4]}: {v:.2e}")

    rows = []
    for e in sorted(target.dispatch, key=lambda d: (d.n, d.k, d.m_bucket)):
        cands = [s for s in e.ranked if s in mine and errors.get((s, e.problem.key), 1) < timing.TOLERANCE]
        if e.m_bucket < a.min_m or not cands:
            continue
        p, m = e.problem, e.m_bucket
        ops = timing.Operands(p, m, l2, seed=m)
        reps = timing.reps_for(p, m)
        timers = {s: timing.GraphTimer(timing.kernel_call(mod.get_function(s), p), ops, reps=reps) for s in cands}
        # the stock path: cuBLAS (+ Inductor's fused epilogue for a fused problem: timing.cublas_call)
        timers["cuBLAS"] = timing.GraphTimer(timing.cublas_call(p), ops, reps=reps)
        samples = timing.interleaved(timers, a.trials)
        cub = timing.summarize(samples["cuBLAS"])
        for s in cands:
            c = timing.compare(samples[s], samples["cuBLAS"])
            rows.append({"layer": names.get((p.n, p.k), f"{p.n}x{p.k}"), "n": p.n, "k": p.k, "m": m,
                         "kernel": short(mine[s]), "symbol": s, "rank": e.ranked.index(s),
                         "kernel_us": round(c.kernel.median_us, 2), "cublas_us": round(cub.median_us, 2),
                         "ratio": round(c.ratio_median, 3), "ratio_p20": round(c.ratio_low, 3),
                         "spread_kernel": round(c.kernel.spread, 3), "spread_cublas": round(cub.spread, 3),
                         "rel_err": errors[(s, p.key)], "epilogue": p.epilogue,
                         "baseline": timing.baseline_name(p)})
            r = rows[-1]
            print(f"{r['layer']:8} M={m:5d} {r['kernel']:18} {r['kernel_us']:9.2f} us  {r['baseline']} "
                  f"{r['cublas_us']:9.2f} us  x{r['ratio']:.3f} (p20 {r['ratio_p20']:.3f})", flush=True)
        del ops, timers
    if a.output:
        Path(a.output).write_text(json.dumps({"device": props.name, "source": a.source, "rows": rows,
                                              "errors": {f"{s} {p}": v for (s, p), v in errors.items()}}, indent=1))
    print(f"\n{target.gpu}: source {a.source}, {len(mine)} kernels; x = stock time / kernel time, median of "
          f"{a.trials} interleaved rounds (p20 in brackets); stock = cuBLAS, + the Inductor-fused epilogue for a "
          "fused one (timing.baseline_name)")
    print(f"{'layer':8} {'M':>5}  {'best kernel':18} {'us':>9} {'stock us':>9}  ratio   (all kernels: min-max)")
    by_entry: dict[tuple, list] = {}
    for r in rows:
        by_entry.setdefault((r["n"], r["k"], r["m"]), []).append(r)
    for key in sorted(by_entry):
        rs = by_entry[key]
        best = max(rs, key=lambda r: r["ratio"])
        print(f"{best['layer']:8} {best['m']:5d}  {best['kernel']:18} {best['kernel_us']:9.2f} {best['cublas_us']:9.2f}"
              f"  x{best['ratio']:.3f} (p20 {best['ratio_p20']:.3f})  {min(r['ratio'] for r in rs):.2f}-"
              f"{max(r['ratio'] for r in rs):.2f} over {len(rs)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
