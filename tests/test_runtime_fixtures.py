"""Sample bundles and machine facts for the runtime tests (imported by the other test_runtime_* files).

Bundles are built with the bundle API directly. `cpu_ffi_library` compiles a
tiny TVM-FFI shared object with the host C compiler (two exported functions,
`gemm_a` and `gemm_b`, that return 1000/2000 + their argument count), so the
extraction -> tvm_ffi.load_module -> symbol resolution path runs for real on
a CPU machine.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aotgemm.bundle import BundleIndex, DispatchEntry, Kernel, Layer, Target, write_bundle
from aotgemm.runtime.environment import MachineFacts

BUCKETS = (16, 128, 1024)
DEFAULT_ENV = {
    "cuda_driver_min": 13000,
    "cuda_runtime_major": 13,
    "compiler": "nvidia-cutlass-dsl 4.8.1",
    "tvm_ffi": "0.1.15",
    "link_mode": "static-runtime",
    "torch_tuned_with": None,
    "tuned_on": None,
    "tuned_driver": None,
    "tuned_at": None,
}
SOURCES = (("cutlass_operators", "nvidia-cutlass-operators 0.3.0"),)
H100_NAME = "NVIDIA H100 80GB HBM3"


def h100_facts(**overrides) -> MachineFacts:
    """Facts of an H100 SXM machine that matches DEFAULT_ENV exactly."""
    base = MachineFacts(gpu_name=H100_NAME, sm_count=132, capability=(9, 0), driver_version=13000,
                        torch_version="2.13.0+cu130", torch_cuda="13.0", tvm_ffi_version="0.1.15.post2",
                        dsl_runtime_lib="/opt/dsl/libcute_dsl_runtime.so", device_index=0)
    return dataclasses.replace(base, **overrides)


def no_gpu_facts() -> MachineFacts:
    return MachineFacts(no_gpu_reason="injected: no GPU")


def b200_only() -> tuple[Target, ...]:
    """Targets for a bundle that no H100/H200 machine can use (tests that detect the real machine)."""
    return (make_target(gpu="B200", arch="sm_100a", sm_count=148, library="b200.so"),)


def kernel(symbol: str, dtype: str = "bfloat16", alignment: int = 8, epilogue: str = "identity",
           max_m: int = 0) -> Kernel:
    return Kernel(symbol=symbol, source="cutlass_operators", family="Sm90StaticPersistentGemmOperator",
                  design=(("cluster", (1, 1)), ("tile", (128, 128))), dtype=dtype, layout="linear",
                  epilogue=epilogue, alignment=alignment, max_m=max_m, cache_key="0" * 64)


def entry(dtype: str, n: int, k: int, bucket: int, kernel_symbol: str, epilogue: str = "identity") -> DispatchEntry:
    return DispatchEntry(dtype, "linear", epilogue, n, k, bucket, kernel_symbol, "heuristic")


# (dtype, n, k) -> kernel per bucket in BUCKETS
DEFAULT_DISPATCH = {
    ("bfloat16", 128, 256): ("gemm_a", "gemm_a", "gemm_a"),
    ("bfloat16", 256, 128): ("gemm_a", "gemm_b", "cublas"),
    ("float16", 64, 64): ("cublas", "cublas", "cublas"),
}


def make_target(gpu: str = "H100_SXM", arch: str = "sm_90a", sm_count: int = 132, library: str = "h100_sxm.so",
                env: dict | None = None, dispatch: dict | None = None,
                symbols: tuple[str, ...] = ("gemm_a", "gemm_b")) -> Target:
    environment = dict(DEFAULT_ENV, **(env or {}))
    dispatch = DEFAULT_DISPATCH if dispatch is None else dispatch
    entries = [entry(dt, n, k, b, sym) for (dt, n, k), syms in dispatch.items() for b, sym in zip(BUCKETS, syms)]
    entries.sort(key=lambda e: e.key)
    return Target(gpu=gpu, arch=arch, sm_count=sm_count, library=library,
                  environment=tuple(sorted(environment.items())), sources=SOURCES,
                  kernels=tuple(kernel(s) for s in sorted(symbols)), dispatch=tuple(entries))


def make_index(targets: tuple[Target, ...] | None = None, buckets=BUCKETS) -> BundleIndex:
    targets = targets if targets is not None else (make_target(),)
    return BundleIndex(generator="aotgemm 0.1.0", model="sample",
                       layers=(Layer("o", 128, 256, 2), Layer("up", 256, 128, 2)),
                       m_buckets=tuple(buckets), targets=tuple(sorted(targets, key=lambda t: t.gpu)))


def make_bundle(path: Path, library: bytes = b"\x7fELF not really a library" * 64,
                targets: tuple[Target, ...] | None = None) -> BundleIndex:
    """Write a sample bundle; every target's library blob gets `library` as content."""
    index = make_index(targets)
    blobs = {t.library: library for t in index.targets}
    return write_bundle(path, index, blobs)


CPU_FFI_SOURCE = r"""
#include <tvm/ffi/c_api.h>
TVM_FFI_DLL_EXPORT int __tvm_ffi_gemm_a(void* h, const TVMFFIAny* args, int32_t n, TVMFFIAny* result) {
  result->type_index = kTVMFFIInt; result->v_int64 = 1000 + n; return 0; }
TVM_FFI_DLL_EXPORT int __tvm_ffi_gemm_b(void* h, const TVMFFIAny* args, int32_t n, TVMFFIAny* result) {
  result->type_index = kTVMFFIInt; result->v_int64 = 2000 + n; return 0; }
"""


def build_cpu_ffi_library(out_dir: Path) -> Path:
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the CPU TVM-FFI test library")
    import tvm_ffi.libinfo

    includes = [tvm_ffi.libinfo.find_include_path(), tvm_ffi.libinfo.find_dlpack_include_path()]
    src = out_dir / "cpu_ffi.c"
    src.write_text(CPU_FFI_SOURCE)
    lib = out_dir / "cpu_ffi.so"
    cmd = [cc, "-shared", "-fPIC", "-O1", *(f"-I{p}" for p in includes), str(src), "-o", str(lib)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot build the CPU TVM-FFI test library: {proc.stderr[-500:]}")
    return lib


@pytest.fixture(scope="session")
def cpu_ffi_library(tmp_path_factory) -> bytes:
    """The bytes of a real TVM-FFI shared object exporting gemm_a and gemm_b (CPU only)."""
    return build_cpu_ffi_library(tmp_path_factory.mktemp("cpu_ffi")).read_bytes()


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("AOTGEMM_CACHE_DIR", str(d))
    return d


def test_sample_bundle_round_trips(tmp_path):
    from aotgemm.bundle import open_bundle

    index = make_bundle(tmp_path / "s.agb")
    b = open_bundle(tmp_path / "s.agb", verify_blobs=True)
    assert b.index == index
    assert b.index.target("H100_SXM").env["link_mode"] == "static-runtime"
