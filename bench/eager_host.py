#!/usr/bin/env python
"""Host time of a forward, eager vs eager-patched, in the same process: what the patched modules add per GEMM call.

    python bench/eager_host.py --cpu                   # CPU: tiny dims, the TVM-FFI CPU stand-in kernels
    python bench/eager_host.py --bundle B.agb          # the GPU the bundle is for: Llama-3.1-8B dims

Models: testing.llama_block_lm_head (5 nn.Linear GEMMs) and, with transformers installed, a LlamaDecoderLayer
(q/k/v/o nn.Linear, the MLP fused by patch(): one swiglu GEMM + down_proj with the residual add). The figure is
the host thread's CPU time (time.thread_time: a loaded machine's other processes do not count) per forward,
the minimum over --rounds rounds of --reps forwards, eager and patched rounds interleaved; per GEMM call is the
difference divided by the patched forward's aotgemm calls. Also reported: bundle hits / calls of one forward
(aotgemm.runtime.stats()) and how many of those calls went through the dispatcher (torch.profiler's count of
aotgemm:: ops: 0 when the eager paths serve them). On CPU the dispatch table is built here: M=1 every GEMM a
kernel (fused kernels for swiglu / residual_add), M=16 kernels for some (the fused ops: identity kernel + torch
epilogue), M=128 cuBLAS (the tuner's choice), larger no entry.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
BUCKETS = (1, 16, 128, 1024)


def _cpu_table(shapes):
    """A CPU dispatch table for `shapes` [(epilogue, n, k)] with the stand-in kernels (see the docstring)."""
    from aotgemm.aoti import testing
    from aotgemm.runtime import ffi
    from aotgemm.runtime.table import Dispatch, Route

    out = Path(tempfile.mkdtemp(prefix="aotgemm-eager-host-"))
    testing.build_cpu_kernel_library(out)
    lib = ffi.KernelLibrary(out / "fake_kernels.so")
    syms = {"identity": testing.TEST_SYMBOL, "swiglu": testing.TEST_SWIGLU_SYMBOL,
            "residual_add": testing.TEST_RESIDUAL_SYMBOL}
    table = {}
    for i, (ep, n, k) in enumerate(shapes):
        fn = lib.get_function(syms[ep]["bfloat16"])
        table[("bfloat16", "linear", ep, n, k, 1)] = Route(ep, fn, 8)
        table[("bfloat16", "linear", ep, n, k, 128)] = Route(None, None)
        if ep == "identity" and i % 2 == 0:
            table[("bfloat16", "linear", ep, n, k, 16)] = Route(ep, fn, 8)
    return Dispatch(BUCKETS, table, device_type="cpu", name="cpu stand-ins")


def _host_us(fn, x, reps: int) -> float:
    t0 = time.thread_time()
    for _ in range(reps):
        fn(x)
    return (time.thread_time() - t0) / reps * 1e6


def _dispatched(fn, x) -> int:
    import torch

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        fn(x)
    return sum(e.count for e in prof.key_averages() if e.key.startswith("aotgemm::"))


def measure(name, eager, patched, xs: dict, args, sync) -> list[dict]:
    import torch

    import aotgemm.runtime as rt

    rows = []
    with torch.no_grad():
        for m, x in xs.items():
            y0 = eager(x).float()
            rt.reset_stats()
            y1 = patched(x).float()
            sync()
            s = rt.stats()
            calls = s.total_hits + s.total_misses
            err = float((y1 - y0).norm() / y0.norm())
            disp = _dispatched(patched, x)
            for f in (eager, patched):
                _host_us(f, x, 5)
            a, b = [], []
            for _ in range(args.rounds):  # interleaved
                a.append(_host_us(eager, x, args.reps))
                sync()
                b.append(_host_us(patched, x, args.reps))
                sync()
            e, p = min(a), min(b)
            rows.append({"model": name, "m": m, "eager_us": e, "patched_us": p, "per_call_us": (p - e) / max(calls, 1),
                         "hits": s.total_hits, "calls": calls, "dispatched": disp, "rel_err": err})
            r = rows[-1]
            print(f"{name:8} M={m:5d} eager {e:8.1f}  patched {p:8.1f} us/forward  {r['per_call_us']:+6.1f} us/GEMM call"
                  f"  hits {s.total_hits}/{calls}  via dispatcher {disp}  err {err:.1e}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu", action="store_true", help="CPU, tiny dims, stand-in kernels")
    ap.add_argument("--bundle", help="the bundle (GPU)")
    ap.add_argument("--ms", default="", help="M values (default CPU 1,16,128,300; GPU 1,16,128,2048)")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--out", help="write the rows as JSON here")
    args = ap.parse_args()
    if not args.cpu and not args.bundle:
        ap.error("give --cpu or --bundle B.agb")
    import torch

    import aotgemm.runtime as rt
    from aotgemm.aoti import testing
    from aotgemm.runtime.ops import set_active
    from aotgemm.runtime.patch import patch_model

    dev = "cpu" if args.cpu else "cuda"
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    if args.cpu:
        torch.set_num_threads(1)
    ms = [int(m) for m in (args.ms or ("1,16,128,300" if args.cpu else "1,16,128,2048")).split(",")]
    bf16 = torch.bfloat16
    dims = dict(hidden=16, q=16, kv=8, inter=24, vocab=40) if args.cpu else {}  # distinct (N, K) per GEMM
    block = testing.llama_block_lm_head(dev, seed=0, **dims)
    h = dims.get("hidden", testing.LLAMA_8B["hidden"])
    rows = []
    if args.cpu:
        d = {**testing.LLAMA_8B, **dims}
        shapes = [("identity", d["q"] + 2 * d["kv"], h), ("identity", h, d["q"]), ("identity", 2 * d["inter"], h),
                  ("identity", h, d["inter"]), ("identity", d["vocab"], h)]
        set_active(_cpu_table(shapes))
        block_shapes = frozenset(("bfloat16", n, k) for _, n, k in shapes)
    else:
        loaded = rt.load(args.bundle)
        block_shapes = loaded.shapes
    patched = copy.deepcopy(block)
    patch_model(patched, block_shapes)
    rows += measure("block", block, patched, {m: testing.deterministic_input((m, h), bf16, dev) for m in ms}, args, sync)
    import epilogue_block as eb

    if args.cpu:
        eb.SMOKE.update(hidden_size=16, intermediate_size=24, num_attention_heads=2, num_key_value_heads=1,
                        head_dim=8)
    try:
        layer, hid, cfg = eb.build_layer(args.cpu, dev)
    except ImportError as e:  # transformers missing
        print(f"decoder layer skipped: {e}")
    else:
        if args.cpu:
            i, nh, kvh, hd = (cfg[k] for k in ("intermediate_size", "num_attention_heads", "num_key_value_heads",
                                               "head_dim"))
            shapes = [("identity", nh * hd, hid), ("identity", hid, nh * hd), ("identity", kvh * hd, hid),
                      ("swiglu", 2 * i, hid), ("identity", 2 * i, hid), ("residual_add", hid, i),
                      ("identity", hid, i)]
            set_active(_cpu_table(shapes))
            layer_shapes = frozenset(("bfloat16", n, k) for _, n, k in shapes)
        else:
            layer_shapes = block_shapes
        patched = copy.deepcopy(layer)
        patch_model(patched, layer_shapes)
        gen = torch.Generator(device=dev).manual_seed(1)
        xs = {m: torch.randn(m, 1, hid, generator=gen, device=dev, dtype=bf16) for m in ms}
        rows += measure("layer", layer, patched, xs, args, sync)
    if args.out:
        tmp = Path(args.out).with_suffix(".tmp")
        tmp.write_text(json.dumps({"device": torch.cuda.get_device_name() if dev == "cuda" else "cpu",
                                   "torch": torch.__version__, "reps": args.reps, "rounds": args.rounds,
                                   "rows": rows}, indent=1))
        tmp.replace(args.out)


if __name__ == "__main__":
    main()
