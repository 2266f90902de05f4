"""Session 23, call A: per weight and M, the fastest of the new register-fed designs (a "ring" of register buffers
and/or "kx", the CTA's warps on alternate chunks of K) against the fastest other kernel (designs_for's) and cuBLAS,
back to back, from decode_probe.json; then the controls on the same geometry (wk 8, unroll 2): the two-buffer
ping-pong with kx, the ring without kx, both. Usage: python ring_summary.py CALLA_DIR > ring_summary.txt"""
import pathlib
import sys
from collections import defaultdict

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[5] / "bench"))
from results_io import read_json  # noqa: E402

rows = read_json(pathlib.Path(sys.argv[1]) / "decode_probe.json")["rows"]
by_point = defaultdict(list)
for r in rows:
    by_point[(r["n"], r["k"], r["m"])].append(r)


def is_new(r):
    return "ring" in r["design"] or "kx" in r["design"]


print(f"{'weight':>11} {'M':>3} {'cuBLAS':>7} {'best other':>10} {'best new':>9} {'new/other':>9}  new design")
ratios = []
for (n, k, m), rs in sorted(by_point.items()):
    new = [r for r in rs if is_new(r)]
    other = [r for r in rs if not is_new(r)]
    if not new or not other or m < 4:
        continue
    bn, bo = min(new, key=lambda r: r["us"]), min(other, key=lambda r: r["us"])
    ratios.append(bo["us"] / bn["us"])
    print(f"{f'{n}x{k}':>11} {m:>3} {rs[0]['cublas_us']:7.2f} {bo['us']:10.2f} {bn['us']:9.2f} "
          f"{bo['us'] / bn['us']:8.3f}x  {bn['symbol'][8:]}")
print(f"best new over best other at M = 4-16: {min(ratios):.3f}x to {max(ratios):.3f}x over {len(ratios)} points "
      "(above 1: the new design is faster)")
idx = {(r["symbol"], r["m"]): r for r in rows}
print("\ncontrols, wk 8 unroll 2 mt 1, us back to back: ping-pong + kx | ring 4 | ring 4 + kx")
for (n, k) in sorted({(r["n"], r["k"]) for r in rows}):
    for nt in (1, 2):
        for m in (4, 8, 16):
            if m > 8 * nt:
                continue
            names = [f"aotgemm_{t}_n{n}k{k}_m{8 * nt}_mt1wn1wk8ck1u2_pdl" for t in ("rfkx", "rf4", "rf4kx")]
            got = [idx.get((s, m)) for s in names]
            if any(got):
                print(f"{f'{n}x{k}':>11} max_m {8 * nt:>2} M {m:>2}: "
                      + " | ".join(f"{g['us']:6.2f}" if g else "     -" for g in got))
