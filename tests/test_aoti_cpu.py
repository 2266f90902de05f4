"""End to end on CPU: aotgemm.aoti.compile a bf16 2-layer MLP, then load the .pt2 in FRESH
processes that never register the op and have no compiler on PATH, from Python and from the
C++ example.

Two ways to run the package:
- as on a machine the bundle does not serve (CPU): every routed GEMM takes the shim's fallback
  (aoti_torch_cpu_mm_out), counted as a miss;
- with a fake H100 description and AOTGEMM_FLAG_CPU_KERNELS, against a bundle whose "kernel
  library" is a CPU TVM-FFI library with the kernels' calling convention: the full kernel path
  (extraction, TVM-FFI load, dispatch by bucket, DLTensor views, hit counting) runs, and the
  bundle's cuBLAS entries and missing entries fall back and are counted by reason.

One AOTInductor compile (about 20 s on 2 cores) serves the module; the C++ example build
(CMake, about 20 s) is skipped where cmake is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import aotgemm.aoti as aoti
from aotgemm.aoti import testing
from aotgemm.bundle import bucket_for

REPO = Path(__file__).resolve().parent.parent
K, HIDDEN = 128, 256
# bucket 16 of "up" is a cuBLAS entry; bucket 1024 of "down" has no entry at all. So the package routes
# "up" at M <= 1, 16 < M <= 128 or M >= 500 (SPLIT, below) and "down" at M <= 128 (each under a torch.cond on
# M, aoti/guard.py; the "up" predicate is the max-of-ranges one), and runs Inductor's own GEMM at the other M.
CUBLAS = {("bfloat16", HIDDEN, K, 16)}
SKIP = {("bfloat16", K, HIDDEN, 1024)}
# the tuner split bucket 1024 of "up": its kernel serves M >= 500 there (cuBLAS 129..499), so "up" is served
# at M <= 1, 16 < M <= 128 and M >= 500: more boundaries than a product holds, the "any" predicate
SPLIT = {("bfloat16", HIDDEN, K, 1024): 500}
MS = (1, 5, 16, 17, 300, 2000)
ROUTED_CALLS = sum(m <= 1 or 16 < m <= 128 or m >= 500 for m in MS) + sum(m <= 128 for m in MS)  # 3 + 4


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.up = torch.nn.Linear(K, HIDDEN)
        self.down = torch.nn.Linear(HIDDEN, K, bias=False)

    def forward(self, x):
        return self.down(torch.relu(self.up(x)))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp("aoti-cpu")
    lib = testing.build_cpu_kernel_library(work / "kernels")
    bundle = work / "mlp.agb"
    testing.make_bundle(bundle, [("up", HIDDEN, K), ("down", K, HIDDEN)], library=lib, cublas=CUBLAS, skip=SKIP,
                        min_m=SPLIT)
    torch.manual_seed(0)
    model = MLP().to(torch.bfloat16).eval()
    torch.save(model.state_dict(), work / "weights.pt")
    package = aoti.compile(model, (torch.randn(8, K, dtype=torch.bfloat16),), bundle, work / "mlp.pt2")
    return {"work": work, "bundle": bundle, "package": Path(package), "model": model}


def fresh_python(code: str, **env_extra) -> subprocess.CompletedProcess:
    """A new interpreter with no compiler reachable: PATH holds nothing, CXX points nowhere."""
    env = {"HOME": os.environ.get("HOME", "/root"), "PYTHONPATH": str(REPO), "PATH": "/nonexistent",
           "CXX": "/nonexistent/g++", "CC": "/nonexistent/gcc", **env_extra}
    for key in ("AOTGEMM_CACHE_DIR", "XDG_CACHE_HOME"):
        if key in os.environ:
            env.setdefault(key, os.environ[key])
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=300, cwd=str(REPO))


RUN = """
    import json, sys, torch
    import aotgemm.aoti as aoti
    from aotgemm.aoti import testing
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {{}}
    runner = aoti.load({package!r}{extra})
    out = {{}}
    for m in {ms!r}:
        y = runner(testing.deterministic_input((m, {k}), torch.bfloat16))
        out[m] = y.float().tolist()
    try:
        registered = hasattr(torch.ops.aotgemm, "aotgemm_linear")
    except Exception:
        registered = False
    print(json.dumps({{"out": out, "counters": aoti.counters(), "registered": registered,
                      "state": json.loads(aoti.describe()), "metadata": runner.get_metadata(),
                      "cutlass": any(m.startswith("cutlass") for m in sys.modules)}}))
"""


def _eager(model, m):
    with torch.no_grad():
        return model(testing.deterministic_input((m, K), torch.bfloat16)).float()


def _run(built, extra: str = "") -> dict:
    proc = fresh_python(RUN.format(package=str(built["package"]), extra=extra, ms=list(MS), k=K))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_package_records_its_bundle(built):
    info = aoti.package_info(built["package"])
    assert info.bundle_name == "mlp.agb" and info.device == "cpu"
    assert sorted((r.n, r.k) for r in info.routed) == [(K, HIDDEN), (HIDDEN, K)]
    assert info.inputs[0].shape == (-1, K)
    from aotgemm.aoti.meta import file_sha256

    assert info.bundle_sha256 == file_sha256(built["bundle"])
    import zipfile

    zf = zipfile.ZipFile(built["package"])
    names = zf.namelist()
    assert any(n.endswith("/aotgemm/bundle.agb") for n in names)
    assert not any(n.endswith((".so", ".o", ".cpp")) and "/aotgemm/" in n for n in names)
    shim = next(n for n in names if n.endswith("/aotgemm/libaotgemm_aoti.aotgemm-native"))
    assert zf.read(shim) == aoti.native_path().read_bytes()  # the shim it was compiled with


def test_fresh_machine_needs_no_compiler_and_no_cache(built, tmp_path):
    """An empty cache and no compiler: aotgemm.aoti.load installs the package's own shim (content-
    addressed, with the runtime's marker) and runs the kernels."""
    cache = tmp_path / "empty-cache"
    extra = ", _device=testing.fake_device(), _cpu_kernels=True"
    proc = fresh_python(RUN.format(package=str(built["package"]), extra=extra, ms=[1, 17], k=K),
                        AOTGEMM_CACHE_DIR=str(cache))
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["state"]["mode"] == "kernels" and r["counters"]["hits"] == 4
    shims = list((cache / "native").glob("*/libaotgemm_aoti.so"))
    assert len(shims) == 1 and len(shims[0].parent.name) == 64
    assert (shims[0].parent / "libaotgemm_aoti.so.ok").read_text().strip() == shims[0].parent.name
    assert r["metadata"]["aotgemm.native_sha256"] == shims[0].parent.name
    assert not (cache / "native" / aoti.native.cache_key()).exists()  # nothing was built


def test_fresh_process_falls_back_and_counts_misses(built):
    r = _run(built)
    assert r["registered"] is False and r["cutlass"] is False
    assert r["state"]["mode"] == "fallback" and r["state"]["target"] is None
    c = r["counters"]
    assert c["calls"] == ROUTED_CALLS and c["misses"] == ROUTED_CALLS and c["hits"] == 0
    assert c["miss_cpu_tensor"] == ROUTED_CALLS  # a CPU package: no target, CPU tensors
    assert r["metadata"]["aotgemm.bundle_sha256"] == aoti.package_info(built["package"]).bundle_sha256
    for m in MS:
        torch.testing.assert_close(torch.tensor(r["out"][str(m)]), _eager(built["model"], m), atol=3e-2, rtol=3e-2)


def test_fresh_process_runs_the_bundle_kernels(built, tmp_path):
    extra = ", _device=testing.fake_device(), _cpu_kernels=True, cache_dir={!r}".format(str(tmp_path / "cache"))
    r = _run(built, extra)
    assert r["registered"] is False
    assert r["state"]["mode"] == "kernels" and r["state"]["target"] == "H100_SXM"
    c = r["counters"]
    # per forward: up + down, each only at the M its kernels serve (bucket 16 of "up" is a cuBLAS entry, and
    # bucket 1024 of it from M = 500 only; bucket 1024 of "down" has no entry: there the cond runs Inductor's
    # GEMM and the shim is not called)
    buckets = [bucket_for(m, testing.TEST_BUCKETS) for m in MS]
    assert buckets == [1, 16, 16, 128, 1024, 1024]
    assert c["calls"] == ROUTED_CALLS == 7 and c["hits"] == ROUTED_CALLS and c["misses"] == 0
    for m in MS:
        torch.testing.assert_close(torch.tensor(r["out"][str(m)]), _eager(built["model"], m), atol=3e-2, rtol=3e-2)
    assert any((tmp_path / "cache" / "lib").rglob("h100_sxm.so.ok"))  # the runtime's cache and marker


def test_running_without_init_is_a_clear_error(built):
    code = f"""
        import torch
        from aotgemm.aoti import native
        native.load_native(build=False)   # resolvable, but never initialised
        runner = torch._inductor.aoti_load_package({str(built['package'])!r})
        try:
            runner(torch.randn(4, {K}, dtype=torch.bfloat16))
            print("ran")
        except Exception as e:
            print("failed")
    """
    proc = fresh_python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "failed" in proc.stdout
    assert "before the aotgemm AOTI runtime was initialised" in proc.stderr
    assert "aotgemm.aoti.load" in proc.stderr


def test_load_refuses_other_bundle_and_accepts_its_own(built, tmp_path):
    other = tmp_path / "other.agb"
    testing.make_bundle(other, [("up", HIDDEN, K)], library=b"x" * 64)
    code = f"""
        import aotgemm.aoti as aoti
        try:
            aoti.load({str(built['package'])!r}, bundle={str(other)!r})
        except aoti.BundleIntegrityError as e:
            print("refused")
        aoti.load({str(built['package'])!r}, bundle={str(built['bundle'])!r})
        print("loaded")
    """
    proc = fresh_python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["refused", "loaded"]


# --- the C++ example -----------------------------------------------------------------
@pytest.fixture(scope="module")
def cpp_example(tmp_path_factory):
    if not shutil.which("cmake"):
        pytest.skip("cmake is not installed")
    build = tmp_path_factory.mktemp("cpp-build")
    cfg = subprocess.run(["cmake", "-S", str(REPO / "examples" / "cpp"), "-B", str(build),
                          f"-DPython3_EXECUTABLE={sys.executable}"], capture_output=True, text=True)
    assert cfg.returncode == 0, cfg.stdout + cfg.stderr
    b = subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True, text=True)
    assert b.returncode == 0, b.stdout[-3000:] + b.stderr[-3000:]
    return build / "aotgemm_aoti_example"


def _cpp(exe, *args) -> subprocess.CompletedProcess:
    env = {"HOME": os.environ.get("HOME", "/root"), "PATH": "/nonexistent"}  # no Python, no compiler
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


def _sums(model, m):
    y = _eager(model, m).double()
    return y.sum().item(), y.abs().sum().item()


@pytest.mark.parametrize("mode", ["fallback", "kernels"])
def test_cpp_example_runs_the_package(built, cpp_example, mode):
    args = [built["package"], "--m", ",".join(map(str, MS))]
    if mode == "kernels":
        args += ["--fake-gpu", "NVIDIA H100 80GB HBM3:132:9:0", "--cpu-kernels"]
    proc = _cpp(cpp_example, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout)
    assert r["state"]["mode"] == mode
    assert r["counters"]["calls"] == ROUTED_CALLS  # the C++ runner takes the same M branches
    assert r["counters"]["hits"] == (0 if mode == "fallback" else ROUTED_CALLS)
    assert r["time_to_first_output_ms"] > 0
    for run in r["runs"]:
        s, a = _sums(built["model"], run["m"])
        assert run["shape"] == [run["m"], K]
        assert abs(run["abs_sum"] - a) <= 0.01 * a + 0.5, (run, a)
        assert abs(run["sum"] - s) <= 0.01 * a + 0.5, (run, s)


def test_cpp_example_refuses_like_python(built, cpp_example, tmp_path):
    proc = _cpp(cpp_example, built["package"], "--fake-gpu", "NVIDIA B200:148:10:0")
    assert proc.returncode == 2
    assert proc.stderr.startswith("aotgemm: error: bundle 'mlp.agb'") and "NVIDIA B200" in proc.stderr
    with pytest.raises(aoti.WrongGpu) as e:
        aoti.check(built["package"], device=testing.fake_device("B200"))
    assert str(e.value) in proc.stderr  # one check, one message
    missing = _cpp(cpp_example, built["package"], "--bundle", tmp_path / "gone.agb")
    assert missing.returncode == 2 and "gone.agb: no such file" in missing.stderr


# --- the GPU scripts' model, shrunk, on CPU ----------------------------------------------
SMALL = {"hidden": 64, "q": 64, "kv": 16, "inter": 96, "vocab": 200}


@pytest.mark.parametrize("separate_qkv", [False, True])
def test_llama_shaped_block_runs_on_cpu_kernels(tmp_path, separate_qkv):
    """The decoder block + lm_head of tests/gpu (strided q view, chunked gate/up), shrunk: all five
    GEMMs are routed and served by the (CPU stand-in) kernels, outputs match eager. With q, k and v as
    three projections (transformers' form) the rewrite merges them into the bundle's qkv GEMM
    (aoti/rewrite_merge.py): still five GEMMs, all served."""
    lib = testing.build_cpu_kernel_library(tmp_path / "kernels")
    h, q, kv, it, v = (SMALL[k] for k in ("hidden", "q", "kv", "inter", "vocab"))
    layers = [("qkv", q + 2 * kv, h), ("o", h, q), ("gate_up", 2 * it, h), ("down", h, it), ("lm_head", v, h)]
    bundle = tmp_path / "small.agb"
    testing.make_bundle(bundle, layers, library=lib)
    model = testing.llama_block_lm_head("cpu", seed=1, separate_qkv=separate_qkv, **SMALL)
    pkg = aoti.compile(model, (torch.randn(4, h, dtype=torch.bfloat16),), bundle, tmp_path / "block.pt2")
    assert sorted((r.n, r.k) for r in aoti.package_info(pkg).routed) == sorted((n, k) for _, n, k in layers)
    code = f"""
        import json, torch
        import aotgemm.aoti as aoti
        from aotgemm.aoti import testing
        runner = aoti.load({str(pkg)!r}, _device=testing.fake_device(), _cpu_kernels=True,
                           cache_dir={str(tmp_path / 'cache')!r})
        model = testing.llama_block_lm_head("cpu", seed=1, separate_qkv={separate_qkv!r}, **{SMALL!r})
        errs = []
        for m in (1, 5, 300):
            x = testing.deterministic_input((m, {h}), torch.bfloat16)
            y, ref = runner(x).float(), model(x).float()
            errs.append(((y - ref).norm() / ref.norm()).item())
        print(json.dumps({{"errs": errs, "counters": aoti.counters()}}))
    """
    proc = fresh_python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["counters"]["hits"] == 15 and r["counters"]["misses"] == 0
    assert max(r["errs"]) < 2e-2, r["errs"]
