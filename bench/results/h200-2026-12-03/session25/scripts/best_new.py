"""Session 25 call D: per weight and M, the best design builds offered (designs_for at cf3f962: grids of up to 264
CTAs) against the best new one (compileD's grids of 265-528 CTAs), back to back and in a model, as speed-up over torch._scaled_mm.

  python best_new.py LOGDIR DESIGNS_JSON
"""
import gzip
import json
import sys
from pathlib import Path


def main(logdir: str, designs_json: str) -> None:
    p = Path(logdir) / "fp8_decode_probe.json"
    data = json.loads(p.read_text() if p.exists() else gzip.open(str(p) + ".gz").read())
    designs = json.loads(Path(designs_json).read_text())
    # compileD's new designs are its grids of 265-528 CTAs; the rest are the ones builds offered (designs_for)
    built = {s for s, d in designs.items() if d["n"] // (64 * d["wg"]) * d["ck"] <= 264}
    print(f"{'weight':>11} {'M':>3} {'_s_mm':>6} | {'built: best':<44} {'x':>5} {'model':>5} | "
          f"{'new: best':<44} {'x':>5} {'model':>5}")
    for n, k, m in sorted({(r["n"], r["k"], r["m"]) for r in data["rows"]}, key=lambda t: (-t[0] * t[1], t[2])):
        rows = [r for r in data["rows"] if (r["n"], r["k"], r["m"]) == (n, k, m)]
        cells = []
        for mine in ([r for r in rows if r["symbol"] in built], [r for r in rows if r["symbol"] not in built]):
            if not mine:
                cells.append(f"{'-':<44} {'':>5} {'':>5}")
                continue
            b = min(mine, key=lambda r: r["us"])
            timed = [r for r in mine if r["model_ratio"]]
            bm = max(timed, key=lambda r: r["model_ratio"]) if timed else None
            cells.append(f"{b['symbol'][8:52]:<44} {b['ratio']:5.3f} {bm['model_ratio'] if bm else float('nan'):5.3f}")
        print(f"{n}x{k:<5} {m:>3} {min(r['mm_us'] for r in rows):6.2f} | " + " | ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
