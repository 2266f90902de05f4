"""Probe aotgemm's own decode GEMM kernels against cuBLAS on a GPU.

Two halves, so that the GPU host needs neither the CuTe DSL nor a compiler:

  python bench/decode_probe.py compile OUTDIR [--shapes N:K,...] [--quick | --tma | --tma-sweep | --mid-sweep | --edges
                                              | --balance | --simt-m | --overlay | --tokens | ...]
      (CPU) cross-compile a set of designs for sm_90a, link them into one .so
      (link_library, static-runtime) and write OUTDIR/kernels.so and
      OUTDIR/designs.json ({symbol: design}).

  python bench/decode_probe.py profile OUTDIR SYM:M,SYM:M,... [--cublas]
      (GPU, under ncu) run each kernel once at M on fresh operands; with --cublas,
      cuBLAS (torch.mm) once after it on the same operands.

  python bench/decode_probe.py run OUTDIR [--log DIR] [--ms 1,2,4] [--all-buckets]
      (GPU; torch + tvm_ffi only) load the .so, then
      1. correctness: every kernel at every M in 1..max_m on fresh random
         inputs, output poisoned with NaN; rel. Frobenius error vs a float32
         reference < 1e-2 and every element written.  Runs in child processes,
         so a kernel that faults is recorded and skipped, not fatal.
      2. timing vs cuBLAS (torch.mm(x, w.t(), out=out)) the way aotgemm.timing
         does: CUDA graphs of 20 calls, operands rotated over copies spanning
         3x the 60 MB L2, median over trials, all candidates' trials
         interleaved, spread = (max-min)/median.  Two figures: "plain" (GEMMs
         back to back) and "model" (a small copy kernel writes x just before
         each GEMM, as the previous layer would).
      Prints a table last; writes decode_probe.json/.txt to --log.
"""

import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HBM_TBPS = 4.26          # measured H200 copy bandwidth (NOTES.md), used for the floor
L2_BYTES = 60 * 2**20
TOL = 1e-2
SHAPES = [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336), (1280, 8192), (8192, 1024),
          (1536, 4096), (4096, 3584), (7168, 4096)]
TIME_MS = (1, 2, 4, 8, 12, 16, 32)
# --mid-sweep (session 12): TMA designs for the buckets above the decode ones, where cuBLAS ran the
# tensor-parallel shapes at 43-56% of the floor (M = 128, 256; bench/results/h200-2026-12-01/session8/A)
MID_MAX_MS = (128, 256)
# --balance: the weights of more than 32 MB in the shipped manifests (Llama-3.1-8B gate_up and down)
BALANCE_SHAPES = [(28672, 4096), (4096, 14336)]
MID_SHAPES = [(6144, 4096), (4096, 4096), (1792, 5120), (5120, 1280), (1280, 8192), (8192, 1024), (6144, 2560),
              (2560, 4096), (2560, 9728), (4096, 14336), (5120, 6912), (8192, 3584)]


# --------------------------------------------------------------------------- CPU half

def probe_designs(n: int, k: int, quick: bool = False) -> list[dict]:
    """designs_for (what a build tunes), plus the comparisons this probe wants to see:
    the first design without PDL, the first cluster design with the "pull" epilogue,
    and (three shapes) max_m 32 designs with 64-row warps (x reused over 4 MMA tiles)."""
    from aotgemm.compiler.sources import decode_designs as dd  # noqa: F401
    from aotgemm.compiler.sources import decode_kernels as dk

    base = dk.designs_for(n, k, "sm_90a")
    out = list(base)
    out.append(dict(base[0], pdl=False))
    for d in base:
        if d.get("ck", 1) > 1:  # CUDA-core and TMA designs come first and have no "pull" form
            out.append(dict(d, epi="pull"))
            break
    if (n, k) in ((4096, 4096), (1280, 8192), (6144, 4096)):
        for mt in (4, 2):
            scored = []
            for wk in (1, 2, 4):
                for ck in (1, 2, 4, 8):
                    for unroll in (2, 4):
                        try:
                            d = dk.make_design(n, k, nt=4, mt=mt, wk=wk, ck=ck, unroll=unroll, stages=3, pdl=True)
                        except ValueError:
                            continue
                        scored.append((dd._score(d, 132), dk.design_name(d), d))
            scored.sort(key=lambda e: (e[0], e[1]))
            out += [d for sc, _, d in scored[:1] if sc < 1e8]
    if quick:
        out = out[:4]
    seen, uniq = set(), []
    for d in out:
        name = dk.design_name(d)
        if name not in seen:
            seen.add(name)
            uniq.append(d)
    return uniq


def best_per_geometry(n: int, k: int, nt: int, top: int, *, wks, unrolls, stages, exclude=frozenset(),
                      **design_kw) -> list[dict]:
    """The `top` best-scored designs (decode_designs._score on 132 SMs) of token tile nt, one per CTA
    geometry (mt, wn, wk, ck) with wn * wk <= 8, over the given wk, unroll and stage counts; designs
    named in `exclude` left out; design_kw goes to make_design (pdl, dtype, epilogue)."""
    from aotgemm.compiler.sources import decode_designs as dd
    from aotgemm.compiler.sources import decode_kernels as dk

    best = {}
    for mt in (1, 2, 4):
        for wn in (1, 2):
            for wk in wks:
                for ck in (1, 2, 4, 8):
                    for unroll in unrolls:
                        for st in stages:
                            try:
                                d = dk.make_design(n, k, nt=nt, mt=mt, wn=wn, wk=wk, ck=ck, unroll=unroll,
                                                   stages=st, **design_kw)
                            except ValueError:
                                continue
                            sc = dd._score(d, 132)
                            if sc >= 1e8 or wn * wk > 8 or dk.design_name(d) in exclude:
                                continue
                            key = (mt, wn, wk, ck)
                            if key not in best or sc < best[key][0]:
                                best[key] = (sc, d)
    return [d for _, d in sorted(best.values(), key=lambda e: e[0])[:top]]


def explore_designs(n: int, k: int) -> list[dict]:
    """A wider, diverse set for max_m 8 and 16: the best-scored design of each CTA geometry
    (mt, wn, wk, ck), ten per bucket, to learn what the score misses."""
    out = []
    for nt in (1, 2):
        out += best_per_geometry(n, k, nt, 10, wks=(1, 2, 4, 8), unrolls=(1, 2, 4), stages=(3, 4))
    return out


def explore2_designs(n: int, k: int) -> list[dict]:
    """Run 4: designs_for plus, per bucket, the eight best-scored new geometries with the
    push epilogue and PDL (small shapes: both buckets; the others: max_m 16 only)."""
    from aotgemm.compiler.sources import decode_kernels as dk

    out = list(dk.designs_for(n, k, "sm_90a"))
    have = {dk.design_name(d) for d in out}
    for nt in ((1, 2) if n * k <= 21 * 2**20 else (2,)):
        out += best_per_geometry(n, k, nt, 8, wks=(1, 2, 4, 8), unrolls=(2, 4), stages=(3, 4, 6), exclude=have,
                                 pdl=True)
    return out


def simt_designs(n: int, k: int) -> list[dict]:
    """Run 5: CUDA-core designs for M <= 4 next to the best tensor-core design of each bucket."""
    from aotgemm.compiler.sources import decode_kernels as dk

    out = [d for d in dk.designs_for(n, k, "sm_90a")]
    out = [next(d for d in out if d["max_m"] == 8), next(d for d in out if d["max_m"] == 16)]
    for max_m in (1, 4):
        for rows, warps, unroll in ((4, 4, 2), (8, 4, 1), (4, 8, 1), (2, 8, 2), (4, 4, 1), (4, 2, 2),
                                    (4, 7, 2), (8, 7, 1)):
            try:
                d = dk.make_simt_design(n, k, max_m=max_m, rows=rows, warps=warps, unroll=unroll, pdl=True)
            except ValueError:
                continue
            if sum(1 for e in out if e["kind"] == "simt" and e["max_m"] == max_m) < 4:
                out.append(d)
    return out


# --simt-k (session 15): weights whose K no design of decode_designs' fixed CUDA-core fallback divides
# (K / 256 = 5, 10, 27, 38 for bf16), so builds offered them no M = 1 kernel
SIMT_K_SHAPES = [(5120, 1280), (5120, 6912), (6144, 2560), (19456, 2560), (2560, 9728), (151936, 2560)]


def simt_k_designs(n: int, k: int) -> list[dict]:
    """--simt-k: every valid max_m 1 CUDA-core design with 2-8 rows, 2-10 warps and 1-2 16-byte loads per row in
    flight (at most 8 per lane), next to the designs_for kernels a build times at M = 1 (its max_m 8 ones and its
    first TMA max_m 16 one)."""
    from aotgemm.compiler.sources import decode_kernels as dk

    built = dk.designs_for(n, k, "sm_90a")
    out = [d for d in built if d["max_m"] == 8][:3] + [d for d in built if d["kind"] == "swapab_tma"][:1]
    for rows in (2, 4, 8):
        for warps in (2, 3, 4, 5, 6, 8, 9, 10):
            for unroll in (1, 2):
                if rows * unroll > 8:
                    continue
                try:
                    out.append(dk.make_simt_design(n, k, max_m=1, rows=rows, warps=warps, unroll=unroll, pdl=True))
                except ValueError:
                    continue
    return out


# --simt-m (session 17): the weights of the four shipped bf16 manifests, for CUDA-core kernels at M = 2-4
SIMT_M_SHAPES = [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336), (128256, 4096), (1792, 5120),
                 (5120, 1280), (13824, 5120), (5120, 6912), (6144, 2560), (2560, 4096), (19456, 2560), (2560, 9728)]


def simt_m_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity",
                   max_ms=(2, 4)) -> list[dict]:
    """--simt-m: CUDA-core designs at max_m 2 and 4 (`max_ms`; 2-8 rows, 3-10 warps, 1-2 loads per row in
    flight) and designs_for's CUDA-core ones, next to the kernels a build times at M = 2-4 without max_m 2
    (designs_for's cp.async max_m 8 and TMA max_m 16 ones, two each). Time with `run --all-buckets`. Session 17
    call A ran it with an L2 bulk prefetch variant of each
    (bench/results/h200-2026-12-02/session17/scripts/l2_prefetch.patch), 10-15% slower everywhere."""
    from aotgemm.compiler.sources import decode_kernels as dk

    built = dk.designs_for(n, k, "sm_90a", epilogue, dtype)
    out = ([d for d in built if d["kind"] == "swapab_cp" and d["max_m"] == 8][:2]
           + [d for d in built if d["kind"] == "swapab_tma" and d["max_m"] == 16][:2])
    layouts = [(d["max_m"], d["rows"], d["warps"], d["unroll"]) for d in built if d["kind"] == "simt"]
    per_warp = k // (512 if dtype == "float8_e4m3fn" else 256)  # a warp's 16-byte loads along a row
    warps = [w for w in (8, 4, 10, 5, 6, 3) if per_warp % w == 0][:2]
    for max_m in max_ms:
        for rows in (2, 4, 8):
            for w in warps:
                for unroll in (1, 2):
                    if rows >= max_m and rows * unroll <= 8:
                        layouts.append((max_m, rows, w, unroll))
    for max_m, rows, w, unroll in layouts:
        try:
            d = dk.make_simt_design(n, k, max_m=max_m, rows=rows, warps=w, unroll=unroll, pdl=True,
                                    epilogue=epilogue, dtype=dtype)
        except ValueError:
            continue
        if d not in out:
            out.append(d)
    return out


def tma_designs(n: int, k: int) -> list[dict]:
    """Run 6: TMA + wgmma designs (decode_tma) at max_m 16, 32 and 64 next to designs_for's (the
    cp.async and CUDA-core kernels a build tunes today). Per warpgroup count, the cluster sizes
    whose grid comes closest to one CTA per SM and to two, with as many stages as fit."""
    from aotgemm.compiler.sources import decode_kernels as dk

    out = list(dk.designs_for(n, k, "sm_90a"))
    for max_m in (16, 32, 64):
        for wg in (2, 1):
            grids = []
            for ck in (1, 2, 4, 8):
                ctas = n // (64 * wg) * ck
                if k % (64 * ck) == 0:
                    grids.append((ctas, ck))
            picks = {min(grids, key=lambda g: abs(g[0] - 132))[1], min(grids, key=lambda g: abs(g[0] - 264))[1]}
            for ck in sorted(picks):
                ctas = n // (64 * wg) * ck
                stage = (64 * wg + max_m) * 128
                stages = min(12, (190 if ctas <= 132 else 100) * 1024 // stage, k // (64 * ck))
                if max_m > 16 and wg == 1:
                    continue
                try:
                    out.append(dk.make_tma_design(n, k, max_m=max_m, wg=wg, stages=max(2, stages), ck=ck))
                except ValueError as e:
                    print(f"skip {n}x{k} m{max_m} wg{wg} ck{ck}: {e}")
    return out


def tma_sweep_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity",
                      with_designs_for: bool = True, max_ms=(16, 32, 64), min_stages: int = 2) -> list[dict]:
    """Run 7: designs_for's plus a wider TMA grid at max_m 16, 32, 64 (or `max_ms`): wg 1 and 2, k tiles
    of 128 and 256 bytes (64 and 128 bf16, 128 and 256 e4m3), every cluster size whose grid has 48..264
    CTAs, with as many stages as fit one CTA per SM (grid <= 132) or two (grid <= 264), and at least
    `min_stages` (session 12's max_m 128/256 sweep: 3, as a 128-token x tile leaves room for few)."""
    from aotgemm.compiler.sources import decode_kernels as dk

    eb = 1 if dtype == "float8_e4m3fn" else 2
    out = list(dk.designs_for(n, k, "sm_90a", epilogue, dtype)) if with_designs_for else []
    for max_m in max_ms:
        for wg in (1, 2):
            for bk in (128 // eb, 256 // eb):
                for ck in (1, 2, 4, 8):
                    ctas = -(-n // (64 * wg)) * ck  # a last CTA past N where N is no multiple of its rows
                    if not 48 <= ctas <= 264 or k % (bk * ck):
                        continue
                    stage = (64 * wg + max_m) * bk * eb
                    stages = min(16, (200 if ctas <= 132 else 104) * 1024 // stage, k // (bk * ck))
                    for st in range(max(2, stages), min_stages - 1, -1):  # the most that fit
                        try:
                            d = dk.make_tma_design(n, k, max_m=max_m, wg=wg, bk=bk, stages=st, ck=ck,
                                                   epilogue=epilogue, dtype=dtype)
                        except ValueError:
                            continue
                        if d not in out:
                            out.append(d)
                        break
    return out


def mid_sweep_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity") -> list[dict]:
    """--mid-sweep (session 12): the TMA grid of tma_sweep_designs at max_m 128 and 256 (MID_MAX_MS), at least
    3 stages, without designs_for's."""
    return tma_sweep_designs(n, k, dtype=dtype, epilogue=epilogue, with_designs_for=False, max_ms=MID_MAX_MS,
                             min_stages=3)


def edge_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity") -> list[dict]:
    """--edges (session 12): designs_for's TMA designs (max_m 16, 32, 64) and the --mid-sweep grid, to time
    at each bucket's M and its lower edge (M = 9, 17, 33, 65, 129), where a max_m-row x box read past M had
    made them slow."""
    from aotgemm.compiler.sources import decode_kernels as dk

    tma = [d for d in dk.designs_for(n, k, "sm_90a", epilogue, dtype) if d["kind"] == "swapab_tma"]
    return tma + mid_sweep_designs(n, k, dtype=dtype, epilogue=epilogue)


def balance_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity",
                    max_ms=(8, 16)) -> list[dict]:
    """--balance (for session 14): TMA designs for the large weights, whose tiles do not spread evenly over
    132 SMs. 28672 x 4096 in 64-row tiles is 448 CTAs, 3.39 per SM, so at one to four CTAs resident some SMs
    stream a tile more than others. The best kernel at M = 16 (224 128-row CTAs) ran 57.9 us against cuBLAS's
    55.3-55.9 us and the 52.2 us of the M = 1 CUDA-core kernel (session 12, call 5). Per warpgroup count, k
    tile and cluster split-K (up to 8: 1792 CTAs), as many stages as let 1, 2, 3 and 4 CTAs share an SM's
    227 KB; designs_for's TMA designs first."""
    from aotgemm.compiler.sources import decode_kernels as dk
    from aotgemm.compiler.sources.decode_tma import tma_smem_bytes

    eb = 1 if dtype == "float8_e4m3fn" else 2
    out = [d for d in dk.designs_for(n, k, "sm_90a", epilogue, dtype) if d["kind"] == "swapab_tma"
           and d["max_m"] in max_ms]
    for max_m in max_ms:
        for wg in (1, 2):
            for bk in (128 // eb, 256 // eb):
                for ck in (1, 2, 4, 8):
                    if k % (bk * ck) or n % (64 * wg):
                        continue
                    for resident in (1, 2, 3, 4):
                        fits = None
                        for st in range(2, min(16, k // (bk * ck)) + 1):
                            try:
                                d = dk.make_tma_design(n, k, max_m=max_m, wg=wg, bk=bk, stages=st, ck=ck,
                                                       epilogue=epilogue, dtype=dtype)
                            except ValueError:
                                continue
                            if resident * (tma_smem_bytes(d) + 1024) <= 228 * 1024:
                                fits = d
                        if fits is not None and fits not in out:
                            out.append(fits)
    return out


def _ck_picks(tiles: int, cks: list[int], held=None) -> list[tuple[int, int]]:
    """(cluster split-K, shared-memory cap in KB) per design of a mid-M grid: the largest of `cks` whose grid fits
    one CTA per SM (132; with `held`, also its clusters within held(ck, CTAs per SM)), else the smallest, with
    227 KB; then the next one up whose grid fits two CTAs per SM, with 113 KB."""
    def fits(c, per_sm):
        return tiles * c <= 132 * per_sm and (held is None or tiles <= held(c, per_sm))

    one = [c for c in cks if fits(c, 1)] or cks[:1]
    return [(one[-1], 227)] + [(c, 113) for c in cks if c > one[-1] and fits(c, 2)][:1]


def multicast_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity",
                      max_ms=(64, 128, 256)) -> list[dict]:
    """--multicast (session 15): TMA designs whose x tile is multicast over cn = 2 or 4 CTAs along the weight
    rows (decode_tma's "cn"), at max_m 64, 128 and 256, where 64-row CTAs each read x through L2 and lost to
    cuBLAS (--mid-sweep, session 12). Per max_m, warpgroup count and cn: 128-byte k tiles, the largest
    cluster split-K whose grid fits one CTA per SM (132), and the next one up at two CTAs per SM, each with
    as many stages as fit."""
    from aotgemm.compiler.sources.decode_designs import _most_stages

    eb = 1 if dtype == "float8_e4m3fn" else 2
    bk = 128 // eb
    out = []
    for max_m in max_ms:
        for wg in ((1, 2) if max_m <= 128 else (1,)):
            tiles = n // (64 * wg)
            for cn in (2, 4):
                cks = [c for c in (1, 2, 4, 8) if cn * c <= 8 and k % (bk * c) == 0]
                for ck, cap in _ck_picks(tiles, cks):
                    # 1 KB of the cap left to the runtime's reserved shared memory
                    best = _most_stages(n, k, (cap - 1) * 1024, max_m=max_m, wg=wg, bk=bk, ck=ck, cn=cn, pdl=True,
                                        epilogue=epilogue, dtype=dtype)
                    if best is not None and best not in out:
                        out.append(best)
    return out


# --overlay (session 29): the weights whose M = 64-256 points cuBLAS kept in the shipped bf16 bundles' tunes
OVERLAY_SHAPES = [(4096, 4096), (6144, 4096), (1792, 5120), (5120, 1280), (8192, 1024), (1280, 8192),
                  (4096, 14336), (5120, 6912)]


def overlay_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity",
                    max_ms=(128, 256), tt: int = 1) -> list[dict]:
    """--overlay (session 29): max_m 128 and 256 designs whose split-K partials overlay the pipeline's stages
    (decode_tma's `ov`), beside their twins with a partials region of their own. Session 16's max_m 128/256
    designs lost to cuBLAS with a partials region of up to 74 KB beside the stages: a 128-row CTA of 128
    tokens then had room for 4 stages at one CTA per SM, and none at two, so its split-K grids either left
    SMs idle or ran clusters in two waves. Per max_m and warpgroup count (128-byte k tiles): the largest
    cluster split-K whose grid (and clusters) the GPU holds at once with one CTA per SM (227 KB), and the
    largest with two (113 KB), each with as many stages as fit, with and without ov. With `tt` (--tokens, session
    29 call G), the tokens split over tt CTAs (decode_tma's `tt`), which the grid and its clusters count."""
    from aotgemm.compiler.sources.decode_designs import _clusters_held, _most_stages

    eb = 1 if dtype == "float8_e4m3fn" else 2
    bk = 128 // eb
    out = []
    for max_m in max_ms:
        for wg in (1, 2):
            tiles = n // (64 * wg) * tt
            cks = [c for c in (1, 2, 4, 8) if k % (bk * c) == 0]
            for per_sm, cap in ((1, 227), (2, 113)):
                held = [c for c in cks if tiles * c <= 132 * per_sm and (c == 1 or tiles <= _clusters_held(c, per_sm))]
                if not held:
                    continue
                for ov in (True, False):
                    best = _most_stages(n, k, (cap - 1) * 1024, max_m=max_m, wg=wg, bk=bk, ck=held[-1], pdl=True,
                                        epilogue=epilogue, dtype=dtype, ov=ov, tt=tt)
                    if best is not None and best not in out:
                        out.append(best)
    return out


# --out-stage (session 16): the weights of the four shipped bf16 manifests' layers below the lm_head
OUT_STAGE_SHAPES = [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336), (1792, 5120), (5120, 1280),
                    (13824, 5120), (5120, 6912), (6144, 2560), (2560, 4096), (19456, 2560), (2560, 9728)]


def out_stage_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity") -> list[dict]:
    """--out-stage (session 16): designs_for's TMA designs, then designs at max_m 128 and 256 with 128-byte k
    tiles: per warpgroup count, the largest cluster split-K whose clusters the GPU holds at once with one CTA
    per SM (H200: 30 of 4 CTAs, 15 of 8; gpus.py), and the next one up at two CTAs per SM, each with as many
    stages as fit. Built before and after a change to decode_tma's output stage, to time the two."""
    from aotgemm.compiler.sources import decode_kernels as dk
    from aotgemm.compiler.sources.decode_designs import _clusters_held, _most_stages

    eb = 1 if dtype == "float8_e4m3fn" else 2
    out = [d for d in dk.designs_for(n, k, "sm_90a", epilogue, dtype) if d["kind"] == "swapab_tma"]
    for max_m in MID_MAX_MS:
        for wg in (1, 2):
            cks = [c for c in (1, 2, 4, 8) if k % (128 // eb * c) == 0]
            for ck, cap in _ck_picks(n // (64 * wg), cks, _clusters_held):
                best = _most_stages(n, k, (cap - 1) * 1024, max_m=max_m, wg=wg, bk=128 // eb, ck=ck, pdl=True,
                                    epilogue=epilogue, dtype=dtype)
                if best is not None and best not in out:
                    out.append(best)
    return out


RF_SHAPES = [(5120, 1280), (4096, 4096), (6144, 4096), (2560, 4096), (1792, 5120), (8192, 1024), (1280, 8192),
             (5120, 6912), (28672, 4096)]


def rf_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity") -> list[dict]:
    """--rf (session 19): the register-fed mma.sync kernel (kind swapab_rf, now loading chunk i+1 into a second
    register buffer before chunk i's MMAs), max_m 8 and 16, one CTA per 16 * mt rows, no cluster: per mt (1, 2)
    and unroll (1, 2, 4), the most K-splitting warps (up to 8) that K allows; beside designs_for's tensor-core
    designs of max_m 8 and 16 (cp.async, TMA), to time at M = 3-16."""
    from aotgemm.compiler.sources import decode_kernels as dk

    out = [d for d in dk.designs_for(n, k, "sm_90a", epilogue, dtype)
           if d["kind"] in ("swapab_cp", "swapab_tma") and d["max_m"] <= 16]
    for nt in (1, 2):
        for mt in (1, 2):
            for unroll in (1, 2, 4):
                for wk in (8, 6, 5, 4, 3, 2, 1):
                    try:
                        d = dk.make_design(n, k, kind="swapab_rf", nt=nt, mt=mt, wn=1, wk=wk, ck=1, unroll=unroll,
                                           pdl=True, epilogue=epilogue, dtype=dtype)
                    except ValueError:
                        continue
                    if d not in out:  # designs_for offers some (decode_design_tables.RF_SM90)
                        out.append(d)
                    break
    return out


def _compile_one(args):
    design, symbol, path = args
    from aotgemm.compiler.sources import decode_designs as dd  # noqa: F401
    from aotgemm.compiler.sources import decode_kernels as dk

    t = time.time()
    dk.compile_decode(design, symbol, path, "sm_90a")
    return symbol, time.time() - t


def tokens_designs(n: int, k: int) -> list[dict]:
    """--tokens (session 29, call G): max_m 256 as two 128-token CTAs (`overlay_designs` with tt 2), and for
    reference the first max_m 256 ov design of one warpgroup (call A's fastest there)."""
    ref = [d for d in overlay_designs(n, k, max_ms=(256,)) if d.get("ov") and d["wg"] == 1][:1]
    return overlay_designs(n, k, max_ms=(256,), tt=2) + ref


# `compile` grids by flag, the first flag given wins in this order; none: probe_designs (--quick: its short form)
# --wide (session 35): the widest weights, the four lm_heads and four gate_ups of the shipped manifests, whose M = 128
# buckets cuBLAS serves at 82-93% of the floor: grids of hundreds of CTAs, so many waves that a token tile of 128 might
# stream them at the rate the max_m 64 designs reach
WIDE_SHAPES = [(16032, 8192), (128256, 4096), (38016, 5120), (151936, 2560), (28672, 4096), (13824, 5120),
               (19456, 2560), (7168, 8192)]


def wide_designs(n: int, k: int) -> list[dict]:
    """--wide: max_m 128 TMA designs without split-K, wg 1 and 2, k tiles of 128 and 256 bytes, each with as many
    stages as fit one CTA per SM and as fit two."""
    from aotgemm.compiler.sources import decode_designs as dd

    out = []
    for wg in (1, 2):
        for bk in (64, 128):
            for cap in (227 * 1024, 113 * 1024):
                d = dd._most_stages(n, k, cap, max_m=128, wg=wg, bk=bk, ck=1, pdl=True)
                if d is not None and d not in out:
                    out.append(d)
    return out


# --tma-table (session 35): the bf16 weights of the shipped manifests that TMA_SM90 has no measured designs for at
# max_m 16-64 (their buckets run the rule's)
TABLE_SHAPES = [(7168, 8192), (8192, 3584), (5120, 6912), (5120, 1280), (13824, 5120), (6144, 2560), (2560, 4096),
                (2560, 9728), (19456, 2560)]


def tma_table_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity",
                      max_ms=(16, 32, 64), other_kinds: bool = False) -> list[dict]:
    """--tma-table: the TMA designs a build offers at `max_ms` (designs_for's: the table's or the rule's) and the TMA
    sweep's grid beside them, without the other kinds of kernel (with `other_kinds`, designs_for's kernels of every
    kind at `max_ms` first), to fill the measured table where it has no entry. fp8_decode_probe's --tma-table is
    this at max_m 16 and 32 in e4m3 with the other kinds (session 38: the e4m3 table's entries there predate
    session 30's output stage)."""
    from aotgemm.compiler.sources import decode_kernels as dk

    out = [d for d in dk.designs_for(n, k, "sm_90a", epilogue, dtype)
           if d["max_m"] in max_ms and (other_kinds or d["kind"] == "swapab_tma")]
    return out + [d for d in tma_sweep_designs(n, k, dtype=dtype, epilogue=epilogue, with_designs_for=False,
                                                max_ms=max_ms) if d not in out]


# --simt-gaps (session 36): bf16 weights of the shipped manifests whose CUDA-core kernels no probe had measured at
# M = 1, or that read at 84-92% of the floor there (Llama-3.1-70B TP8's down, Qwen3-4B's down)
SIMT_GAP_SHAPES = [(8192, 3584), (7168, 8192), (13824, 5120), (2560, 4096), (1792, 5120), (2560, 9728)]


def simt_gap_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity", max_ms=(1, 2),
                     load_sizes=(16, 8)) -> list[dict]:
    """--simt-gaps: CUDA-core designs at max_m 1 and 2 (`max_ms`), 2-8 rows, every warp count up to 10 that divides
    K's warp loads, 1-2 loads a row in flight (at most 8 a lane), with 16-byte loads and with 8-byte ones (decode_simt's
    `lb`: twice the warp loads a row, so more warp counts divide it; `load_sizes`), after designs_for's kernels of
    max_m up to 16. Time with `run --all-buckets`. fp8_decode_probe's --simt-gaps is this grid in e4m3."""
    from aotgemm.compiler.sources import decode_kernels as dk

    out = [d for d in dk.designs_for(n, k, "sm_90a", epilogue, dtype) if d["max_m"] <= 16]
    for load_bytes in load_sizes:
        loads = k // (32 * load_bytes // (1 if dtype == "float8_e4m3fn" else 2))  # a warp's loads along a row
        for max_m in max_ms:
            for rows in (2, 4, 8):
                for warps in [w for w in range(2, 11) if loads % w == 0]:
                    for unroll in (1, 2):
                        if rows * unroll > 8:
                            continue
                        try:
                            d = dk.make_simt_design(n, k, max_m=max_m, rows=rows, warps=warps, unroll=unroll,
                                                    pdl=True, epilogue=epilogue, dtype=dtype, load_bytes=load_bytes)
                        except ValueError:
                            continue
                        if d not in out:
                            out.append(d)
    return out


# --stream (session 36): the largest weights, where the CUDA-core kernels read at M = 1-2 faster than the TMA kernels do at
# M = 4-32 (Qwen2.5-32B TP4's lm_head 87.5 us against 91.8-96.2, Llama-3.1-8B's 228 against 232-240) and cuBLAS keeps
# Llama-3.1-8B's gate_up at M = 4-128
STREAM_SHAPES = [(128256, 4096), (38016, 5120), (151936, 2560), (28672, 4096)]


def stream_designs(n: int, k: int) -> list[dict]:
    """--stream: designs_for's kernels up to max_m 32, and TMA designs without split-K of one and two warpgroups,
    k tiles of 128, 256 and 512 bytes of a row (512: four swizzle atoms, session 36), max_m 16 and 32, each with
    the most stages that fit one CTA per SM and the most that fit two (at least 3)."""
    from aotgemm.compiler.sources import decode_designs as dd
    from aotgemm.compiler.sources import decode_kernels as dk

    out = [d for d in dk.designs_for(n, k, "sm_90a") if d["max_m"] <= 32]
    for max_m in (16, 32):
        for wg in (1, 2):
            for row_bytes in (128, 256, 512):
                for cap in (227 * 1024, 113 * 1024):
                    d = dd._most_stages(n, k, cap, max_m=max_m, wg=wg, bk=row_bytes // 2, ck=1, pdl=True)
                    if d is not None and d["stages"] >= 3 and d not in out:
                        out.append(d)
    return out


# --cp-gaps (session 37): the weights of the shipped manifests that the cp.async kernels' measured tables
# (CP_SM90, CP_FP8_SM90) have no designs for, in both dtypes: builds give them _score's picks, and at
# M = 3-8 the tuner took those on Qwen2.5-32B TP4's four weights in bf16 (session 36, call H) and its down in e4m3
CP_GAP_SHAPES = [(1792, 5120), (5120, 1280), (13824, 5120), (5120, 6912), (6144, 2560), (2560, 4096), (2560, 9728),
                 (19456, 2560), (7168, 8192), (8192, 3584)]


def cp_gap_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity") -> list[dict]:
    """--cp-gaps: designs_for's kernels that serve M = 3-16 (max_m 8 and 16: cp.async, register-fed, TMA), then
    cp.async designs, the best-scored of each CTA geometry (mt, wn, wk, ck; `best_per_geometry`) over 1-8 warps
    along K (3 and 6 for a K with a factor of 3), 2 and 4 chunks in flight and 3, 4 or 6 stages: 14 at max_m 8 and
    6 at max_m 16, and in bf16 the whole-row-copy form (`coal`) of the first 6 at max_m 8. Time with
    `run --all-buckets`. fp8_decode_probe's --cp-gaps is this grid in e4m3."""
    from aotgemm.compiler.sources import decode_designs as dd
    from aotgemm.compiler.sources import decode_kernels as dk

    out = [d for d in dk.designs_for(n, k, "sm_90a", epilogue, dtype) if d["max_m"] in (8, 16)]
    have = {dk.design_name(d) for d in out}
    kw = dict(wks=(1, 2, 3, 4, 6, 8), unrolls=(2, 4), stages=(3, 4, 6), exclude=have, pdl=True, dtype=dtype,
              epilogue=epilogue)
    tile8 = best_per_geometry(n, k, 1, 14, **kw)
    out += tile8 + best_per_geometry(n, k, 2, 6, **kw)
    if dtype == "bfloat16":
        for d in tile8[:6]:
            try:
                coal = dd.whole_row_form(d, epilogue, dtype)
            except ValueError:  # a geometry whose warps do not copy whole rows
                continue
            if coal not in out:
                out.append(coal)
    return out


# --tma8 (session 38): the weights of the shipped manifests below their lm_heads, for TMA + wgmma kernels of max_m 8
# (decode_tma builds 8..256; builds offer 16-64, and no probe had timed 8): at M = 3-8 the tuner serves the cp.async
# and register-fed kernels of max_m 8, or the TMA ones of max_m 16, which push and reduce 16 tokens' partials
TMA8_SHAPES = [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336), (1280, 8192), (8192, 1024), (7168, 8192),
               (8192, 3584), (1792, 5120), (5120, 1280), (13824, 5120), (5120, 6912), (6144, 2560), (2560, 4096),
               (19456, 2560), (2560, 9728)]


def tma8_designs(n: int, k: int, *, dtype: str = "bfloat16", epilogue: str = "identity") -> list[dict]:
    """--tma8: designs_for's kernels that serve M = 3-8 (max_m 8 and 16: cp.async, register-fed, TMA), then TMA
    designs of max_m 8: the twins of designs_for's max_m 16 TMA ones (the same stages, warpgroups, k tile and
    cluster) and tma_sweep_designs' grid at max_m 8. Time with `run --ms 3,4,5,8`. fp8_decode_probe's --tma8 is
    this grid in e4m3."""
    from aotgemm.compiler.sources import decode_kernels as dk

    out = [d for d in dk.designs_for(n, k, "sm_90a", epilogue, dtype) if d["max_m"] in (8, 16)]
    twins = []
    for d in out:
        if d["kind"] == "swapab_tma" and d["max_m"] == 16:
            try:
                twins.append(dk.make_tma_design(n, k, max_m=8, wg=d["wg"], bk=d["bk"], ck=d["ck"], stages=d["stages"],
                                                pdl=True, epilogue=epilogue, dtype=dtype))
            except ValueError:
                continue
    sweep = tma_sweep_designs(n, k, dtype=dtype, epilogue=epilogue, with_designs_for=False, max_ms=(8,), min_stages=3)
    for d in twins + sweep:
        if d not in out:
            out.append(d)
    return out


GRIDS = {"--tma8": tma8_designs, "--cp-gaps": cp_gap_designs, "--simt-gaps": simt_gap_designs, "--stream": stream_designs, "--tokens": tokens_designs, "--wide": wide_designs, "--tma-table": tma_table_designs,
         "--overlay": lambda n, k: overlay_designs(n, k),
         "--rf": rf_designs, "--simt-m": simt_m_designs, "--out-stage": lambda n, k: out_stage_designs(n, k),
         "--simt-k": simt_k_designs, "--multicast": lambda n, k: multicast_designs(n, k),
         "--balance": lambda n, k: balance_designs(n, k),
         "--edges": lambda n, k: edge_designs(n, k),
         "--mid-sweep": lambda n, k: mid_sweep_designs(n, k), "--tma-sweep": lambda n, k: tma_sweep_designs(n, k),
         "--tma": tma_designs, "--simt": simt_designs, "--explore2": explore2_designs, "--explore": explore_designs}


# the weights each grid was cut for (a grid not named here: SHAPES); `--shapes` overrides
GRID_SHAPES = {"--tma8": TMA8_SHAPES, "--cp-gaps": CP_GAP_SHAPES, "--simt-gaps": SIMT_GAP_SHAPES,
               "--stream": STREAM_SHAPES, "--tokens": OVERLAY_SHAPES, "--wide": WIDE_SHAPES, "--tma-table": TABLE_SHAPES,
               "--overlay": OVERLAY_SHAPES, "--simt-m": SIMT_M_SHAPES, "--out-stage": OUT_STAGE_SHAPES,
               "--simt-k": SIMT_K_SHAPES, "--multicast": MID_SHAPES, "--balance": BALANCE_SHAPES}


def grid_flag(argv, grids=None):
    """The grid flag of `argv` that `compile` uses: the first of `grids` (GRIDS) given, or None."""
    return next((f for f in (grids or GRIDS) if f in argv), None)


def compile_main(outdir: str, shapes, argv) -> None:
    flag = grid_flag(argv)
    compile_grid(outdir, shapes, GRIDS[flag] if flag else lambda n, k: probe_designs(n, k, "--quick" in argv))


def compile_grid(outdir: str, shapes, designs_of) -> None:
    """Compile and link designs_of(n, k) for each (n, k) of `shapes` (a call script's own grid, or a GRIDS one),
    saying how many designs each weight got."""
    table = {}
    for n, k in shapes:
        designs = designs_of(n, k)
        print(f"{n}x{k}: {len(designs)} designs", flush=True)
        table.update(symbol_table(designs))
    compile_and_link(outdir, table)


def symbol_table(designs) -> dict:
    """{symbol: design} for the designs, by decode_kernels.design_name."""
    from aotgemm.compiler.sources import decode_kernels as dk

    return {"aotgemm_" + dk.design_name(d): d for d in designs}


def compile_and_link(outdir: str, table: dict) -> None:
    """Cross-compile each {symbol: design} to OUTDIR/obj/SYMBOL.o (objects newer than the kernel sources are
    kept), link them into OUTDIR/kernels.so (static-runtime, written to a temp file then renamed) and write
    OUTDIR/designs.json."""
    from concurrent.futures import ProcessPoolExecutor

    from aotgemm.compiler.link import link_library
    from aotgemm.compiler.sources import decode_kernels as dk

    out = Path(outdir)
    (out / "obj").mkdir(parents=True, exist_ok=True)
    jobs = [(d, sym, str(out / "obj" / f"{sym}.o")) for sym, d in table.items()]
    from aotgemm.compiler.sources.decode import KERNEL_FILES

    src_mtime = max((Path(dk.__file__).parent / f).stat().st_mtime for f in KERNEL_FILES)
    jobs = [j for j in jobs if not (Path(j[2]).exists() and Path(j[2]).stat().st_mtime > src_mtime)]
    print(f"compiling {len(jobs)} of {len(table)} kernels", flush=True)
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=int(os.environ.get("PROBE_JOBS", "2"))) as ex:
        for sym, dt in ex.map(_compile_one, jobs):
            print(f"  {sym}: {dt:.1f} s", flush=True)
    print(f"compiled in {time.time() - t0:.0f} s", flush=True)
    lib = link_library({s: out / "obj" / f"{s}.o" for s in table}, link_mode="static-runtime", cuda_major=13)
    tmp = out / "kernels.so.tmp"
    tmp.write_bytes(lib)
    os.replace(tmp, out / "kernels.so")
    (out / "designs.json").write_text(json.dumps(table, indent=1, sort_keys=True))
    print(f"wrote {out / 'kernels.so'} ({len(lib) / 1e6:.1f} MB), {len(table)} kernels")


# --------------------------------------------------------------------------- GPU half

def _load(outdir: str):
    import torch
    import tvm_ffi

    torch.cuda.init()
    mod = tvm_ffi.load_module(str(Path(outdir) / "kernels.so"))
    designs = json.loads((Path(outdir) / "designs.json").read_text())
    return mod, designs


def _floor_us(m, n, k):
    return 2 * (n * k + m * k + m * n) / (HBM_TBPS * 1e6)


def _bf16_x(m, k, g):
    import torch

    return torch.randn(m, k, device="cuda", generator=g).to(torch.bfloat16)


def _bf16_w(n, k, g):
    import torch

    return (torch.randn(n, k, device="cuda", generator=g) / math.sqrt(k)).to(torch.bfloat16)


def check_child(outdir: str, symbols: list, result_path: str, *, seed=lambda sym: hash(sym) % 2**31,
                activations=_bf16_x, weights=_bf16_w, extras=lambda d, m, g: (),
                reference=lambda x, w: x.float() @ w.float().t()) -> None:
    """Check the kernels in `symbols` in order; append one JSON line per kernel to result_path.
    Per kernel a generator seeded seed(symbol) draws W = weights(n, k, g), then for every M in 1..max_m
    x = activations(m, k, g) (a new W every third M) and the extra operands extras(design, m, g); the
    output, poisoned with NaN, of fn(x, w.t(), out, *extras, stream) is held against reference(x, w, *extras)."""
    import torch

    mod, designs = _load(outdir)
    for sym in symbols:
        d = designs[sym]
        n, k = d["n"], d["k"]
        fn = mod[sym]
        worst, bad = 0.0, []
        with open(result_path, "a") as f:
            f.write(json.dumps({"symbol": sym, "status": "started"}) + "\n")
        g = torch.Generator(device="cuda").manual_seed(seed(sym))
        w = weights(n, k, g)
        for m in range(1, d["max_m"] + 1):
            x = activations(m, k, g)
            if m % 3 == 0:  # new weights now and then, too
                w = weights(n, k, g)
            more = extras(d, m, g)
            # one guard row past the output, poisoned too: a store past column N of the last token (a CTA's
            # rows past N, decode_tma.ragged_n) lands there and is caught, as no kernel writes it
            held = torch.full((m + 1, n), float("nan"), device="cuda", dtype=torch.bfloat16)
            out = held[:m]
            fn(x, w.t(), out, *more, torch.cuda.current_stream().cuda_stream)
            torch.cuda.synchronize()
            ref = reference(x, w, *more)
            unwritten = int(torch.isnan(out).sum().item())
            stray = int((~torch.isnan(held[m])).sum().item())
            err = ((out.float() - ref).norm() / ref.norm()).item()
            if not math.isfinite(err):
                err = float("inf")
            worst = max(worst, err)
            if unwritten or stray or err >= TOL:
                bad.append({"m": m, "err": err, "unwritten": unwritten, "stray": stray})
        with open(result_path, "a") as f:
            f.write(json.dumps({"symbol": sym, "status": "ok" if not bad else "wrong",
                                "worst_err": worst, "bad": bad[:5]}) + "\n")


def run_checks(outdir: str, designs: dict, log: Path, script: str = __file__) -> dict:
    """symbol -> status ('ok' / 'wrong' / 'crash'); child processes (`script _check ...`) so a
    fault is contained."""
    result_path = log / "decode_check.jsonl"
    result_path.unlink(missing_ok=True)
    pending = sorted(designs)
    status: dict = {}
    while pending:
        try:
            proc = subprocess.run([sys.executable, script, "_check", outdir, str(result_path), *pending],
                                  capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired as e:  # a hung kernel: blame the one that started last
            proc = subprocess.CompletedProcess(e.cmd, -9, "", f"timeout after 120 s: {e.stderr!r:.300}")
        if not result_path.exists():
            result_path.write_text("")
        started = None
        for line in result_path.read_text().splitlines():
            e = json.loads(line)
            if e["status"] == "started":
                started = e["symbol"]
            else:
                status[e["symbol"]] = e
                started = None if started == e["symbol"] else started
        if started is not None and started not in status:
            status[started] = {"symbol": started, "status": "crash", "stderr": proc.stderr[-600:]}
            print(f"CRASH in {started}: {proc.stderr[-600:]}", flush=True)
        elif proc.returncode != 0 and not started:
            print(f"check child failed rc={proc.returncode}: {proc.stderr[-2000:]}", flush=True)
            for s in pending:
                status.setdefault(s, {"symbol": s, "status": "crash", "stderr": proc.stderr[-600:]})
        pending = [s for s in pending if s not in status]
    for s in sorted(status):
        e = status[s]
        print(f"check {s}: {e['status']} worst_err={e.get('worst_err', float('nan')):.2e} {e.get('bad', '')}",
              flush=True)
    return status


class _Ops:
    def __init__(self, m, n, k, seed=0):
        import torch

        g = torch.Generator(device="cuda").manual_seed(seed)
        per = 2 * (m * k + n * k + m * n)
        copies = max(2, min(16, math.ceil(3 * L2_BYTES / per)))
        self.xs = [torch.randn(m, k, device="cuda", generator=g).to(torch.bfloat16) for _ in range(copies)]
        self.ws = [(torch.randn(n, k, device="cuda", generator=g) / math.sqrt(k)).to(torch.bfloat16)
                   for _ in range(copies)]
        self.outs = [torch.empty(m, n, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]
        self.src = torch.randn(m, k, device="cuda", generator=g).to(torch.bfloat16)
        self.copies = copies


def _graph(call, ops, model: bool, reps: int = 20):
    import torch

    for i in range(ops.copies):
        call(ops.xs[i], ops.ws[i], ops.outs[i])
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for r in range(reps):
            i = r % ops.copies
            if model:
                ops.xs[i].copy_(ops.src)  # the "previous layer" writes x
            call(ops.xs[i], ops.ws[i], ops.outs[i])
    graph.replay()
    torch.cuda.synchronize()
    return graph


def time_shape(mod, designs, n, k, m, cands, trials=11, reps=20):
    """{name: {fig: (median_us, spread)}} for cuBLAS, the copy alone, and each candidate; interleaved."""
    ops = _Ops(m, n, k)
    calls = {"cublas": cublas_call, **{sym: kernel_call(mod[sym]) for sym in cands}}
    res = time_calls(calls, ops, trials, reps, copy=True)
    del ops
    return res


def kernel_call(fn):
    """fn(x, w, out) for an exported kernel (x [M, K], W [N, K], out [M, N]) on the current stream."""
    import torch

    return lambda x, w, o: fn(x, w.t(), o, torch.cuda.current_stream().cuda_stream)


def cublas_call(x, w, o):
    """The baseline: torch.mm (cuBLAS) into out."""
    import torch

    torch.mm(x, w.t(), out=o)


def time_calls(calls: dict, ops: _Ops, trials: int, reps: int, copy: bool = False) -> dict:
    """{key: {fig: (median_us, spread)}}: each of `calls` (key -> fn(x, w, out)) captured in a CUDA graph of
    `reps` launches over ops' L2-rotated copies, plain and after a copy kernel writes x ("model"), and with
    `copy` that copy kernel alone (key "copy", to report the model figure net of it); all graphs replayed
    round-robin in `trials` rounds, each timed with CUDA events. spread: (max - min) / median."""
    import torch

    graphs = {}
    for key, call in calls.items():
        graphs[(key, "plain")] = _graph(call, ops, False, reps)
        graphs[(key, "model")] = _graph(call, ops, True, reps)
    if copy:
        graphs[("copy", "model")] = _graph(lambda x, w, o: None, ops, True, reps)
    times = {key: [] for key in graphs}
    st, en = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(trials):
        for key, gr in graphs.items():
            st.record()
            gr.replay()
            en.record()
            en.synchronize()
            times[key].append(st.elapsed_time(en) * 1e3 / reps)
    res = {}
    for (key, fig), ts in times.items():
        med = statistics.median(ts)
        res.setdefault(key, {})[fig] = (med, (max(ts) - min(ts)) / med)
    del graphs
    torch.cuda.synchronize()
    return res


def run_main(outdir: str, log: str, all_buckets: bool = False) -> None:
    import torch

    logd = Path(log)
    logd.mkdir(parents=True, exist_ok=True)
    mod, designs = _load(outdir)
    props = torch.cuda.get_device_properties(0)
    header = (f"# decode_probe on {torch.cuda.get_device_name(0)} ({props.multi_processor_count} SMs), "
              f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, torch {torch.__version__}\n")
    print(header, flush=True)
    t0 = time.time()
    status = run_checks(outdir, designs, logd)
    print(f"checks took {time.time() - t0:.0f} s", flush=True)
    good = {s: d for s, d in designs.items() if status.get(s, {}).get("status") == "ok"}

    rows = []
    shapes = sorted({(d["n"], d["k"]) for d in designs.values()}, key=lambda s: SHAPES.index(s) if s in SHAPES else 99)
    for n, k in shapes:
        for m in TIME_MS:
            # candidates: the designs of the three smallest max_m buckets that hold m (--all-buckets: of all)
            buckets = sorted({d["max_m"] for d in good.values() if (d["n"], d["k"]) == (n, k) and d["max_m"] >= m})
            buckets = buckets if all_buckets else buckets[:3]
            cands = [s for s, d in good.items() if (d["n"], d["k"]) == (n, k) and d["max_m"] in buckets]
            if not cands:
                continue
            t1 = time.time()
            res = time_shape(mod, designs, n, k, m, sorted(cands))
            fl = _floor_us(m, n, k)
            cb = res["cublas"]
            copy_us = res["copy"]["model"][0]
            for sym in sorted(cands):
                r = res[sym]
                rows.append({"n": n, "k": k, "m": m, "symbol": sym, "design": designs[sym],
                             "us": r["plain"][0], "spread": r["plain"][1],
                             "model_us": r["model"][0], "model_spread": r["model"][1],
                             "cublas_us": cb["plain"][0], "cublas_spread": cb["plain"][1],
                             "cublas_model_us": cb["model"][0], "copy_us": copy_us, "floor_us": fl})
            best = min(cands, key=lambda s: res[s]["plain"][0])
            print(f"{n}x{k} M={m}: cuBLAS {cb['plain'][0]:.2f} us, best {best} {res[best]['plain'][0]:.2f} us "
                  f"(floor {fl:.2f}) [{time.time() - t1:.1f} s]", flush=True)
            (logd / "decode_probe.json").write_text(json.dumps({"header": header, "rows": rows,
                                                                "checks": status}, indent=1))
    (logd / "decode_probe.json").write_text(json.dumps({"header": header, "rows": rows, "checks": status},
                                                       indent=1))
    report(rows, status, header, shapes, logd)


def report(rows, status, header, shapes, logd):
    # table: the best kernel per (shape, M) by the plain figure, and by the model figure
    lines = [header.strip(),
             "model = a copy kernel writes x before each GEMM (µs incl. the copy); speedup = cuBLAS/ours",
             f"{'shape':>12} {'M':>3} {'kernel (best plain)':<44} {'us':>7} {'cuBLAS':>7} {'x':>5} "
             f"{'%floor':>6} {'spread':>6} | {'kernel (best model)':<44} {'model':>7} {'cuBLAS':>7} {'x':>5}"]
    geo, geo_model, under70 = [], [], []
    for n, k in shapes:
        for m in TIME_MS:
            rs = [r for r in rows if (r["n"], r["k"], r["m"]) == (n, k, m)]
            if not rs:
                continue
            bp = min(rs, key=lambda r: r["us"])
            bm = min(rs, key=lambda r: r["model_us"])
            sp, smod = bp["cublas_us"] / bp["us"], bm["cublas_model_us"] / bm["model_us"]
            pct = 100 * bp["floor_us"] / bp["us"]
            if m <= 16:
                geo.append(sp)
                geo_model.append(smod)
                if pct < 70:
                    under70.append(f"{n}x{k}@{m}")
            lines.append(f"{f'{n}x{k}':>12} {m:>3} {bp['symbol'][8:]:<44} {bp['us']:7.2f} {bp['cublas_us']:7.2f} "
                         f"{sp:5.2f} {pct:6.1f} {100 * max(bp['spread'], bp['cublas_spread']):5.1f}% | "
                         f"{bm['symbol'][8:]:<44} {bm['model_us']:7.2f} {bm['cublas_model_us']:7.2f} {smod:5.2f}")
    if geo:
        lines.append(f"geomean speedup at M<=16: plain {math.exp(sum(map(math.log, geo)) / len(geo)):.3f}x, "
                     f"model {math.exp(sum(map(math.log, geo_model)) / len(geo_model)):.3f}x over {len(geo)} points; "
                     f"under 70% of floor: {', '.join(under70) or 'none'}")
    bad = [s for s, e in status.items() if e.get("status") != "ok"]
    lines.append(f"kernels checked: {len(status)}, failing: {len(bad)} {bad[:10]}")
    text = "\n".join(lines)
    (Path(logd) / "decode_probe.txt").write_text(text + "\n")
    print(text, flush=True)




def profile_main(outdir: str, spec: str, cublas: bool = False) -> None:
    """Run each sym:M once (for ncu): fresh random operands, one launch per kernel; with `cublas`, then
    cuBLAS (torch.mm) once on the same operands, so ncu sees both side by side."""
    import torch

    mod, designs = _load(outdir)
    for item in spec.split(","):
        sym, m = item.rsplit(":", 1)
        d = designs[sym]
        x = torch.randn(int(m), d["k"], device="cuda").to(torch.bfloat16)
        w = (torch.randn(d["n"], d["k"], device="cuda") / math.sqrt(d["k"])).to(torch.bfloat16)
        out = torch.empty(int(m), d["n"], device="cuda", dtype=torch.bfloat16)
        torch.cuda.synchronize()
        kernel_call(mod[sym])(x, w, out)
        torch.cuda.synchronize()
        print(f"profiled {sym} M={m}", flush=True)
        if cublas:
            cublas_call(x, w, out)
            torch.cuda.synchronize()
            print(f"profiled cuBLAS N={d['n']} K={d['k']} M={m}", flush=True)


def parse_shapes(argv, default):
    """--shapes N:K,N:K,... from argv, or `default`."""
    if "--shapes" not in argv:
        return default
    spec = argv[argv.index("--shapes") + 1]
    return [tuple(int(v) for v in s.split(":")) for s in spec.split(",")]


def main(argv):
    if len(argv) >= 2 and argv[0] == "compile":
        compile_main(argv[1], parse_shapes(argv, GRID_SHAPES.get(grid_flag(argv), SHAPES)), argv)
    elif len(argv) >= 2 and argv[0] == "run":
        global TIME_MS
        log = argv[argv.index("--log") + 1] if "--log" in argv else os.environ.get("OUT", argv[1])
        if "--ms" in argv:
            TIME_MS = tuple(int(v) for v in argv[argv.index("--ms") + 1].split(","))
        run_main(argv[1], log, "--all-buckets" in argv)
    elif len(argv) >= 3 and argv[0] == "profile":
        profile_main(argv[1], argv[2], "--cublas" in argv)
    elif len(argv) >= 2 and argv[0] == "table":  # re-print the table from a run's JSON
        from results_io import read_json  # a committed run's JSON may be packed (scripts/pack_results.py)

        data = read_json(argv[1])
        rows = data["rows"]
        shapes = sorted({(r["n"], r["k"]) for r in rows}, key=lambda s: SHAPES.index(s) if s in SHAPES else 99)
        report(rows, data["checks"], data["header"], shapes, argv[2] if len(argv) > 2 else Path(argv[1]).parent)
    elif argv and argv[0] == "_check":
        check_child(argv[1], argv[3:], argv[2])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main(sys.argv[1:])
