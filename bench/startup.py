#!/usr/bin/env python
"""Startup cost and per-call host overhead of aotgemm.runtime.

Every startup figure comes from a fresh interpreter (one subprocess per
measurement, repeated, medians reported):

  import      `import torch`, then `import aotgemm.runtime` (after torch), and both together
  load        `aotgemm.runtime.load(bundle)` with a cold library cache (fresh AOTGEMM_CACHE_DIR)
              and a warm one, with load()'s own phase timings; CUDA initialisation is timed
              before it, separately
  first GEMM  the first call of the op on a shape a kernel serves (synchronised), then the second

Per-call overhead (one subprocess, needs a GPU): for each layer of the bundle at each --m,
  op       torch.ops.aotgemm.aotgemm_linear(x, w, None)
  direct   the tvm_ffi kernel function called directly: fn(x, w.t(), out, stream), all prepared
  mm       torch.mm(x, w.t())            (cuBLAS)
  linear   torch.nn.functional.linear(x, w)  (cuBLAS)
each timed (a) with CUDA events around every call (median over --iters: device time per call)
and (b) as a tight loop of --iters calls by wall clock: `host_us` = loop time before the
final synchronize / iters (what the host spends issuing one call), `loop_us` = including it.

Synthetic startup (--synthetic-kernels N --library PATH, no GPU needed): a bundle whose one
target references N kernels (N distinct symbols, one per dispatch entry, over
ceil(N / 10) (N, K) shapes x 10 M buckets), with PATH (a real kernel library .so, e.g. one
extracted from a real bundle) as its library blob. What is synthetic: the N symbols do not
exist in the library, so they cannot be resolved; the figures are the index parse and
validation (open_bundle), check_environment (machine facts injected to match), the
dispatch-table build over N entries (with a stand-in function per symbol), the library
extraction (cold, warm) and its dlopen through tvm_ffi. With --bundle, symbol resolution is
measured on the real bundle's own kernels, and `estimated_load_ms` adds N times that
per-symbol cost.

    python bench/startup.py --bundle artifacts/model.agb --out startup.json
    python bench/startup.py --synthetic-kernels 500 --library /path/lib.so [--bundle B] --out synth.json
    python bench/startup.py --synthetic-kernels 500 --bundle B     # library taken from B's target
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing


# --- children: each runs in a fresh interpreter and prints one JSON line -----------------
def child_import(_args) -> dict:
    t0 = time.perf_counter()
    import torch  # noqa: F401

    t1 = time.perf_counter()
    import aotgemm.runtime  # noqa: F401

    t2 = time.perf_counter()
    bad = sorted(m for m in sys.modules if m.startswith(("cutlass", "nvMatmulHeuristics", "aotgemm.compiler")))
    return {"import_torch_ms": 1e3 * (t1 - t0), "import_runtime_ms": 1e3 * (t2 - t1), "total_ms": 1e3 * (t2 - t0),
            "tvm_ffi_imported": "tvm_ffi" in sys.modules, "forbidden_modules": bad}


def _first_kernel_entry(b):
    for (dt, _layout, _epilogue, n, k, bucket), route in sorted(b.dispatch.table.items()):
        if route.fn is not None:
            return dt, n, k, bucket
    return None


def child_load(args) -> dict:
    t0 = time.perf_counter()
    import torch

    import aotgemm.runtime as rt

    t1 = time.perf_counter()
    torch.cuda.init()
    torch.empty(1, device="cuda")
    torch.cuda.synchronize()
    t2 = time.perf_counter()
    b = rt.load(args.bundle, strict=True)
    t3 = time.perf_counter()
    out = {"import_ms": 1e3 * (t1 - t0), "cuda_init_ms": 1e3 * (t2 - t1), "load_ms": 1e3 * (t3 - t2),
           "load_phases_ms": {k: 1e3 * v for k, v in b.timings.items()}, "extracted": b.extracted,
           "kernels": len(b.target.kernels), "dispatch_entries": len(b.target.dispatch)}
    first = _first_kernel_entry(b)
    if first is not None:
        dt, n, k, bucket = first
        dtype = getattr(torch, dt)
        x = torch.randn(bucket, k, device="cuda", dtype=dtype)
        w = torch.randn(n, k, device="cuda", dtype=dtype)
        torch.cuda.synchronize()
        t4 = time.perf_counter()
        rt.linear(x, w)
        torch.cuda.synchronize()
        t5 = time.perf_counter()
        rt.linear(x, w)
        torch.cuda.synchronize()
        t6 = time.perf_counter()
        out.update(first_gemm_ms=1e3 * (t5 - t4), second_gemm_ms=1e3 * (t6 - t5),
                   first_gemm_shape={"dtype": dt, "m": bucket, "n": n, "k": k},
                   first_gemm_hit=rt.stats().total_hits == 2)
    return out


def _time_variant(fn, iters: int) -> dict:
    import torch

    for _ in range(20):
        fn()
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    for s, e in zip(starts, ends):
        s.record()
        fn()
        e.record()
    torch.cuda.synchronize()
    device_us = statistics.median(1e3 * s.elapsed_time(e) for s, e in zip(starts, ends))
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    t1 = time.perf_counter()
    torch.cuda.synchronize()
    t2 = time.perf_counter()
    return {"device_us": device_us, "host_us": 1e6 * (t1 - t0) / iters, "loop_us": 1e6 * (t2 - t0) / iters}


def child_percall(args) -> dict:
    import torch
    import torch.nn.functional as F

    import aotgemm.runtime as rt
    from aotgemm.bundle import bucket_for

    b = rt.load(args.bundle, strict=True)
    dev = torch.device("cuda", torch.cuda.current_device())
    rows, skipped = [], []
    shapes = sorted({(layer.name, layer.n, layer.k) for layer in b.index.layers}, key=lambda s: (s[1], s[2]))
    for name, n, k in shapes:
        for m in args.m:
            bucket = bucket_for(m, b.index.m_buckets)
            entry = next(((dt, r) for (dt, _l, nn, kk, bb), r in b.dispatch.table.items()
                          if (nn, kk, bb) == (n, k, bucket) and r.fn is not None), None)
            if entry is None:
                skipped.append({"layer": name, "n": n, "k": k, "m": m, "why": "no kernel entry for this bucket"})
                continue
            dt, route = entry
            dtype = getattr(torch, dt)
            x = torch.randn(m, k, device=dev, dtype=dtype)
            w = torch.randn(n, k, device=dev, dtype=dtype)
            wt = w.t()
            out = torch.empty(m, n, device=dev, dtype=dtype)
            stream = torch.cuda.current_stream(dev).cuda_stream
            kfn = route.fn
            op = torch.ops.aotgemm.aotgemm_linear
            variants = {
                "op": lambda: op(x, w, None),
                "direct": lambda: kfn(x, wt, out, stream),
                "mm": lambda: torch.mm(x, wt),
                "linear": lambda: F.linear(x, w),
            }
            row = {"layer": name, "dtype": dt, "m": m, "n": n, "k": k, "kernel": route.symbol}
            for vname, fn in variants.items():
                row[vname] = _time_variant(fn, args.iters)
            row["op_minus_direct_host_us"] = row["op"]["host_us"] - row["direct"]["host_us"]
            rows.append(row)
    return {"rows": rows, "skipped": skipped, "device": torch.cuda.get_device_name(dev),
            "stats": rt.stats().to_dict()["total_hits"]}


def child_synthetic(args) -> dict:
    import aotgemm.runtime as rt  # noqa: F401  (what a server imports first)
    from aotgemm.bundle import open_bundle
    from aotgemm.runtime import build_table
    from aotgemm.runtime.environment import check_environment
    from aotgemm.runtime.library import extract_library, load_library, load_tvm_ffi_library, resolve

    info = json.loads(Path(args.synthetic_info).read_text())
    from aotgemm.runtime.environment import MachineFacts

    facts = MachineFacts(**{k: tuple(v) if k == "capability" else v for k, v in info["facts"].items()})
    t0 = time.perf_counter()
    bundle = open_bundle(args.synthetic_bundle)
    t1 = time.perf_counter()
    report = check_environment(bundle.index, facts=facts)
    t2 = time.perf_counter()
    assert report.usable, report.describe()
    target = report.target
    stand_in = {k.symbol: (lambda *a: None) for k in target.kernels}
    table = build_table(target, stand_in)
    t3 = time.perf_counter()
    cold = extract_library(bundle, target.library, cache_root=Path(args.cache_root))
    t4 = time.perf_counter()
    warm = extract_library(bundle, target.library, cache_root=Path(args.cache_root))
    t5 = time.perf_counter()
    load_tvm_ffi_library()
    t6 = time.perf_counter()
    module = load_library(cold.path, target.env["link_mode"], cuda_major=target.env.get("cuda_runtime_major"))
    t7 = time.perf_counter()
    out = {"kernels": len(target.kernels), "dispatch_entries": len(table), "index_bytes": info["index_bytes"],
           "open_bundle_ms": 1e3 * (t1 - t0), "check_environment_ms": 1e3 * (t2 - t1),
           "table_build_ms": 1e3 * (t3 - t2), "extract_cold_ms": 1e3 * (t4 - t3), "extract_warm_ms": 1e3 * (t5 - t4),
           "libtvm_ffi_ms": 1e3 * (t6 - t5), "dlopen_ms": 1e3 * (t7 - t6),
           "cold_extracted": cold.extracted, "warm_extracted": warm.extracted}
    if args.bundle:
        real = open_bundle(args.bundle)
        # the real bundle's target whose library is the one we loaded (same content), else its first target
        lib_sha = bundle.index.blob(target.library).content_sha256
        rt_target = next((t for t in real.index.targets if real.index.blob(t.library).content_sha256 == lib_sha),
                         None)
        if rt_target is not None:
            syms = [k.symbol for k in rt_target.kernels]
            t8 = time.perf_counter()
            resolve(module, syms)
            t9 = time.perf_counter()
            per = (t9 - t8) / max(1, len(syms))
            out.update(real_symbols_resolved=len(syms), resolve_per_symbol_us=1e6 * per,
                       estimated_resolve_ms=1e3 * per * len(target.kernels))
        else:
            out["resolve_note"] = "--bundle holds no target with this library; symbol resolution not measured"
    phases = ("open_bundle_ms", "check_environment_ms", "table_build_ms", "extract_warm_ms", "libtvm_ffi_ms",
              "dlopen_ms", "estimated_resolve_ms")
    out["estimated_warm_load_ms"] = sum(out.get(p, 0.0) for p in phases)
    return out


CHILDREN = {"import": child_import, "load": child_load, "percall": child_percall, "synthetic": child_synthetic}


# --- the parent: orchestration ------------------------------------------------------------
def run_child(kind: str, argv: list[str], env: dict | None = None) -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [e.get("PYTHONPATH")])])
    e.update(env or {})
    proc = subprocess.run([sys.executable, __file__, "--child", kind, *argv], capture_output=True, text=True, env=e)
    if proc.returncode != 0:
        raise SystemExit(f"child {kind!r} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def medians(runs: list[dict]) -> dict:
    out = {}
    for key, val in runs[0].items():
        if isinstance(val, int) and not isinstance(val, bool):
            out[key] = statistics.median_low(r[key] for r in runs)
        elif isinstance(val, float):
            out[key] = statistics.median(r[key] for r in runs)
        elif isinstance(val, dict) and all(isinstance(v, (int, float)) for v in val.values()):
            out[key] = {k: statistics.median(r[key][k] for r in runs) for k in val}
        else:
            out[key] = val
    return out


def build_synthetic(n_kernels: int, library: Path, real_bundle: str | None, out_dir: Path) -> tuple[Path, dict]:
    import dataclasses

    from aotgemm.bundle import BundleIndex, DispatchEntry, Kernel, Layer, Target, open_bundle, write_bundle
    from aotgemm.gpus import GPU_MODELS
    from aotgemm.runtime.environment import MachineFacts

    detected = MachineFacts.detect()
    from aotgemm.gpus import identify

    gpu = (identify(detected.gpu_name, detected.sm_count, detected.capability)
           if detected.gpu_name else None) or GPU_MODELS["H100_SXM"]
    env = {"cuda_driver_min": 13000, "cuda_runtime_major": 13, "compiler": "nvidia-cutlass-dsl 4.8.1",
           "tvm_ffi": detected.tvm_ffi_version or "0.1.15", "link_mode": "static-runtime",
           "torch_tuned_with": None, "tuned_on": None, "tuned_driver": None, "tuned_at": None}
    if real_bundle:
        real = open_bundle(real_bundle)
        t = real.index.target(gpu.name) or real.index.targets[0]
        env = t.env
    buckets = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
    n_shapes = math.ceil(n_kernels / len(buckets))
    shapes = [(1024 + 128 * i, 4096 + 64 * (i % 7)) for i in range(n_shapes)]
    kernels, entries = [], []
    for i in range(n_kernels):
        n, k = shapes[i // len(buckets)]
        sym = f"synthetic_gemm_{i:05d}"
        design = {"tile": [128, 64 + 64 * (i % 4)], "cluster": [1 + i % 2, 1], "stages": 3 + i % 4,
                  "raster": "along_m", "swizzle": 1 + i % 8}
        kernels.append(Kernel(sym, "cutlass_operators", "Sm90StaticPersistentGemmOperator",
                              tuple(sorted((a, tuple(b) if isinstance(b, list) else b) for a, b in design.items())),
                              "bfloat16", "linear", "identity", 8, 0, f"{i:064x}"))
        entries.append(DispatchEntry("bfloat16", "linear", "identity", n, k, buckets[i % len(buckets)], sym, "tuned",
                                     10.0 + i, 11.0 + i, (sym,)))
    entries.sort(key=lambda e: e.key)
    target = Target(gpu.name, gpu.arch, gpu.sm_count, "kernels.so", tuple(sorted(env.items())),
                    (("cutlass_operators", "synthetic"),), tuple(sorted(kernels, key=lambda k: k.symbol)),
                    tuple(entries))
    index = BundleIndex("aotgemm 0.1.0 (synthetic)", "synthetic",
                        tuple(Layer(f"layer{i}", n, k, 1) for i, (n, k) in enumerate(shapes)), buckets, (target,))
    path = out_dir / "synthetic.agb"
    write_bundle(path, index, {"kernels.so": library.read_bytes()})
    b = open_bundle(path)
    facts = MachineFacts(gpu_name=gpu.device_names[0], sm_count=gpu.sm_count, capability=gpu.compute_capability,
                         driver_version=max(int(env.get("cuda_driver_min") or 0), 1),
                         torch_cuda=f"{env.get('cuda_runtime_major') or 13}.0",
                         tvm_ffi_version=str(env.get("tvm_ffi")), dsl_runtime_lib="/synthetic/libcute_dsl_runtime.so",
                         device_index=0)
    info = {"facts": dataclasses.asdict(facts), "index_bytes": b.data_offset - 56, "file_bytes": path.stat().st_size}
    return path, info


def fmt_table(rows: list[tuple], header: tuple) -> str:
    cells = [tuple(str(c) for c in header)] + [tuple(f"{c:.2f}" if isinstance(c, float) else str(c) for c in r)
                                               for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", help="a real bundle built for this GPU")
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    p.add_argument("--repeats", type=int, default=5, help="fresh processes per startup figure (median)")
    p.add_argument("--iters", type=int, default=2000, help="calls per per-call measurement")
    p.add_argument("--m", type=lambda s: [int(x) for x in s.split(",")], default=[1, 128],
                   help="comma-separated M values for the per-call table")
    p.add_argument("--synthetic-kernels", type=int, default=0, help="build a synthetic bundle with this many kernels")
    p.add_argument("--library", type=Path, help="a real kernel library .so for the synthetic bundle")
    p.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    p.add_argument("--synthetic-bundle", help=argparse.SUPPRESS)
    p.add_argument("--synthetic-info", help=argparse.SUPPRESS)
    p.add_argument("--cache-root", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return
    if not args.bundle and not args.synthetic_kernels:
        p.error("give --bundle, or --synthetic-kernels N --library PATH (or both)")
    if args.synthetic_kernels and not args.library and not args.bundle:
        p.error("--synthetic-kernels needs --library PATH (a real kernel library .so) or --bundle to take it from")

    results: dict = {"python": sys.version.split()[0], "repeats": args.repeats, "iters": args.iters}
    common = ["--iters", str(args.iters), "--m", ",".join(map(str, args.m))]
    if args.bundle:
        common += ["--bundle", str(args.bundle)]

    runs = [run_child("import", []) for _ in range(args.repeats)]
    results["import"] = medians(runs)
    imp = results["import"]
    print(fmt_table([("import torch", imp["import_torch_ms"]), ("import aotgemm.runtime (after torch)",
                                                                imp["import_runtime_ms"]),
                     ("both", imp["total_ms"])], ("startup (median, fresh process)", "ms")))
    if imp["forbidden_modules"]:
        print(f"WARNING: importing the runtime pulled in {imp['forbidden_modules']}")

    with tempfile.TemporaryDirectory(prefix="aotgemm-bench-") as tmp:
        tmp = Path(tmp)
        import torch

        if args.bundle and not torch.cuda.is_available():
            print("\nno CUDA GPU here: load / first GEMM / per-call figures skipped")
            results["gpu"] = None
        elif args.bundle:
            cold, warm = [], []
            for i in range(args.repeats):
                cache = tmp / f"cache{i}"
                cold.append(run_child("load", common, {"AOTGEMM_CACHE_DIR": str(cache)}))
                warm.append(run_child("load", common, {"AOTGEMM_CACHE_DIR": str(cache)}))
            results["load_cold"], results["load_warm"] = medians(cold), medians(warm)
            rows = []
            for name, r in (("cold cache", results["load_cold"]), ("warm cache", results["load_warm"])):
                rows.append((f"load() {name}", r["load_ms"]))
                rows += [(f"  {k}", v) for k, v in r["load_phases_ms"].items()]
                if "first_gemm_ms" in r:
                    rows.append((f"first GEMM ({name})", r["first_gemm_ms"]))
                    rows.append((f"second GEMM ({name})", r["second_gemm_ms"]))
            rows.insert(0, ("CUDA init (before load)", results["load_warm"]["cuda_init_ms"]))
            print()
            print(fmt_table(rows, ("load (median, fresh process)", "ms")))

            pc = run_child("percall", common)
            results["per_call"] = pc
            rows = []
            for r in pc["rows"]:
                for v in ("op", "direct", "mm", "linear"):
                    rows.append((f"{r['layer']} M={r['m']} N={r['n']} K={r['k']}", v, r[v]["device_us"],
                                 r[v]["host_us"], r[v]["loop_us"]))
            print()
            print(f"per call on {pc['device']} ({args.iters} iterations; device_us: CUDA events, median; "
                  "host_us: issue time per call in a tight loop; loop_us: with the final sync)")
            print(fmt_table(rows, ("shape", "variant", "device_us", "host_us", "loop_us")))
            for s in pc["skipped"]:
                print(f"  skipped {s}")

        if args.synthetic_kernels:
            library = args.library
            if library is None:  # the library of the --bundle's target for this GPU (else its first target)
                from aotgemm.bundle import open_bundle
                from aotgemm.gpus import identify
                from aotgemm.runtime.environment import MachineFacts

                real = open_bundle(args.bundle)
                f = MachineFacts.detect()
                model = identify(f.gpu_name, f.sm_count, f.capability) if f.gpu_name else None
                t = (real.index.target(model.name) if model else None) or real.index.targets[0]
                library = tmp / t.library
                library.write_bytes(real.blob(t.library))
            path, info = build_synthetic(args.synthetic_kernels, library, args.bundle, tmp)
            (tmp / "info.json").write_text(json.dumps(info))
            runs = []
            for i in range(args.repeats):
                argv = ["--synthetic-bundle", str(path), "--synthetic-info", str(tmp / "info.json"),
                        "--cache-root", str(tmp / f"synth-cache{i}")]
                if args.bundle:
                    argv += ["--bundle", str(args.bundle)]
                runs.append(run_child("synthetic", argv))
            s = medians(runs)
            s["file_bytes"] = info["file_bytes"]
            results["synthetic"] = s
            rows = [(k.removesuffix("_ms"), v) for k, v in s.items() if k.endswith("_ms")]
            print()
            print(f"synthetic bundle: {s['kernels']} kernels, {s['dispatch_entries']} dispatch entries, "
                  f"index {s['index_bytes']} bytes, file {s['file_bytes']} bytes (symbols synthetic: not resolved)")
            print(fmt_table(rows, ("synthetic phase (median)", "ms")))
            if "resolve_per_symbol_us" in s:
                print(f"  symbol resolution measured on {s['real_symbols_resolved']} real symbols: "
                      f"{s['resolve_per_symbol_us']:.2f} us each")

    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, sort_keys=True))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
