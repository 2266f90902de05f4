"""Session 29, call G: per weight and M, the fastest tt 2 design as in a model against the single-tile reference
(call A's tma5 wg1 ov) and cuBLAS. From the repository root:
    python bench/results/h200-2026-12-03/session29/scripts/tt_table.py \\
        bench/results/h200-2026-12-03/session29/callG/decode_probe.json > .../callG/tt_table.txt"""
import sys

sys.path[:0] = [".", "bench"]
from results_io import read_json  # noqa: E402

by = {}
for r in read_json(sys.argv[1])["rows"]:
    by.setdefault((r["n"], r["k"], r["m"]), []).append(r)
print("as in a model, us incl. the copy kernel: the best tt 2 design, the reference, cuBLAS; reference/tt2 and cuBLAS/tt2")
for (n, k, m), rs in sorted(by.items()):
    tt = min((r for r in rs if r["design"].get("tt")), key=lambda r: r["model_us"])
    ref = next(r for r in rs if not r["design"].get("tt"))
    print(f"{f'{n}x{k}':>11} {m:>4} {tt['symbol'][8:]:<44} {tt['model_us']:7.2f} {ref['model_us']:7.2f} "
          f"{tt['cublas_model_us']:7.2f}  {ref['model_us'] / tt['model_us']:.3f} {tt['cublas_model_us'] / tt['model_us']:.3f}")
