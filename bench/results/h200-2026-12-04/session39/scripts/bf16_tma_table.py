"""Session 39, call A (probe): the bf16 TMA designs of max_m 16, 32 and 64 timed again (`decode_probe --tma-table`
on eight weights), ranked the way the tuner ranks: in a model (a copy kernel writes x just before each GEMM).

  python bf16_tma_table.py        (reads ../callA/probe/run1 and run2 beside this folder; prints the table)

Per weight and max_m, every design of that max_m timed at M = max_m (the bucket's top, where the tuner times first),
ranked by the geometric mean over both runs of cuBLAS/ours in a model; beside it the same back to back. "offered" is
designs_for's at this commit (the probe lists them first and marks none, so it is recomputed here). Printed last: the
entries decode_design_tables' TMA_SM90 would take, where the sweep's leader in a model beat every offered design of
that max_m by 1% or more in a model in each run and held back to back within 1% of the offered best.
"""
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))  # bench/, for results_io
sys.path.insert(0, str(HERE.parents[4]))  # the repository, for aotgemm

from results_io import read_json  # noqa: E402


def spec(d):
    return ",".join(str(d[f]) for f in ("stages", "wg", "bk", "ck"))


def ratios(rows, designs):
    """{(n, k, max_m): {symbol: (model ratio, back-to-back ratio)}} at M = max_m."""
    out = {}
    for r in rows:
        mx = designs[r["symbol"]]["max_m"]
        if r["m"] == mx:
            out.setdefault((r["n"], r["k"], mx), {})[r["symbol"]] = (r["cublas_model_us"] / r["model_us"],
                                                                      r["cublas_us"] / r["us"])
    return out


def geo(vals):
    return math.exp(sum(map(math.log, vals)) / len(vals))


def main():
    from aotgemm.compiler.sources import decode_kernels as dk

    call = HERE.parent / "callA" / "probe"
    designs = read_json(call / "designs.json")
    runs = [ratios(read_json(call / r / "decode_probe.json")["rows"], designs) for r in ("run1", "run2")]
    print(f"  {'weight':>12} max_m  {'offered best (in a model)':>40} {'model':>6} {'b2b':>6}  {'sweep best':>10} "
          f"{'model':>6} {'b2b':>6}   gain  run 1  run 2")
    take = {}
    for key in sorted(runs[0]):
        n, k, mx = key
        offered = {"aotgemm_" + dk.design_name(d) for d in dk.designs_for(n, k, "sm_90a") if d["max_m"] == mx}
        both = {s: (geo([run[key][s][0] for run in runs]), geo([run[key][s][1] for run in runs]))
                for s in runs[0][key] if all(s in run.get(key, {}) for run in runs)}
        ranked = sorted(both, key=lambda s: -both[s][0])
        off = next(s for s in ranked if s in offered)
        new = next((s for s in ranked if s not in offered), None)
        if new is None:
            continue
        gains = [run[key][new][0] / max(run[key][s][0] for s in offered if s in run[key]) for run in runs]
        name = off.removeprefix("aotgemm_").split("_pdl")[0]
        print(f"  {n:>6}x{k:<5} {mx:>5}  {name:>40} {both[off][0]:6.3f} {both[off][1]:6.3f}  {spec(designs[new]):>10} "
              f"{both[new][0]:6.3f} {both[new][1]:6.3f}  {100 * (both[new][0] / both[off][0] - 1):+5.1f}%"
              + "".join(f" {100 * (g - 1):+5.1f}%" for g in gains))
        if min(gains) >= 1.01 and both[new][1] >= 0.99 * max(both[s][1] for s in offered if s in both):
            take.setdefault((n, k), {})[mx] = spec(designs[new])
    print("\nentries (max_m: the sweep's leader in a model, to go first beside the two the table holds) where it beat "
          "every offered design by 1% in a model in both runs and held back to back:")
    for (n, k), per in sorted(take.items()):
        print(f"    ({n}, {k}): {per}")


if __name__ == "__main__":
    main()
