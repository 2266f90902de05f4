"""Real cross-compilation on a machine with no GPU: sm_90a and sm_100a kernels from the registry.

Needs the [build] extra (CI installs it). One cold build of the shipped
Llama-3.1-8B manifest for H100_SXM and B200 (both kernel sources), then a warm rebuild.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from aotgemm.bundle import CUBLAS, open_bundle

pytestmark = [
    pytest.mark.build,
    pytest.mark.skipif(importlib.util.find_spec("cutlass") is None, reason="needs the [build] extra (CuTe DSL)"),
]
ROOT = Path(__file__).resolve().parents[1]


def aotgemm(*args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "aotgemm.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=900)


@pytest.fixture(scope="module")
def llama_builds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cross")
    cache = tmp / "cache"
    # --top-k 1: both sources and both architectures with 60 kernels, against 182 at the default 5
    # (CI time); the README's build uses the default.
    cmd = ["build", "manifests/llama-3.1-8b.toml", "--gpu", "H100_SXM", "--gpu", "B200", "--no-tune",
           "--top-k", "1", "--cache-dir", str(cache)]
    first = aotgemm(*cmd, "-o", str(tmp / "first.agb"))
    second = aotgemm(*cmd, "-o", str(tmp / "second.agb"))
    return tmp, first, second


def test_llama_cross_compile_for_hopper_and_blackwell(llama_builds):
    tmp, first, _ = llama_builds
    assert first.returncode == 0, first.stderr[-3000:]
    print(first.stdout)
    b = open_bundle(tmp / "first.agb", verify_blobs=True)
    assert {t.arch for t in b.index.targets} == {"sm_90a", "sm_100a"}
    assert {t.gpu for t in b.index.targets} == {"H100_SXM", "B200"}
    for t in b.index.targets:
        lib = b.blob(t.library)
        assert lib[:4] == b"\x7fELF"
        for k in t.kernels:  # every kernel is exported from its target's library
            assert f"__tvm_ffi_{k.symbol}".encode() in lib
        chosen = {(d.n, d.k, d.m_bucket): d for d in t.dispatch}
        kernels = {k.symbol: k for k in t.kernels}
        for layer in b.index.layers:
            for m in b.index.m_buckets:
                d = chosen[(layer.n, layer.k, m)]
                assert d.kernel not in (None, CUBLAS), (t.gpu, layer.name, m)
                assert d.epilogue == "identity" and d.ranked[0] == d.kernel and len(d.ranked) >= 1
                assert kernels[d.kernel].serves(m), (t.gpu, layer.name, m, kernels[d.kernel].max_m)
        assert all(d.decided_by == "heuristic" and d.kernel_us is None for d in t.dispatch)
        assert t.env["tuned_on"] is None
        # both sources contributed: the registry everywhere, our decode kernels (max_m > 0) at small M
        assert {k.source for k in t.kernels} == {s for s, _ in t.sources} == {"cutlass_operators", "aotgemm"}
        assert all(k.max_m > 0 for k in t.kernels if k.source == "aotgemm")
    assert "compiled 0" not in first.stdout and "failed 0" in first.stdout


def test_warm_rebuild_compiles_nothing_and_is_byte_identical(llama_builds):
    tmp, first, second = llama_builds
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count("compiled 0, cache hits") == 2, second.stdout
    assert (tmp / "first.agb").read_bytes() == (tmp / "second.agb").read_bytes()


def test_inspect_lists_every_layer_and_bucket(llama_builds):
    tmp, _, _ = llama_builds
    r = aotgemm("inspect", str(tmp / "first.agb"))
    assert r.returncode == 0, r.stderr
    for name in ("qkv", "o", "gate_up", "down", "lm_head", "H100_SXM", "B200"):
        assert name in r.stdout
    r = aotgemm("verify", str(tmp / "first.agb"))
    assert r.returncode == 0 and "OK" in r.stdout


def test_a_crashing_kernel_compile_is_reported_and_the_build_finishes(tmp_path):
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        '[model]\nname = "tiny"\n[build]\ngpus = ["H100_SXM"]\ndtypes = ["bfloat16"]\nm_buckets = [1, 4096]\n'
        '[[layers]]\nname = "o"\nn = 4096\nk = 4096\n')
    from aotgemm.compiler.pipeline import BuildOptions, run_build
    from aotgemm.manifest import load_manifest
    import os

    os.environ["AOTGEMM_TEST_CRASH_DESIGN"] = "H100_SXM:64x64:1x1"
    try:
        report = run_build(load_manifest(manifest), BuildOptions(
            output=tmp_path / "tiny.agb", gpus=("H100_SXM",), tune=False, top_k=3, jobs=2,
            cache_dir=tmp_path / "cache", compiler="tests.stub_compilers:crash_or_real",
            sources=("cutlass_operators",)))
    finally:
        del os.environ["AOTGEMM_TEST_CRASH_DESIGN"]
    (t,) = report.targets
    assert len(t.failures) == 1 and "SIGABRT" in t.failures[0][1], t.failures
    assert "FAILED" in report.summary() and "64x64 c1x1" in report.summary()
    b = open_bundle(tmp_path / "tiny.agb", verify_blobs=True)
    (target,) = b.index.targets
    designs = [(k.design_dict["tile"][:2], k.design_dict["cluster"][:2]) for k in target.kernels]
    assert ([64, 64], [1, 1]) not in designs and len(designs) == t.kernels >= 1
    assert all(d.kernel != CUBLAS for d in target.dispatch)  # the next-ranked kernel took over


def test_link_modes_name_the_runtime_dependencies_they_promise(llama_builds):
    tmp, _, _ = llama_builds
    static = open_bundle(tmp / "first.agb", verify_blobs=True)
    r = aotgemm("build", "manifests/llama-3.1-8b.toml", "--gpu", "H100_SXM", "--no-tune", "--top-k", "1",
                "--link-mode", "dsl-runtime", "--cache-dir", str(tmp / "cache"), "-o", str(tmp / "dsl.agb"))
    assert r.returncode == 0, r.stderr[-2000:]
    n = len(static.index.target("H100_SXM").kernels)
    assert f"compiled 0, cache hits {n}" in r.stdout  # linking differs, the objects are the same
    dsl = open_bundle(tmp / "dsl.agb", verify_blobs=True)
    s_target, d_target = static.index.target("H100_SXM"), dsl.index.target("H100_SXM")
    assert s_target.env["link_mode"] == "static-runtime" and d_target.env["link_mode"] == "dsl-runtime"
    s_lib, d_lib = static.blob(s_target.library), dsl.blob(d_target.library)
    assert b"libcudart.so.13" in s_lib and b"libcute_dsl_runtime.so" not in s_lib
    assert b"CuteDSLRT_TVMFFISetRaisedCudaError" in s_lib  # our helper, defined inside
    assert b"libcute_dsl_runtime.so" in d_lib and b"libcudart.so.13" not in d_lib
    assert [k.symbol for k in s_target.kernels] == [k.symbol for k in d_target.kernels]
