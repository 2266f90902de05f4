"""Probe: does split-K, expressed as a batched registry GEMM plus a reduction, beat cuBLAS at skinny M?

The Sm90 registry kernels have no split-K, and at decode sizes a 4096-wide
output gives a 64-wide tile only 64 CTAs for 132 SMs. Slicing K into S parts
and running them as the batch (L) mode of one kernel launch gives S times
the CTAs; the fp32 partial outputs are then summed (and cast) by torch.

    python bench/splitk_probe.py        # on a GPU host with the [build] extra

Prints a table (CUDA-graph medians over L2-rotated operands) and the best
split per shape against cuBLAS, after checking each variant against a
float32 reference with the output poisoned.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from aotgemm import timing

SHAPES = {"o": (4096, 4096), "down": (4096, 14336), "qkv": (6144, 4096)}
M_VALUES = (1, 4, 16, 64)
SPLITS = (2, 4, 8)
TILES = ((64, 64), (64, 128), (128, 64))


def compile_batched(tile):
    import cutlass.operators as ops

    n, k, s = 4096, 4096, 4
    x = torch.empty(16, k, dtype=torch.bfloat16, device="cuda")
    w = torch.empty(n, k, dtype=torch.bfloat16, device="cuda")
    a = x.view(16, s, k // s).permute(1, 0, 2)
    b = w.view(n, s, k // s).permute(1, 2, 0)
    c = torch.empty(s, 16, n, dtype=torch.float32, device="cuda")
    args = ops.GemmArguments(a, b, c, accumulator_type=torch.float32)
    for op in ops.get_operators(args, target_sm="90a"):
        d = op.metadata.design
        if type(op).__name__ == "Sm90StaticPersistentGemmOperator" and tuple(d.tile_shape[:2]) == tile \
                and tuple(d.cluster_shape[:2]) == (1, 1):
            return op.compile(args, target_sm="90a").compiled_obj
    raise LookupError(tile)


def splitk_call(fn, s):
    def call(x, w, out):
        m, k = x.shape
        n = w.shape[0]
        a = x.view(m, s, k // s).permute(1, 0, 2)
        b = w.view(n, s, k // s).permute(1, 2, 0)
        part = torch.empty(s, m, n, dtype=torch.float32, device=x.device)
        fn(a, b, part, torch.cuda.current_stream().cuda_stream)
        torch.sum(part, 0, dtype=out.dtype, out=out)
    return call


def main() -> None:
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    fns = {t: compile_batched(t) for t in TILES}
    print(f"{torch.cuda.get_device_name(0)}; split-K probe (us, CUDA-graph medians)")
    print(f"{'layer':6} {'M':>4} {'cuBLAS':>8} {'best split-K':>24} {'us':>8} {'speedup':>8}")
    for name, (n, k) in SHAPES.items():
        for m in M_VALUES:
            ops = timing.Operands(m, n, k, "bfloat16", l2, seed=m)
            cub = timing.time_call(timing.cublas_call, ops).median_us
            best = (float("inf"), None)
            for t, fn in fns.items():
                for s in SPLITS:
                    if (k // s) % 64:
                        continue
                    call = splitk_call(fn, s)
                    err = timing.check(call, m, n, k, "bfloat16", seed=s)
                    if not err < timing.TOLERANCE:
                        print(f"  WRONG {name} M={m} tile {t} S={s}: {err:.2e}")
                        continue
                    us = timing.time_call(call, ops).median_us
                    best = min(best, (us, f"{t[0]}x{t[1]} S={s}"))
            print(f"{name:6} {m:4d} {cub:8.2f} {best[1] or '-':>24} {best[0]:8.2f} {cub / best[0]:8.3f}")
            del ops


if __name__ == "__main__":
    main()
