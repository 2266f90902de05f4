"""Session 23, call E: each whole-row ("coal") cp.async design against its twin (the same design without coal),
back to back and as in a model, at every M timed; then the designs of decode_designs._MEASURED_SM90 whose coal
form ran at least 1% faster back to back at every M timed, which builds now offer in that form
(decode_designs._COAL_SM90). Usage: python coal_table.py CALL_DIR > coal_table.txt"""
import collections
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[5] / "bench"))
from results_io import read_json  # noqa: E402

rows = read_json(pathlib.Path(sys.argv[1]) / "decode_probe.json")["rows"]
idx = {(r["symbol"], r["m"]): r for r in rows}
by_design = collections.defaultdict(list)
print(f"{'coal design':48s} {'M':>3} {'twin us':>8} {'coal us':>8} {'b2b':>6} {'model':>6}")
for (sym, m), r in sorted(idx.items()):
    d = r["design"]
    if not d.get("coal") or m < 4:
        continue
    twin = idx.get((sym.replace("aotgemm_cp3c", "aotgemm_cp3").replace("aotgemm_cp4c", "aotgemm_cp4"), m))
    if twin is None:
        continue
    b2b, model = twin["us"] / r["us"], twin["model_us"] / r["model_us"]
    by_design[(d["n"], d["k"], f"{d['stages']},{d['nt']},{d['mt']},{d['wn']},{d['wk']},{d['ck']},{d['unroll']}")].append(b2b)
    print(f"{sym[8:]:48s} {m:>3} {twin['us']:8.2f} {r['us']:8.2f} {b2b:6.3f} {model:6.3f}")
allr = [x for v in by_design.values() for x in v]
print(f"\ntwin / coal back to back: median {statistics.median(allr):.3f}, {min(allr):.3f}-{max(allr):.3f} over "
      f"{len(allr)} points (above 1: coal is faster)")
print("\ncoal at least 1% faster at every M timed (stages,nt,mt,wn,wk,ck,unroll):")
from aotgemm.compiler.sources.decode_designs import _MEASURED_SM90  # noqa: E402

for (n, k, spec), v in sorted(by_design.items()):
    if min(v) >= 1.01:
        print(f"  ({n}, {k}): {spec}  {min(v):.3f}-{max(v):.3f}"
              + ("" if spec in _MEASURED_SM90.get((n, k), []) else "  (not a _MEASURED_SM90 design)"))
