"""libaotgemm_aoti and the compile-side pieces, without an AOTInductor compile (fast).

- the native library builds into a content-addressed cache and is reused;
- the meta written from a bundle parses back (Python) and is accepted (C);
- the FX rewrite routes exactly the GEMMs the bundle covers, in every pattern;
- the C dispatch makes the same decision as the bundle rule in Python
  (aotgemm.bundle.bucket_for over the index) for every (dtype, N, K, M).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import aotgemm.aoti as aoti
from aotgemm.aoti import meta as meta_mod
from aotgemm.aoti import native, testing
from aotgemm.bundle import CUBLAS, bucket_for, open_bundle

REPO = Path(__file__).resolve().parent.parent
LAYERS = [("up", 256, 128), ("down", 128, 256), ("qkv", 384, 128)]


@pytest.fixture(scope="module")
def kernel_lib(tmp_path_factory) -> bytes:
    return testing.build_cpu_kernel_library(tmp_path_factory.mktemp("kernels"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, kernel_lib) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "test.agb"
    testing.make_bundle(path, LAYERS, library=kernel_lib, dtypes=("bfloat16", "float16"),
                        cublas={("bfloat16", 256, 128, 16), ("float16", 128, 256, 1)},
                        skip={("bfloat16", 128, 256, 1024), ("float16", 384, 128, 1)})
    return path


def run_py(code: str, env_extra: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=str(REPO))


def test_native_library_is_built_once_and_exports_the_shims():
    path = aoti.build_native()
    assert path == aoti.native_path() and path.is_file()
    assert path.parent.parent.name == "native" and len(path.parent.name) == 32
    mtime = path.stat().st_mtime_ns
    assert aoti.build_native() == path and path.stat().st_mtime_ns == mtime  # cached: not rebuilt
    syms = subprocess.run(["nm", "-D", "--defined-only", str(path)], capture_output=True, text=True).stdout
    for name in ("aoti_torch_cuda_aotgemm_linear", "aoti_torch_cpu_aotgemm_linear", "aotgemm_aoti_init",
                 "aotgemm_aoti_check", "aotgemm_aoti_counter", "aotgemm_aoti_lookup"):
        assert f" T {name}\n" in syms, name
    soname = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    assert "Library soname: [libaotgemm_aoti.so]" in soname


def test_library_loads_after_the_environment_that_built_it_is_gone(monkeypatch, tmp_path):
    """A cached copy, or a package's embedded one, outlives the environment that built it; its RUNPATH names that
    environment's lib folders. Loading must not need them (a rebuilt venv once broke every AOTI load)."""
    include, lib = native._tvm_ffi_dirs()
    gone = tmp_path / "old-venv" / "tvm_ffi" / "lib"
    gone.mkdir(parents=True)
    shutil.copy2(lib / "libtvm_ffi.so", gone / "libtvm_ffi.so")
    monkeypatch.setattr(native, "_tvm_ffi_dirs", lambda: (include, gone))
    path = native.build_native(cache_dir=tmp_path / "cache")
    monkeypatch.undo()
    runpath = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    assert str(gone) in runpath
    shutil.rmtree(tmp_path / "old-venv")
    proc = run_py(f"""
        from aotgemm.aoti import native
        lib = native.load_native(path={str(path)!r})
        print("abi", lib.aotgemm_aoti_abi_version())
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"abi {native.ABI_VERSION}" in proc.stdout


def test_cache_key_tracks_source_and_versions(monkeypatch):
    key = native.cache_key()
    monkeypatch.setattr(native, "_versions", lambda: {"torch": "0.0", "tvm_ffi": "0", "cxx11_abi": "1"})
    assert native.cache_key() != key


def test_missing_compiler_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(aoti.NativeBuildError, match=r"cannot build libaotgemm_aoti.so: C\+\+ compiler .g\+\+. not found"):
        aoti.build_native(cxx="g++", cache_dir=tmp_path / "empty-cache")


def test_meta_round_trip(bundle):
    bf = open_bundle(bundle, verify_blobs=True)
    text = meta_mod.render(bf, device="cuda", inputs=[meta_mod.InputSpec("bfloat16", (-1, 128))],
                           routed=[meta_mod.Routed("linear", "bfloat16", 256, 128)])
    info = meta_mod.parse(text)
    assert info.bundle_name == "test.agb" and info.bundle_size == bundle.stat().st_size
    assert info.bundle_sha256 == meta_mod.file_sha256(bundle)
    assert info.index_sha256 == meta_mod.index_sha256(bf)
    assert info.device == "cuda" and info.m_buckets == bf.index.m_buckets
    assert info.inputs[0].shape == (-1, 128) and info.routed[0].n == 256
    t = bf.index.targets[0]
    assert info.dispatch["H100_SXM"] == [(*d.key, d.kernel, d.min_m) for d in t.dispatch]
    # every line is TAB-separated and the library line points at the blob's bytes
    lib_line = next(ln for ln in text.splitlines() if ln.startswith("library\t")).split("\t")
    blob = bf.index.blob(t.library)
    with open(bundle, "rb") as f:
        f.seek(int(lib_line[2]))
        stored = f.read(int(lib_line[3]))
    import hashlib

    assert hashlib.sha256(stored).hexdigest() == blob.sha256 == lib_line[5]


def test_coverage_excludes_cublas_only_shapes(tmp_path):
    path = tmp_path / "b.agb"
    testing.make_bundle(path, [("a", 256, 128), ("b", 512, 128)],
                        cublas={("bfloat16", 512, 128, b) for b in testing.TEST_BUCKETS})
    assert meta_mod.coverage(open_bundle(path)) == {("bfloat16", 256, 128): ((0, math.inf),)}


def test_coverage_is_per_target(tmp_path):
    """A CUDA package routes what its own target serves with a kernel (compile picks the target of the GPU
    it runs on): a target without the bundle's GEMMs routes nothing."""
    path = tmp_path / "b.agb"
    testing.make_bundle(path, [("a", 256, 128)], gpus=("H100_SXM", "B200"))
    bf = open_bundle(path)
    assert meta_mod.coverage(bf, "B200") == meta_mod.coverage(bf, "H100_SXM") == {("bfloat16", 256, 128): ((0, math.inf),)}
    assert meta_mod.coverage(bf, "H200_SXM") == {}
    from aotgemm.aoti.package import _package_target

    assert _package_target(bf, "cpu") is None


# --- the FX rewrite -------------------------------------------------------------
class Patterns(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.up = torch.nn.Linear(128, 256)                      # aten.linear with bias
        self.w_down = torch.nn.Parameter(torch.randn(128, 256) / 16)
        self.w_qkv = torch.nn.Parameter(torch.randn(384, 128) / 16)
        self.b_qkv = torch.nn.Parameter(torch.randn(384) / 16)
        self.other = torch.nn.Linear(128, 64, bias=False)       # not in the bundle

    def forward(self, x):
        h = torch.relu(self.up(x))
        y = torch.mm(h, self.w_down.t())                         # mm(x, t(W))
        q = torch.addmm(self.b_qkv, y, self.w_qkv.permute(1, 0))  # addmm(b, x, permute(W))
        r = torch.matmul(y, self.w_qkv.transpose(0, 1))          # matmul(x, transpose(W))
        return q + r, self.other(y)


def _exported(model, x):
    from torch.export import Dim

    return torch.export.export(model, (x,), dynamic_shapes=({0: Dim("m", min=1, max=4096)},))


def test_rewrite_routes_every_pattern_and_only_covered_shapes():
    from aotgemm.aoti.rewrite import route_exported_program

    torch.manual_seed(0)
    model = Patterns().to(torch.bfloat16)
    x = torch.randn(8, 128, dtype=torch.bfloat16)
    ep = _exported(model, x)
    covered = {("bfloat16", 256, 128), ("bfloat16", 128, 256), ("bfloat16", 384, 128)}
    routed = route_exported_program(ep, covered)
    assert sorted((r.n, r.k) for r in routed) == [(128, 256), (256, 128), (384, 128), (384, 128)]
    targets = [n.target for n in ep.graph_module.graph.nodes if n.op == "call_function"]
    assert targets.count(torch.ops.aotgemm.aotgemm_linear.default) == 4
    assert torch.ops.aten.linear.default in targets  # the uncovered 64x128 layer stays with Inductor
    want = model(x)
    got = ep.module()(x)
    for a, b in zip(want, got):
        torch.testing.assert_close(b, a, atol=3e-2, rtol=3e-2)


def test_rewrite_leaves_other_dtypes_alone():
    from aotgemm.aoti.rewrite import route_exported_program

    model = torch.nn.Linear(128, 256)  # float32: no bundle kernel for it
    ep = _exported(model, torch.randn(4, 128))
    assert route_exported_program(ep, {("bfloat16", 256, 128)}) == []


# --- dispatch: C and Python agree --------------------------------------------------
def test_c_dispatch_matches_the_bundle_rule(bundle, tmp_path):
    pkg = testing.make_stub_package(tmp_path / "stub.pt2", bundle)
    bf = open_bundle(bundle)
    t = bf.index.target("H100_SXM")
    table = {d.key: d.kernel for d in t.dispatch}
    cases = []
    for dtype in ("bfloat16", "float16"):
        for _, n, k in LAYERS + [("none", 999, 128)]:
            for m in (1, 2, 15, 16, 17, 127, 128, 129, 1000, 1024, 1025, 5000):
                want = table.get((dtype, "linear", "identity", n, k, bucket_for(m, bf.index.m_buckets)))
                cases.append([dtype, n, k, m, want])
    proc = run_py(f"""
        import json, aotgemm.aoti as aoti
        from aotgemm.aoti import testing
        from aotgemm.aoti import native
        lib = native.load_native()
        native.init(lib, {str(pkg)!r}, None, 0, testing.fake_device(), {str(tmp_path / 'cache')!r},
                    native.FLAG_CPU_KERNELS)
        cases = json.loads({json.dumps(json.dumps(cases))})
        print(json.dumps([aoti.lookup(d, n, k, m) for d, n, k, m, _ in cases]))
        print(native.describe(lib))
    """)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.splitlines()[0])
    assert got == [c[4] for c in cases]
    assert CUBLAS in got and None in got and "aotgemm_test_gemm_bf16" in got
    state = json.loads(proc.stdout.splitlines()[1])
    assert state["target"] == "H100_SXM" and state["mode"] == "kernels" and state["kernels"] == 2
    # the library was extracted content-addressed under the given cache dir
    lib_path = Path(state["library"])
    assert lib_path.parent.parent == tmp_path / "cache" / "lib"  # the Python runtime's cache
    assert lib_path.parent.name == bf.index.blob(t.library).content_sha256
    assert lib_path.name == t.library and (lib_path.parent / (t.library + ".ok")).is_file()


# --- one library cache for both runtimes ----------------------------------------------
def _c_init_state(pkg: Path, cache: Path) -> dict:
    proc = run_py(f"""
        import json
        from aotgemm.aoti import native, testing
        lib = native.load_native()
        native.init(lib, {str(pkg)!r}, None, 0, testing.fake_device(), {str(cache)!r}, 0)
        print(native.describe(lib))
    """)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_library_cache_is_shared_with_the_python_runtime(bundle, tmp_path):
    """C++ and Python extract into the same <cache>/lib/<content sha256>/<blob>, with the same lock and
    marker: what one extracted the other uses as is; a file without its marker is replaced."""
    from aotgemm.runtime.library import MARKER_SUFFIX, extract_library

    pkg = testing.make_stub_package(tmp_path / "stub.pt2", bundle)
    bf = open_bundle(bundle)
    name = bf.index.target("H100_SXM").library
    # Python first, then C++
    py = extract_library(bf, name, cache_root=tmp_path / "py-first")
    assert py.extracted
    state = _c_init_state(pkg, tmp_path / "py-first")
    assert state["extracted"] is False and state["library"] == str(py.path)
    # C++ first, then Python
    state = _c_init_state(pkg, tmp_path / "c-first")
    assert state["extracted"] is True
    path = Path(state["library"])
    assert (path.parent / (name + MARKER_SUFFIX)).read_text() == path.parent.name + "\n"
    assert (path.parent / ".lock").is_file() and not list(path.parent.glob(".*.tmp"))
    py = extract_library(bf, name, cache_root=tmp_path / "c-first")
    assert not py.extracted and py.path == path
    # a file without its marker (a crashed extraction) is not trusted: C++ replaces it
    (path.parent / (name + MARKER_SUFFIX)).unlink()
    path.write_bytes(b"\0" * path.stat().st_size)
    (path.parent / f".{name}.abc123.tmp").write_bytes(b"partial")
    state = _c_init_state(pkg, tmp_path / "c-first")
    assert state["extracted"] is True and state["mode"] == "kernels"
    assert not list(path.parent.glob(".*.tmp")) and (path.parent / (name + MARKER_SUFFIX)).is_file()
