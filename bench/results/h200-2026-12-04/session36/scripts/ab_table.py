"""Session 36, call A: each design against its twin in the same interleaved rounds (ab_steps.py links both into one
kernels.so), from a probe run's JSON (decode_probe.json or fp8_decode_probe.json).

  python ab_table.py LOGDIR [NEW_SUFFIX BASE_SUFFIX]   (default _s4 _s1)

Per M, split by whether the design reduces split-K partials over a cluster (ck > 1) or not: the median, lowest
and highest of base us / new us, back to back and in a model (where both twins were timed there). Above 1: the
new output stage is faster. Then, per weight and M, the fastest of each variant against the baseline."""
import collections
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # bench/, for results_io

from results_io import read_json  # noqa: E402


def main(logd, new="_s4", base="_s1"):
    logd = Path(logd)
    fp8 = any((logd / n).exists() for n in ("fp8_decode_probe.json", "fp8_decode_probe.json.gz"))
    data = read_json(logd / ("fp8_decode_probe.json" if fp8 else "decode_probe.json"))
    rows = [r for r in data["rows"] if r.get("scale", "tensor") == "tensor"]
    base_of = {"cublas_model_us": "mm_model_us", "cublas_us": "mm_us"} if fp8 else {}
    cb, cbm = base_of.get("cublas_us", "cublas_us"), base_of.get("cublas_model_us", "cublas_model_us")
    by = {(r["symbol"], r["m"]): r for r in rows}
    b2b, model = collections.defaultdict(list), collections.defaultdict(list)
    for (sym, m), r in by.items():
        if not sym.endswith(new):
            continue
        twin = by.get((sym[: -len(new)] + base, m))
        if twin is None:
            continue
        ck = "ck1" if re.search(r"ck(\d+)", sym).group(1) == "1" else "ck>1"
        b2b[(m, ck)].append(twin["us"] / r["us"])
        if r.get("model_us") and twin.get("model_us"):
            model[(m, ck)].append(twin["model_us"] / r["model_us"])
    print(f"{'M':>4} {'kind':<5} {'n':>3}  base/new back to back (median, range)   in a model")
    for key in sorted(b2b):
        v, mv = sorted(b2b[key]), sorted(model[key])
        line = f"{key[0]:>4} {key[1]:<5} {len(v):>3}  {statistics.median(v):.3f} ({v[0]:.3f}-{v[-1]:.3f})"
        if mv:
            line += f"   {len(mv):>3}: {statistics.median(mv):.3f} ({mv[0]:.3f}-{mv[-1]:.3f})"
        print(line)
    print("\nfastest of each variant per weight and M, against the baseline (x = baseline us / ours)")
    print(f"{'weight':>11} {'M':>4} {'base us':>8} {'new us':>8} {'cuBLAS':>8} {'base x':>7} {'new x':>7}"
          f" {'model: base x':>14} {'new x':>7}")
    for n, k, m in sorted({(r["n"], r["k"], r["m"]) for r in rows}):
        rs = [r for r in rows if (r["n"], r["k"], r["m"]) == (n, k, m)]
        side = {s: [r for r in rs if r["symbol"].endswith(s)] for s in (base, new)}
        if not side[base] or not side[new]:
            continue
        best = {s: min(v, key=lambda r: r["us"]) for s, v in side.items()}
        bm = {s: [r for r in v if r.get("model_us")] for s, v in side.items()}
        bm = {s: min(v, key=lambda r: r["model_us"]) if v else None for s, v in bm.items()}
        mx = [f"{bm[s][cbm] / bm[s]['model_us']:.3f}" if bm[s] else "-" for s in (base, new)]
        print(f"{f'{n}x{k}':>11} {m:>4} {best[base]['us']:8.2f} {best[new]['us']:8.2f} {best[new][cb]:8.2f} "
              f"{best[base][cb] / best[base]['us']:7.3f} {best[new][cb] / best[new]['us']:7.3f} {mx[0]:>14} {mx[1]:>7}")


if __name__ == "__main__":
    main(*sys.argv[1:])
