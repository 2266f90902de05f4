"""Session 38, call G: the e4m3 TMA designs of max_m 16 and 32 timed again (`fp8_decode_probe --tma-table`), per
weight and bucket, against the designs builds offered there.

  python fp8_tma_table.py        (reads ../callG/run1 and run2 beside this folder; prints the table)

Per weight and max_m (16: M = 9 and 16; 32: M = 17 and 32, each bucket's lower edge and top), every design of that
max_m ranked by the geometric mean of _scaled_mm/ours back to back (per-tensor scales) over both runs: the best
kernel builds offered there (`offered.json`-free: the probe lists designs_for's kernels first and marks none, so
"offered" is designs_for's at this commit less call A's max_m 8 ones, recomputed here), the best TMA design of the
sweep and its gain. Printed last: the entries decode_design_tables' TMA_FP8_SM90 would take (the best two TMA designs
where the sweep's best beat every offered kernel of that max_m by 1% or more in both runs).
"""
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))  # bench/, for results_io
sys.path.insert(0, str(HERE.parents[4]))  # the repository, for aotgemm

from results_io import read_json  # noqa: E402

MS = {16: (9, 16), 32: (17, 32)}


def spec(d):
    return ",".join(str(d[f]) for f in ("stages", "wg", "bk", "ck"))


def ranking(runs, designs):
    """{(n, k, max_m): [(geomean, symbol), ...] best first} of each max_m's designs at its MS over the runs."""
    logs = {}
    for rows in runs:
        for r in rows:
            mx = designs[r["symbol"]]["max_m"]
            if mx in MS and r["m"] in MS[mx] and r.get("scale", "tensor") == "tensor":
                logs.setdefault((r["n"], r["k"], mx), {}).setdefault(r["symbol"], []).append(math.log(r["mm_us"] / r["us"]))
    full = len(runs) * 2
    return {key: sorted(((math.exp(sum(v) / len(v)), s) for s, v in per.items() if len(v) == full), reverse=True)
            for key, per in logs.items()}


def main():
    from aotgemm.compiler.sources import decode_kernels as dk

    call = HERE.parent / "callG"
    designs = read_json(call / "designs.json")
    runs = [read_json(call / r / "fp8_decode_probe.json")["rows"] for r in ("run1", "run2")]
    both, each = ranking(runs, designs), [ranking([rows], designs) for rows in runs]
    offered = {}
    for (n, k, mx) in both:
        offered[(n, k, mx)] = {"aotgemm_" + dk.design_name(d) for d in
                               dk.designs_for(n, k, "sm_90a", "scale_tensor", "float8_e4m3fn") if d["max_m"] == mx}
    print(f"  {'weight':>12} max_m  {'offered best':>44} {'x':>6}  {'sweep best':>12} {'x':>6}   gain  run 1  run 2")
    take = {}
    for key in sorted(both):
        rows = both[key]
        off = next(r for r in rows if r[1] in offered[key])
        new = next((r for r in rows if r[1] not in offered[key]), None)
        if new is None:
            continue
        gains = [next(r for r in run[key] if r[1] == new[1])[0] / next(r for r in run[key] if r[1] in offered[key])[0]
                 for run in each]
        name = off[1].removeprefix("aotgemm_").split("_pdl")[0]
        print(f"  {key[0]:>6}x{key[1]:<5} {key[2]:>5}  {name:>44} {off[0]:6.3f}  {spec(designs[new[1]]):>12} "
              f"{new[0]:6.3f}  {100 * (new[0] / off[0] - 1):+5.1f}%" + "".join(f" {100 * (g - 1):+5.1f}%" for g in gains))
        if min(gains) >= 1.01:
            tma = [s for _, s in rows if designs[s]["kind"] == "swapab_tma"][:2]
            take.setdefault(key[:2], {})[key[2]] = [spec(designs[s]) for s in tma]
    print("\nentries (max_m: best two TMA designs) where the sweep's best beat every offered kernel by 1% in both runs:")
    for (n, k), per in sorted(take.items()):
        print(f"    ({n}, {k}): {per}")
    print("\nin a model (_scaled_mm/ours, geomean over the points each has; OFF: offered before), the best five:")
    for (n, k), per in sorted(take.items()):
        for mx in sorted(per):
            got = {}
            for rows in runs:
                for r in rows:
                    if ((r["n"], r["k"]) == (n, k) and r["m"] in MS[mx] and designs[r["symbol"]]["max_m"] == mx
                            and r.get("model_ratio")):
                        got.setdefault(r["symbol"], []).append(math.log(r["model_ratio"]))
            best = sorted(((math.exp(sum(v) / len(v)), len(v), s) for s, v in got.items()), reverse=True)[:5]
            print(f"  {n:>6}x{k:<5} {mx:>3}  " + "  ".join(
                f"{'OFF' if s in offered[(n, k, mx)] else 'new'} {spec(designs[s]) if 'stages' in designs[s] else designs[s]['kind']}"
                f" {g:.3f} ({c})" for g, c, s in best))


if __name__ == "__main__":
    main()
