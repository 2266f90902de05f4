"""Session 25 call C, CPU half: TMA designs for the two gate_up weights whose measured designs run in two waves
(call B: 152 or 224 CTAs of 179-226 KB, one per SM). Per max_m 16/32/64, warpgroup count 1 or 2 and k tile of 128
or 256 bytes (no split-K: these grids already fill the GPU): as many stages as let r CTAs share an SM, for the
fewest r that holds the whole grid at once and one more; and the measured designs as built before
(decode_designs._TMA_FP8_SM90 / _TMA_SM90 without decode_designs.one_wave), for the A/B.

  PYTHONPATH=. python compileC.py .gpu/s25/c8 fp8     (19456x2560, 28672x4096, e4m3 per-tensor scales)
  PYTHONPATH=. python compileC.py .gpu/s25/c16 bf16   (28672x4096, 19456x2560 bf16)
"""
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

import decode_probe  # noqa: E402

FP8 = "float8_e4m3fn"
SHAPES = [(19456, 2560), (28672, 4096)]


def designs(n: int, k: int, dtype: str) -> list[dict]:
    from aotgemm.compiler.sources import decode_designs as dd
    from aotgemm.compiler.sources.decode_design_dicts import make_tma_design

    eb = 1 if dtype == FP8 else 2
    epilogue = "scale_tensor" if dtype == FP8 else "identity"
    out = []
    table = dd._TMA_FP8_SM90 if dtype == FP8 else dd._TMA_SM90
    for max_m, specs in table.get((n, k), {}).items():
        for spec in specs:  # as built before one_wave
            st, wg, bk, ck = (int(v) for v in spec.split(","))
            out.append(make_tma_design(n, k, max_m=max_m, wg=wg, bk=bk, ck=ck, stages=st, pdl=True,
                                       epilogue=epilogue, dtype=dtype))
    for max_m in (16, 32, 64):
        for wg in (1, 2):
            ctas = n // (64 * wg)
            fewest = math.ceil(ctas / 132)
            for bk in (128 // eb, 256 // eb):
                for r in (fewest, fewest + 1):
                    d = dd._most_stages(n, k, (228 // r - 1) * 1024, max_m=max_m, wg=wg, bk=bk, ck=1, pdl=True,
                                        epilogue=epilogue, dtype=dtype)
                    if d is not None and d not in out:
                        out.append(d)
    return out


if __name__ == "__main__":
    dtype = FP8 if sys.argv[2] == "fp8" else "bfloat16"
    decode_probe.compile_grid(sys.argv[1], SHAPES, lambda n, k: designs(n, k, dtype))
