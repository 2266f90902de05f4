"""Fit t = fixed + bytes / rate to the decode probes' timings (no GPU needed).

Reads a decode_probe.json (bf16, against cuBLAS) or fp8_decode_probe.json (e4m3, against
torch._scaled_mm) and, per M, fits a least-squares line through the fastest kernel's time over the
weight bytes of every shape timed, for ours and the baseline, back to back and in model mode (a copy
kernel writing x just before each GEMM; its 1.1-1.3 us are in the fixed part). Both sides stream at
about the HBM copy rate; what separates them is the fixed part, which is why the speedup falls with
the weight's size.

    python bench/fixed_cost_fit.py PROBE.json [PROBE.json ...]     (or PROBE.json.gz: results_io)
"""

import sys

from results_io import read_json


def fit(points):
    """(fixed us, rate TB/s) of the least-squares line t = fixed + MB / rate."""
    n = len(points)
    mx, my = sum(p[0] for p in points) / n, sum(p[1] for p in points) / n
    slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    return my - slope * mx, 1.0 / slope


def sides(rows, fp8: bool):
    """{(m, side): {(n, k): us}}: the fastest of ours per shape and M, and the baseline's time."""
    out: dict = {}
    base = ("mm_us", "mm_model_us") if fp8 else ("cublas_us", "cublas_model_us")
    for r in rows:
        if fp8 and r.get("scale", "tensor") != "tensor":
            continue
        key, m = (r["n"], r["k"]), r["m"]
        for side, field, pick in (("ours", "us", min), ("ours, model", "model_us", min),
                                  ("baseline", base[0], None), ("baseline, model", base[1], None)):
            if r.get(field) is None:
                continue
            d = out.setdefault((m, side), {})
            d[key] = pick(d.get(key, 1e9), r[field]) if pick else r[field]
    return out


def main(paths):
    for path in paths:
        data = read_json(path)
        fp8 = "fp8" in path.rsplit("/", 1)[-1]
        eb = 1 if fp8 else 2
        print(f"{path}: {data['header'].splitlines()[0]}")
        print(f"  {'M':>3} {'side':<16} {'fixed us':>8} {'TB/s':>5} shapes")
        for (m, side), d in sorted(sides(data["rows"], fp8).items()):
            if len(d) < 3:
                continue
            fixed, rate = fit([(eb * n * k / 1e6, t) for (n, k), t in d.items()])
            print(f"  {m:>3} {side:<16} {fixed:8.2f} {rate:5.2f} {len(d)}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    main(sys.argv[1:])
