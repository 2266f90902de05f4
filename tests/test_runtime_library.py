"""Library extraction into the content-addressed cache, loading through tvm_ffi, and load() end to end."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from aotgemm.bundle import open_bundle
from aotgemm.errors import BlobChecksumMismatch, KernelLibraryError
from aotgemm.runtime.library import MARKER_SUFFIX, ensure_dsl_runtime, extract_library, load_library, resolve

try:
    from .test_runtime_fixtures import (cache_dir, cpu_ffi_library, h100_facts, make_bundle,
                                        make_target)
except ImportError:
    from test_runtime_fixtures import cache_dir, cpu_ffi_library, h100_facts, make_bundle, make_target

__all__ = ["cache_dir", "cpu_ffi_library"]  # fixtures used here

LIB = "h100_sxm.so"


def _payload(size: int = 3 << 20) -> bytes:
    # compressible but not trivially so, and large enough that extraction takes a moment
    block = hashlib.sha256(b"seed").digest() * 64
    return b"".join(block[i % 97:] + bytes([i % 251]) for i in range(size // len(block) + 1))[:size]


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


def test_extract_then_cached(tmp_path, cache_dir):
    content = _payload(1 << 16)
    make_bundle(tmp_path / "s.agb", library=content)
    bundle = open_bundle(tmp_path / "s.agb")
    blob = bundle.index.blob(LIB)
    first = extract_library(bundle, LIB)
    assert first.extracted
    assert first.path == cache_dir / "lib" / blob.content_sha256 / LIB
    assert first.path.read_bytes() == content
    assert (first.path.parent / (LIB + MARKER_SUFFIX)).read_text() == blob.content_sha256 + "\n"
    second = extract_library(bundle, LIB)
    assert second == type(first)(first.path, False)
    assert _leftovers(first.path.parent) == []


def test_same_library_in_two_bundles_shares_one_file(tmp_path, cache_dir):
    make_bundle(tmp_path / "a.agb", library=b"same bytes" * 100)
    make_bundle(tmp_path / "b.agb", library=b"same bytes" * 100)
    a = extract_library(open_bundle(tmp_path / "a.agb"), LIB)
    b = extract_library(open_bundle(tmp_path / "b.agb"), LIB)
    assert a.path == b.path and a.extracted and not b.extracted


@pytest.mark.parametrize("damage", ["same size, no marker", "short, no marker", "short, with marker"])
def test_damaged_cache_entry_is_replaced(tmp_path, cache_dir, damage):
    content = _payload(1 << 15)
    make_bundle(tmp_path / "s.agb", library=content)
    bundle = open_bundle(tmp_path / "s.agb")
    d = cache_dir / "lib" / bundle.index.blob(LIB).content_sha256
    d.mkdir(parents=True)
    bad = b"\0" * len(content) if damage.startswith("same size") else content[:100]
    (d / LIB).write_bytes(bad)
    if damage.endswith("with marker"):
        (d / (LIB + MARKER_SUFFIX)).write_text("stale\n")
    (d / f".{LIB}.crashed.tmp").write_bytes(b"left by a killed extraction")
    r = extract_library(bundle, LIB)
    assert r.extracted and r.path.read_bytes() == content
    assert (d / (LIB + MARKER_SUFFIX)).is_file()
    assert _leftovers(d) == []


def test_corrupt_blob_is_refused(tmp_path, cache_dir):
    path = tmp_path / "s.agb"
    make_bundle(path, library=_payload(1 << 15))
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # inside the (only) blob
    path.write_bytes(bytes(data))
    bundle = open_bundle(path)
    with pytest.raises(BlobChecksumMismatch):
        extract_library(bundle, LIB)
    d = cache_dir / "lib" / bundle.index.blob(LIB).content_sha256
    assert not (d / LIB).exists() and not (d / (LIB + MARKER_SUFFIX)).exists() and _leftovers(d) == []


def test_warm_cache_still_checks_the_bundle(tmp_path, cache_dir):
    path = tmp_path / "s.agb"
    make_bundle(path, library=_payload(1 << 15))
    extract_library(open_bundle(path), LIB)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BlobChecksumMismatch):
        extract_library(open_bundle(path), LIB)
    assert not extract_library(open_bundle(path), LIB, verify_cached=False).extracted


_WORKER = r"""
import json, os, sys, time, types
# Load aotgemm.runtime.library without running aotgemm/runtime/__init__.py (which imports torch):
# 16 torch imports at once would make this test slow on a small CI machine; extraction needs no torch.
import aotgemm
pkg = types.ModuleType("aotgemm.runtime")
pkg.__path__ = [os.path.join(os.path.dirname(aotgemm.__file__), "runtime")]
sys.modules["aotgemm.runtime"] = pkg
from aotgemm.bundle import open_bundle
from aotgemm.runtime.library import extract_library
bundle_path, name, go = sys.argv[1:4]
bundle = open_bundle(bundle_path)
open(go + ".ready." + str(os.getpid()), "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
r = extract_library(bundle, name)
import hashlib
data = r.path.read_bytes()
print(json.dumps({"extracted": r.extracted, "path": str(r.path), "sha": hashlib.sha256(data).hexdigest(),
                  "torch": "torch" in sys.modules}))
"""


def _pythonpath() -> str:
    import aotgemm

    root = str(Path(aotgemm.__file__).resolve().parent.parent)
    return os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])


def test_sixteen_processes_extract_once(tmp_path, cache_dir):
    content = _payload()
    make_bundle(tmp_path / "s.agb", library=content)
    go = tmp_path / "go"
    env = dict(os.environ, AOTGEMM_CACHE_DIR=str(cache_dir), PYTHONPATH=_pythonpath())
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path / "s.agb"), LIB, str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(16)]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.ready.*"))) < 16 and time.monotonic() < deadline:
        time.sleep(0.01)  # every process parks at the barrier, then all start together
    go.write_text("")
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    want = hashlib.sha256(content).hexdigest()
    assert [r["sha"] for r in results] == [want] * 16
    assert sum(r["extracted"] for r in results) == 1
    assert not any(r["torch"] for r in results)
    assert len({r["path"] for r in results}) == 1
    d = Path(results[0]["path"]).parent
    assert sorted(p.name for p in d.iterdir()) == [".lock", LIB, LIB + MARKER_SUFFIX]


# --- loading through tvm_ffi ------------------------------------------------------------
def test_load_library_and_resolve(tmp_path, cpu_ffi_library):
    so = tmp_path / "k.so"
    so.write_bytes(cpu_ffi_library)
    module = load_library(so, "static-runtime")
    fns = resolve(module, ["gemm_a", "gemm_b"])
    assert fns["gemm_a"](1, 2, 3, 4) == 1004 and fns["gemm_b"]() == 2000
    with pytest.raises(KernelLibraryError, match=r"does not export 2 kernel\(s\) the bundle names: nope, zilch"):
        resolve(module, ["gemm_a", "nope", "zilch"], where="the test library")


def test_load_library_refuses_a_non_library(tmp_path):
    bad = tmp_path / "bad.so"
    bad.write_bytes(b"not an ELF file")
    with pytest.raises(KernelLibraryError, match="cannot load the kernel library"):
        load_library(bad, "static-runtime")


def test_dsl_runtime_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AOTGEMM_DSL_RUNTIME_LIB", str(tmp_path / "missing.so"))
    with pytest.raises(KernelLibraryError, match=r"needs libcute_dsl_runtime.so: AOTGEMM_DSL_RUNTIME_LIB is set to "
                                                 r".*pip install nvidia-cutlass-dsl-libs-cu13"):
        ensure_dsl_runtime(13)


def test_load_end_to_end_with_injected_facts(tmp_path, cache_dir, cpu_ffi_library, clean_runtime):
    rt = clean_runtime
    make_bundle(tmp_path / "s.agb", library=cpu_ffi_library)
    b = rt.load(tmp_path / "s.agb", facts=h100_facts())
    assert not b.fallback and b.extracted and rt.active() is b
    assert b.library_path.read_bytes() == cpu_ffi_library
    assert set(b.timings) == {"open", "environment", "extract", "libtvm_ffi", "dlopen", "resolve"}
    table = b.dispatch.table
    assert table[("bfloat16", "linear", "identity", 256, 128, 16)].symbol == "gemm_a"
    assert table[("bfloat16", "linear", "identity", 256, 128, 128)].fn(1, 2, 3, 4) == 2004
    assert table[("bfloat16", "linear", "identity", 256, 128, 1024)].fn is None  # the bundle chose cuBLAS
    assert b.shapes == {("bfloat16", 128, 256), ("bfloat16", 256, 128), ("float16", 64, 64)}
    assert "target H100_SXM (sm_90a), 2 kernel(s), 9 dispatch entries (5 served by kernels)" in b.describe()
    again = rt.load(tmp_path / "s.agb", facts=h100_facts())
    assert not again.extracted and again.library_path == b.library_path and rt.active() is again
    # CPU tensors never reach a kernel
    x, w = torch.randn(3, 128, dtype=torch.bfloat16), torch.randn(256, 128, dtype=torch.bfloat16)
    torch.testing.assert_close(rt.linear(x, w), torch.nn.functional.linear(x, w), rtol=0, atol=0)
    assert rt.stats().misses == {("bfloat16", 256, 128, 16, "cpu tensor"): 1}


def test_load_fails_cleanly_when_a_kernel_is_missing(tmp_path, cache_dir, cpu_ffi_library, clean_runtime):
    target = make_target(symbols=("gemm_a", "gemm_b", "gemm_c"),
                         dispatch={("bfloat16", 128, 256): ("gemm_a", "gemm_c", "gemm_b")})
    make_bundle(tmp_path / "s.agb", library=cpu_ffi_library, targets=(target,))
    with pytest.raises(KernelLibraryError, match="does not export 1 kernel\\(s\\) the bundle names: gemm_c"):
        clean_runtime.load(tmp_path / "s.agb", facts=h100_facts())
    assert clean_runtime.active() is None


def test_load_dsl_runtime_mode_loads_the_runtime_first(tmp_path, cache_dir, cpu_ffi_library, clean_runtime,
                                                       monkeypatch):
    import aotgemm.runtime.library as lib

    fake_runtime = tmp_path / "libcute_dsl_runtime.so"
    fake_runtime.write_bytes(cpu_ffi_library)  # any loadable shared object stands in for it on CPU
    monkeypatch.setenv("AOTGEMM_DSL_RUNTIME_LIB", str(fake_runtime))
    monkeypatch.setattr(lib, "_dsl_runtime_handle", None)
    make_bundle(tmp_path / "s.agb", library=cpu_ffi_library, targets=(make_target(env={"link_mode": "dsl-runtime"}),))
    b = clean_runtime.load(tmp_path / "s.agb", facts=h100_facts(dsl_runtime_lib=str(fake_runtime)))
    assert not b.fallback and lib._dsl_runtime_handle is not None
    assert lib._dsl_runtime_handle._name == str(fake_runtime)
