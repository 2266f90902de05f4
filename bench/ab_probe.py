"""Time the same decode designs from two builds of the kernels, interleaved, against cuBLAS.

Usage (GPU): python bench/ab_probe.py DIR_A DIR_B [--ms 8,16,...] [--log OUTDIR]
       (any): python bench/ab_probe.py table OUTDIR/ab_probe.json     (re-print the table of a run)

DIR_A and DIR_B are `bench/decode_probe.py compile` outputs (kernels.so + designs.json) of the same grid built
from two versions of the kernel sources (session 16: decode_tma's output stage before and after). Per weight
and M, every symbol the two builds share whose max_m holds M (and is at most 2 * max(M, 64)) runs from both
builds, with cuBLAS, in interleaved trials (decode_probe.time_shape's CUDA graphs over L2-rotated operands,
plain and after a copy kernel writes x). Prints per (weight, M) the best of each build and the geomean B/A over
the shared symbols; writes OUTDIR/ab_probe.json. Correctness is decode_probe's job (`run`).
"""
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import decode_probe as dp  # noqa: E402


def time_pair(mods, n, k, m, syms, trials=11, reps=20):
    """{(build, sym) or ("cublas", ""): {fig: (median_us, spread)}}, all graphs timed round-robin."""
    ops = dp._Ops(m, n, k)
    calls = {("cublas", ""): dp.cublas_call, **{(b, s): dp.kernel_call(mod[s]) for b, mod in mods.items() for s in syms}}
    res = dp.time_calls(calls, ops, trials, reps)
    del ops
    return res


def main(argv):
    import torch

    a, b = argv[0], argv[1]
    ms = tuple(int(v) for v in argv[argv.index("--ms") + 1].split(",")) if "--ms" in argv else (8, 16, 32, 64, 128)
    logd = Path(argv[argv.index("--log") + 1] if "--log" in argv else os.environ.get("OUT", "."))
    logd.mkdir(parents=True, exist_ok=True)
    mods, designs = {}, {}
    for tag, path in (("A", a), ("B", b)):
        mods[tag], designs[tag] = dp._load(path)
    shared = {s: d for s, d in designs["A"].items() if designs["B"].get(s) == d}
    print(f"# ab_probe on {torch.cuda.get_device_name(0)}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"torch {torch.__version__}; A = {a}, B = {b}; {len(shared)} shared designs", flush=True)
    rows = []
    for n, k in sorted({(d["n"], d["k"]) for d in shared.values()}):
        for m in ms:
            syms = sorted(s for s, d in shared.items() if (d["n"], d["k"]) == (n, k) and m <= d["max_m"] <= 2 * max(m, 64))
            if not syms:
                continue
            res = time_pair(mods, n, k, m, syms)
            cb = res[("cublas", "")]
            for s in syms:
                ra, rb = res[("A", s)], res[("B", s)]
                rows.append(dict(n=n, k=k, m=m, symbol=s, a_us=ra["plain"][0], b_us=rb["plain"][0],
                                 a_model_us=ra["model"][0], b_model_us=rb["model"][0], a_spread=ra["plain"][1],
                                 b_spread=rb["plain"][1], cublas_us=cb["plain"][0], cublas_model_us=cb["model"][0]))
            print(point_line([r for r in rows if (r["n"], r["k"], r["m"]) == (n, k, m)]), flush=True)
            (logd / "ab_probe.json").write_text(json.dumps(rows, indent=1))
    print(summary_line(rows), flush=True)


def point_line(here) -> str:
    """One weight and M: cuBLAS, the best of each build, and the geomean A/B over the symbols timed there."""
    r0 = here[0]
    ba = min(here, key=lambda r: r["a_us"])
    bb = min(here, key=lambda r: r["b_us"])
    gm = math.exp(statistics.fmean(math.log(r["a_us"] / r["b_us"]) for r in here))
    return (f"{r0['n']:>6}x{r0['k']:<6} M={r0['m']:<4} cuBLAS {r0['cublas_us']:7.2f} | best A {ba['a_us']:7.2f} "
            f"{ba['symbol'][8:]:40s} | best B {bb['b_us']:7.2f} {bb['symbol'][8:]:40s} | A/B {gm:.3f} over {len(here)}")


def summary_line(rows) -> str:
    ratios = [r["a_us"] / r["b_us"] for r in rows]
    gm = math.exp(statistics.fmean(math.log(v) for v in ratios))
    by_m = {}
    for r in rows:
        by_m.setdefault(r["m"], []).append(math.log(r["a_us"] / r["b_us"]))
    per_m = ", ".join(f"M={m}: {math.exp(statistics.fmean(v)):.3f}" for m, v in sorted(by_m.items()))
    return (f"geomean A/B over {len(ratios)} (design, M): {gm:.4f} (> 1: B faster); min {min(ratios):.3f}, "
            f"max {max(ratios):.3f}; per M: {per_m}")


def table(path: str) -> None:
    from results_io import read_json  # a committed run's JSON may be packed (scripts/pack_results.py)

    rows = read_json(path)
    points = {}
    for r in rows:
        points.setdefault((r["n"], r["k"], r["m"]), []).append(r)
    for key in sorted(points):
        print(point_line(points[key]))
    print(summary_line(rows))


if __name__ == "__main__":
    if sys.argv[1:2] == ["table"]:
        table(sys.argv[2])
    else:
        main(sys.argv[1:])
