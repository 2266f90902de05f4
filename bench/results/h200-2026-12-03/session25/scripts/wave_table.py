"""Session 25 call C: per weight and M, every TMA design timed (fp8_decode_probe / decode_probe JSON), fastest first,
with its grid's CTAs, its shared memory, how many CTAs share an SM and how many waves the grid takes, against the
baseline (torch._scaled_mm / cuBLAS) back to back and, for the fastest four, in a model.

  python wave_table.py LOGDIR
"""
import gzip
import json
import math
import sys
from pathlib import Path


def load(logdir: Path) -> tuple[dict, str]:
    for name, base in (("fp8_decode_probe.json", "mm_us"), ("decode_probe.json", "cublas_us")):
        for p in (logdir / name, logdir / (name + ".gz")):
            if p.exists():
                return json.loads(gzip.open(p).read() if p.suffix == ".gz" else p.read_text()), base
    raise SystemExit(f"no probe JSON in {logdir}")


def main(logdir: str, designs_json: str) -> None:
    from aotgemm.compiler.sources.decode_design_dicts import smem_bytes

    data, base = load(Path(logdir))
    designs = json.loads(Path(designs_json).read_text())
    keys = sorted({(r["n"], r["k"], r["m"]) for r in data["rows"]})
    for n, k, m in keys:
        rows = sorted((r for r in data["rows"] if (r["n"], r["k"], r["m"]) == (n, k, m)), key=lambda r: r["us"])
        bl = min(r[base] for r in rows)
        blm = [r.get("mm_model_us") or r.get("cublas_model_us") for r in rows]
        blm = min(v for v in blm if v) if any(blm) else float("nan")
        print(f"{n}x{k} M={m}: baseline {bl:.2f} us back to back, {blm:.2f} in a model")
        for r in rows:
            d = designs[r["symbol"]]
            ctas = d["n"] // (64 * d["wg"]) * d["ck"]
            per_sm = 228 * 1024 // (smem_bytes(d) + 1024)
            waves = math.ceil(ctas / (132 * per_sm))
            model = r.get("model_us")
            print(f"   {r['symbol'][8:60]:<52} {r['us']:7.2f} {bl / r['us']:6.3f}  model "
                  f"{model or float('nan'):7.2f} {blm / model if model else float('nan'):6.3f}  "
                  f"ctas {ctas:3d} smem {smem_bytes(d) / 1024:5.0f}K {per_sm}/SM waves {waves}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
