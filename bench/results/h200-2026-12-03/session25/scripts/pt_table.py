"""Session 25: from fp8_decode_probe's JSON (call A), per weight and M the best kernel of each promotion interval
(pt = 1 as built, 2, 4 k tiles per promotion, 0 none), back to back and in a model (the probe times the four
fastest back to back in a model), as speed-up over torch._scaled_mm, and the largest relative error of each pt's
kernels in the correctness checks.

  python pt_table.py LOGDIR
"""
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))  # bench/, for results_io: the committed results are gzipped

from results_io import read_json, read_text  # noqa: E402


def pt_of(sym: str) -> int:
    m = re.search(r"ck\d+(?:cn\d+)?pt(\d)", sym)
    return int(m.group(1)) if m else 1


def main(logdir: str) -> None:
    d = read_json(Path(logdir) / "fp8_decode_probe.json")
    pts = (1, 2, 4, 0)
    print(f"{'weight':>11} {'M':>3} {'_s_mm':>6} | " + " | ".join(f"pt{p}: us   x  model x" for p in pts))
    keys = sorted({(r["n"], r["k"], r["m"]) for r in d["rows"]}, key=lambda t: (-t[0] * t[1], t[2]))
    for n, k, m in keys:
        rows = [r for r in d["rows"] if (r["n"], r["k"], r["m"]) == (n, k, m)]
        mm = min(r["mm_us"] for r in rows)
        cells = []
        for p in pts:
            mine = [r for r in rows if pt_of(r["symbol"]) == p]
            if not mine:
                cells.append(" " * 21)
                continue
            b = min(mine, key=lambda r: r["us"])
            model = [r["model_ratio"] for r in mine if r["model_ratio"]]
            cells.append(f"{b['us']:6.2f} {b['ratio']:5.3f} {max(model) if model else float('nan'):5.3f}")
        print(f"{n}x{k:<5} {m:>3} {mm:6.2f} | " + " | ".join(cells))
    errs = {}
    for line in read_text(Path(logdir) / "decode_check.jsonl").splitlines():
        c = json.loads(line)
        if "worst_err" in c:
            errs.setdefault(pt_of(c["symbol"]), []).append(c["worst_err"])
    print("relative error against float32 in the checks (every M up to max_m), by pt: median / largest:",
          {p: f"{sorted(v)[len(v) // 2]:.2e} / {max(v):.2e}" for p, v in sorted(errs.items())})
    bad = [s for s, st in d["checks"].items() if st.get("status") != "ok"]
    print(f"checks: {len(d['checks'])} kernels, not ok: {bad}")


if __name__ == "__main__":
    main(sys.argv[1])
