#!/usr/bin/env python
"""Time to first output and steady-state latency: a Llama-3.1-8B-shaped decoder block + lm_head (bf16).

    AOTGEMM_TEST_BUNDLE=/path/llama.agb python bench/aoti_startup.py [--out bench/results/aoti_startup.json]

Side by side, each measured in a FRESH process (the parent compiles, then starts one worker per row):
  (a) eager                           weights generated on the GPU, run
  (b) torch.compile max-autotune      cold: empty Inductor and Triton caches; compiles and autotunes at first call
  (c) AOTInductor, no bundle          torch._inductor.aoti_load_package of a plain package (GEMMs: cuBLAS)
  (d) AOTInductor + aotgemm bundle    aotgemm.aoti.load; GEMMs the bundle covers run its kernels
  (d') the same package from C++      examples/cpp (built here when cmake is present)

Time to first output (TTFO) runs from the worker's first line (before `import torch`) to the
first forward's output synchronised on the GPU, so it includes importing torch, creating the
CUDA context, getting the model ready (weights generated / package loaded) and the first run.
The C++ figure runs from main() (no interpreter, no import). (c) and (d) run with PATH pointing
nowhere (no compiler reachable) and empty Inductor/Triton cache folders, which must still be
empty afterwards. Prints a table; writes JSON. Weights are random (seeded, generated on the
GPU, never saved). Budget: about 8 minutes on an H100, most of it (b) and the two compiles.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

T_START = time.perf_counter()
REPO = Path(__file__).resolve().parent.parent
SEED = 0
SMALL = {"hidden": 64, "q": 64, "kv": 16, "inter": 96, "vocab": 200}  # --small: a CPU smoke test of this script


def _dims(small: bool) -> dict:
    return dict(SMALL) if small else {}


def _hidden(small: bool) -> int:
    return SMALL["hidden"] if small else 4096


# ---------------------------------------------------------------- worker ---
def _sync(device: str = "cuda"):
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def median_ms(fn, iters: int, device: str) -> float:
    """Median of `iters` timed calls fn() (after 3 untimed): CUDA events on "cuda", wall clock elsewhere.
    Also bench/aoti_latency.py's."""
    import torch

    for _ in range(3):
        fn()
    _sync(device)
    times = []
    for _ in range(iters):
        if device == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def worker(args) -> dict:
    import torch  # noqa: E402  (timed: part of TTFO)

    sys.path.insert(0, str(REPO))
    from aotgemm.aoti import testing

    dev, hidden = args.device, _hidden(args.small)
    t_import = time.perf_counter()
    torch.zeros(1, device=dev)
    _sync(dev)
    t_cuda = time.perf_counter()
    res: dict = {"config": args.worker}
    with torch.no_grad():
        if args.worker in ("eager", "max-autotune"):
            model = testing.llama_block_lm_head(dev, seed=SEED, **_dims(args.small))
            fn = model
            if args.worker == "max-autotune":
                fn = torch.compile(model, mode="max-autotune", dynamic=False)
        elif args.worker == "aoti":
            fn = torch._inductor.aoti_load_package(args.package)
        elif args.worker == "aoti-bundle":
            import aotgemm.aoti as aoti

            fn = aoti.load(args.package)
        else:
            raise SystemExit(f"unknown worker {args.worker}")
        _sync(dev)
        t_ready = time.perf_counter()
        ms = [int(m) for m in args.ms.split(",")]
        x = testing.deterministic_input((ms[0], hidden), torch.bfloat16, dev)
        y = fn(x)
        _sync(dev)
        t_first = time.perf_counter()
        res.update(ttfo_s=t_first - T_START, import_s=t_import - T_START, cuda_init_s=t_cuda - t_import,
                   ready_s=t_ready - t_cuda, first_run_s=t_first - t_ready, first_m=ms[0])
        if args.worker == "aoti-bundle":
            import aotgemm.aoti as aoti

            res["counters_after_first"] = aoti.counters()
            res["state"] = json.loads(aoti.describe())
        res["cutlass_imported"] = any(m == "cutlass" or m.startswith("cutlass.") for m in sys.modules)
        res["select_algorithm_imported"] = "torch._inductor.select_algorithm" in sys.modules
        lat = {}
        for m in ms:
            if args.worker == "max-autotune" and m != ms[0] and not args.compile_all_ms:
                continue  # another M would recompile (and autotune) first
            x = testing.deterministic_input((m, hidden), torch.bfloat16, dev)
            lat[str(m)] = median_ms(lambda: fn(x), args.iters, dev)
        res["latency_ms"] = lat
        if args.worker == "aoti-bundle":
            res["counters"] = aoti.counters()
        del y
    return res


# ---------------------------------------------------------------- parent ---
def _cxx(given: str | None) -> str | None:
    if given:
        return given
    if os.environ.get("CXX"):
        return os.environ["CXX"]
    return "/usr/bin/g++" if os.path.exists("/usr/bin/g++") else None


def _empty_dir(path: Path) -> bool:
    return not path.exists() or not any(path.rglob("*"))


def run_worker(name: str, args, work: Path, package: Path | None, no_compiler: bool, timeout: int) -> dict:
    inductor_cache, triton_cache = work / f"inductor-{name}", work / f"triton-{name}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p), "TORCHINDUCTOR_CACHE_DIR": str(inductor_cache),
           "TRITON_CACHE_DIR": str(triton_cache)}
    if no_compiler:
        env.update(PATH="/nonexistent", CXX="/nonexistent/g++", CC="/nonexistent/gcc")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--ms", args.ms, "--iters", str(args.iters),
           "--device", args.device] + (["--small"] if args.small else [])
    if package:
        cmd += ["--package", str(package)]
    if args.compile_all_ms:
        cmd += ["--compile-all-ms"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"config": name, "error": f"timed out after {timeout} s"}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"config": name, "error": proc.stderr[-2000:], "process_s": wall}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_s"] = wall
    res["no_compiler_on_path"] = no_compiler
    res["inductor_cache_empty"] = _empty_dir(inductor_cache)
    res["triton_cache_empty"] = _empty_dir(triton_cache)
    return res


def build_cpp(work: Path, cxx: str | None) -> Path | None:
    if not shutil.which("cmake"):
        print("cmake not found: skipping the C++ example", flush=True)
        return None
    build = work / "cpp-build"
    cfg = ["cmake", "-S", str(REPO / "examples" / "cpp"), "-B", str(build), f"-DPython3_EXECUTABLE={sys.executable}"]
    if cxx:
        cfg.append(f"-DCMAKE_CXX_COMPILER={cxx}")
    for cmd in (cfg, ["cmake", "--build", str(build), "-j", str(os.cpu_count() or 4)]):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            print(f"C++ example build failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}", flush=True)
            return None
    return build / "aotgemm_aoti_example"


def run_cpp(exe: Path, package: Path, ms: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k in ("HOME", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES",
                                                         "AOTGEMM_CACHE_DIR", "XDG_CACHE_HOME")}
    env["PATH"] = "/nonexistent"
    t0 = time.perf_counter()
    p = subprocess.run([str(exe), str(package), "--m", ms], capture_output=True, text=True, env=env, timeout=300)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        return {"config": "aoti-bundle-cpp", "error": p.stderr[-2000:]}
    r = json.loads(p.stdout)
    return {"config": "aoti-bundle-cpp", "ttfo_s": r["time_to_first_output_ms"] / 1e3, "process_s": wall,
            "init_s": r["init_ms"] / 1e3, "load_s": r["load_ms"] / 1e3, "counters": r["counters"],
            "runs": r["runs"], "no_compiler_on_path": True}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default=os.environ.get("AOTGEMM_TEST_BUNDLE"))
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "aoti_startup.json"))
    ap.add_argument("--work", default=None, help="folder for packages and caches (default: a temporary one)")
    ap.add_argument("--ms", default="1,2048", help="M values: the first is the first forward; latency for each")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--cxx", default=None, help="C++ compiler for the packages (default $CXX, else /usr/bin/g++)")
    ap.add_argument("--skip-max-autotune", action="store_true")
    ap.add_argument("--max-autotune-timeout", type=int, default=300)
    ap.add_argument("--compile-all-ms", action="store_true", help="(b): also compile+autotune for the other M values")
    ap.add_argument("--skip-cpp", action="store_true")
    ap.add_argument("--device", default="cuda", help=argparse.SUPPRESS)  # cpu + --small: smoke test
    ap.add_argument("--small", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--package", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        print(json.dumps(worker(args)))
        return

    if not args.bundle:
        raise SystemExit("give --bundle or set AOTGEMM_TEST_BUNDLE (a bundle built for this GPU)")
    cxx = _cxx(args.cxx)
    if cxx:
        os.environ["CXX"] = cxx  # before torch reads it (AOTInductor packages segfault at load with another g++ on some images)
    import torch

    sys.path.insert(0, str(REPO))
    import aotgemm.aoti as aoti
    from aotgemm.aoti import testing

    work = Path(args.work or tempfile.mkdtemp(prefix="aotgemm-aoti-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict = {"device": torch.cuda.get_device_name() if args.device == "cuda" else args.device, "torch": torch.__version__, "bundle": args.bundle,
                    "cxx": cxx, "ms": args.ms, "compile": {}, "rows": []}
    print(f"[{time.perf_counter() - T_START:6.1f}s] {report['device']}, torch {torch.__version__}", flush=True)

    # --- compile (c) and (d) -------------------------------------------------------
    from torch.export import Dim

    model = testing.llama_block_lm_head(args.device, seed=SEED, **_dims(args.small))
    example = (torch.randn(8, _hidden(args.small), device=args.device, dtype=torch.bfloat16),)
    shapes = ({0: Dim("m", min=1, max=1 << 16)},)
    plain = work / "plain.pt2"
    t0 = time.perf_counter()
    ep = torch.export.export(model, example, dynamic_shapes=shapes)
    cfg = {"cpp.cxx": (None, cxx)} if cxx else {}
    torch._inductor.aoti_compile_and_package(ep, package_path=str(plain), inductor_configs=cfg)
    report["compile"]["aoti_plain_s"] = time.perf_counter() - t0
    print(f"[{time.perf_counter() - T_START:6.1f}s] (c) plain AOTInductor package: {report['compile']['aoti_plain_s']:.1f} s",
          flush=True)
    del ep
    bundled = work / "bundled.pt2"
    t0 = time.perf_counter()
    aoti.compile(model, example, args.bundle, bundled, cxx=cxx)
    report["compile"]["aoti_bundle_s"] = time.perf_counter() - t0
    info = aoti.package_info(bundled)
    report["routed"] = [[r.node, r.n, r.k] for r in info.routed]
    print(f"[{time.perf_counter() - T_START:6.1f}s] (d) aotgemm package: {report['compile']['aoti_bundle_s']:.1f} s, "
          f"{len(info.routed)} GEMM(s) routed: {[(r.n, r.k) for r in info.routed]}", flush=True)
    del model, example
    if args.device == "cuda":
        torch.cuda.empty_cache()

    # --- fresh processes ---------------------------------------------------------
    plan = [("eager", None, False, 300), ("aoti", plain, True, 300), ("aoti-bundle", bundled, True, 300)]
    if not args.skip_max_autotune:
        plan.append(("max-autotune", None, False, args.max_autotune_timeout))
    for name, pkg, no_cc, timeout in plan:
        r = run_worker(name, args, work, pkg, no_cc, timeout)
        report["rows"].append(r)
        print(f"[{time.perf_counter() - T_START:6.1f}s] {name}: "
              + (f"TTFO {r['ttfo_s']:.2f} s" if "ttfo_s" in r else f"ERROR {r.get('error', '')[-300:]}"), flush=True)
    if not args.skip_cpp:
        exe = build_cpp(work, cxx)
        if exe:
            r = run_cpp(exe, bundled, args.ms)
            report["rows"].append(r)
            print(f"[{time.perf_counter() - T_START:6.1f}s] C++: "
                  + (f"TTFO {r['ttfo_s']:.2f} s" if "ttfo_s" in r else f"ERROR {r['error'][-300:]}"), flush=True)

    # --- table ---------------------------------------------------------------------
    ms = args.ms.split(",")
    labels = {"eager": "(a) eager", "max-autotune": "(b) torch.compile max-autotune, cold",
              "aoti": "(c) AOTInductor, no bundle", "aoti-bundle": "(d) AOTInductor + aotgemm bundle",
              "aoti-bundle-cpp": "(d') same package, C++ example"}
    order = ["eager", "max-autotune", "aoti", "aoti-bundle", "aoti-bundle-cpp"]
    head = f"{'config':40s} {'TTFO s':>8s} {'ready s':>8s} {'1st run s':>9s}" + "".join(f" {'M=' + m + ' ms':>11s}" for m in ms)
    print("\n" + head + "  notes\n" + "-" * len(head))
    for name in order:
        for r in (x for x in report["rows"] if x["config"] == name):
            if "error" in r:
                print(f"{labels[name]:40s} error: {r['error'].strip().splitlines()[-1] if r['error'].strip() else '?'}")
                continue
            lat = r.get("latency_ms", {})
            if name == "aoti-bundle-cpp":
                lat = {str(x["m"]): x["ms"] for x in r.get("runs", [])}
            notes = []
            if "counters" in r:
                notes.append(f"bundle hits {r['counters']['hits']}/{r['counters']['calls']} calls")
            if r.get("no_compiler_on_path"):
                notes.append("no compiler on PATH")
            if r.get("no_compiler_on_path") and name != "aoti-bundle-cpp":
                clean = r.get("inductor_cache_empty") and r.get("triton_cache_empty")
                notes.append("nothing compiled (caches empty)" if clean else "CACHES WRITTEN AT LOAD")
            if name == "max-autotune":
                notes.append("compiled + autotuned at first call")
            if r.get("cutlass_imported"):
                notes.append("cutlass imported")
            ready = r.get("ready_s", r.get("load_s"))
            first = r.get("first_run_s")
            print(f"{labels[name]:40s} {r['ttfo_s']:8.2f} {ready if ready is not None else float('nan'):8.2f} "
                  f"{first if first is not None else float('nan'):9.3f}"
                  + "".join(f" {lat[m]:11.3f}" if m in lat else f" {'-':>11s}" for m in ms) + "  " + ", ".join(notes))
    print("(C++ row: TTFO from main(), 'ready' = package load; its M columns are single runs, not medians)")
    report["total_s"] = time.perf_counter() - T_START
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, sort_keys=True))
    print(f"\nwrote {out} ({report['total_s']:.0f} s in all; work folder {work})")


if __name__ == "__main__":
    main()
