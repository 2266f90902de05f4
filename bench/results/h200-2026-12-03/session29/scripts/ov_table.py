"""Session 29, call A: the --overlay probe's JSON as two tables. (1) Each ov design against its twin with a partials
region of its own (same max_m, wg, ck and residency), time ratio twin/ov back to back and as in a model, at each M
both time. (2) Per weight and M, the best design as in a model against cuBLAS. From the repository root:
    python bench/results/h200-2026-12-03/session29/scripts/ov_table.py \
        bench/results/h200-2026-12-03/session29/callA/decode_probe.json > .../callA/ov_table.txt"""
import statistics
import sys

sys.path[:0] = [".", "bench"]
from results_io import read_json  # noqa: E402  (the committed JSON is packed: decode_probe.json.gz)

rows = read_json(sys.argv[1])["rows"]
by = {}
for r in rows:
    by.setdefault((r["n"], r["k"], r["m"]), []).append(r)


def key(d, smem):
    return (d["n"], d["k"], d["max_m"], d["wg"], d["ck"], smem > 113 * 1024)


from aotgemm.compiler.sources.decode_kernels import smem_bytes  # noqa: E402

print("(1) ov against its twin (twin time / ov time; > 1: ov faster), per pair over the Ms both were timed at")
print(f"{'pair (ov design)':<46} {'stages':>9} {'b2b':>12} {'model':>12}")
pairs = {}
for rs in by.values():
    for r in rs:
        d = r["design"]
        pairs.setdefault(key(d, smem_bytes(d)), {}).setdefault("ov" if d.get("ov") else "own", {})[r["m"]] = r
allb, allm = [], []
for k, p in sorted(pairs.items()):
    if "ov" not in p or "own" not in p:
        continue
    ms = sorted(set(p["ov"]) & set(p["own"]))
    b = [p["own"][m]["us"] / p["ov"][m]["us"] for m in ms]
    mo = [p["own"][m]["model_us"] / p["ov"][m]["model_us"] for m in ms]
    allb += b
    allm += mo
    ov, own = p["ov"][ms[0]], p["own"][ms[0]]
    print(f"{ov['symbol'][8:]:<46} {own['design']['stages']:>3} -> {ov['design']['stages']:<3} "
          f"{min(b):.2f}-{max(b):.2f}  {min(mo):.2f}-{max(mo):.2f}")
print(f"median over {len(allb)} (pair, M): b2b {statistics.median(allb):.3f}, model {statistics.median(allm):.3f}")
print()
print("(2) best as in a model per weight and M (us incl. the copy kernel), against cuBLAS")
print(f"{'weight':>11} {'M':>4} {'best as in a model':<46} {'model':>7} {'cuBLAS':>7} {'x':>6} | {'b2b x':>6}")
for (n, k, m), rs in sorted(by.items()):
    bm = min(rs, key=lambda r: r["model_us"])
    bp = min(rs, key=lambda r: r["us"])
    print(f"{f'{n}x{k}':>11} {m:>4} {bm['symbol'][8:]:<46} {bm['model_us']:7.2f} {bm['cublas_model_us']:7.2f} "
          f"{bm['cublas_model_us'] / bm['model_us']:6.3f} | {bp['cublas_us'] / bp['us']:6.3f}")
