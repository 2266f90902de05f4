"""Session 30: what each design key did against its twin, from calls A, B and D's fp8_decode_probe.json (each run
times every design at each point in the same interleaved rounds).

  python pair_table.py SESSION30_DIR

Per key, over the (design, M) points where both the design and its twin (the same design without the key; for tt,
the call's single-tile max_m 128 reference) were timed: the median, lowest and highest of twin us / design us,
back to back and (where both were among a point's four fastest, timed again) after a copy kernel writes x. Above
1: the key made the design faster.
"""
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

from results_io import read_json  # noqa: E402  (a committed JSON may be packed: scripts/pack_results.py)


def pairs(rows, twin_of):
    by = {(r["symbol"], r["m"]): r for r in rows}
    out = []
    for (sym, m), r in by.items():
        twin = twin_of(sym, r)
        if twin and (twin, m) in by:
            t = by[(twin, m)]
            model = t["model_us"] / r["model_us"] if r.get("model_us") and t.get("model_us") else None
            out.append((t["us"] / r["us"], model))
    return out


def line(name, ps):
    b = sorted(p[0] for p in ps)
    mo = sorted(p[1] for p in ps if p[1])
    s = f"{name:<34} {len(b):>4} points: twin/design median {statistics.median(b):.3f} ({b[0]:.3f}-{b[-1]:.3f})"
    if mo:
        s += f"; in a model {len(mo)} points, median {statistics.median(mo):.3f} ({mo[0]:.3f}-{mo[-1]:.3f})"
    return s


def main(d):
    d = Path(d)
    a = read_json(d / "callA" / "fp8_decode_probe.json")["rows"]
    b = read_json(d / "callB" / "fp8_decode_probe.json")["rows"]
    t = read_json(d / "callD" / "fp8_decode_probe.json")["rows"]
    ov = lambda s, r: re.sub(r"^aotgemm_tma\d+", "", s.replace("ov", "")) if "ov" in s else None  # noqa: E731
    a_by_tail = {}
    for r in a:
        a_by_tail.setdefault(re.sub(r"^aotgemm_tma\d+", "", r["symbol"]), set()).add(r["symbol"])
    # ov twins differ in their stage count too (ov frees the partials' room for more stages): match by the rest
    def ov_twin(s, r):
        tail = ov(s, r)
        cands = [c for c in a_by_tail.get(tail, ()) if "ov" not in c]
        return cands[0] if len(cands) == 1 else None
    print(line("call A: ov", pairs(a, ov_twin)))
    for cn in ("cn2", "cn4"):
        print(line(f"call B: x multicast {cn}", pairs(b, lambda s, r, cn=cn: s.replace(cn, "") if cn in s else None)))
    ref = {(r["n"], r["k"]): r["symbol"] for r in t if "tt2" not in r["symbol"]}
    print(line("call D: two 64-token tiles (tt 2)",
               pairs(t, lambda s, r: ref.get((r["n"], r["k"])) if "tt2" in s and "ov" not in s else None)))


if __name__ == "__main__":
    main(sys.argv[1])
