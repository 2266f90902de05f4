"""Session 16 call A: where the max_m 64-256 TMA kernels spend their time. Three builds of the same designs:
full (the shipped epilogue: split-K partials pushed into the owner CTA's shared memory, remote ones through
st.shared::cluster), local (every partial into the CTA's own shared memory: wrong sums, no DSMEM traffic) and
nopush (no partials written: main loop, barriers and output stage only). Times each against cuBLAS, plain
and after a copy kernel writes x, CUDA graphs, L2-rotated operands, interleaved trials.

  compile: AOTGEMM_TMA_DIAG=<variant> python epi_diag.py compile OUTDIR   (CPU, from the repository root)
  run:     python epi_diag.py run DIR_full DIR_local DIR_nopush          (GPU)
"""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

SHAPES = [(4096, 4096), (5120, 1280), (1792, 5120)]
MS = (64, 128, 256)


def designs(n, k):
    import decode_probe as dp
    from aotgemm.compiler.sources import decode_kernels as dk
    out = [d for d in dk.designs_for(n, k, "sm_90a") if d["kind"] == "swapab_tma" and d["max_m"] == 64]
    out += dp.mid_sweep_designs(n, k)
    return out


def main(argv):
    import decode_probe as dp
    if argv[0] == "compile":
        table = {}
        for n, k in SHAPES:
            table.update(dp.symbol_table(designs(n, k)))
        dp.compile_and_link(argv[1], table)
        return
    import torch
    dirs = argv[1:]
    mods = {Path(d).name: dp._load(d) for d in dirs}
    print(f"# {torch.cuda.get_device_name(0)}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"torch {torch.__version__}", flush=True)
    rows = []
    for n, k in SHAPES:
        for m in MS:
            line = {}
            for var, (mod, ds) in mods.items():
                cands = sorted(s for s, d in ds.items() if (d["n"], d["k"]) == (n, k) and d["max_m"] >= m
                               and d["max_m"] <= 2 * max(m, 64))
                res = dp.time_shape(mod, ds, n, k, m, cands)
                for s in cands:
                    rows.append(dict(n=n, k=k, m=m, variant=var, symbol=s, us=res[s]["plain"][0],
                                     spread=res[s]["plain"][1], model_us=res[s]["model"][0],
                                     cublas_us=res["cublas"]["plain"][0], cublas_model_us=res["cublas"]["model"][0]))
                    line.setdefault(s, {})[var] = res[s]["plain"][0]
                line.setdefault("cublas", {})[var] = res["cublas"]["plain"][0]
            print(f"{n}x{k} M={m} floor {dp._floor_us(m, n, k):.2f} us", flush=True)
            for s, v in sorted(line.items(), key=lambda e: e[1].get(next(iter(mods)), 1e9)):
                print(f"  {s[8:] if s != 'cublas' else s:44s} " + "  ".join(f"{var} {v.get(var, 0):7.2f}"
                                                                         for var in mods), flush=True)
    Path(sys.argv[-1] if False else "epi_diag.json")
    import os
    Path(os.environ.get("OUT", "."), "epi_diag.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
