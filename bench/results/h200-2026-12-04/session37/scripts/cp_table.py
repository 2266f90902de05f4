"""Session 37, calls A and B: the `--cp-gaps` probes ranked per weight, what decode_designs' new cp.async entries
come from.

  python cp_table.py        (reads ../callA, ../callB beside this folder; prints the table)

bf16 (callA/decode_probe.json and callB/bf16/decode_probe.json, two runs of one kernels.so): per weight, every
tensor-core design of max_m 8 or 16 ranked by the geometric mean of cuBLAS/ours over M = 3, 4, 5, 8, back to back and
in a model, over both runs; the five best, marked "offered" where builds offered it before the session
(callA/offered.json, designs_for at 070b969), then the best of those. Then each whole-row (coal) design of max_m 8
against its plain twin. e4m3 (callB/fp8/fp8_decode_probe.json, per-tensor scales): the same ranking back to back only
(that probe times in a model only each point's fastest kernel).
"""
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))  # bench/, for results_io

from results_io import read_json  # noqa: E402

MS = (3, 4, 5, 8)


def ranking(runs, base_keys, designs):
    """{(n, k): [(geomean, symbol, design), ...] best first} over the runs' rows at MS, for each (baseline, ours)
    pair of keys in base_keys; only designs timed at every point. `designs`: {symbol: design} (the probe's
    designs.json; decode_probe's rows also carry their design)."""
    logs = {}
    for rows in runs:
        for r in rows:
            if r["m"] not in MS or r.get("scale", "tensor") != "tensor" or designs[r["symbol"]]["max_m"] > 16:
                continue
            for base, ours in base_keys:
                logs.setdefault((r["n"], r["k"]), {}).setdefault(r["symbol"], []).append(math.log(r[base] / r[ours]))
    full = len(runs) * len(MS) * len(base_keys)
    return {w: sorted(((math.exp(sum(v) / len(v)), s, designs[s]) for s, v in per.items() if len(v) == full),
                      reverse=True) for w, per in logs.items()}


def spec(d):
    if d["kind"] != "swapab_cp":
        return d["kind"]
    return ",".join(str(d[f]) for f in ("stages", "nt", "mt", "wn", "wk", "ck", "unroll")) + (" coal" if d.get("coal")
                                                                                               else "")


def print_ranking(title, ranked, offered):
    print(title)
    for (n, k), rows in sorted(ranked.items()):
        best_offered = next((g, s) for g, s, _ in rows if s in offered)
        print(f"  {n} x {k}: best offered {best_offered[0]:.3f} {best_offered[1]}")
        for g, s, d in rows[:5]:
            print(f"    {g:.3f} {'offered' if s in offered else '       '} {spec(d):22s} {s}")


def main():
    bf16_runs = [read_json(HERE.parent / "callA" / "decode_probe.json")["rows"],
                 read_json(HERE.parent / "callB" / "bf16" / "decode_probe.json")["rows"]]
    offered = set(read_json(HERE.parent / "callA" / "offered.json")["symbols"])
    bf16 = ranking(bf16_runs, (("cublas_us", "us"), ("cublas_model_us", "model_us")),
                   read_json(HERE.parent / "callA" / "designs.json"))
    print_ranking("bf16: cuBLAS/ours over M = 3, 4, 5, 8, back to back and in a model, calls A and B", bf16, offered)
    print("bf16 whole-row (coal) designs of max_m 8 against their plain twins (same mean)")
    for (n, k), rows in sorted(bf16.items()):
        g = {s: v for v, s, _ in rows}
        for s in sorted(g):
            twin = s.replace("c_n", "_n", 1)
            if twin != s and twin in g and "_m8_" in s:
                print(f"  {s:52s} {g[s]:.3f} plain {g[twin]:.3f}  {g[s] / g[twin]:.3f}")
    fp8_offered = set(read_json(HERE.parent / "callB" / "fp8" / "offered.json")["symbols"])
    fp8 = ranking([read_json(HERE.parent / "callB" / "fp8" / "fp8_decode_probe.json")["rows"]], (("mm_us", "us"),),
                  read_json(HERE.parent / "callB" / "fp8" / "designs.json"))
    print_ranking("e4m3, per-tensor scales: _scaled_mm/ours over M = 3, 4, 5, 8, back to back, call B", fp8, fp8_offered)


if __name__ == "__main__":
    main()
