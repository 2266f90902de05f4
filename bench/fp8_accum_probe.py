"""Our fp8 kernels' accumulation against torch._scaled_mm's two modes: error and speed, per served entry.

    python bench/fp8_accum_probe.py BUNDLE [BUNDLE ...] [--log DIR]      # a GPU with the bundles' target

The tuner and `aotgemm bench` compare fp8 kernels with `torch._scaled_mm` in its default mode,
use_fast_accum=False (cuBLASLt promotes the tensor cores' partial sums into float32 every few k-blocks).
Our TMA + wgmma kernels accumulate a whole k range in the warpgroup MMA's accumulator, without such
promotion, as `use_fast_accum=True` does. This probe says how much that matters, for every entry of each
tuned bundle that our kernels serve, at the entry's bucket M:

* error: relative (Frobenius) error against a float64 GEMM of the dequantized operands, on fresh random e4m3
  x and W (normal values) and scales in [0.5, 1.5), outputs poisoned with NaN first: ours, _scaled_mm slow
  and _scaled_mm fast, on the same draw;
* speed: ours against both modes, interleaved rounds of CUDA graphs over L2-rotated operands (aotgemm.timing),
  back to back and in model mode (x written by a copy kernel just before each GEMM); medians, and the spread.

Needs torch and tvm_ffi (no DSL). Prints a table last; with --log also writes it and the JSON there.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRIALS = 15


def _smm(fast: bool):
    import torch

    def call(x, w, out, e):
        sa, sb = e["scale_a"], e["scale_b"]
        if sb.numel() != 1:  # scale_row: _scaled_mm's row-wise form (aotgemm.epilogues.scaled_mm)
            from aotgemm.epilogues import _rowwise_a

            sa, sb = _rowwise_a(sa, x.shape[0]), sb.reshape(1, -1)
        torch._scaled_mm(x, w.t(), sa, sb, out_dtype=torch.bfloat16, out=out, use_fast_accum=fast)
    return call


def _errors(calls: dict, problem, m: int, seed: int) -> dict:
    import torch

    from aotgemm import timing

    g = torch.Generator(device="cuda").manual_seed(seed)
    x, w, e = timing.random_operands(problem, m, g)
    ref = (x.double() @ w.double().t()) * e["scale_a"].double() * e["scale_b"].double()
    out = {}
    for name, call in calls.items():
        y = torch.full((m, problem.n_out), float("nan"), device="cuda", dtype=torch.bfloat16)
        call(x, w, y, e)
        torch.cuda.synchronize()
        err = ((y.double() - ref).norm() / ref.norm()).item()
        out[name] = err if math.isfinite(err) else float("inf")
    return out


def probe_bundle(path: str, l2: int) -> list[dict]:
    from aotgemm import timing
    from aotgemm.bundle import CUBLAS, open_bundle
    from aotgemm.gpus import identify

    import torch

    props = torch.cuda.get_device_properties(0)
    model = identify(props.name, props.multi_processor_count, (props.major, props.minor))
    b = open_bundle(Path(path), verify_blobs=True)
    target = b.index.target(model.name)
    mod = timing.load_kernel_library(b.blob(target.library), target.env["link_mode"])
    kernels = {k.symbol: k for k in target.kernels}
    layers = {(layer.n, layer.k): layer for layer in b.index.layers}
    rows = []
    for d in sorted(target.dispatch, key=lambda d: (d.n, d.k, d.m_bucket)):
        if d.kernel == CUBLAS or d.dtype != "float8_e4m3fn":
            continue
        layer = layers[(d.n, d.k)]
        problem = layer.problem(d.dtype)
        m, kern = d.m_bucket, kernels[d.kernel]
        calls = {"ours": timing.kernel_call(mod.get_function(d.kernel), problem),
                 "smm_slow": _smm(False), "smm_fast": _smm(True)}
        err = _errors(calls, problem, m, seed=m + 31 * d.n)
        ops = timing.Operands(problem, m, l2, seed=m + 11)
        reps = timing.reps_for(problem, m)
        row = {"bundle": b.index.model, "layer": layer.name, "n": d.n, "k": d.k, "m": m, "kernel": d.kernel,
               "family": kern.family, "err": err}
        for mode, model_mode in (("b2b", False), ("model", True)):
            timers = {n: timing.GraphTimer(c, ops, reps=reps, model=model_mode) for n, c in calls.items()}
            t = {n: timing.summarize(v) for n, v in timing.interleaved(timers, TRIALS).items()}
            row[mode] = {n: {"us": round(v.median_us, 3), "spread": round(v.spread, 4)} for n, v in t.items()}
            del timers
        del ops
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main(argv: list[str]) -> None:
    import torch

    from aotgemm import timing

    log = argv[argv.index("--log") + 1] if "--log" in argv else None
    bundles = [a for i, a in enumerate(argv) if a != "--log" and (i == 0 or argv[i - 1] != "--log")]
    if not bundles:
        sys.exit(__doc__)
    props = torch.cuda.get_device_properties(0)
    header = (f"# fp8_accum_probe on {props.name} ({props.multi_processor_count} SMs), "
              f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, torch {torch.__version__}")
    print(header, flush=True)
    timing.warm_up(1.0)
    rows = [r for p in bundles for r in probe_bundle(p, props.L2_cache_size)]
    lines = [header,
             "err: rel. error vs float64 on the dequantized operands (one fresh draw); x slow / x fast: median "
             "_scaled_mm(use_fast_accum=False / True) us over ours, 15 interleaved rounds; b2b: back to back; "
             "model: x written just before; spread: the largest (p90-p10)/median of the three",
             f"{'bundle':<22} {'layer':<8} {'N':>6} {'K':>6} {'M':>3} {'family':<22} | {'err ours':>8} "
             f"{'err slow':>8} {'err fast':>8} | {'b2b x slow':>10} {'x fast':>7} | {'model x slow':>12} "
             f"{'x fast':>7} | spread"]
    for r in rows:
        def ratio(mode, base):
            return r[mode][base]["us"] / r[mode]["ours"]["us"]
        spread = max(v["spread"] for mode in ("b2b", "model") for v in r[mode].values())
        lines.append(f"{r['bundle']:<22} {r['layer']:<8} {r['n']:>6} {r['k']:>6} {r['m']:>3} {r['family']:<22} | "
                     f"{r['err']['ours']:>8.2e} {r['err']['smm_slow']:>8.2e} {r['err']['smm_fast']:>8.2e} | "
                     f"{ratio('b2b', 'smm_slow'):>10.3f} {ratio('b2b', 'smm_fast'):>7.3f} | "
                     f"{ratio('model', 'smm_slow'):>12.3f} {ratio('model', 'smm_fast'):>7.3f} | {spread:.1%}")

    def geo(xs):
        return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")

    for mode in ("b2b", "model"):
        for base in ("smm_slow", "smm_fast"):
            xs = [r[mode][base]["us"] / r[mode]["ours"]["us"] for r in rows]
            lines.append(f"geomean over {len(xs)} served entries, {mode}, vs {base}: {geo(xs):.3f}")
    for name in ("ours", "smm_slow", "smm_fast"):
        errs = sorted(r["err"][name] for r in rows)
        lines.append(f"rel. error {name}: median {errs[len(errs) // 2]:.2e}, max {errs[-1]:.2e}")
    print("\n".join(lines))
    if log:
        os.makedirs(log, exist_ok=True)
        Path(log, "fp8_accum_probe.txt").write_text("\n".join(lines) + "\n")
        Path(log, "fp8_accum_probe.json").write_text(json.dumps({"header": header, "rows": rows}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
