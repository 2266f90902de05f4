#!/usr/bin/env python
"""Eager host overhead per GEMM call, and load() + first GEMM, of aotgemm.runtime.

    python bench/runtime_overhead.py --bundle B.agb [--out results.json]      # on the GPU the bundle is for
    python bench/runtime_overhead.py --cpu                                     # CPU: a C stand-in kernel

Host overhead: per call, on the host, of a patched nn.Linear (the eager path, runtime/eager.py) and of
torch.ops.aotgemm.aotgemm_linear (the op, through the dispatcher) against F.linear on the same x and weight,
for a bundle hit (the smallest bundle shape whose M=1 bucket names a kernel) and a miss (the same shape at an
M whose bucket chose cuBLAS). Timed as issue loops: `--batch` calls back to back, then a synchronize outside
the timed region; the figure is the median over `--batches` batches of (loop time / batch). The GPU is not
the bottleneck as long as a batch fits in the launch queue (64 calls do). Also timed: the pieces of the
eager path (its checks, the signature + memo lookup, torch.empty, the stream lookup, the prepared kernel
call, the counter) and the op's check_inputs and decision.

Startup (fresh processes, --repeats each, medians): `import tvm_ffi` after torch (what load() used to pay),
and load(bundle) + the first GEMM (synchronised) with a warm library cache, after torch and CUDA are
initialised (those are the application's), with load()'s phases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _timer(fn, batch: int, batches: int, sync) -> float:
    """Median over batches of the host time per call (µs) of `batch` back-to-back calls."""
    for _ in range(batch):
        fn()
    sync()
    per = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        t1 = time.perf_counter()
        sync()
        per.append(1e6 * (t1 - t0) / batch)
    return statistics.median(per)


def _cpu_setup():
    """A CPU dispatch table whose kernel is the C stand-in of tests/data/cpu_gemm_ffi.c (built here)."""
    import importlib.util
    import shutil

    from aotgemm.runtime import ffi
    from aotgemm.runtime.ops import Dispatch, Route, set_active

    cc = shutil.which("cc") or shutil.which("gcc")
    root = Path(importlib.util.find_spec("tvm_ffi").submodule_search_locations[0])
    out = Path(tempfile.mkdtemp(prefix="aotgemm-overhead-")) / "cpu_gemm.so"
    subprocess.run([cc, "-shared", "-fPIC", "-O2", f"-I{root / 'include'}", f"-I{root / '3rdparty/dlpack/include'}",
                    str(ROOT / "tests/data/cpu_gemm_ffi.c"), "-o", str(out), f"-L{root / 'lib'}", "-ltvm_ffi"],
                   check=True)
    fn = ffi.KernelLibrary(out).get_function("cpu_gemm")
    n = k = 16
    table = {("bfloat16", "linear", "identity", n, k, 16): Route("cpu_gemm", fn, 8),
             ("bfloat16", "linear", "identity", n, k, 128): Route(None, None)}
    set_active(Dispatch((16, 128), table, device_type="cpu", name="cpu"))
    return "cpu", n, k, 1, 64


def _gpu_setup(bundle: str):
    import aotgemm.runtime as rt

    b = rt.load(bundle)
    table = b.dispatch.table
    hits = sorted((key[3] * key[4], key) for key, r in table.items()
                  if r.fn is not None and key[2] == "identity" and key[5] == b.index.m_buckets[0])
    if not hits:
        raise SystemExit(f"{bundle}: no kernel serves the smallest M bucket of an identity problem")
    _, key = hits[0]
    dt, _, _, n, k, _ = key
    misses = [bk for (d2, _, e2, n2, k2, bk), r in sorted(table.items())
              if (d2, e2, n2, k2) == (dt, "identity", n, k) and r.fn is None]
    miss_m = misses[0] if misses else None
    return "cuda", n, k, 1, miss_m


def host_overhead(args) -> dict:
    import torch
    import torch.nn.functional as F

    import aotgemm.runtime as rt
    from aotgemm.runtime import eager, ops
    from aotgemm.runtime.patch import patch_model

    dev, n, k, hit_m, miss_m = _cpu_setup() if args.cpu else _gpu_setup(args.bundle)
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    dtype = torch.bfloat16
    lin = torch.nn.Linear(k, n, bias=False, device=dev, dtype=dtype)
    plain = torch.nn.Linear(k, n, bias=False, device=dev, dtype=dtype)  # unpatched: Module.__call__ + F.linear
    patch_model(torch.nn.Sequential(lin), frozenset({("bfloat16", n, k)}))
    w = lin.weight
    plain.weight = w
    res = {"device": torch.cuda.get_device_name() if dev == "cuda" else "cpu", "torch": torch.__version__,
           "n": n, "k": k, "batch": args.batch, "batches": args.batches, "rows": []}
    with torch.no_grad():
        for label, m in (("hit", hit_m), ("miss", miss_m)):
            if m is None:
                continue
            x = torch.randn(m, k, device=dev, dtype=dtype)
            rt.reset_stats()
            lin(x)
            s = rt.stats()
            served = "kernel" if s.total_hits else "cuBLAS: " + ", ".join(s.by_reason())
            t = {name: _timer(f, args.batch, args.batches, sync) for name, f in (
                ("F.linear", lambda: F.linear(x, w)),
                ("nn.Linear", lambda: plain(x)),
                ("patched", lambda: lin(x)),
                ("op", lambda: torch.ops.aotgemm.aotgemm_linear(x, w, None)))}
            row = {"case": label, "m": m, "served_by": served, "us": t,
                   "patched_extra_us": t["patched"] - t["F.linear"], "op_extra_us": t["op"] - t["F.linear"],
                   "patched_minus_unpatched_us": t["patched"] - t["nn.Linear"]}
            if label == "hit":
                memo = lin.__dict__["_aotgemm_memo"]
                served_plan = next(iter(memo.plans.values()))
                call, xp, out = served_plan.call, x.data_ptr(), torch.empty(m, n, device=dev, dtype=dtype)
                sig = (x.shape, x.stride(), x.dtype, x.device, xp % memo.align)
                cuda_index = x.device.index if dev == "cuda" else None
                pieces = {
                    "is_eager": lambda: eager.is_eager(x, w, None),
                    "signature + memo lookup": lambda: memo.plans[(x.shape, x.stride(), x.dtype, x.device,
                                                                   x.data_ptr() % memo.align)],
                    "torch.empty": lambda: torch.empty(served_plan.out_shape, dtype=x.dtype, device=x.device),
                    "stream": (lambda: ops._raw_stream(cuda_index)) if dev == "cuda" else (lambda: 0),
                    "prepared kernel call": lambda: call(xp, m, k, out.data_ptr(), 0 if dev == "cpu" else
                                                         ops._raw_stream(cuda_index)),
                    "counter": lambda: ops._count(served_plan.count_key),
                    "op: check_inputs": lambda: ops.check_inputs(x, w, None),
                    "op: decision": lambda: ops.decision(ops._active, x, w, None),
                    "kernel call, arguments converted": lambda: served_plan.generic[0](x, w.t(), out, 0),
                }
                assert sig in memo.plans
                if dev == "cuda":  # the call path load() used before: tvm_ffi's Python Function (imported last)
                    import tvm_ffi

                    old = tvm_ffi.load_module(str(rt.active().library_path)).get_function(served_plan.call.fn.symbol)
                    wt = w.t()
                    pieces["tvm_ffi Function call (before)"] = lambda: old(x, wt, out, ops._raw_stream(cuda_index))
                row["pieces_us"] = {name: _timer(f, args.batch, args.batches, sync) for name, f in pieces.items()}
            res["rows"].append(row)
    return res


def check(args) -> dict:
    """Correctness on the GPU: every identity kernel entry of the bundle, through the patched module (eager),
    the op, a CUDA graph of the patched module, and the prepared call into a NaN-poisoned output."""
    import torch

    import aotgemm.runtime as rt
    from aotgemm.runtime.ffi import prepared_call
    from aotgemm.runtime.patch import patch_model
    from aotgemm.runtime.table import call_order

    b = rt.active() or rt.load(args.bundle)
    rows, worst = [], 0.0
    g = torch.Generator(device="cuda").manual_seed(0)
    with torch.no_grad():
        for key, route in sorted(b.dispatch.table.items()):
            dt, _, epi, n, k, bucket = key
            if route.fn is None or epi != "identity":
                continue
            dtype = getattr(torch, dt)
            lin = torch.nn.Linear(k, n, bias=False, device="cuda", dtype=dtype)
            lin.weight.copy_(torch.randn(n, k, device="cuda", generator=g) / k ** 0.5)
            patch_model(torch.nn.Sequential(lin), frozenset({(dt, n, k)}))
            lo = max(1, [0, *b.index.m_buckets][list(b.index.m_buckets).index(bucket)] + 1)
            for m in sorted({lo, bucket}):
                x = torch.randn(m, k, device="cuda", dtype=dtype, generator=g)
                ref = x.float() @ lin.weight.float().t()
                rt.reset_stats()
                errs = {}
                errs["eager"] = lin(x)
                errs["op"] = torch.ops.aotgemm.aotgemm_linear(x, lin.weight, None)
                out = torch.full((m, n), float("nan"), device="cuda", dtype=dtype)
                prepared_call(route.fn, call_order("identity"), lin.weight.t(), (), n)(
                    x.data_ptr(), m, k, out.data_ptr(), torch.cuda.current_stream().cuda_stream)
                errs["poisoned"] = out
                xs = x.clone()
                stream = torch.cuda.Stream()
                stream.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(stream):
                    lin(xs)
                torch.cuda.current_stream().wait_stream(stream)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    ys = lin(xs)
                ys.fill_(float("nan"))
                graph.replay()
                errs["graph"] = ys
                torch.cuda.synchronize()
                hits = rt.stats().total_hits
                e = {name: float((y.float() - ref).norm() / ref.norm()) for name, y in errs.items()}
                worst = max(worst, *[v if v == v else float("inf") for v in e.values()])
                rows.append({"n": n, "k": k, "m": m, "kernel": route.symbol, "rel_err": e, "hits": hits})
    return {"entries": len(rows), "worst_rel_err": worst, "all_hit": all(r["hits"] == 4 for r in rows), "rows": rows}


def child_startup(args) -> dict:
    """One fresh process: torch + CUDA first (the application's), then load() + first GEMM."""
    import torch

    torch.empty(1, device="cuda")
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    import aotgemm.runtime as rt

    t1 = time.perf_counter()
    b = rt.load(args.bundle)
    t2 = time.perf_counter()
    key = next(key for key, r in sorted(b.dispatch.table.items()) if r.fn is not None and key[2] == "identity")
    dt, _, _, n, k, bucket = key
    x = torch.randn(bucket, k, device="cuda", dtype=getattr(torch, dt))
    w = torch.randn(n, k, device="cuda", dtype=getattr(torch, dt))
    torch.cuda.synchronize()
    t3 = time.perf_counter()
    y = rt.linear(x, w)
    torch.cuda.synchronize()
    t4 = time.perf_counter()
    err = float((y.float() - x.float() @ w.float().t()).norm() / (x.float() @ w.float().t()).norm())
    return {"import_runtime_ms": 1e3 * (t1 - t0), "load_ms": 1e3 * (t2 - t1), "first_gemm_ms": 1e3 * (t4 - t3),
            "load_plus_first_gemm_ms": 1e3 * (t2 - t1 + t4 - t3),
            "import_load_first_gemm_ms": 1e3 * (t2 - t0 + t4 - t3), "phases_ms": {p: 1e3 * v for p, v in b.timings.items()},
            "first_gemm_hit": rt.stats().total_hits == 1, "rel_err": err, "shape": [bucket, n, k],
            "tvm_ffi_imported": "tvm_ffi" in sys.modules, "extracted": b.extracted}


def child_import_tvm_ffi(_args) -> dict:
    import torch  # noqa: F401

    t0 = time.perf_counter()
    import tvm_ffi  # noqa: F401

    return {"import_tvm_ffi_ms": 1e3 * (time.perf_counter() - t0)}


def _child(kind: str, args) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind] + (["--bundle", args.bundle] if args.bundle else [])
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if p.returncode != 0:
        return {"error": p.stderr[-1500:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def startup(args) -> dict:
    out: dict = {}
    for kind in ("import_tvm_ffi", "startup"):
        runs = [_child(kind, args) for _ in range(args.repeats)]
        good = [r for r in runs if "error" not in r]
        if not good:
            out[kind] = runs[0]
            continue
        med = {key: statistics.median(r[key] for r in good) for key, v in good[0].items() if isinstance(v, float)}
        out[kind] = {"median": med, "runs": good}
    return out


def table(res: dict) -> str:
    lines = [f"host overhead per call, {res['device']}, torch {res['torch']}, N={res['n']} K={res['k']}, "
             f"median of {res['batches']} batches of {res['batch']} calls (µs)",
             f"{'case':5} {'M':>5} {'F.linear':>9} {'nn.Linear':>9} {'patched':>8} {'op':>8} {'patched-F':>10} "
             f"{'patched-nn':>10} {'op-F':>8}  served by"]
    for r in res["rows"]:
        t = r["us"]
        lines.append(f"{r['case']:5} {r['m']:5d} {t['F.linear']:9.2f} {t['nn.Linear']:9.2f} {t['patched']:8.2f} "
                     f"{t['op']:8.2f} {r['patched_extra_us']:10.2f} {r['patched_minus_unpatched_us']:10.2f} "
                     f"{r['op_extra_us']:8.2f}  {r['served_by']}")
    for r in res["rows"]:
        if "pieces_us" in r:
            lines.append("pieces (hit): " + ", ".join(f"{k} {v:.2f}" for k, v in r["pieces_us"].items()))
    s = res.get("startup")
    if s:
        imp = s.get("import_tvm_ffi", {}).get("median", {})
        st = s.get("startup", {})
        if "median" in st:
            m = st["median"]
            lines.append(f"startup (median of {len(st['runs'])} fresh processes): import aotgemm.runtime "
                         f"{m['import_runtime_ms']:.1f} ms, load() {m['load_ms']:.1f} ms, first GEMM "
                         f"{m['first_gemm_ms']:.1f} ms, load()+first GEMM {m['load_plus_first_gemm_ms']:.1f} ms "
                         f"(with the import {m['import_load_first_gemm_ms']:.1f} ms) "
                         f"(hit: {st['runs'][0]['first_gemm_hit']}, rel err {st['runs'][0]['rel_err']:.1e}, "
                         f"tvm_ffi imported: {st['runs'][0]['tvm_ffi_imported']}); phases "
                         + ", ".join(f"{k} {v:.1f}" for k, v in st["runs"][0]["phases_ms"].items()))
        elif st:
            lines.append(f"startup: ERROR {st.get('error', '')[-600:]}")
        if imp:
            lines.append(f"for comparison: import tvm_ffi after torch {imp['import_tvm_ffi_ms']:.1f} ms (no longer paid)")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default=os.environ.get("AOTGEMM_TEST_BUNDLE"))
    ap.add_argument("--cpu", action="store_true", help="no GPU: time the Python path with a C stand-in kernel")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5, help="fresh processes per startup figure")
    ap.add_argument("--skip-startup", action="store_true")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps({"startup": child_startup, "import_tvm_ffi": child_import_tvm_ffi}[args.child](args)))
        return
    if not args.cpu and not args.bundle:
        raise SystemExit("give --bundle (a bundle for this GPU) or --cpu")
    res = host_overhead(args)
    if not args.cpu:
        c = res["check"] = check(args)
        print(f"check: {c['entries']} (shape, M) points, worst rel. err {c['worst_rel_err']:.2e} "
              f"(eager, op, CUDA graph of the eager path, NaN-poisoned prepared call), "
              f"every call a bundle hit: {c['all_hit']}", flush=True)
    if not args.cpu and not args.skip_startup:
        res["startup"] = startup(args)
    print(table(res))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(res, indent=2))
        tmp.replace(args.out)


if __name__ == "__main__":
    main()
