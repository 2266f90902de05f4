"""Session 16 call F: what the ~3 us fixed cost of a decode TMA kernel is made of. The same design (max_m 16, one
warpgroup, 256-byte k tiles, no split) on N = 5120 and 4096 rows at K = 256 ... 4096, with and without PDL, timed
at M = 8 against cuBLAS and a copy kernel alone (decode_probe.time_shape: CUDA graphs of 20 launches, L2-rotated
operands, interleaved trials): t(K) = fixed + bytes / rate, and t at the smallest K is the fixed part.

  compile (CPU): python fixed_cost.py compile OUTDIR
  run (GPU):     python fixed_cost.py run OUTDIR
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import decode_probe as dp  # noqa: E402

SHAPES = [(n, k) for n in (5120, 4096) for k in (256, 512, 1024, 2048, 4096)]


def designs():
    from aotgemm.compiler.sources import decode_kernels as dk
    out = []
    for n, k in SHAPES:
        st = min(10, k // 128)
        for pdl in (True, False):
            out.append(dk.make_tma_design(n, k, max_m=16, wg=1, bk=128, stages=max(2, st), ck=1, pdl=pdl))
    return out


def main(argv):
    if argv[0] == "compile":
        dp.compile_and_link(argv[1], dp.symbol_table(designs()))
        return
    mod, ds = dp._load(argv[1])
    print(f"{'N':>5} {'K':>5} {'MB':>6} {'ours PDL':>9} {'no PDL':>8} {'cuBLAS':>8} {'copy':>6} | model: {'PDL':>7} {'no PDL':>7} {'cuBLAS':>7}")
    for n, k in SHAPES:
        cands = sorted(s for s, d in ds.items() if (d["n"], d["k"]) == (n, k))
        for m in (8,):
            r = dp.time_shape(mod, ds, n, k, m, cands, trials=15)
            pdl = next(s for s in cands if ds[s]["pdl"])
            nop = next(s for s in cands if not ds[s]["pdl"])
            print(f"{n:5d} {k:5d} {2 * n * k / 1e6:6.2f} {r[pdl]['plain'][0]:9.2f} {r[nop]['plain'][0]:8.2f} "
                  f"{r['cublas']['plain'][0]:8.2f} {r['copy']['model'][0]:6.2f} | model: {r[pdl]['model'][0]:7.2f} "
                  f"{r[nop]['model'][0]:7.2f} {r['cublas']['model'][0]:7.2f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
