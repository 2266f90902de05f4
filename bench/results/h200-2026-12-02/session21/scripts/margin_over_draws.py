"""Session 21 (CPU): how well does a tune's first draw predict `aotgemm bench`, and what would the rule "the median
of the draws keeps the margin" (tune._margin_over_draws) have changed in the committed tunes?

For every committed tune log of 2026-12-02 (sessions 19-21: call*/tune/*.tune.json) and the `aotgemm bench` runs of
the same call: each kernel the tune chose (not split buckets), matched to bench's row at the bucket's M with the
same choice, where cuBLAS's spread in the tune was under 2%. Prints the bench/tune ratio statistics, then, per
tune log, the choices whose median over the first draw and the fresh draws is under the margin.

    python bench/results/h200-2026-12-02/session21/scripts/margin_over_draws.py   # from the repository root
"""
import glob
import os
import statistics as st
import sys

sys.path.insert(0, "bench")
from results_io import read_json  # noqa: E402

TUNES = "bench/results/h200-2026-12-02/session*/call*/tune/*.tune.json*"


def tune_rows(path):
    return read_json(path.removesuffix(".gz"))["rows"]


pairs = []
for tj in sorted(glob.glob(TUNES)):
    name, call = os.path.basename(tj).split(".tune.json")[0], os.path.dirname(os.path.dirname(tj))
    chosen = {(r["n"], r["k"], r["epilogue"], r["m_bucket"]): r for r in tune_rows(tj)
              if r["chosen"] != "cublas" and not r.get("min_m") and r["spread"] < 0.02}
    for bj in glob.glob(f"{call}/bench/run*/*-{name}.json*"):
        for b in read_json(bj.removesuffix(".gz"))["rows"]:
            t = chosen.get((b["n"], b["k"], b["epilogue"], b["m"]))
            if t and not b["split"] and b["chosen"] == t["chosen"]:
                pairs.append((t["ratio"], min([t["ratio"], *t["fresh_ratios"]]), b["model_speedup"], b["speedup"]))
print(f"{len(pairs)} chosen kernels matched to bench rows (tune spread < 2%)")
for label, i in (("as in a model", 2), ("back to back", 3)):
    for ref, j in (("the first draw", 0), ("the lowest draw", 1)):
        d = [p[i] / p[j] - 1 for p in pairs]
        print(f"bench {label:13s} / {ref:15s}: mean {st.mean(d) * 100:+.2f}%  sd {st.pstdev(d) * 100:.2f}%  "
              f"min {min(d) * 100:+.2f}%  max {max(d) * 100:+.2f}%")
print()
for tj in sorted(glob.glob(TUNES)):
    rows = [r for r in tune_rows(tj) if r["chosen"] != "cublas"]
    flips = [(r["layer"], r["m_bucket"], round(r["ratio"], 3), [round(x, 3) for x in r["fresh_ratios"]])
             for r in rows if r["fresh_ratios"]
             and st.median([r["ratio"], *r["fresh_ratios"]]) < 1 + max(0.03, r["spread"] / 2)]
    print(f"{tj.split('2026-12-02/')[1]:62s} chosen {len(rows):3d}  would change {len(flips)} {flips}")
