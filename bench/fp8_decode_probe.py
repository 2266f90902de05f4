"""Probe aotgemm's fp8 (e4m3, W8A8) decode kernels against torch._scaled_mm on a GPU.

The fp8 counterpart of decode_probe.py, in the same two halves (the GPU host
needs neither the CuTe DSL nor a compiler):

  python bench/fp8_decode_probe.py compile OUTDIR [--shapes N:K,...] [--explore | --tma-sweep | --mid-sweep | --edges
                                                  | --simt-m | --rf | --overlay | --multicast | --tokens
                                                  | --simt-lb8 | --simt-gaps]
      (CPU) cross-compile every design designs_for(n, k, "sm_90a", "scale_" + scale, fp8)
      lists, for both scale epilogues ("tensor", "row"), link them into one
      .so and write OUTDIR/kernels.so and OUTDIR/designs.json. --explore adds,
      for "tensor" only, more geometries (explore_designs) to learn what the
      untuned fp8 design choice misses; OUTDIR/explore.json lists them. --mid-sweep compiles only
      decode_probe's max_m 128/256 TMA grid ("tensor"), for M above the decode buckets; --edges adds
      designs_for's TMA designs, to time at each bucket's lower edge. --tma-sweep adds instead
      the TMA + wgmma grid of decode_probe.tma_sweep_designs (max_m 16/32/64, wg 1/2, k tiles of
      128/256 bytes, every cluster split with 48..264 CTAs), for "tensor" only. --simt-m compiles only
      decode_probe's CUDA-core max_m 2 grid (simt_m_designs) with both scale epilogues. --rf compiles decode_probe's
      register-fed grid (rf_designs) beside designs_for's cp.async and TMA designs of max_m 8 and 16 ("tensor").
      --overlay compiles overlay_designs (max_m 64, 128 and 256 as two token tiles, with and without `ov`) on
      OVERLAY_SHAPES, for M = 33-256 ("tensor"); --multicast multicast_designs (x multicast, cn 2 and 4, beside
      twins without) on the same weights; --tokens tokens_designs (max_m 128 as two 64-token tiles) there too.
      --simt-lb8 simt_lb8_designs: CUDA-core designs of 8-byte loads (max_m 1 and 2, both scale epilogues) beside
      designs_for's kernels of max_m up to 16. --simt-gaps simt_gap_designs on SIMT_GAP_SHAPES: max_m 1 CUDA-core
      designs where no M = 1 probe had measured them, beside designs_for's kernels of max_m up to 16.

  python bench/fp8_decode_probe.py run OUTDIR [--log DIR] [--ms 1,2,4,8,16] [--scales tensor,row] [--budget S]
                                              [--all-buckets]
      (GPU; torch + tvm_ffi only)
      1. correctness: every kernel at every M in 1..max_m on fresh random fp8
         x and W and random positive float32 scales, output poisoned with NaN,
         against the float32 reference on the dequantized operands
         ((x.float() @ W.float().t()) * scale_a * scale_b); rel. Frobenius
         error < 1e-2 and every element written. In child processes
         (decode_probe.run_checks), so a faulting kernel is recorded, not fatal.
      2. timing vs torch._scaled_mm with aotgemm.timing (GraphTimer over
         operand copies spanning 3x the L2, interleaved trials, medians,
         paired ratios): "tensor" designs against the per-tensor form (scale_a,
         scale_b scalars), "row" designs against the row-wise form (scale_a
         [M, 1], scale_b [1, N]).
      Prints a table last: shape, M, scales, best kernel, ours us, _scaled_mm
      us, speedup (median of paired ratios), % of the fp8 byte floor (W bytes /
      4.26 TB/s), spread; then, of the MODEL_TOP fastest timed again in model
      mode (a copy kernel writes x before each GEMM), the best there (--model-top N:
      the N fastest, so that a large N ranks every candidate in a model, as the tuner
      does). Writes fp8_decode_probe.json/.txt to --log.

  python bench/fp8_decode_probe.py table LOGDIR
      (anywhere) from a --tma-sweep run's JSON, the per-shape TMA table
      (decode_design_tables.TMA_FP8_SM90) it implies.
"""

import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import decode_probe  # noqa: E402  (compile and link, child-process checks, design search)

HBM_TBPS = 4.26
L2_BYTES = 60 * 2**20
TOL = 1e-2
FP8 = "float8_e4m3fn"
SHAPES = [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336), (8192, 1024), (1280, 8192),
          # the other fp8 manifests' layers: Llama-3.1-70B TP8, Qwen2.5-32B TP4, Qwen3-4B
          (7168, 8192), (8192, 3584), (1792, 5120), (5120, 1280), (13824, 5120), (5120, 6912),
          (6144, 2560), (2560, 4096), (19456, 2560), (2560, 9728)]
TIME_MS = (1, 2, 4, 8, 16)
SCALES = ("tensor", "row")
MODEL_TOP = 4  # per point, the fastest back to back are timed again in model mode


# --------------------------------------------------------------------------- CPU half

def explore_designs(n: int, k: int) -> list[dict]:
    """Beyond designs_for: two more SIMT designs, and per token bucket the four best-scored
    tensor-core geometries (mt, wn, wk, ck) it does not already hold (scale "tensor")."""
    from aotgemm.compiler.sources import decode_designs as dd
    from aotgemm.compiler.sources import decode_kernels as dk

    have = {dk.design_name(d) for d in dk.designs_for(n, k, "sm_90a", "scale_tensor", FP8)}
    out = []
    for spec in dd._SIMT_FP8_FALLBACK:
        rows, warps, unroll = (int(v) for v in spec.split(","))
        try:
            d = dk.make_simt_design(n, k, max_m=1, rows=rows, warps=warps, unroll=unroll, pdl=True,
                                    dtype=FP8, epilogue="scale_tensor")
        except ValueError:
            continue
        if dk.design_name(d) not in have and sum(1 for e in out if e["kind"] == "simt") < 2:
            out.append(d)
    for nt in (1, 2):
        out += decode_probe.best_per_geometry(n, k, nt, 4, wks=(1, 2, 4), unrolls=(1, 2, 4), stages=(3, 4, 6),
                                              exclude=have, pdl=True, dtype=FP8, epilogue="scale_tensor")
    return out


# --overlay (session 30): the e4m3 weights whose M = 64-256 points _scaled_mm kept in session 25's per-tensor bundles,
# where it ran at 22-53% of the floor (Llama-3.1-70B TP8 qkv and o, Qwen2.5-32B TP4 qkv and o, Qwen3-4B qkv, o and
# down, Llama-3.1-8B o)
OVERLAY_SHAPES = [(1280, 8192), (8192, 1024), (1792, 5120), (5120, 1280), (2560, 4096), (6144, 2560), (4096, 4096),
                  (2560, 9728)]


def overlay_designs(n: int, k: int) -> list[dict]:
    """--overlay (session 30): decode_probe.overlay_designs in e4m3, for M = 33-256 where no e4m3 design had been
    timed since session 12 (before the output stage of session 16, the evict-first weights of session 18 and `ov`).
    designs_for's max_m 64 TMA designs first; then decode_probe.overlay_designs at max_m 64 and 128 (128-byte k
    tiles, one or two warpgroups, the largest split-K held at one CTA per SM and at two): at one CTA per SM both
    twins (ov or not; at max_m 64 without ov alone, its partials being small), at two the ov one, with at least 4
    stages; and max_m 256 as two 128-token tiles (`tt` 2: an e4m3 CTA holds at most 128 tokens) at one CTA per SM."""
    from aotgemm.compiler.sources import decode_kernels as dk
    from aotgemm.compiler.sources.decode_tma import tma_smem_bytes

    out = [d for d in dk.designs_for(n, k, "sm_90a", "scale_tensor", FP8)
           if d["kind"] == "swapab_tma" and d["max_m"] == 64]
    grid = (decode_probe.overlay_designs(n, k, dtype=FP8, epilogue="scale_tensor", max_ms=(64, 128))
            + decode_probe.overlay_designs(n, k, dtype=FP8, epilogue="scale_tensor", max_ms=(256,), tt=2))
    for d in grid:
        two_per_sm = tma_smem_bytes(d) <= 113 * 1024
        if two_per_sm:
            keep = d.get("ov") and d["stages"] >= 4 and d["max_m"] < 256
        else:
            keep = not (d.get("ov") and d["max_m"] == 64)
        if keep and d not in out:
            out.append(d)
    return out


def multicast_designs(n: int, k: int) -> list[dict]:
    """--multicast (session 30, call B): decode_probe.multicast_designs in e4m3 at max_m 64 and 128 (x multicast over
    cn = 2 or 4 CTAs along the weight rows), each beside its twin without multicast. In call A every max_m 128
    design lost to _scaled_mm on these weights but 1280 x 8192; a 64-row CTA of 128 tokens reads twice as many
    x bytes as weight bytes through L2, which multicast divides by cn."""
    out = []
    for d in decode_probe.multicast_designs(n, k, dtype=FP8, epilogue="scale_tensor", max_ms=(64, 128)):
        twin = {key: v for key, v in d.items() if key != "cn"}
        out += [e for e in (twin, d) if e not in out]
    return out


def tokens_designs(n: int, k: int) -> list[dict]:
    """--tokens (session 30, call D): max_m 128 as two 64-token tiles (decode_probe.overlay_designs with tt 2), and
    for reference the single-tile max_m 128 design of one warpgroup at one CTA per SM without ov (call A's fastest
    max_m 128 design on every weight). At M = 128 _scaled_mm runs 128-row weight tiles of 64 tokens, two CTAs per
    weight tile (ncu, call C), where these designs ran 64-row tiles of 128 tokens and took 41% more SM cycles."""
    ref = [d for d in decode_probe.overlay_designs(n, k, dtype=FP8, epilogue="scale_tensor", max_ms=(128,))
           if d["wg"] == 1 and not d.get("ov")][:1]
    return decode_probe.overlay_designs(n, k, dtype=FP8, epilogue="scale_tensor", max_ms=(128,), tt=2) + ref


def simt_lb8_designs(n: int, k: int) -> list[dict]:
    """--simt-lb8 (session 36): CUDA-core designs loading 8 bytes a lane (decode_simt's `lb`), for an e4m3 K that
    is no whole number of 16-byte warp loads (Qwen2.5-32B TP4's 1280 and 6912, where builds offered no CUDA-core
    kernel): max_m 1 and 2, 2-8 rows, every warp count up to 10 that divides K's 8-byte loads, 1-3 loads a row in
    flight, both scale epilogues; beside designs_for's kernels of max_m up to 16, which serve M = 1-2 there now."""
    from aotgemm.compiler.sources import decode_kernels as dk

    out = [d for scale in SCALES for d in dk.designs_for(n, k, "sm_90a", "scale_" + scale, FP8) if d["max_m"] <= 16]
    loads = k // (32 * 8)
    for scale in SCALES:
        for max_m in (1, 2):
            for rows in (2, 4, 8):
                for warps in [w for w in range(10, 0, -1) if loads % w == 0]:
                    for unroll in (1, 2, 3):
                        try:
                            d = dk.make_simt_design(n, k, max_m=max_m, rows=rows, warps=warps, unroll=unroll,
                                                    pdl=True, epilogue="scale_" + scale, dtype=FP8, load_bytes=8)
                        except ValueError:
                            continue
                        if d not in out:
                            out.append(d)
    return out


# --simt-gaps (session 36): the e4m3 weights of the shipped manifests without measured CUDA-core designs at M = 1
SIMT_GAP_SHAPES = [(7168, 8192), (8192, 3584), (1792, 5120), (13824, 5120), (6144, 2560), (2560, 4096), (19456, 2560),
                   (2560, 9728)]


def simt_gap_designs(n: int, k: int) -> list[dict]:
    """--simt-gaps: decode_probe.simt_gap_designs in e4m3 with per-tensor scales, at max_m 1 and with 16-byte loads
    only (2-8 rows, every warp count up to 10 that divides K's 16-byte warp loads, 1-2 loads a row in flight), after
    designs_for's kernels of max_m up to 16. Time with `run --all-buckets --ms 1`."""
    return decode_probe.simt_gap_designs(n, k, dtype=FP8, epilogue="scale_tensor", max_ms=(1,), load_sizes=(16,))


# `compile` grids of decode_probe that replace designs_for's, by flag (the first given wins, in this order): e4m3
# with per-tensor scales, except --simt-m, which takes both scale epilogues
GRIDS = {"--cp-gaps": lambda n, k: decode_probe.cp_gap_designs(n, k, dtype=FP8, epilogue="scale_tensor"),
         "--tma8": lambda n, k: decode_probe.tma8_designs(n, k, dtype=FP8, epilogue="scale_tensor"),
         "--tma-table": lambda n, k: decode_probe.tma_table_designs(n, k, dtype=FP8, epilogue="scale_tensor",
                                                                     max_ms=(16, 32), other_kinds=True),
         # session 39: the same at max_m 64, whose e4m3 entries date from session 7 (before session 30's output
         # stage); run with --model-top 99 to rank every candidate in a model
         "--tma-table-64": lambda n, k: decode_probe.tma_table_designs(n, k, dtype=FP8, epilogue="scale_tensor",
                                                                        max_ms=(64,), other_kinds=True),
         "--simt-gaps": simt_gap_designs, "--simt-lb8": simt_lb8_designs, "--overlay": overlay_designs, "--multicast": multicast_designs, "--tokens": tokens_designs,
         "--rf": lambda n, k: decode_probe.rf_designs(n, k, dtype=FP8, epilogue="scale_tensor"),
         "--simt-m": lambda n, k: [d for scale in SCALES for d in decode_probe.simt_m_designs(
             n, k, dtype=FP8, epilogue="scale_" + scale, max_ms=(2,))],
         "--edges": lambda n, k: decode_probe.edge_designs(n, k, dtype=FP8, epilogue="scale_tensor"),
         "--mid-sweep": lambda n, k: decode_probe.mid_sweep_designs(n, k, dtype=FP8, epilogue="scale_tensor")}


# the e4m3 weights each grid was cut for (a grid not named here, and --explore or --tma-sweep: SHAPES)
GRID_SHAPES = {"--overlay": OVERLAY_SHAPES, "--multicast": OVERLAY_SHAPES, "--tokens": OVERLAY_SHAPES,
               "--simt-gaps": SIMT_GAP_SHAPES, "--cp-gaps": decode_probe.CP_GAP_SHAPES,
               "--tma8": decode_probe.TMA8_SHAPES, "--tma-table": decode_probe.TMA8_SHAPES,
               "--tma-table-64": decode_probe.TMA8_SHAPES}


def compile_main(outdir: str, shapes, argv) -> None:
    from aotgemm.compiler.sources import decode_kernels as dk

    flag = decode_probe.grid_flag(argv, GRIDS)
    explore, tma_sweep = "--explore" in argv, "--tma-sweep" in argv
    table, extra = {}, []
    for n, k in shapes:
        if flag:
            table.update(decode_probe.symbol_table(GRIDS[flag](n, k)))
            continue
        table.update(decode_probe.symbol_table(
            d for scale in SCALES for d in dk.designs_for(n, k, "sm_90a", "scale_" + scale, FP8)))
        if explore or tma_sweep:
            more = decode_probe.symbol_table(
                explore_designs(n, k) if explore
                else decode_probe.tma_sweep_designs(n, k, dtype=FP8, epilogue="scale_tensor", with_designs_for=False))
            more = {s: d for s, d in more.items() if s not in table}
            extra += list(more)
            table.update(more)
    decode_probe.compile_and_link(outdir, table)
    (Path(outdir) / "explore.json").write_text(json.dumps(extra))


# --------------------------------------------------------------------------- GPU half

def random_fp8(rows, cols, generator):
    """Random e4m3 values over most of the format's range (|v| up to ~64), never all zero."""
    import torch

    v = torch.randn(rows, cols, device="cuda", generator=generator) * 8.0
    return v.clamp(-448, 448).to(torch.float8_e4m3fn)


def scales_of(d: dict) -> str:
    """A design's scale kind ("tensor", "row") from its scale epilogue (scale_tensor, scale_row)."""
    return d["epilogue"].removeprefix("scale_")


def random_scales(scale: str, m: int, n: int, k: int, generator):
    """Positive float32 scales: scale_a [1]; scale_b [1] ("tensor") or [N] ("row"), sized so outputs are O(1)."""
    import torch

    sa = torch.rand(1, device="cuda", generator=generator) + 0.5
    nb = n if scale == "row" else 1
    sb = (torch.rand(nb, device="cuda", generator=generator) + 0.5) / (64.0 * math.sqrt(k))
    return sa, sb


def reference(x, w, sa, sb):
    """float32 reference on the dequantized operands."""
    return (x.float() @ w.float().t()) * sa * sb


def check_child(outdir: str, symbols: list, result_path: str) -> None:
    """decode_probe.run_checks' child: decode_probe.check_child on fp8 x and W with random scales."""
    decode_probe.check_child(outdir, symbols, result_path, seed=lambda sym: sum(map(ord, sym)) * 7919 % 2**31,
                             activations=random_fp8, weights=random_fp8,
                             extras=lambda d, m, g: random_scales(scales_of(d), m, d["n"], d["k"], g),
                             reference=reference)


class Fp8Operands:
    """What aotgemm.timing.GraphTimer reads (sets of (x, w, extras), outs, sources), for fp8 operands:
    copies spanning 3x the L2, extras = {"sa", "sb"} (our layout) and {"sa_mm", "sb_mm"} (_scaled_mm's)."""

    def __init__(self, m, n, k, scale, seed=0):
        import torch

        g = torch.Generator(device="cuda").manual_seed(seed)
        per = m * k + n * k + 2 * m * n
        copies = max(2, min(16, math.ceil(3 * L2_BYTES / per)))
        self.sets = []
        for _ in range(copies):
            sa, sb = random_scales(scale, m, n, k, g)
            if scale == "row":  # _scaled_mm's row-wise form: scale_a [M, 1], scale_b [1, N]
                mm = (sa.reshape(1, 1).expand(m, 1).contiguous(), sb.reshape(1, n))
            else:
                mm = (sa.reshape(()), sb.reshape(()))
            self.sets.append((random_fp8(m, k, g), random_fp8(n, k, g),
                              {"sa": sa, "sb": sb, "sa_mm": mm[0], "sb_mm": mm[1]}))
        self.outs = [torch.empty(m, n, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]
        self.sources = [random_fp8(m, k, g) for _ in range(copies)]

    def __len__(self):
        return len(self.sets)


def scaled_mm_call(x, w, out, e):
    import torch

    torch._scaled_mm(x, w.t(), e["sa_mm"], e["sb_mm"], out_dtype=torch.bfloat16, out=out)


def kernel_call(fn):
    import torch

    def call(x, w, out, e):
        fn(x, w.t(), out, e["sa"], e["sb"], torch.cuda.current_stream().cuda_stream)

    return call


def floor_us(n, k):
    return n * k / (HBM_TBPS * 1e6)


def time_point(mod, designs, n, k, m, scale, cands, trials=15, model=False):
    """{name: Comparison vs _scaled_mm} for the candidates, trials interleaved; with `model`, a copy
    kernel writes x just before each GEMM (aotgemm.timing's model mode, the figure the tuner decides by)."""
    import torch

    from aotgemm.timing import GraphTimer, compare, interleaved

    ops = Fp8Operands(m, n, k, scale)
    reps = max(2, min(20, int(600 / max(floor_us(n, k), 1.0))))
    timers = {"_scaled_mm": GraphTimer(scaled_mm_call, ops, reps=reps, model=model)}
    for sym in cands:
        timers[sym] = GraphTimer(kernel_call(mod[sym]), ops, reps=reps, model=model)
    samples = interleaved(timers, trials)
    res = {sym: compare(samples[sym], samples["_scaled_mm"]) for sym in cands}
    del timers, ops
    torch.cuda.synchronize()
    return res


def run_main(outdir: str, log: str, budget_s: float = 1e9, all_buckets: bool = False) -> None:
    import torch

    from aotgemm.timing import warm_up

    logd = Path(log)
    logd.mkdir(parents=True, exist_ok=True)
    mod, designs = decode_probe._load(outdir)
    props = torch.cuda.get_device_properties(0)
    header = (f"# fp8_decode_probe on {torch.cuda.get_device_name(0)} ({props.multi_processor_count} SMs), "
              f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, torch {torch.__version__}")
    print(header, flush=True)
    t0 = time.time()
    status = decode_probe.run_checks(outdir, designs, logd, script=__file__)
    print(f"checks took {time.time() - t0:.0f} s", flush=True)
    good = {s: d for s, d in designs.items() if status.get(s, {}).get("status") == "ok"}
    # _scaled_mm's own error on one shape, for scale (same inputs as a check)
    g = torch.Generator(device="cuda").manual_seed(1)
    x, w = random_fp8(8, 4096, g), random_fp8(4096, 4096, g)
    sa, sb = random_scales("tensor", 8, 4096, 4096, g)
    ref = reference(x, w, sa, sb)
    mm = torch._scaled_mm(x, w.t(), sa.reshape(()), sb.reshape(()), out_dtype=torch.bfloat16).float()
    print(f"_scaled_mm rel. error on the same kind of inputs (4096x4096, M=8): "
          f"{((mm - ref).norm() / ref.norm()).item():.2e}", flush=True)

    explore_path = Path(outdir) / "explore.json"
    explore = set(json.loads(explore_path.read_text())) if explore_path.exists() else set()
    warm_up()
    rows = []
    shapes = [s for s in SHAPES if any((d["n"], d["k"]) == s for d in designs.values())]
    for n, k in shapes:
        for m in TIME_MS:
            for scale in SCALES:
                if time.time() - t0 > budget_s:
                    print(f"time budget of {budget_s:.0f} s spent: skipping {n}x{k} M={m} {scale}", flush=True)
                    continue
                mine = {s: d for s, d in good.items() if (d["n"], d["k"]) == (n, k) and scales_of(d) == scale}
                # the designs of the two smallest max_m buckets that hold m (--all-buckets: of all)
                buckets = sorted({d["max_m"] for d in mine.values() if d["max_m"] >= m})[:None if all_buckets else 2]
                cands = sorted(s for s, d in mine.items() if d["max_m"] in buckets)
                if not cands:
                    continue
                t1 = time.time()
                res = time_point(mod, designs, n, k, m, scale, cands)
                top = sorted(res, key=lambda s: res[s].kernel.median_us)[:MODEL_TOP]
                mres = time_point(mod, designs, n, k, m, scale, top, model=True)
                for sym, c in res.items():
                    mc = mres.get(sym)
                    rows.append({"n": n, "k": k, "m": m, "scale": scale, "symbol": sym, "explore": sym in explore,
                                 "us": c.kernel.median_us, "spread": c.kernel.spread,
                                 "mm_us": c.cublas.median_us, "mm_spread": c.cublas.spread,
                                 "ratio": c.ratio_median, "ratio_low": c.ratio_low,
                                 "model_us": mc and mc.kernel.median_us, "mm_model_us": mc and mc.cublas.median_us,
                                 "model_ratio": mc and mc.ratio_median})
                best = min(res, key=lambda s: res[s].kernel.median_us)
                print(f"{n}x{k} M={m} {scale}: _scaled_mm {res[best].cublas.median_us:.2f} us, best {best[8:]} "
                      f"{res[best].kernel.median_us:.2f} us [{time.time() - t1:.1f} s]", flush=True)
                (logd / "fp8_decode_probe.json").write_text(json.dumps({"header": header, "rows": rows,
                                                                       "checks": status}, indent=1))
    (logd / "fp8_decode_probe.json").write_text(json.dumps({"header": header, "rows": rows, "checks": status},
                                                           indent=1))
    report(rows, status, header, logd)


def report(rows, status, header, logd):
    lines = [header, "best of designs_for's kernels per point; speedup = median over interleaved rounds of "
             "_scaled_mm/ours; %floor: W bytes / 4.26 TB/s over ours; spread: (p90-p10)/median, the larger of "
             "the two sides; '| explore': a faster design outside designs_for",
             f"{'shape':>11} {'M':>3} {'scale':<6} {'best kernel':<42} {'ours us':>7} {'_s_mm us':>8} "
             f"{'speedup':>7} {'%floor':>6} {'spread':>6} | {'best in model':<42} {'model':>6} {'_s_mm':>6} {'x':>5}"]
    geo = {s: [] for s in SCALES}
    for key in sorted({(r["n"], r["k"], r["m"], r["scale"]) for r in rows},
                      key=lambda t: (SHAPES.index((t[0], t[1])), t[2], t[3])):
        rs = [r for r in rows if (r["n"], r["k"], r["m"], r["scale"]) == key and not r.get("explore")]
        b = min(rs, key=lambda r: r["us"])
        ex = [r for r in rows if (r["n"], r["k"], r["m"], r["scale"]) == key and r.get("explore")]
        bx = min(ex, key=lambda r: r["us"]) if ex else None
        n, k, m, scale = key
        geo[scale].append(b["ratio"])
        lines.append(f"{f'{n}x{k}':>11} {m:>3} {scale:<6} {b['symbol'][8:]:<42} {b['us']:7.2f} {b['mm_us']:8.2f} "
                     f"{b['ratio']:7.2f} {100 * floor_us(n, k) / b['us']:6.1f} "
                     f"{100 * max(b['spread'], b['mm_spread']):5.1f}%"
                     + (f" | {bm['symbol'][8:]:<42} {bm['model_us']:6.2f} {bm['mm_model_us']:6.2f} {bm['model_ratio']:5.2f}"
                        if (bm := min((r for r in rows if (r["n"], r["k"], r["m"], r["scale"]) == key
                                       and r.get("model_us")), key=lambda r: r["model_us"], default=None)) else "")
                     + (f" | explore {bx['symbol'][8:]} {bx['us']:.2f}" if bx and bx["us"] < b["us"] else ""))
    for s, v in geo.items():
        if v:
            lines.append(f"geomean speedup ({s} scales, best kernel per point): "
                         f"{math.exp(sum(map(math.log, v)) / len(v)):.3f}x over {len(v)} points; "
                         f"below 1.0: {sum(1 for r in v if r < 1.0)}")
    bad = sorted(s for s, e in status.items() if e.get("status") != "ok")
    worst = max((e.get("worst_err", 0.0) for e in status.values() if e.get("status") == "ok"), default=float("nan"))
    lines.append(f"kernels checked: {len(status)} (every M 1..max_m), failing: {len(bad)} {bad[:10]}; "
                 f"worst rel. error of the passing ones {worst:.2e}")
    text = "\n".join(lines)
    (Path(logd) / "fp8_decode_probe.txt").write_text(text + "\n")
    print(text, flush=True)


def table_main(logd: str) -> None:
    """From a --tma-sweep run's fp8_decode_probe.json: per shape and TMA bucket (max_m 16/32/64, timed at
    M = max_m), the two fastest TMA designs as decode_design_tables.TMA_FP8_SM90 entries ("stages,wg,bk,ck"),
    ranked by the model-mode time where it was taken (the figure the tuner decides by), else back to back."""
    import re

    from results_io import read_json  # a committed run's JSON may be packed (scripts/pack_results.py)

    data = read_json(Path(logd) / "fp8_decode_probe.json")
    out: dict = {}
    for r in data["rows"]:
        sym = r["symbol"]
        mm = re.match(r"aotgemm_tma(\d+)_n(\d+)k(\d+)_m(\d+)_wg(\d+)bk(\d+)ck(\d+)", sym)
        if not mm or r["scale"] != "tensor":
            continue
        st, n, k, max_m, wg, bk, ck = (int(v) for v in mm.groups())
        if r["m"] != max_m:
            continue
        key = (n, k)
        model = r.get("model_us")
        out.setdefault(key, {}).setdefault(max_m, []).append(
            (0 if model else 1, model or r["us"], f"{st},{wg},{bk},{ck}", r["ratio"], r.get("model_ratio")))
    print("TMA_FP8_SM90 = {")
    for (n, k) in sorted(out):
        ranked = {mx: sorted(v) for mx, v in sorted(out[(n, k)].items())}
        ent = {mx: [e[2] for e in v[:2]] for mx, v in ranked.items()}
        best = {mx: f"{v[0][3]:.2f}/{(v[0][4] or float('nan')):.2f}" for mx, v in ranked.items()}
        print(f"    ({n}, {k}): {ent},  # x back to back / in model: {best}".replace("'", '"'))
    print("}")


def main(argv):
    global TIME_MS, SCALES, MODEL_TOP
    if len(argv) >= 2 and argv[0] == "compile":
        flag = decode_probe.grid_flag(argv, GRIDS)
        compile_main(argv[1], decode_probe.parse_shapes(argv, GRID_SHAPES.get(flag, SHAPES)), argv)
    elif len(argv) >= 2 and argv[0] == "run":
        log = argv[argv.index("--log") + 1] if "--log" in argv else os.environ.get("OUT", argv[1])
        if "--ms" in argv:
            TIME_MS = tuple(int(v) for v in argv[argv.index("--ms") + 1].split(","))
        budget = float(argv[argv.index("--budget") + 1]) if "--budget" in argv else 1e9
        if "--scales" in argv:
            SCALES = tuple(argv[argv.index("--scales") + 1].split(","))
        if "--model-top" in argv:
            MODEL_TOP = int(argv[argv.index("--model-top") + 1])
        run_main(argv[1], log, budget, "--all-buckets" in argv)
    elif len(argv) >= 2 and argv[0] == "table":
        table_main(argv[1])
    elif argv and argv[0] == "_check":
        check_child(argv[1], argv[3:], argv[2])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
