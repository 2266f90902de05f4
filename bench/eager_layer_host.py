#!/usr/bin/env python
"""Where a patched Llama-3.1-8B decoder layer spends the time it loses in eager mode when the bundle misses.

    python bench/eager_layer_host.py FUSED.agb [--ms 16,128] [--trials 15] [--reps 50]

The layer of bench/epilogue_block.py (transformers LlamaDecoderLayer, random bf16 weights, hidden
[M, 1, H]) in three forms: as built; with the SwiGLU MLP fused only (`fuse_mlp`: gate_up + SwiGLU as one
op, then down_proj); and as `aotgemm.runtime.patch` leaves it (also the MLP's residual add folded into
down_proj's GEMM). Per M, trials interleaved: the host CPU time of one forward (time.thread_time over
--reps back-to-back forwards) and its CUDA-event time (the two differ where the GPU waits for the host),
medians and p10-p90; then the GPU kernels of one forward per form (torch.profiler: count and total µs)
and cProfile's top functions of the patched forward. Needs a GPU.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _stats(v: list[float]) -> str:
    v = sorted(v)
    return f"{statistics.median(v):8.1f} ({v[len(v) // 10]:.1f}-{v[min(len(v) - 1, 9 * len(v) // 10)]:.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("--ms", default="16,128")
    ap.add_argument("--trials", type=int, default=15)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--gc", choices=("on", "freeze", "off"), default="on",
                    help="Python's cyclic GC while timing: as is, gc.freeze() after setup, or disabled")
    ap.add_argument("--no-profile", action="store_true", help="timings only")
    args = ap.parse_args()
    import torch

    import aotgemm.runtime as rt
    import epilogue_block as eb
    from aotgemm.runtime.patch import patch_model

    layer, hidden, _ = eb.build_layer(False, "cuda")
    loaded = rt.load(args.bundle)
    forms = {"eager": layer}
    mlp_only = copy.deepcopy(layer)
    # the MLP fused, its residual not: served without residual_add (patch_model's fuse_decoder_residual declines)
    served = frozenset(s for s in loaded.served if s[3] != "residual_add")
    forms["mlp fused"] = mlp_only
    print("mlp fused:", patch_model(mlp_only, loaded.shapes, served=served))
    full = copy.deepcopy(layer)
    forms["patched"] = full
    print("patched:", rt.patch(full))
    gen = torch.Generator(device="cuda").manual_seed(1)
    import gc

    gc.collect()
    if args.gc == "freeze":
        gc.freeze()
    elif args.gc == "off":
        gc.disable()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, bundle {args.bundle}, gc {args.gc}")
    with torch.no_grad():
        for m in (int(v) for v in args.ms.split(",")):
            x = torch.randn(m, 1, hidden, generator=gen, device="cuda", dtype=torch.bfloat16)
            host = {k: [] for k in forms}
            gpu = {k: [] for k in forms}
            for f in forms.values():
                for _ in range(20):
                    f(x)
            torch.cuda.synchronize()
            for _ in range(args.trials):
                for k, f in forms.items():
                    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    a.record()
                    t0 = time.thread_time()
                    for _ in range(args.reps):
                        f(x)
                    host[k].append((time.thread_time() - t0) / args.reps * 1e6)
                    b.record()
                    b.synchronize()
                    gpu[k].append(a.elapsed_time(b) / args.reps * 1e3)
            rt.reset_stats()
            full(x)
            s = rt.stats()
            print(f"\nM={m} (patched: {s.total_hits} hits of {s.total_hits + s.total_misses} calls): median (p10-p90) "
                  f"µs per forward, {args.trials} interleaved trials of {args.reps}")
            print(f"{'form':12s} {'host CPU':>22s} {'CUDA events':>22s}")
            for k in forms:
                print(f"{k:12s} {_stats(host[k]):>22s} {_stats(gpu[k]):>22s}")
            if args.no_profile:
                continue
            for k, f in forms.items():
                with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
                    for _ in range(10):
                        f(x)
                    torch.cuda.synchronize()
                rows = {}
                for e in prof.key_averages():
                    if e.device_type == torch.autograd.DeviceType.CUDA and e.device_time_total > 0:
                        rows[e.key[:60]] = (e.count / 10, e.device_time_total / 10)
                total = sum(t for _, t in rows.values())
                print(f"  {k}: GPU kernels per forward {sum(c for c, _ in rows.values()):.0f}, {total:.1f} µs")
                for name, (c, t) in sorted(rows.items(), key=lambda kv: -kv[1][1])[:12]:
                    print(f"    {c:4.0f} x {t:8.1f} µs  {name}")
            for k in ("eager", "patched"):
                pr = cProfile.Profile()
                pr.enable()
                for _ in range(args.reps):
                    forms[k](x)
                pr.disable()
                torch.cuda.synchronize()
                buf = io.StringIO()
                pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(16)
                print(f"  cProfile, {k}, {args.reps} forwards:")
                print("\n".join("    " + ln for ln in buf.getvalue().splitlines() if ln.strip())[:5000])


if __name__ == "__main__":
    main()
