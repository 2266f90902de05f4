"""Session 25 call D, CPU half: e4m3 TMA designs whose grids the fp8 sweep of session 7 left out. That sweep
(decode_probe.tma_sweep_designs, the source of decode_designs._TMA_FP8_SM90) took grids of 48-264 CTAs; call C found
grids of 304 CTAs (64-row CTAs, three or four to an SM) 4-10% faster than the table's on 19456x2560 at M = 16-64.
Here, on the layer weights of the four fp8 manifests: per max_m 16/32/64, warpgroup count 1 or 2, k tile of 128 or
256 bytes and cluster split-K 1-8, the grids of 265-528 CTAs, with as many stages as let r CTAs share an SM for the
fewest r that holds the grid at once (and its clusters: decode_designs._clusters_held) and for one more; and the
designs builds offer now (designs_for's TMA ones), to time beside them.

  PYTHONPATH=. python compileD.py .gpu/s25/d
"""
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

import decode_probe  # noqa: E402
import fp8_decode_probe  # noqa: E402

FP8 = "float8_e4m3fn"


def designs(n: int, k: int) -> list[dict]:
    from aotgemm.compiler.sources import decode_designs as dd
    from aotgemm.compiler.sources import decode_kernels as dk

    out = [d for d in dk.designs_for(n, k, "sm_90a", "scale_tensor", FP8) if d["kind"] == "swapab_tma"]
    for max_m in (16, 32, 64):
        for wg in (1, 2):
            if n % (64 * wg):
                continue
            tiles = n // (64 * wg)
            for bk in (128, 256):
                for ck in (1, 2, 4, 8):
                    ctas = tiles * ck
                    if not 264 < ctas <= 528 or k % (bk * ck):
                        continue
                    fewest = math.ceil(ctas / 132)
                    for r in (fewest, fewest + 1):
                        if r > 4 or (ck > 1 and tiles > dd._clusters_held(ck, r)):
                            continue
                        d = dd._most_stages(n, k, (228 // r - 1) * 1024, max_m=max_m, wg=wg, bk=bk, ck=ck, pdl=True,
                                            epilogue="scale_tensor", dtype=FP8)
                        if d is not None and d not in out:
                            out.append(d)
    return out


if __name__ == "__main__":
    decode_probe.compile_grid(sys.argv[1], fp8_decode_probe.SHAPES, designs)
