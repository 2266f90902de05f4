"""Session 28: do the per-tensor fp8 bundle's kernels beat torch._scaled_mm with use_fast_accum=True, the call
torchao's float8 linears make (and the fast_accum overload's misses), as they beat its default mode?

Call B's profile of a compiled torchao layer at o M = 2 ran cuBLAS's fast-accumulation kernel in 5.28 us
(nvjet_sm90_qqtst_64x8_128x16) and the bundle's kernel in 6.02 us, where `aotgemm bench` had timed the kernel
at 6.40 us against the default mode's 7.72. Per fp8 layer of the bundle and M where its dispatch has a kernel:
the kernel, _scaled_mm (default mode) and _scaled_mm(use_fast_accum=True), interleaved CUDA-graph rounds over
L2-rotated operands (timing.Operands), back to back and in a model (x written just before), medians.
    python fast_accum_probe.py BUNDLE [TRIALS]
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[5]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from aotgemm import timing  # noqa: E402
from aotgemm.problem import GemmProblem  # noqa: E402


def fast_call(x, w, out, extras):
    torch._scaled_mm(x, w.t(), extras["scale_a"], extras["scale_b"], out_dtype=out.dtype, use_fast_accum=True,
                     out=out)


def main():
    path, trials = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 11
    props, model, b, target = timing.open_for_gpu(path)
    mod = timing.load_kernel_library(b.blob(target.library), target.env["link_mode"])
    names = {(ly.n, ly.k): ly.name for ly in b.index.layers}
    timing.warm_up()
    print(f"{props.name}: kernel vs _scaled_mm default and fast accumulation ({trials} rounds, medians, us)")
    print(f"{'layer':>8} {'M':>4} {'mode':>5} {'kernel':>8} {'default':>8} {'fast':>8} {'k/def':>6} {'k/fast':>6} spread")
    rows = []
    for d in sorted(target.dispatch, key=lambda d: (d.n, d.k, d.m_bucket)):
        if d.kernel == "cublas" or d.epilogue != "scale_tensor" or d.m_bucket > 64:
            continue
        p = GemmProblem(d.dtype, d.layout, d.epilogue, d.n, d.k)
        m = d.m_bucket
        kernel = timing.kernel_call(mod.get_function(d.kernel), p)
        err = timing.check(kernel, p, m, seed=m)
        assert err < timing.TOLERANCE, (d.n, d.k, m, err)
        ops = timing.Operands(p, m, props.L2_cache_size, seed=m + 7)
        reps = timing.reps_for(p, m)
        for model_mode in (False, True):
            timers = {s: timing.GraphTimer(c, ops, reps=reps, model=model_mode)
                      for s, c in (("kernel", kernel), ("default", timing.cublas_call(p)), ("fast", fast_call))}
            s = timing.interleaved(timers, trials, warmup=timing.WARMUP_ROUNDS)
            cd, cf = timing.compare(s["kernel"], s["default"]), timing.compare(s["kernel"], s["fast"])
            spread = max(cd.kernel.spread, cd.cublas.spread, cf.cublas.spread)
            row = (names.get((d.n, d.k), f"{d.n}x{d.k}"), m, "model" if model_mode else "b2b", cd.kernel.median_us,
                   cd.cublas.median_us, cf.cublas.median_us, cd.ratio_median, cf.ratio_median, spread)
            rows.append(row)
            print(f"{row[0]:>8} {m:>4} {row[2]:>5} {row[3]:8.2f} {row[4]:8.2f} {row[5]:8.2f} {row[6]:6.3f} "
                  f"{row[7]:6.3f} {spread:.1%}", flush=True)
        del ops
    losses = [r for r in rows if r[7] < 0.99]
    print(f"\n{len(rows)} points; the kernel below 0.99x of fast accumulation at {len(losses)}: "
          + ", ".join(f"{r[0]} M={r[1]} {r[2]} {r[7]:.3f}x" for r in losses))


if __name__ == "__main__":
    main()
