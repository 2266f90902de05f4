"""Probe: at M = 128-512, where cuBLAS serves every bf16 bundle's small tensor-parallel weights at 45-75% of the
floor, does quack's Hopper GEMM with split-K, reduced inside the kernel (SplitKMode.SERIAL: a per-tile turnstile,
the last split adds the others' fp32 partials and stores; deterministic), beat cuBLAS?

    python bench/midm_splitk_probe.py [--m 128 256 512] [--json OUT.json]   # GPU host with the DSL and quack
    python bench/midm_splitk_probe.py --fp8 ...    # the same weights in e4m3 against torch._scaled_mm

--fp8 (prepared in session 40, not yet run): e4m3 x and W with per-tensor scales, quack's slow (promoting)
accumulation, the product of the scales as its alpha (a device scalar made once per operand set, as a runtime
would hold it), bf16 out, against `_scaled_mm` (use_fast_accum=False), in quack's e4m3 tiles that do not spill
when they promote (cooperative 128 x {128, 160}: aotgemm/compiler/sources/quack.py). Why: `_scaled_mm` runs these
weights at M = 128-512 at 30-52% of the floor (session 39's benches: 1792 x 5120 at M = 256, 9.73 us, 31%), where
bf16 cuBLAS runs at 45-75%; session 33's bf16 answer (0.78-1.04x) need not hold there.

Why: the tuner's candidates there (quack without split-K, cutlass.operators, our swap-AB decode kernels up to
`max_m` 256) ran 0.74x-1.00x of cuBLAS on these weights (session 29, session 32's tune logs), and session 29 named
what was left: tokens on the MMA's M side with 128-row tiles and a split-K for the short grids. quack 0.6.5 has
that split-K, but it needs a workspace (fp32 partials per output tile) and per-tile flags that our call
convention (`fn(x, wt, out, stream)`) has no slot for; this measures whether adding one would pay before it is
built. The workspace and flags are allocated once per shape here (the flags clean themselves), as a runtime
would hold them, not per call as quack's own host code does (a memset per call).

Per point (weight, M): cuBLAS's kernel names (torch.profiler), each quack design and split checked against a
float32 reference (output poisoned) and timed back to back against cuBLAS (aotgemm.timing: CUDA graphs,
L2-rotated operands, interleaved rounds), then the fastest timed again against cuBLAS as in a model (x written
just before each GEMM). Prints a table last.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aotgemm import timing  # noqa: E402
from draw_spread import versus  # noqa: E402 (bench/, this script's folder, is on sys.path)
from aotgemm.problem import LINEAR, GemmProblem  # noqa: E402

# (model, layer) -> (N, K): the four bf16 manifests' weights whose M = 128-512 buckets cuBLAS serves
WEIGHTS = {
    ("70b-tp8", "qkv"): (1280, 8192), ("70b-tp8", "o"): (8192, 1024), ("70b-tp8", "down"): (8192, 3584),
    ("70b-tp8", "gate_up"): (7168, 8192),
    ("qwen32b-tp4", "qkv"): (1792, 5120), ("qwen32b-tp4", "o"): (5120, 1280), ("qwen32b-tp4", "down"): (5120, 6912),
    ("qwen32b-tp4", "gate_up"): (13824, 5120),
    ("qwen3-4b", "qkv"): (6144, 2560), ("qwen3-4b", "o"): (2560, 4096), ("qwen3-4b", "down"): (2560, 9728),
    ("llama-8b", "qkv"): (6144, 4096), ("llama-8b", "o"): (4096, 4096), ("llama-8b", "down"): (4096, 14336),
}
# (tile M over tokens, tile N over weight rows, ping-pong, cluster M, cluster N)
# (a 2x1 cluster pairs token tiles: at M = 128 one of the pair has no rows; 1x2 pairs weight tiles and multicasts x)
DESIGNS = ((128, 128, True, 1, 2), (128, 64, True, 1, 2), (128, 192, True, 1, 2), (128, 128, True, 2, 1))
# e4m3: quack's cooperative tiles whose promotion does not spill (quack.SM90_FP8_DESIGNS), pairing weight tiles
FP8_DESIGNS = ((128, 128, False, 1, 2), (128, 160, False, 1, 2), (128, 128, False, 1, 1))
SPLITS = (1, 2, 4, 8)
TRIALS = 11
# --wave-fit (call B): cuBLAS's kernels at these points (call A's profiles) use weight tiles of 64-192 rows chosen
# so that the output's tiles fill the 132 SMs in about one wave (nvjet 80x128 on 5120 rows at M = 256: 64 x 2
# tiles). These are quack's tiles of that kind: tile N (weight rows) any multiple of 16 it takes, 64 or 128 tokens
# (not ping-pong: with one tile per CTA, one of its two warpgroups would idle; quack's 64-row tile has one
# warpgroup, its 128-row one two, on the same tile), each design and split kept for a point only where its work
# units (tiles x splits) fill at least WAVE_FILL of one wave.
WAVE_TILE_N = (64, 80, 96, 112, 128, 144, 160, 176, 192, 208)
WAVE_TILE_M = ((64, False), (128, False))
WAVE_FILL = 0.8


def wave_fit_designs(m, n, k, sms):
    """(design, split) pairs whose units fill their waves on `sms` SMs (--wave-fit)."""
    out = []
    for tm, pp in WAVE_TILE_M:
        for tn in WAVE_TILE_N:
            tiles = -(-m // tm) * -(-n // tn)
            cluster_n = 2 if -(-n // tn) % 2 == 0 else 1  # x multicast over weight-tile pairs where they pair up
            for split in SPLITS:
                units = tiles * split
                waves = -(-units // sms)
                if units / (waves * sms) < WAVE_FILL or waves > 1 or (split > 1 and k // 64 < 4 * split):
                    continue
                out.append(((tm, tn, pp, 1, cluster_n), split))
    return out


def quack_call(design, split):
    from quack.gemm_config import GemmConfig, SplitKMode
    from quack.gemm_interface import gemm_tuned

    tm, tn, pp, cm, cn = design
    cfg = GemmConfig(tile_m=tm, tile_n=tn, pingpong=pp, cluster_m=cm, cluster_n=cn, split_k=split,
                     is_dynamic_persistent=False, device_capacity=9)
    alphas = {}  # e4m3: scale_a * scale_b per operand set, made once (a runtime holds the product)

    def call(x, w, out, extras):
        alpha = 1.0
        if extras:
            key = (extras["scale_a"].data_ptr(), extras["scale_b"].data_ptr())
            if key not in alphas:
                alphas[key] = (extras["scale_a"] * extras["scale_b"]).reshape(1)
            alpha = alphas[key]
        gemm_tuned.fn(x, w.t(), out, alpha=alpha, config=cfg, split_k=split, split_k_mode=SplitKMode.SERIAL)
    return call


def hold_split_k_buffers():
    """quack allocates the split-K flags (zeroed) and partials per call; keep one set per shape instead."""
    import quack.gemm as qg

    made = {}
    original = qg._split_k_buffers

    def held(D, mode, tile_M, tile_N, cluster_M, cluster_N, sm100):
        key = (tuple(D.shape), D.device, mode, tile_M, tile_N, cluster_M, cluster_N, sm100)
        if key not in made:
            made[key] = original(D, mode, tile_M, tile_N, cluster_M, cluster_N, sm100)
        return made[key]

    qg._split_k_buffers = held


def cublas_kernels(problem, m):
    import torch
    from torch.profiler import ProfilerActivity, profile

    ops = timing.Operands(problem, m, 0, seed=1)
    x, w, extras = ops.sets[0]
    stock = timing.cublas_call(problem)  # torch.mm, or torch._scaled_mm for e4m3
    stock(x, w, ops.outs[0], extras)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        stock(x, w, ops.outs[0], extras)
        torch.cuda.synchronize()
    return sorted({e.name[:70] for e in prof.events() if e.device_type.name == "CUDA"})


def main(argv):
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--wave-fit", action="store_true", help="cuBLAS-like wave-filling tiles (see WAVE_TILE_N)")
    ap.add_argument("--fp8", action="store_true", help="e4m3, per-tensor scales, against torch._scaled_mm")
    args = ap.parse_args(argv)
    if args.fp8 and args.wave_fit:
        ap.error("--wave-fit takes 16-bit tiles; --fp8 times quack's e4m3 tiles (FP8_DESIGNS)")
    dtype, epi, designs = ("float8_e4m3fn", "scale_tensor", FP8_DESIGNS) if args.fp8 else ("bfloat16", "identity",
                                                                                          DESIGNS)
    hold_split_k_buffers()
    props = torch.cuda.get_device_properties(0)
    print(f"{props.name}, {props.multi_processor_count} SMs, torch {torch.__version__}", flush=True)
    timing.warm_up()
    rows = []
    for (model, layer), (n, k) in WEIGHTS.items():
        problem = GemmProblem(dtype, LINEAR, epi, n, k)
        base = timing.cublas_call(problem)
        for m in args.m:
            names = cublas_kernels(problem, m)
            ops = timing.Operands(problem, m, props.L2_cache_size, seed=m)
            reps = timing.reps_for(problem, m)
            tried = []
            if args.wave_fit:
                pairs = wave_fit_designs(m, n, k, props.multi_processor_count)
            else:
                pairs = [(d, s) for d in designs for s in SPLITS
                         if s == 1 or (2 * s <= k // 64
                                       and -(-m // d[0]) * -(-n // d[1]) < props.multi_processor_count)]
            for design, split in pairs:
                call = quack_call(design, split)
                try:
                    err = timing.check(call, problem, m, seed=m + 1)
                except Exception as e:  # noqa: BLE001 (a design quack does not build is reported, not fatal)
                    print(f"  {model} {layer} M={m} {design} s{split}: {type(e).__name__}: {str(e)[:120]}",
                          flush=True)
                    continue
                if not err < 2e-2:
                    print(f"  {model} {layer} M={m} {design} s{split}: WRONG rel err {err:.2e}", flush=True)
                    continue
                c = versus(call, base, ops, reps, TRIALS, model=False)
                tried.append({"design": design, "split": split, "err": err, "us": c.kernel.median_us,
                              "cublas_us": c.cublas.median_us, "ratio": c.ratio_median,
                              "spread": max(c.kernel.spread, c.cublas.spread)})
            if not tried:
                continue
            best = max(tried, key=lambda t: t["ratio"])
            cm = versus(quack_call(best["design"], best["split"]), base, ops, reps, TRIALS, model=True)
            nosplit = max((t["ratio"] for t in tried if t["split"] == 1), default=0.0)
            row = {"model": model, "layer": layer, "n": n, "k": k, "m": m, "cublas_kernels": names,
                   "best": best, "model_ratio": cm.ratio_median, "model_cublas_us": cm.cublas.median_us,
                   "best_no_split": nosplit, "tried": tried}
            rows.append(row)
            print(f"{model:12s} {layer:8s} M={m:4d} cuBLAS {best['cublas_us']:7.2f} us  best {best['design']} "
                  f"s{best['split']} {best['us']:7.2f} us  x{best['ratio']:.3f} (model x{cm.ratio_median:.3f}, "
                  f"no split x{nosplit:.3f})  {' | '.join(names)[:110]}", flush=True)
            if args.json:  # as it goes: a call that runs out of time keeps what it measured
                args.json.write_text(json.dumps(rows, indent=1))
            del ops
            torch.cuda.empty_cache()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print("\nweight               N     K     M  cuBLAS us  best design          split  us       x b2b  x model "
          " x no split")
    for r in rows:
        b = r["best"]
        d = "{}x{} {} c{}x{}".format(b["design"][0], b["design"][1], "pp" if b["design"][2] else "coop",
                                      *b["design"][3:])
        print(f"{r['model'] + ' ' + r['layer']:20s} {r['n']:5d} {r['k']:5d} {r['m']:5d} {b['cublas_us']:9.2f}  "
              f"{d:20s} {b['split']:5d}  {b['us']:7.2f}  {b['ratio']:6.3f} {r['model_ratio']:7.3f}  "
              f"{r['best_no_split']:7.3f}")
    ratios = [r["model_ratio"] for r in rows]
    if ratios:
        print(f"median x as in a model {statistics.median(ratios):.3f}; points >= 1.03x as in a model: "
              f"{sum(x >= 1.03 for x in ratios)} of {len(ratios)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
