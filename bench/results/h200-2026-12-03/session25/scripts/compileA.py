"""Session 25 call A, CPU half: the e4m3 TMA designs builds offer (designs_for, max_m 16/32/64, per-tensor scales) on
ten weights of the four fp8 manifests, each also with pt = 2 (two k tiles per promotion) and pt = 0 (no promotion,
torch._scaled_mm's fast mode, an upper bound), and pt = 4 where the k tile is 128 bytes.

Why: at M = 32-64 the e4m3 TMA kernels stream the large weights at 51-73% of the HBM floor in a model (Qwen3-4B
gate_up 19456x2560 at M = 64: 22.9 us against _scaled_mm's 18.8), where the bf16 ones reach 84-98%; the promoting
main loop drains its wgmmas every promote_group(d) k tiles (2 at max_m 64).

Needs the design key `pt`, which did not land: apply promote_tiles_pt.patch (against cf3f962) first.

  PYTHONPATH=. python bench/results/h200-2026-12-03/session25/scripts/compileA.py .gpu/s25/a
then on the GPU: python bench/fp8_decode_probe.py run .gpu/s25/a --ms 16,32,64 --scales tensor --log DIR
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

import decode_probe  # noqa: E402

FP8 = "float8_e4m3fn"
SHAPES = [(19456, 2560), (28672, 4096), (13824, 5120), (4096, 14336), (8192, 3584), (5120, 6912),
          (6144, 4096), (4096, 4096), (6144, 2560), (2560, 4096)]


def designs(n: int, k: int) -> list[dict]:
    from aotgemm.compiler.sources import decode_kernels as dk

    out = []
    for d in dk.designs_for(n, k, "sm_90a", "scale_tensor", FP8):
        if d["kind"] != "swapab_tma":
            continue
        out.append(d)
        keys = {f: d[f] for f in ("max_m", "wg", "bk", "stages", "ck", "pdl")}
        for pt in (2, 0) + ((4,) if d["bk"] == 128 else ()):
            out.append(dk.make_tma_design(n, k, epilogue="scale_tensor", dtype=FP8, pt=pt, **keys))
    return out


if __name__ == "__main__":
    decode_probe.compile_grid(sys.argv[1], SHAPES, designs)
