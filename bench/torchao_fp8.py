"""torchao's float8 inference linears, as torchao runs them and as `aotgemm.runtime.patch` serves them.

    python bench/torchao_fp8.py BUNDLE [--m 1,2,...] [--trials 15] [--compile static|dynamic] [-o OUT.json]

Each fp8 layer (N x K) of BUNDLE (a tuned per-tensor or per-token fp8 bundle) becomes an nn.Linear that
torchao quantizes (`quantize_(..., Float8DynamicActivationFloat8WeightConfig(granularity=PerTensor() or
PerRow()))`, torchao's default mm_config: fast accumulation). Per M, one forward of that layer on bf16 x:

    torchao   torchao's F.linear: quantize x (its kernels), then torch._scaled_mm(..., use_fast_accum=True)
    patched   AotGemmTorchaoFp8Linear.forward: the same quantization, then aotgemm_scaled_mm.fast_accum (the
              bundle's kernel where its dispatch has one at this M, else the same _scaled_mm call)

So the GEMM always runs right after the kernel that writes its input, as in a model. Timed the aotgemm.timing
way: each side captured `timing.reps_for` times in a CUDA graph over copies of the layer and of x that together exceed L2
three times (rotated), interleaved rounds after untimed warm-up ones, medians, spread (p90-p10)/median. Before
timing, each point's patched output is checked against a float32 GEMM of torchao's own e4m3 operands. Eager,
torchao's activation quantization runs as several small kernels; with --compile both sides are
torch.compile'd, as torchao recommends serving, and Inductor fuses them, so the GEMM is a larger share of the
layer: `static`, one graph per M (as a server captures a CUDA graph per batch size), or `dynamic` (M symbolic,
one graph for every M). Each side is compiled afresh for each layer shape (Dynamo reset first).
A compiled patched layer traces the op at a static M a bundle kernel serves, and with M symbolic where the
bundle has a kernel for the layer at some M (the op then decides per call); elsewhere it is torchao's own
(aotgemm/runtime/torchao_fp8.py). Compiled, the quantization kernels' times move between graphs of the same
code (2-4x at a static M: bench/results/h200-2026-12-03/session27), so with --compile a third side, `control`,
is torchao's layer compiled a second time: its ratio to torchao (column `control`) is how far two graphs of the
same code time apart at that point, and a gain counts only where it is larger. With per-tensor scales and M
symbolic (torch 2.11), Inductor's per-tensor quantization of x dominates and swings: torchao's o layer took
140 us at M = 64 and 2.7 ms at M = 1024, and the control ran 0.37x-2.08x (bench/results/h200-2026-12-03/
session28, call C): that mode times the quantization, not the GEMM. Needs torch, tvm_ffi and torchao (no DSL).
Prints a table and writes JSON (atomically).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class LayerCopies:
    """timing.Operands' shape: sets of (x, layer, {}) where the "weight" is a torchao-quantized nn.Linear."""

    def __init__(self, layers: list, m: int, seed: int) -> None:
        import torch

        g = torch.Generator(device="cuda").manual_seed(seed)
        k = layers[0].in_features
        self.sets = [(torch.randn(m, k, device="cuda", generator=g).to(torch.bfloat16), lin, {}) for lin in layers]
        self.outs = [None] * len(layers)
        self.sources = [torch.randn_like(s[0]) for s in self.sets]

    def __len__(self) -> int:
        return len(self.sets)


def quantized_layers(n: int, k: int, copies: int, rowwise: bool, seed: int) -> list:
    import torch
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, PerTensor, quantize_

    torch.manual_seed(seed)
    layers = torch.nn.ModuleList(torch.nn.Linear(k, n, bias=False, device="cuda", dtype=torch.bfloat16)
                                 for _ in range(copies))
    with torch.no_grad():
        for lin in layers:
            lin.weight.mul_(k ** 0.5 / 3)  # entries of about 1/3: kaiming's are ~k^-0.5
    quantize_(layers, Float8DynamicActivationFloat8WeightConfig(granularity=PerRow() if rowwise else PerTensor()))
    return list(layers)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle")
    ap.add_argument("--m", default=None, help="token counts (comma-separated; default: the bundle's M buckets)")
    ap.add_argument("--trials", type=int, default=15)
    ap.add_argument("--compile", choices=("static", "dynamic"), default=None,
                    help="torch.compile both sides: one graph per M (static) or M symbolic (dynamic)")
    ap.add_argument("-o", "--output", default=None, help="JSON to write (default bench/results/torchao_fp8-DATE.json)")
    a = ap.parse_args(argv)

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import torchao
        from torchao.quantization.quantize_.common import _choose_quant_func_and_quantize_tensor

    import aotgemm.runtime as rt
    from aotgemm import timing
    from aotgemm.bundle.io import atomic_write_bytes
    from aotgemm.problem import FLOAT8_E4M3, LINEAR, GemmProblem
    from aotgemm.runtime import torchao_fp8

    t0 = time.perf_counter()
    props, _, b, target = timing.open_for_gpu(a.bundle)
    forms = {e.epilogue for e in target.dispatch if e.dtype == "float8_e4m3fn"}
    rowwise = "scale_rowwise" in forms
    if not rowwise and "scale_tensor" not in forms:
        raise SystemExit(f"{a.bundle} has no per-tensor or per-token fp8 entries (only {sorted(forms)})")
    epi = "scale_rowwise" if rowwise else "scale_tensor"
    names = {(ly.n, ly.k): ly.name for ly in b.index.layers}
    shapes = sorted({(e.n, e.k) for e in target.dispatch if (e.dtype, e.epilogue) == ("float8_e4m3fn", epi)})
    ms = [int(v) for v in a.m.split(",")] if a.m else list(b.index.m_buckets)
    rt.load(a.bundle)

    def sides():
        """(torchao, patched, control) layer calls: eager, or each compiled afresh for one layer shape (Dynamo
        reset first, so no graph of another shape, and no recompile of one, shapes them). control is torchao's
        layer again, a second graph of the same code."""
        fns = (lambda lin, x: lin(x), lambda lin, x: torchao_fp8.forward(lin, x), lambda lin, x: lin(x))
        if not a.compile:
            return fns
        torch._dynamo.reset()
        return tuple(torch.compile(f, dynamic=a.compile == "dynamic") for f in fns)

    if a.compile:
        # a graph per side and per layer copy (static: and per M), above Dynamo's default limit of 8
        torch._dynamo.config.cache_size_limit = 256
        torch._dynamo.config.accumulated_cache_size_limit = 1024
        torch._dynamo.config.automatic_dynamic_shapes = a.compile == "dynamic"

    def graph_call(run):
        """A side's layer call in timing.Operands' call shape (x, "weight" = the layer, out, extras)."""
        return lambda x, lin, out, ex: run(lin, x)

    timing.warm_up()
    rows = []
    for n, k in shapes:
        copies = max(2, min(8, math.ceil(3 * props.L2_cache_size / (n * k))))
        layers = quantized_layers(n, k, copies, rowwise, seed=n + k)
        run_torchao, run_patched, run_control = sides()
        calls = {"patched": graph_call(run_patched), "torchao": graph_call(run_torchao)}
        if a.compile:
            calls["control"] = graph_call(run_control)
        reason = torchao_fp8.unserved_reason(layers[0])
        if reason is not None:
            raise SystemExit(f"{n}x{k}: patch would not serve torchao's layer: {reason}")
        for m in ms:
            # correctness first: fresh x, against float32 on torchao's own e4m3 operands
            x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
            w = layers[0].weight
            q = _choose_quant_func_and_quantize_tensor(x, w.act_quant_kwargs)
            ref = (q.qdata.float() * q.scale.float()) @ (w.qdata.float() * w.scale.float()).t()
            rt.reset_stats()
            got = torchao_fp8.forward(layers[0], x)
            torch.cuda.synchronize()
            err = ((got.float() - ref).norm() / ref.norm()).item()
            served = rt.stats().total_hits == 1
            if not (err < 1e-2 and torch.isfinite(got).all()):
                raise SystemExit(f"{n}x{k} M={m}: patched output off by {err:.2e} against float32")
            if a.compile:  # Inductor's fused quantization of x may round an element to the next e4m3 value
                dev = ((run_patched(layers[0], x).float() - got.float()).norm() / got.float().norm()).item()
                if not dev < 3e-2:
                    raise SystemExit(f"{n}x{k} M={m}: compiled patched output off by {dev:.2e} against eager")
            del x, q, ref, got
            ops = LayerCopies(layers, m, seed=m)
            reps = timing.reps_for(GemmProblem(FLOAT8_E4M3, LINEAR, epi, n, k), m)
            timers = {side: timing.GraphTimer(call, ops, reps=reps) for side, call in calls.items()}
            s = timing.interleaved(timers, a.trials, warmup=timing.WARMUP_ROUNDS)
            c = timing.compare(s["patched"], s["torchao"])
            control = timing.compare(s["control"], s["torchao"]).ratio_median if "control" in s else None
            rows.append({"layer": names.get((n, k), f"{n}x{k}"), "n": n, "k": k, "m": m,
                         "served": served, "rel_err": err,
                         "us": round(c.kernel.median_us, 3), "torchao_us": round(c.cublas.median_us, 3),
                         "speedup": round(c.ratio_median, 4), "speedup_p20": round(c.ratio_low, 4),
                         "spread": round(max(c.kernel.spread, c.cublas.spread), 4)})
            if control is not None:
                rows[-1]["control"] = round(control, 4)
            print(f"{rows[-1]['layer']:>8} M={m:>5} {'bundle' if served else 'miss':>6}  "
                  f"{c.kernel.median_us:8.2f} us vs {c.cublas.median_us:8.2f}  x{c.ratio_median:.3f}  "
                  f"spread {rows[-1]['spread']:.1%}" + ("" if control is None else f"  control x{control:.3f}"),
                  flush=True)
            del ops, timers
        del layers
        torch.cuda.empty_cache()
    rt.unload()

    def geo(rs):
        return math.exp(statistics.fmean(math.log(r["speedup"]) for r in rs)) if rs else float("nan")

    small = [r for r in rows if r["m"] <= 16]
    summary = {"geomean_speedup": round(geo(rows), 4), "geomean_speedup_m_le_16": round(geo(small), 4),
               "points": len(rows), "served": sum(r["served"] for r in rows),
               "lowest": min(rows, key=lambda r: r["speedup"]) if rows else None}
    controls = [r["control"] for r in rows if "control" in r]
    if controls:
        summary["control_range"] = [min(controls), max(controls)]
    doc = {"what": "torchao float8 linears (Float8DynamicActivationFloat8WeightConfig, "
                   f"{'PerRow' if rowwise else 'PerTensor'}, fast accumulation): patched vs torchao"
                   + (f", both torch.compile'd ({a.compile} M)" if a.compile else ", eager"), "compiled": a.compile,
           "gpu": props.name, "date": date.today().isoformat(), "bundle": str(a.bundle), "torch": torch.__version__,
           "torchao": torchao.__version__, "trials": a.trials, "seconds": round(time.perf_counter() - t0, 1),
           "summary": summary, "rows": rows}
    out_path = Path(a.output or f"bench/results/torchao_fp8-{date.today().isoformat()}.json")
    atomic_write_bytes(out_path, json.dumps(doc, indent=1).encode())

    low = summary["lowest"]
    print(f"\n{props.name}, {date.today().isoformat()}, torch {torch.__version__}, torchao {torchao.__version__}: "
          f"torchao fp8 linears ({'per token' if rowwise else 'per tensor'}, "
          f"{'torch.compile, ' + a.compile + ' M' if a.compile else 'eager'}), patched vs torchao, "
          f"{a.trials} interleaved CUDA-graph rounds, medians")
    print(f"geomean {summary['geomean_speedup']:.3f}x over {len(rows)} points ({summary['geomean_speedup_m_le_16']:.3f}x "
          f"at M <= 16); bundle kernels at {summary['served']} points; lowest "
          f"{low['layer']} M={low['m']} {low['speedup']:.3f}x (spread {low['spread']:.1%})" if low else "no points")
    if controls:
        print(f"control (torchao's layer compiled twice, one against the other): {min(controls):.3f}x-"
              f"{max(controls):.3f}x; a gain counts only beyond that")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
