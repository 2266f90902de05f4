"""Session 42 call E, read on the CPU: per point, the best e4m3 max_m 64 design builds offer against the best other
design, in a model and back to back (run from the repository root after `fp8_decode_probe.py compile .gpu/s39/t64
--tma-table-64`, whose designs.json names each symbol's design). Output: callE/table_vs_builds.txt."""
import json
import sys

sys.path.insert(0, "bench")
from results_io import read_json  # noqa: E402  (reads the packed NAME.gz)
from collections import defaultdict
from aotgemm.compiler.sources.decode import DecodeSource
from aotgemm.gpus import gpu_model
from aotgemm.problem import GemmProblem
src, h = DecodeSource(), gpu_model("H200_SXM")
designs = json.load(open(".gpu/s39/t64/designs.json"))
rows = read_json("bench/results/h200-2026-12-05/session42/callE/fp8_decode_probe.json")["rows"]
norm = lambda d: json.dumps({k: v for k, v in d.items() if k not in ("n", "k")}, sort_keys=True)
offered = {}
pts = defaultdict(list)
for r in rows:
    key = (r["n"], r["k"])
    if key not in offered:
        p = GemmProblem("float8_e4m3fn", "linear", "scale_tensor", *key)
        offered[key] = {norm(s.design_dict) for s in src.enumerate(p, h)}
    pts[(r["n"], r["k"], r["m"])].append((norm(designs[r["symbol"]]) in offered[key], r["model_ratio"], r["ratio"], r["symbol"][8:].split("_pdl")[0]))
print(f"{'weight':>11} {'M':>3} | builds' best: model  b2b | others' best: model  b2b  design")
lead = 0
for (n, k, m), c in sorted(pts.items()):
    b = max((x for x in c if x[0]), key=lambda x: x[1])
    o = max((x for x in c if not x[0]), key=lambda x: x[1])
    flag = " <" if o[1] > b[1] * 1.01 and o[2] > b[2] * 1.01 else ""
    lead += bool(flag)
    print(f"{n:>5}x{k:<5} {m:>3} | {b[1]:.3f} {b[2]:.3f} {b[3]:<36} | {o[1]:.3f} {o[2]:.3f} {o[3]}{flag}")
print(f"points where a design builds do not offer leads by >1% in a model and back to back: {lead} of {len(pts)}")
