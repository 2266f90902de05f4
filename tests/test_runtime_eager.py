"""The runtime's kernel calls through TVM-FFI's C ABI (aotgemm.runtime.ffi) and the patched modules' eager path
(aotgemm.runtime.eager), on CPU, with a real TVM-FFI library computing the GEMM (tests/data/cpu_gemm_ffi.c).

The eager path must decide, count and compute exactly what the op does: every case runs once through
torch.ops.aotgemm.aotgemm_linear and once through a patched nn.Linear, and the outputs and stats must agree.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from aotgemm.runtime import eager, ffi
from aotgemm.runtime.ops import Dispatch, Route, set_active
from aotgemm.runtime.patch import patch_model

try:
    from .test_runtime_fixtures import BUCKETS
except ImportError:
    from test_runtime_fixtures import BUCKETS

bf16 = torch.bfloat16
SOURCE = Path(__file__).resolve().parent / "data" / "cpu_gemm_ffi.c"


@pytest.fixture(scope="session")
def gemm_library(tmp_path_factory) -> ffi.KernelLibrary:
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the CPU TVM-FFI GEMM library")
    import importlib.util

    root = Path(importlib.util.find_spec("tvm_ffi").submodule_search_locations[0])
    out = tmp_path_factory.mktemp("cpu_gemm") / "cpu_gemm.so"
    cmd = [cc, "-shared", "-fPIC", "-O2", f"-I{root / 'include'}", f"-I{root / 'include' / 'dlpack'}",
           f"-I{root / '3rdparty' / 'dlpack' / 'include'}", str(SOURCE), "-o", str(out),
           f"-L{root / 'lib'}", "-ltvm_ffi"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot build the CPU TVM-FFI GEMM library: {proc.stderr[-500:]}")
    return ffi.KernelLibrary(out)


def ref(x, w, b=None):
    return F.linear(x.float(), w.float(), None if b is None else b.float())


def rel_err(y, r) -> float:
    return float((y.float() - r).norm() / r.norm())


def poisoned(*shape, dtype=bf16):
    return torch.full(shape, float("nan"), dtype=dtype)


# --- ffi: the C-ABI call ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [bf16, torch.float32])
def test_call_computes_on_the_tensors_it_is_given(gemm_library, dtype):
    fn = gemm_library.get_function("cpu_gemm")
    x = torch.randn(5, 72, dtype=dtype)[:, :64]  # row stride 72: the kernel must honour strides
    w = torch.randn(48, 64, dtype=dtype)
    out = poisoned(5, 48, dtype=dtype)
    assert fn(x, w.t(), out, 12345) is None
    assert rel_err(out, ref(x, w)) < 1e-2
    assert ctypes.c_int64.in_dll(gemm_library._lib, "aotgemm_test_last_stream").value == 12345


def test_prepared_call_reuses_the_weight_and_takes_x_out_m_per_call(gemm_library):
    w, b = torch.randn(32, 64, dtype=bf16), torch.randn(32, dtype=bf16)
    plain = gemm_library.get_function("cpu_gemm").prepared(w.t(), (), ("x", "wt", "out", "stream"), 32)
    fused = gemm_library.get_function("cpu_gemm_bias").prepared(w.t(), (b,), ("x", "wt", "out", "bias", "stream"), 32)
    for m, row in ((1, 64), (7, 64), (3, 80)):
        x = torch.randn(m, row, dtype=bf16)[:, :64]
        for call, bias in ((plain, None), (fused, b)):
            out = poisoned(m, 32)
            call(x.data_ptr(), m, x.stride(0), out.data_ptr(), 99)
            assert rel_err(out, ref(x, w, bias)) < 1e-2


def test_errors_carry_the_library_message(gemm_library):
    fn = gemm_library.get_function("cpu_gemm")
    x, w = torch.randn(4, 64, dtype=bf16), torch.randn(32, 64, dtype=bf16)
    with pytest.raises(ffi.KernelCallError, match=r"kernel cpu_gemm failed: ValueError: shape mismatch: x \[4, 64\], "
                                                  r"wt \[64, 32\], out \[4, 16\]"):
        fn(x, w.t(), torch.empty(4, 16, dtype=bf16), 0)
    with pytest.raises(ffi.KernelCallError, match="expected 4 arguments, got 3"):
        fn(x, w.t(), torch.empty(4, 32, dtype=bf16))
    assert gemm_library.get_function("no_such_kernel") is None
    out = poisoned(4, 32)
    fn(x, w.t(), out, 0)  # the error slot was cleared: the next call succeeds
    assert rel_err(out, ref(x, w)) < 1e-2


def test_a_library_typing_its_stream_as_a_pointer_gets_one(gemm_library):
    fn = gemm_library.get_function("cpu_gemm_ptr_stream")
    x, w = torch.randn(4, 64, dtype=bf16), torch.randn(32, 64, dtype=bf16)
    out = poisoned(4, 32)
    fn(x, w.t(), out, 777)  # refused as an int (TypeError), retried as a pointer
    assert rel_err(out, ref(x, w)) < 1e-2 and fn._stream_kind == ffi.K_OPAQUE_PTR
    assert ctypes.c_int64.in_dll(gemm_library._lib, "aotgemm_test_last_stream").value == 777
    call = fn.prepared(w.t(), (), ("x", "wt", "out", "stream"), 32)
    out = poisoned(4, 32)
    call(x.data_ptr(), 4, 64, out.data_ptr(), 778)
    assert rel_err(out, ref(x, w)) < 1e-2


# --- the eager path: same decisions, counters and results as the op -------------------------
N, K = 256, 128


@pytest.fixture
def cpu_dispatch(clean_runtime, gemm_library):
    k, kb = gemm_library.get_function("cpu_gemm"), gemm_library.get_function("cpu_gemm_bias")
    table = {
        ("bfloat16", "linear", "identity", N, K, 16): Route("cpu_gemm", k, 8, max_m=12),
        ("bfloat16", "linear", "identity", N, K, 128): Route("cpu_gemm", k, 8),
        ("bfloat16", "linear", "identity", N, K, 1024): Route(None, None),
        ("bfloat16", "linear", "bias", N, K, 16): Route("cpu_gemm_bias", kb, 8),
        ("bfloat16", "linear", "identity", 64, K, 16): Route("cpu_gemm", k, 16),  # alignment 16
    }
    d = Dispatch(BUCKETS, table, device_type="cpu", name="cpu ffi table")
    set_active(d)
    return d


def _x(shape, *, row=None, offset=0, dtype=bf16, transpose=False):
    """x of `shape` (last dim K), optionally with padded rows, a storage offset (elements) or transposed."""
    *lead, k = shape
    m = 1
    for s in lead:
        m *= s
    if transpose:
        return torch.randn(k, m, dtype=dtype).t().reshape(*lead, k) if len(lead) == 1 else None
    row = row or k
    base = torch.randn(offset + m * row, dtype=dtype)[offset:]
    return base.as_strided((*lead, k), tuple(_strides(lead, row)) + (1,))


def _strides(lead, row):
    st, acc = [], row
    for s in reversed(lead):
        st.append(acc)
        acc *= s
    return reversed(st)


CASES = [  # (x factory, bias?, n) -- hits, misses of every kind the rule knows, and shapes of x
    (lambda: _x((1, K)), False, N),
    (lambda: _x((8, K)), False, N),                    # bucket 16, max_m 12
    (lambda: _x((13, K)), False, N),                   # above max_m
    (lambda: _x((100, K)), False, N),                  # bucket 128
    (lambda: _x((2, 3, K)), False, N),                 # 3-D x
    (lambda: _x((2, 1, K)), False, N),
    (lambda: _x((4, K), row=136), False, N),           # padded rows: served
    (lambda: _x((4, K), row=132), False, N),           # row stride 132 % 8: unaligned
    (lambda: _x((4, K), offset=1), False, N),          # misaligned address
    (lambda: _x((4, K), offset=8), False, N),          # 16-byte aligned again: served
    (lambda: _x((4, K), transpose=True), False, N),    # non-contiguous
    (lambda: _x((600, K)), False, N),                  # bundle chose cuBLAS
    (lambda: _x((600, K)), True, N),                   # ... with a bias (addmm)
    (lambda: _x((3, 200, K)), False, N),               # ... 3-D x (matmul)
    (lambda: _x((3, 200, K)), True, N),                # ... 3-D x with a bias (F.linear)
    (lambda: _x((3, 200, K), row=136), False, N),      # ... 3-D x, padded rows
    (lambda: _x((0, K)), False, N),                    # empty
    (lambda: _x((4, K), dtype=torch.float32), False, N),  # unsupported dtype
    (lambda: _x((4, K)), True, N),                     # fused bias kernel
    (lambda: _x((40, K)), True, N),                    # identity kernel + bias added after
    (lambda: _x((4, K)), False, 64),                   # alignment 16 kernel
    (lambda: _x((4, K)), False, 96),                   # no entry
]


def _module(n, bias, dtype, d):
    lin = torch.nn.Linear(K, n, bias=bias, dtype=dtype).requires_grad_(False)
    names = patch_model(torch.nn.Sequential(lin), frozenset({("bfloat16", n, K)}))
    assert names == (["0"] if dtype == bf16 else [])
    return lin


@pytest.mark.parametrize("case", range(len(CASES)))
def test_eager_path_matches_the_op(clean_runtime, cpu_dispatch, case):
    rt = clean_runtime
    make, bias, n = CASES[case]
    x = make()
    lin = _module(n, bias, x.dtype, cpu_dispatch)
    if x.dtype == torch.float32:  # a float32 nn.Linear is not patched by patch(): patch it by hand
        lin.__class__ = eager_class()
    rt.reset_stats()
    want = torch.ops.aotgemm.aotgemm_linear(x, lin.weight, lin.bias)
    op_stats = rt.stats()
    rt.reset_stats()
    with torch.no_grad():
        got = [lin(x) for _ in range(3)]  # the first call fills the memo, the next two use it
    assert eager.is_eager(x, lin.weight, lin.bias)
    s = rt.stats()
    assert s.hits == {key: 3 * c for key, c in op_stats.hits.items()}
    assert s.misses == {key: 3 * c for key, c in op_stats.misses.items()}
    for y in got:
        assert y.shape == want.shape and torch.equal(y, want)
    if op_stats.total_hits and x.numel():
        assert rel_err(want, ref(x, lin.weight, lin.bias)) < 1e-2
        memo = lin.__dict__["_aotgemm_memo"]
        assert len(memo.prepared) == 1  # served through the prepared C-ABI call


def eager_class():
    from aotgemm.runtime.patch import _patched_class

    return _patched_class(torch.nn.Linear)


def test_memo_follows_the_weight_the_bias_and_the_active_table(clean_runtime, cpu_dispatch):
    rt = clean_runtime
    lin = _module(N, True, bf16, cpu_dispatch)
    x = _x((4, K))
    with torch.no_grad():
        y1 = lin(x)
        lin.weight.data = torch.randn(N, K, dtype=bf16)  # new storage, same Parameter
        y2 = lin(x)
        assert rel_err(y2, ref(x, lin.weight, lin.bias)) < 1e-2 and not torch.equal(y1, y2)
        lin.bias = None
        y3 = lin(x)
        assert rel_err(y3, ref(x, lin.weight)) < 1e-2
        set_active(None)
        lin(x)
    s = rt.stats()
    assert s.hits == {("bfloat16", N, K, 16): 3}
    assert s.misses == {("bfloat16", N, K, None, "not loaded"): 1}


def test_autograd_and_tracing_go_through_the_op(clean_runtime, cpu_dispatch):
    lin = _module(N, False, bf16, cpu_dispatch).requires_grad_(True)
    x = _x((4, K)).requires_grad_(True)
    assert not eager.is_eager(x, lin.weight, None)
    y = lin(x)  # the op, with its autograd formula
    y.float().sum().backward()
    assert x.grad is not None and lin.weight.grad is not None
    gm = torch.fx.symbolic_trace(torch.nn.Sequential(lin))
    assert "aotgemm.aotgemm_linear" in gm.code
    with torch.no_grad():
        traced = torch.jit.trace(lin, _x((4, K)), check_trace=False)
    assert "aotgemm::aotgemm_linear" in str(traced.graph)


def test_misses_are_logged_as_the_op_logs_them(clean_runtime, cpu_dispatch, caplog):
    """The first miss of each (shape, reason) is logged, again after reset_stats(), on the eager path too."""
    rt = clean_runtime
    lin = _module(N, False, bf16, cpu_dispatch)
    x = _x((600, K))  # the bundle chose cuBLAS
    with caplog.at_level(logging.INFO, logger="aotgemm"), torch.no_grad():
        for _ in range(3):
            lin(x)
        rt.reset_stats()
        lin(x)
    logged = [r for r in caplog.records if "bundle chose cublas" in r.getMessage()]
    assert len(logged) == 2
    assert rt.stats().misses == {("bfloat16", N, K, 1024, "bundle chose cublas"): 1}


def test_a_used_module_still_copies_and_pickles(clean_runtime, cpu_dispatch, tmp_path):
    import copy
    import io

    lin = _module(N, True, bf16, cpu_dispatch)
    x = _x((4, K))
    with torch.no_grad():
        y = lin(x)
        twin = copy.deepcopy(lin)
        buf = io.BytesIO()
        torch.save(lin, buf)
        buf.seek(0)
        loaded = torch.load(buf, weights_only=False)
        for m in (twin, loaded):
            assert m.__dict__.get("_aotgemm_memo") is None
            assert torch.equal(m(x), y)
    assert clean_runtime.stats().hits == {("bfloat16", N, K, 16): 3}


def test_hooks_compile_and_tracing_still_run_through_nn_modules_call(clean_runtime, cpu_dispatch):
    """The patched __call__ goes straight to the eager path only when nn.Module.__call__ would do nothing
    else: a forward hook, a forward pre-hook and a global hook still run, with the same output."""
    lin = _module(N, False, bf16, cpu_dispatch)
    x = _x((4, K))
    with torch.no_grad():
        want = lin(x)
        seen = []
        h1 = lin.register_forward_pre_hook(lambda m, a: seen.append("pre"))
        h2 = lin.register_forward_hook(lambda m, a, out: seen.append(("post", torch.equal(out, want))))
        assert torch.equal(lin(x), want) and seen == ["pre", ("post", True)]
        h1.remove()
        h2.remove()
        g = torch.nn.modules.module.register_module_forward_hook(lambda m, a, out: seen.append("global"))
        try:
            assert torch.equal(lin(x), want) and seen[-1] == "global"
        finally:
            g.remove()
        n = len(seen)
        assert torch.equal(lin(x), want) and len(seen) == n  # no hooks left: the direct path
        assert torch.equal(lin(input=x), want)  # a keyword argument: nn.Module's own __call__
    traced = torch.jit.trace(lin, (x,), check_trace=False)
    assert "aotgemm" in str(traced.graph)
