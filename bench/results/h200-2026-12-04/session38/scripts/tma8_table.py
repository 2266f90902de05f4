"""Session 38, calls A and B: the `--tma8` probes ranked per weight, what decode_design_tables' max_m 8 TMA entries
come from.

  python tma8_table.py        (reads ../callA and ../callB beside this folder, two runs of one probe on two machines)

Per weight, every design of max_m 8 or 16 ranked by the geometric mean of baseline/ours over M = 3, 4, 5, 8: bf16
back to back and in a model (cuBLAS), e4m3 back to back (`_scaled_mm`, per-tensor scales; that probe times in a model
only each point's fastest kernel). Printed: the best kernel builds offer (max_m 8 and 16: cp.async, register-fed,
TMA of max_m 16), the two best TMA designs of max_m 8 ("stages,wg,bk,ck") and the gain of the best over the offered,
over both runs; then that gain in each run alone.
"""
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))  # bench/, for results_io

from results_io import read_json  # noqa: E402

MS = (3, 4, 5, 8)


def ranking(runs, pairs):
    """{(n, k): [(geomean, symbol, design), ...] best first} over the runs' rows at MS and the (baseline, ours) key
    pairs; only designs timed at every point of every run."""
    logs, designs = {}, {}
    for rows in runs:
        for r in rows:
            d = r["design"]
            if r["m"] not in MS or r.get("scale", "tensor") != "tensor" or d["max_m"] > 16:
                continue
            designs[r["symbol"]] = d
            for base, ours in pairs:
                logs.setdefault((r["n"], r["k"]), {}).setdefault(r["symbol"], []).append(math.log(r[base] / r[ours]))
    full = len(runs) * len(MS) * len(pairs)
    return {w: sorted(((math.exp(sum(v) / len(v)), s, designs[s]) for s, v in per.items() if len(v) == full),
                      reverse=True) for w, per in logs.items()}


def tma8(d):
    return d["kind"] == "swapab_tma" and d["max_m"] == 8


def spec(d):
    return ",".join(str(d[f]) for f in ("stages", "wg", "bk", "ck"))


def best_offered(rows):
    return next(r for r in rows if not tma8(r[2]))


def tma8_gain(rows):
    """The best max_m 8 TMA design's geomean over the best offered kernel's."""
    return next(r for r in rows if tma8(r[2]))[0] / best_offered(rows)[0]


def table(title, runs, pairs):
    both, each = ranking(runs, pairs), [ranking([rows], pairs) for rows in runs]
    print(title)
    print(f"  {'weight':>12}  {'offered best':>40} {'x':>6}  {'tma8 first':>12} {'x':>6}  {'second':>12} {'x':>6}  "
          "gain  run A  run B")
    gains = []
    for (n, k), rows in sorted(both.items()):
        off, t8 = best_offered(rows), [r for r in rows if tma8(r[2])][:2]
        gains.append(tma8_gain(rows))
        name = off[1].removeprefix("aotgemm_").split("_pdl")[0]
        print(f"  {n:>6}x{k:<5}  {name:>40} {off[0]:6.3f}  {spec(t8[0][2]):>12} {t8[0][0]:6.3f}  "
              f"{spec(t8[1][2]):>12} {t8[1][0]:6.3f}  {100 * (gains[-1] - 1):+5.1f}%"
              + "".join(f" {100 * (tma8_gain(run[(n, k)]) - 1):+5.1f}%" for run in each))
    print(f"  the best max_m 8 TMA design over the best offered: median {100 * (sorted(gains)[len(gains) // 2] - 1):+.1f}%,"
          f" {sum(g >= 1.01 for g in gains)} of {len(gains)} weights at +1% or more\n")


def main():
    calls = [HERE.parent / c for c in ("callA", "callB")]
    bf16 = [read_json(c / "bf16" / "decode_probe.json")["rows"] for c in calls]
    fp8 = [read_json(c / "fp8" / "fp8_decode_probe.json")["rows"] for c in calls]
    designs = read_json(calls[0] / "fp8" / "designs.json")
    for rows in fp8:
        for r in rows:
            r["design"] = designs[r["symbol"]]
    table("bf16, back to back and in a model (cuBLAS/ours)", bf16, [("cublas_us", "us"), ("cublas_model_us", "model_us")])
    table("bf16, back to back", bf16, [("cublas_us", "us")])
    table("e4m3, back to back (_scaled_mm/ours)", fp8, [("mm_us", "us")])


if __name__ == "__main__":
    main()
