# session 35, CPU side of call H: `python bench/results/h200-2026-12-04/session35/scripts/lmcap_compile.py .gpu/s35/lmcap`
# (from the repository root): the three lm_heads the TMA rule still serves, at max_m 16, 32, 64, two warpgroups, each
# design with the most stages that fit (the rule) beside the one with one stage fewer whose stages fit in 200 KB.
import sys; sys.path.insert(0, "bench"); sys.path.insert(0, ".")
import decode_probe as dp
from aotgemm.compiler.sources import decode_designs as dd, decode_kernels as dk
from aotgemm.compiler.sources.decode_tma import _tile_bytes

def designs(n, k):
    out = []
    for mm in (16, 32, 64):
        for bk in (128, 64):
            cur = dd._most_stages(n, k, 227 * 1024, max_m=mm, wg=2, bk=bk, ck=1, pdl=True)
            out.append(cur)
            for st in range(cur["stages"] - 1, 1, -1):
                d = dk.make_tma_design(n, k, max_m=mm, wg=2, bk=bk, stages=st, ck=1)
                if _tile_bytes(d) <= 200 * 1024:
                    if d not in out:
                        out.append(d)
                    break
    return out

dp.compile_grid(sys.argv[1], [(128256, 4096), (151936, 2560), (38016, 5120)], designs)
