#!/usr/bin/env python
"""Does cuBLASLt leave speed in its own candidates? Where cuBLAS (bf16) or torch._scaled_mm (e4m3, per-tensor
scales) runs a GEMM far from its floor (M = 64-256 on tensor-parallel weights), time every candidate cuBLASLt's
heuristic offers for it (up to 32: tiles, stages, split-K, clusters) against the stock call, with the tuner's
harness (aotgemm.timing: CUDA graphs over L2-rotated operands, interleaved rounds, medians), back to back and, for
the fastest, as in a model (a kernel writing x just before).

    python bench/cublaslt_algo_probe.py build LIB.so        # GPU host: g++ on bench/cublaslt_algos.cpp, with the
                                                            # toolkit's headers and torch's own libcublasLt
    python bench/cublaslt_algo_probe.py run LIB.so [--points DTYPE:N:K:M,...] [--log DIR] [--trials T]

Every candidate is first checked against a float32 reference on fresh random operands (output poisoned); one that
is off by 1e-2 or more is reported and not timed. Prints one row per point last: the stock call, the heuristic's
first candidate (what cuBLASLt would pick), the fastest candidate and its configuration (cuBLASLt's enum values).
"""
from __future__ import annotations

import ctypes
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BF16, FP8 = "bfloat16", "float8_e4m3fn"
# the points of the shipped manifests where the stock call ran at 30-66% of the floor in session 34/35's benches
# (mid M on the tensor-parallel weights), and two controls where it runs near the floor
POINTS = [(dt, n, k, m) for dt in (FP8, BF16)
          for (n, k) in [(1792, 5120), (5120, 1280), (2560, 4096), (1280, 8192), (8192, 1024), (4096, 4096),
                         (2560, 9728)]
          for m in (64, 128, 256)] + [(BF16, 4096, 4096, 2048), (BF16, 28672, 4096, 16)]
MAX_ALGOS = 32
WORKSPACE_BYTES = 32 << 20  # torch's cuBLASLt workspace on Hopper
MODEL_TOP = 3
TOLERANCE = 1e-2


def torch_cublaslt() -> str:
    """The libcublasLt torch loads (the nvidia-cublas wheel's, else the toolkit's)."""
    import torch

    torch.mm(torch.ones(8, 8, device="cuda"), torch.ones(8, 8, device="cuda"))  # loads cuBLAS
    maps = Path("/proc/self/maps").read_text().split()
    libs = sorted({p for p in maps if "libcublasLt.so" in p})
    if not libs:
        raise SystemExit("torch has not loaded libcublasLt: nothing to link against")
    return libs[0]


def build(out: str) -> None:
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        raise SystemExit("no nvcc on PATH: the CUDA toolkit's headers are needed to build the probe library")
    include = Path(nvcc).resolve().parent.parent / "include"
    lt = torch_cublaslt()
    cxx = os.environ.get("CXX", "g++")
    # the toolkit's headers, and the cuBLAS wheel's beside its library where torch has one
    includes = [f"-I{d}" for d in (include, Path(lt).parent.parent / "include") if (d / "cublasLt.h").exists()]
    if not includes:
        raise SystemExit(f"no cublasLt.h under {include} or beside {lt}")
    cmd = [cxx, "-O2", "-shared", "-fPIC", *includes, str(Path(__file__).with_name("cublaslt_algos.cpp")), lt,
           f"-Wl,-rpath,{Path(lt).parent}", "-o", out]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def load(lib_path: str):
    ctypes.CDLL(torch_cublaslt(), mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(lib_path)
    lib.lt_setup.argtypes = [ctypes.c_int, ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_int, ctypes.c_void_p,
                             ctypes.c_size_t]
    lib.lt_run.argtypes = [ctypes.c_int] + [ctypes.c_void_p] * 6
    lib.lt_describe.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    return lib


def candidate_call(lib, i: int, fp8: bool):
    import torch

    def call(x, w, out, extras):
        sx = extras["scale_a"].data_ptr() if fp8 else None
        sw = extras["scale_b"].data_ptr() if fp8 else None
        rc = lib.lt_run(i, x.data_ptr(), w.data_ptr(), out.data_ptr(), sx, sw, torch.cuda.current_stream().cuda_stream)
        if rc != 0:
            raise RuntimeError(f"cublasLtMatmul of candidate {i} returned status {rc}")
    return call


def probe_point(lib, ws, dtype: str, n: int, k: int, m: int, trials: int, l2: int) -> dict:
    from aotgemm import timing
    from aotgemm.problem import GemmProblem

    fp8 = dtype == FP8
    problem = GemmProblem(dtype, "linear", "scale_tensor" if fp8 else "identity", n, k)
    count = lib.lt_setup(int(fp8), m, n, k, MAX_ALGOS, ws.data_ptr(), WORKSPACE_BYTES)
    if count <= 0:
        return {"dtype": dtype, "n": n, "k": k, "m": m, "error": f"lt_setup returned {count}"}
    buf = ctypes.create_string_buffer(256)
    desc = []
    for i in range(count):
        lib.lt_describe(i, buf, 256)
        desc.append(buf.value.decode())
    errors, good = {}, []
    for i in range(count):
        try:
            errors[i] = timing.check(candidate_call(lib, i, fp8), problem, m, seed=17 + i)
        except RuntimeError as e:
            errors[i] = str(e)
        if isinstance(errors[i], float) and errors[i] < TOLERANCE:
            good.append(i)
    ops = timing.Operands(problem, m, l2, seed=3)
    reps = timing.reps_for(problem, m)
    timers = {"stock": timing.GraphTimer(timing.cublas_call(problem), ops, reps=reps)}
    timers.update({f"a{i}": timing.GraphTimer(candidate_call(lib, i, fp8), ops, reps=reps) for i in good})
    s = timing.interleaved(timers, trials, warmup=timing.WARMUP_ROUNDS)
    b2b = {name: timing.compare(s[name], s["stock"]) for name in timers}
    top = sorted((nm for nm in timers if nm != "stock"), key=lambda nm: b2b[nm].kernel.median_us)[:MODEL_TOP]
    mt = {"stock": timing.GraphTimer(timing.cublas_call(problem), ops, reps=reps, model=True)}
    mt.update({nm: timing.GraphTimer(candidate_call(lib, int(nm[1:]), fp8), ops, reps=reps, model=True) for nm in top})
    ms = timing.interleaved(mt, trials, warmup=timing.WARMUP_ROUNDS)
    model = {nm: timing.compare(ms[nm], ms["stock"]) for nm in mt}
    return {"dtype": dtype, "n": n, "k": k, "m": m, "stock_us": b2b["stock"].cublas.median_us,
            "stock_model_us": model["stock"].cublas.median_us,
            "candidates": [{"index": i, "config": desc[i], "error": errors[i],
                            **({"us": b2b[f"a{i}"].kernel.median_us, "spread": b2b[f"a{i}"].kernel.spread,
                                "ratio": b2b[f"a{i}"].ratio_median, "ratio_low": b2b[f"a{i}"].ratio_low}
                               if i in good else {}),
                            **({"model_us": model[f"a{i}"].kernel.median_us, "model_ratio": model[f"a{i}"].ratio_median}
                               if f"a{i}" in model else {})} for i in range(count)]}


def report(rows: list[dict]) -> str:
    lines = ["ratio = stock us / candidate us, median of paired interleaved rounds (> 1: the candidate is faster); "
             "first = the heuristic's first candidate",
             f"{'point':<24} {'n':>3} {'stock':>7} {'first':>7} {'best':>7} {'x':>6} {'model x':>7}  best's config"]
    for r in rows:
        point = f"{'e4m3' if r['dtype'] == FP8 else 'bf16'} {r['n']}x{r['k']} M={r['m']}"
        if "error" in r:
            lines.append(f"{point:<24} {r['error']}")
            continue
        timed = [c for c in r["candidates"] if "us" in c]
        bad = [c for c in r["candidates"] if "us" not in c]
        first = next((c for c in timed if c["index"] == 0), None)
        best = min(timed, key=lambda c: c["us"])
        lines.append(f"{point:<24} {len(timed):>3} {r['stock_us']:7.2f} {first['us'] if first else float('nan'):7.2f} "
                     f"{best['us']:7.2f} {best['ratio']:6.3f} {best.get('model_ratio') or float('nan'):7.3f}  "
                     f"{best['config']}" + (f"  ({len(bad)} not timed: off or failed)" if bad else ""))
    return "\n".join(lines)


def run(lib_path: str, points, log: Path, trials: int) -> None:
    import torch

    from aotgemm import timing

    lib = load(lib_path)
    log.mkdir(parents=True, exist_ok=True)
    props = torch.cuda.get_device_properties(0)
    header = (f"# cublaslt_algo_probe on {props.name}, {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
              f"torch {torch.__version__}, cuBLASLt {lib_path} -> {torch_cublaslt()}")
    print(header, flush=True)
    ws = torch.empty(WORKSPACE_BYTES, dtype=torch.uint8, device="cuda")
    timing.warm_up()
    rows = []
    for dtype, n, k, m in points:
        t0 = time.time()
        rows.append(probe_point(lib, ws, dtype, n, k, m, trials, props.L2_cache_size))
        print(report(rows[-1:]).splitlines()[-1] + f"  [{time.time() - t0:.1f} s]", flush=True)
        (log / "cublaslt_algo_probe.json").write_text(json.dumps({"header": header, "rows": rows}, indent=1))
    text = header + "\n" + report(rows)
    (log / "cublaslt_algo_probe.txt").write_text(text + "\n")
    print(text, flush=True)


def parse_points(spec: str):
    out = []
    for item in spec.split(","):
        dt, n, k, m = item.split(":")
        out.append(({"bf16": BF16, "e4m3": FP8}.get(dt, dt), int(n), int(k), int(m)))
    return out


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 2 and a[0] == "build":
        build(a[1])
    elif len(a) >= 2 and a[0] == "run":
        run(a[1], parse_points(a[a.index("--points") + 1]) if "--points" in a else POINTS,
            Path(a[a.index("--log") + 1]) if "--log" in a else Path("."),
            int(a[a.index("--trials") + 1]) if "--trials" in a else 15)
    else:
        print(__doc__)
        sys.exit(2)
