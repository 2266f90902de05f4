"""aotgemm.aoti on an H100/H200: a Llama-3.1-8B-shaped decoder block + lm_head (bf16), compiled with
aotgemm.aoti.compile against a real bundle, then loaded in a FRESH process (Python) and by the
C++ example: outputs match eager, nothing is compiled or benchmarked at startup, the bundle's
kernels serve the GEMMs (the shim's hit counter), and the time to first output is reported. And the block with
q, k and v as three projections, which the rewrite merges into the bundle's qkv GEMM.

    AOTGEMM_TEST_BUNDLE=/path/llama-3.1-8b.agb CXX=/usr/bin/g++ pytest -s tests/gpu/test_aoti_gpu.py

Needs: an NVIDIA GPU the bundle was built for (H100_SXM, H200_SXM, ...), AOTGEMM_TEST_BUNDLE; cmake for the
C++ test (skipped without). About 4-5 minutes, most of it the compiles (1.5 GB of weights go
into the first package).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
BUNDLE = os.environ.get("AOTGEMM_TEST_BUNDLE")
MS = (1, 16, 300, 2048)
HIDDEN = 4096
SEED = 0
TOL_REL_L2 = 2e-2  # bf16 end to end: five GEMMs, three RMSNorms, SiLU*mul, residuals

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU"),
    pytest.mark.skipif(not BUNDLE, reason="set AOTGEMM_TEST_BUNDLE to a bundle built for this GPU"),
]


def _cxx() -> str | None:
    if os.environ.get("CXX"):
        return os.environ["CXX"]
    return "/usr/bin/g++" if os.path.exists("/usr/bin/g++") else None


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import aotgemm.aoti as aoti
    from aotgemm.aoti import testing

    work = tmp_path_factory.mktemp("aoti-gpu")
    model = testing.llama_block_lm_head("cuda", seed=SEED)
    example = (torch.randn(8, HIDDEN, device="cuda", dtype=torch.bfloat16),)
    t0 = time.perf_counter()
    pkg = aoti.compile(model, example, BUNDLE, work / "llama_block.pt2", cxx=_cxx())
    compile_s = time.perf_counter() - t0
    info = aoti.package_info(pkg)
    print(f"\ncompiled {pkg} in {compile_s:.1f} s; routed: {[(r.node, r.n, r.k) for r in info.routed]}")
    del model, example
    torch.cuda.empty_cache()
    return {"work": work, "package": Path(pkg), "info": info}


# The block's epilogue patterns (aotgemm.aoti.testing.llama_block_lm_head): SiLU*mul after gate_up, residual adds
# after o and down. A fused bundle's kernels for them fold those GEMMs into the fused ops (rewrite_epilogues).
BLOCK_EPILOGUES = {"swiglu": ("gate_up",), "residual_add": ("o", "down")}


def test_block_gemms_are_routed(built):
    """Exactly the GEMMs this GPU's target serves with a kernel in some bucket go to the shim (as plain GEMMs,
    or folded with their epilogue where a fused bundle has kernels for it); the ones the tuner gave to cuBLAS
    in every bucket stay Inductor's own calls. An epilogue that may not sit under a cond on M (residual_add:
    Epilogue.guard_on_m) is folded only where its kernels serve every M the package admits (the rewrite's
    may_fold), so a tuned fused bundle that leaves o's or down's residual_add to cuBLAS in some bucket leaves that
    GEMM to Inductor."""
    import inspect

    import aotgemm.aoti as aoti
    from aotgemm.aoti.guard import predicate_spec
    from aotgemm.aoti.meta import coverage, epilogue_coverage
    from aotgemm.aoti.package import _package_target
    from aotgemm.aoti.rewrite_epilogues import may_fold
    from aotgemm.aoti.testing import LLAMA_8B_GEMMS
    from aotgemm.bundle import open_bundle

    bf = open_bundle(BUNDLE)
    target = _package_target(bf, "cuda")
    assert target is not None, "the bundle has no target for this GPU"
    max_m = inspect.signature(aoti.compile).parameters["max_m"].default  # the built fixture's package admits these
    served = {(n, k) for dt, n, k in coverage(bf, target) if dt == "bfloat16"}
    served |= {(n, k) for (dt, ep, n, k), ranges in epilogue_coverage(bf, target).items() if dt == "bfloat16"
               and (n, k) in {LLAMA_8B_GEMMS[layer] for layer in BLOCK_EPILOGUES.get(ep, ())}
               and may_fold(ep, predicate_spec(ranges, max_m))}
    routed = {(r.n, r.k) for r in built["info"].routed}
    model = set(LLAMA_8B_GEMMS.values())
    assert routed == model & served, (routed, model & served)
    print(f"routed to the bundle ({target}): {sorted(routed)}; Inductor's own: {sorted(model - served)}")


FRESH = """
    import time
    T0 = time.perf_counter()
    import json, os, sys
    import torch
    t_import = time.perf_counter()
    import aotgemm.aoti as aoti
    from aotgemm.aoti import testing
    runner = aoti.load({package!r})
    t_load = time.perf_counter()
    with torch.no_grad():
        y = runner(testing.deterministic_input((1, {hidden}), torch.bfloat16, "cuda"))
        torch.cuda.synchronize()
        t_first = time.perf_counter()
        first = aoti.counters()
        info = aoti.package_info({package!r})
        strided = {strided!r}  # (n, k) of GEMMs whose x is a strided view (o takes a slice of qkv's output)
        compact_only = set({compact_only!r})  # kernels compiled for x rows exactly K apart (x_row_stride)
        # the target's dispatch: (dtype, epilogue, n, k, bucket) -> (kernel or "cublas", the kernel's max_m,
        # the entry's min_m: a tuned split of the bucket, cuBLAS below it)
        entries, buckets = {entries!r}, {buckets!r}
        guarded = set({guarded!r})  # (dtype, epilogue, n, k, M) whose torch.cond guard calls the shim
        def kernel_at(r, m):  # the kernel that serves routed GEMM r (plain or fused) at M, else None
            if (r.dtype, r.epilogue, r.n, r.k, m) not in guarded:
                return None  # the package runs Inductor's own code there (aoti/guard.py): no shim call
            b = next((x for x in buckets if m <= x), buckets[-1])
            kernel, max_m, min_m = entries.get((r.dtype, r.epilogue, r.n, r.k, b), ("cublas", 0, 0))
            return None if kernel == "cublas" or (max_m and m > max_m) or m < min_m else kernel
        def expected_hits(m):
            # the rule: a kernel compiled for compact rows gets a strided x (M > 1) only as a cuBLAS miss
            return sum(1 for r in info.routed if (s := kernel_at(r, m)) is not None
                       and not (m > 1 and (r.n, r.k) in strided and s in compact_only))
        res = {{"ttfo_s": t_first - T0, "import_s": t_import - T0, "load_s": t_load - t_import,
               "first_run_s": t_first - t_load, "counters_first": first, "expected_first": expected_hits(1),
               "cutlass": sorted(m for m in sys.modules if m == "cutlass" or m.startswith("cutlass.")),
               "select_algorithm": "torch._inductor.select_algorithm" in sys.modules,
               "state": json.loads(aoti.describe())}}
        # correctness against eager (same seeded weights, generated on the GPU here)
        aoti.reset_counters()
        model = testing.llama_block_lm_head("cuda", seed={seed})
        errs, expect = {{}}, 0
        for m in {ms!r}:
            x = testing.deterministic_input((m, {hidden}), torch.bfloat16, "cuda")
            got, ref = runner(x).float(), model(x).float()
            errs[m] = {{"rel_l2": ((got - ref).norm() / ref.norm()).item(),
                        "max_abs": (got - ref).abs().max().item(), "ref_max_abs": ref.abs().max().item()}}
            expect += expected_hits(m)
            del got, ref
        res.update(errs=errs, counters=aoti.counters(), expected_hits=expect)
    print(json.dumps(res))
"""


def test_fresh_process_serves_from_the_bundle_with_nothing_compiled(built):
    work = built["work"]
    inductor_cache, triton_cache = work / "inductor-cache", work / "triton-cache"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p), "PATH": "/nonexistent", "CXX": "/nonexistent/g++",
           "CC": "/nonexistent/gcc", "TORCHINDUCTOR_CACHE_DIR": str(inductor_cache),
           "TRITON_CACHE_DIR": str(triton_cache),
           # a fresh machine: no cache folder, so the shim comes from the package (issue 12)
           "AOTGEMM_CACHE_DIR": str(work / "fresh-aotgemm-cache")}
    from aotgemm.aoti.testing import LLAMA_8B_GEMMS
    from aotgemm.bundle import open_bundle

    from aotgemm.aoti.package import _package_target

    bf = open_bundle(BUNDLE)
    compact_only = sorted(k.symbol for t in bf.index.targets for k in t.kernels if k.x_row_stride)
    target = bf.index.target(_package_target(bf, "cuda"))
    max_m = {k.symbol: k.max_m for k in target.kernels}
    entries = {(e.dtype, e.epilogue, e.n, e.k, e.m_bucket): (e.kernel, max_m.get(e.kernel, 0), e.min_m)
               for e in target.dispatch}
    # where each routed GEMM's guard (one predicate of at most two boundaries over the M its kernels serve)
    # lets a call reach the shim; a bucket split (min_m) adds boundaries, so a guard may keep fewer of them
    from aotgemm.aoti import guard, meta
    guarded = sorted((*key, m) for key, ranges in meta.served_ranges(bf, target.gpu).items() for m in MS + (1,)
                     if guard.serves(guard.predicate_spec(ranges, 1 << 16), m))
    code = textwrap.dedent(FRESH.format(package=str(built["package"]), hidden=HIDDEN, seed=SEED, ms=list(MS),
                                        strided=[LLAMA_8B_GEMMS["o"]], compact_only=compact_only, entries=entries,
                                        buckets=tuple(bf.index.m_buckets), guarded=guarded))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\nPython: time to first output {r['ttfo_s']:.2f} s (import {r['import_s']:.2f}, load {r['load_s']:.2f}, "
          f"first run {r['first_run_s']:.3f}); hits at M=1: {r['counters_first']['hits']}; state: {r['state']}")
    for m, e in r["errs"].items():
        print(f"  M={m}: rel L2 {e['rel_l2']:.2e}, max abs {e['max_abs']:.3g} (ref max {e['ref_max_abs']:.3g})")
    # nothing compiled, autotuned or benchmarked
    assert r["cutlass"] == [], r["cutlass"]
    assert r["select_algorithm"] is False
    for d in (inductor_cache, triton_cache):
        assert not d.exists() or not any(d.rglob("*")), f"{d} was written at load: something was compiled"
    # the shim came from the package, installed content-addressed; nothing was built
    shims = list((work / "fresh-aotgemm-cache" / "native").glob("*/libaotgemm_aoti.so"))
    assert len(shims) == 1 and len(shims[0].parent.name) == 64, shims
    # the bundle's kernels served the GEMMs
    assert r["state"]["mode"] == "kernels" and r["state"]["target"] == target.gpu
    assert r["expected_hits"] > 0, "the bundle's target serves none of the block's GEMMs with a kernel"
    assert r["counters_first"]["hits"] == r["expected_first"]
    assert r["counters"]["hits"] == r["expected_hits"]
    # and they are right
    for m, e in r["errs"].items():
        assert e["rel_l2"] < TOL_REL_L2, (m, e)


@pytest.fixture(scope="module")
def cpp_example(tmp_path_factory):
    if not shutil.which("cmake"):
        pytest.skip("cmake is not installed")
    build = tmp_path_factory.mktemp("cpp-build")
    cfg = ["cmake", "-S", str(REPO / "examples" / "cpp"), "-B", str(build), f"-DPython3_EXECUTABLE={sys.executable}"]
    if _cxx():
        cfg.append(f"-DCMAKE_CXX_COMPILER={_cxx()}")
    for cmd in (cfg, ["cmake", "--build", str(build), "-j", str(os.cpu_count() or 4)]):
        p = subprocess.run(cmd, capture_output=True, text=True)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return build / "aotgemm_aoti_example"


def test_cpp_example_serves_from_the_bundle(built, cpp_example):
    from aotgemm.aoti import testing

    env = {k: v for k, v in os.environ.items() if k in ("HOME", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES",
                                                         "AOTGEMM_CACHE_DIR", "XDG_CACHE_HOME")}
    env["PATH"] = "/nonexistent"
    proc = subprocess.run([str(cpp_example), str(built["package"]), "--m", ",".join(map(str, MS))],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout)
    print(f"\nC++: time to first output {r['time_to_first_output_ms']:.1f} ms from main() "
          f"(init {r['init_ms']:.1f}, load {r['load_ms']:.1f}); counters {r['counters']}")
    assert r["state"]["mode"] == "kernels" and r["counters"]["hits"] > 0
    model = testing.llama_block_lm_head("cuda", seed=SEED)
    with torch.no_grad():
        for run in r["runs"]:
            ref = model(testing.deterministic_input((run["m"], HIDDEN), torch.bfloat16, "cuda")).double()
            a = ref.abs().sum().item()
            assert abs(run["abs_sum"] - a) <= 1e-2 * a, (run, a)


def test_cpp_example_refuses_a_corrupt_bundle(built, cpp_example, tmp_path):
    bad = bytearray(Path(BUNDLE).read_bytes())
    bad[60] ^= 0x40  # inside the index
    path = tmp_path / "corrupt.agb"
    path.write_bytes(bytes(bad))
    proc = subprocess.run([str(cpp_example), str(built["package"]), "--bundle", str(path), "--check-only"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "index checksum does not match" in proc.stderr, proc.stderr


def test_separate_qkv_projections_reach_the_bundles_qkv_kernel(tmp_path):
    """The block with q, k and v as three projections (transformers' form): the rewrite merges them into the
    bundle's qkv GEMM (aoti/rewrite_merge.py), routed like any other; the package computes what eager does and
    the shim serves it. A small lm_head (4096 rows) keeps the package and its compile small."""
    import aotgemm.aoti as aoti
    from aotgemm.aoti import testing
    from aotgemm.aoti.meta import coverage
    from aotgemm.aoti.package import _package_target
    from aotgemm.aoti.testing import LLAMA_8B_GEMMS
    from aotgemm.bundle import open_bundle

    bf = open_bundle(BUNDLE)
    if ("bfloat16", *LLAMA_8B_GEMMS["qkv"]) not in coverage(bf, _package_target(bf, "cuda")):
        pytest.skip("the bundle serves Llama-3.1-8B's qkv with no kernel at any M")
    model = testing.llama_block_lm_head("cuda", seed=SEED, separate_qkv=True, vocab=4096)
    pkg = aoti.compile(model, (torch.randn(8, HIDDEN, device="cuda", dtype=torch.bfloat16),), BUNDLE,
                       tmp_path / "separate_qkv.pt2", cxx=_cxx())
    routed = {(r.n, r.k) for r in aoti.package_info(pkg).routed}
    assert LLAMA_8B_GEMMS["qkv"] in routed, routed
    runner = aoti.load(pkg)
    aoti.reset_counters()
    with torch.no_grad():
        for m in MS:
            x = testing.deterministic_input((m, HIDDEN), torch.bfloat16, "cuda")
            got, ref = runner(x).float(), model(x).float()
            err = ((got - ref).norm() / ref.norm()).item()
            print(f"  separate q/k/v, M={m}: rel L2 {err:.2e}")
            assert err < TOL_REL_L2, (m, err)
    assert aoti.counters()["hits"] > 0, aoti.counters()
