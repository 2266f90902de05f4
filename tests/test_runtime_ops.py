"""aotgemm::aotgemm_linear on CPU: fallback mode, strictness, stats, validation, fake/meta shapes, opcheck,
and the kernel path through a CPU dispatch table whose "kernels" are Python functions."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch
import torch.nn.functional as F

from aotgemm.errors import EnvironmentMismatch, NoGpu, UnsupportedInput
from aotgemm.runtime.ops import Dispatch, Route, set_active

try:
    from .test_runtime_fixtures import BUCKETS, b200_only, cache_dir, h100_facts, make_bundle
except ImportError:
    from test_runtime_fixtures import BUCKETS, b200_only, cache_dir, h100_facts, make_bundle

__all__ = ["cache_dir"]  # fixtures used here

bf16 = torch.bfloat16


@pytest.fixture
def fallback(tmp_path, cache_dir, clean_runtime):
    """A sample bundle loaded non-strictly on a machine without a matching GPU."""
    make_bundle(tmp_path / "s.agb")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = clean_runtime.load(tmp_path / "s.agb", strict=False, facts=h100_facts(driver_version=12000))
    assert len(caught) == 1
    return b


# --- strict / fallback ------------------------------------------------------------------
def test_fallback_warns_once_and_serves_from_cublas(tmp_path, cache_dir, clean_runtime):
    rt = clean_runtime
    make_bundle(tmp_path / "s.agb", targets=b200_only())
    with pytest.warns(rt.AotGemmFallbackWarning) as record:
        b = rt.load(tmp_path / "s.agb", strict=False)  # this machine: no GPU, or not a B200
    assert len(record) == 1
    assert "the bundle cannot be used here, every GEMM falls back to cuBLAS: " in str(record[0].message)
    assert b.fallback and rt.active() is b and b.library_path is None
    assert not (cache_dir / "lib").exists()  # nothing extracted
    assert b.shapes == {("bfloat16", 128, 256), ("bfloat16", 256, 128), ("float16", 64, 64)}
    assert b.describe().startswith(f"{b.path}: FALLBACK (every GEMM from cuBLAS): ")

    x, w, bias = torch.randn(2, 5, 128, dtype=bf16), torch.randn(256, 128, dtype=bf16), torch.randn(256, dtype=bf16)
    for _ in range(3):
        torch.testing.assert_close(rt.linear(x, w, bias), F.linear(x, w, bias), rtol=0, atol=0)
    x32, w32 = torch.randn(200, 64), torch.randn(64, 64)
    torch.testing.assert_close(torch.ops.aotgemm.aotgemm_linear(x32, w32, None), F.linear(x32, w32), rtol=0, atol=0)
    s = rt.stats()
    assert s.hits == {} and s.total_hits == 0
    assert s.misses == {("bfloat16", 256, 128, 16, "environment mismatch"): 3,
                        ("float32", 64, 64, 1024, "environment mismatch"): 1}
    assert s.by_reason() == {"environment mismatch": 4}
    d = s.to_dict()
    assert d["total_misses"] == 4 and d["misses"][0]["reason"] == "environment mismatch"


def test_strict_raises(tmp_path, cache_dir, clean_runtime):
    make_bundle(tmp_path / "s.agb")
    with pytest.raises(EnvironmentMismatch, match=r"this machine cannot use the bundle:\nenvironment: NOT usable "
                                                  r"\(1 problem\):\n  - CUDA driver 12.0"):
        clean_runtime.load(tmp_path / "s.agb", strict=True, facts=h100_facts(driver_version=12000))
    with pytest.raises(NoGpu, match="no GPU: nothing here"):
        clean_runtime.load(tmp_path / "s.agb", strict=True, facts=type(h100_facts())(no_gpu_reason="nothing here"))
    assert clean_runtime.active() is None


def test_strict_defaults_to_the_environment_variable(tmp_path, cache_dir, clean_runtime, monkeypatch):
    make_bundle(tmp_path / "s.agb")
    facts = h100_facts(torch_cuda="12.8")
    monkeypatch.delenv("AOTGEMM_STRICT", raising=False)
    with pytest.raises(EnvironmentMismatch):
        clean_runtime.load(tmp_path / "s.agb", facts=facts)
    monkeypatch.setenv("AOTGEMM_STRICT", "0")
    with pytest.warns(clean_runtime.AotGemmFallbackWarning, match="torch's CUDA runtime is 12.8"):
        assert clean_runtime.load(tmp_path / "s.agb", facts=facts).fallback


def test_not_loaded(clean_runtime):
    x, w = torch.randn(4, 16), torch.randn(8, 16)
    torch.testing.assert_close(clean_runtime.linear(x, w), F.linear(x, w), rtol=0, atol=0)
    assert clean_runtime.stats().misses == {("float32", 8, 16, None, "not loaded"): 1}


def test_miss_is_logged_once_per_shape(fallback, clean_runtime, caplog):
    caplog.set_level(logging.INFO, logger="aotgemm")
    x, w = torch.randn(3, 128, dtype=bf16), torch.randn(256, 128, dtype=bf16)
    for _ in range(5):
        clean_runtime.linear(x, w)
    clean_runtime.linear(torch.randn(300, 128, dtype=bf16), w)  # another bucket: another line
    lines = [r.getMessage().split(" (logged once")[0] for r in caplog.records
             if r.name == "aotgemm" and "cuBLAS serves" in r.getMessage()]
    assert lines == ["cuBLAS serves bfloat16 linear N=256 K=128 (M bucket 16): environment mismatch",
                     "cuBLAS serves bfloat16 linear N=256 K=128 (M bucket 1024): environment mismatch"]


def test_unexpected_misses_are_warnings(clean_runtime, caplog):
    set_active(Dispatch(BUCKETS, {("bfloat16", "linear", "identity", 256, 128, 16): Route("k", lambda *a: None, 8)},
                        device_type="cpu"))
    caplog.set_level(logging.INFO, logger="aotgemm")
    w = torch.randn(256, 128, dtype=bf16)
    clean_runtime.linear(torch.randn(128, 4, dtype=bf16).t(), w)  # non-contiguous: a kernel lost
    clean_runtime.linear(torch.randn(4, 0, dtype=bf16), torch.randn(256, 0, dtype=bf16))  # empty: expected
    levels = [(r.levelname, r.getMessage().split(": ")[1].split(" (")[0]) for r in caplog.records
              if r.name == "aotgemm"]
    assert levels == [("WARNING", "non-contiguous"), ("INFO", "empty input")]


def test_logger_keeps_an_application_level_unless_aotgemm_log_is_set(monkeypatch):
    # the level is set at the first record: it had overwritten an application's setLevel(INFO) made before then
    # with the default WARNING (test_unexpected_misses_are_warnings, run alone, lost its INFO record so)
    from aotgemm.runtime import log

    logger = logging.getLogger(log.LOGGER_NAME)
    saved = logger.level
    try:
        monkeypatch.delenv("AOTGEMM_LOG", raising=False)
        for before, after in ((logging.INFO, logging.INFO), (logging.NOTSET, logging.WARNING)):
            monkeypatch.setattr(log, "_configured", False)
            logger.setLevel(before)
            assert log.get_logger().level == after
        monkeypatch.setenv("AOTGEMM_LOG", "error")  # set explicitly: it wins
        monkeypatch.setattr(log, "_configured", False)
        logger.setLevel(logging.INFO)
        assert log.get_logger().level == logging.ERROR
    finally:
        logger.setLevel(saved)


# --- validation ---------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    ((torch.randn(4, 16), torch.randn(8, 15), None), r"x has shape \(4, 16\) but weight is \[N=8, K=15\]"),
    ((torch.randn(4, 16), torch.randn(8, 16, 1), None), r"weight must be 2-D \[N, K\], got shape \(8, 16, 1\)"),
    ((torch.randn(4, 16, dtype=bf16), torch.randn(8, 16), None), r"x is torch.bfloat16 but weight is torch.float32"),
    ((torch.randn(4, 16), torch.randn(8, 16), torch.randn(7)), r"bias must have shape \[N=8\], got \(7,\)"),
    ((torch.randn(4, 16), torch.randn(8, 16), torch.randn(8, dtype=bf16)), r"bias is torch.bfloat16 but x is"),
])
def test_bad_inputs_raise_unsupported_input(clean_runtime, args, message):
    with pytest.raises(UnsupportedInput, match=message):
        torch.ops.aotgemm.aotgemm_linear(*args)
    with pytest.raises(UnsupportedInput, match=message):  # the fake impl says the same
        torch.ops.aotgemm.aotgemm_linear(*(a.to("meta") if a is not None else None for a in args))


# --- fake / meta shapes, opcheck, autograd, torch.compile -----------------------------------
@pytest.mark.parametrize("xshape", [(7, 64), (2, 7, 64), (64,)])
def test_fake_and_meta_shapes(xshape):
    from torch._subclasses.fake_tensor import FakeTensorMode

    want = (*xshape[:-1], 96)
    with FakeTensorMode():
        y = torch.ops.aotgemm.aotgemm_linear(torch.empty(xshape, dtype=bf16), torch.empty(96, 64, dtype=bf16),
                                     torch.empty(96, dtype=bf16))
        assert tuple(y.shape) == want and y.dtype == bf16
    y = torch.ops.aotgemm.aotgemm_linear(torch.empty(xshape, dtype=torch.float16, device="meta"),
                                 torch.empty(96, 64, dtype=torch.float16, device="meta"), None)
    assert tuple(y.shape) == want and y.dtype == torch.float16 and y.device.type == "meta"


@pytest.mark.parametrize("dtype", [torch.float32, bf16])
def test_opcheck_in_fallback_mode(fallback, dtype):
    x = torch.randn(3, 5, 128, dtype=dtype, requires_grad=True)
    w = torch.randn(256, 128, dtype=dtype, requires_grad=True)
    b = torch.randn(256, dtype=dtype, requires_grad=True)
    torch.library.opcheck(torch.ops.aotgemm.aotgemm_linear.default, (x, w, b))
    torch.library.opcheck(torch.ops.aotgemm.aotgemm_linear.default, (x.detach(), w.detach(), None))


def test_backward_matches_linear(fallback):
    x = torch.randn(2, 3, 8, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda *a: torch.ops.aotgemm.aotgemm_linear(*a), (x, w, b))
    torch.autograd.gradcheck(lambda x, w: torch.ops.aotgemm.aotgemm_linear(x, w, None), (x, w))


def test_torch_compile_counts_each_call(fallback, clean_runtime):
    """Under torch.compile the op stays opaque and its real impl runs per call (tracing uses the fake impl)."""
    w = torch.randn(256, 128, dtype=bf16)
    fn = torch.compile(lambda x: torch.relu(torch.ops.aotgemm.aotgemm_linear(x, w, None)), backend="aot_eager",
                       fullgraph=True)
    x = torch.randn(4, 128, dtype=bf16)
    for _ in range(3):
        torch.testing.assert_close(fn(x), torch.relu(F.linear(x, w)), rtol=0, atol=0)
    assert clean_runtime.stats().misses == {("bfloat16", 256, 128, 16, "environment mismatch"): 3}


def _gemm_ops(fn) -> list[str]:
    """The aten GEMM ops `fn()` runs on the CPU, in order."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return [e.name for e in prof.events() if e.name in ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")]


@pytest.mark.parametrize("strides, bias", [((64, 16, 1), False), ((64, 16, 1), True), ((64, 64, 1), False),
                                           ("transposed", False)])
def test_a_miss_is_one_2d_gemm_whatever_the_strides_of_a_size_one_dim(fallback, clean_runtime, strides, bias):
    """A miss of x [M, 1, K] is one [M, K] GEMM. torch.compile hands the op views like an attention output's
    (strides (K, 16, 1) here), which F.linear without a bias sends to matmul, whose fold checks the strides
    literally and runs M batched one-row GEMMs instead (aten::bmm: 421 us for a 4096 x 4096 o_proj at M = 128
    on the H200, against 18 us as one GEMM). x with no row view at all is copied to rows once."""
    w, b = torch.randn(32, 64, dtype=bf16), (torch.randn(32, dtype=bf16) if bias else None)
    if strides == "transposed":  # [16, 1, 64] whose K is not the innermost dim: no row view
        x = torch.randn(64, 16, dtype=bf16).t().unsqueeze(1)
    else:
        x = torch.randn(16 * 64, dtype=bf16).as_strided((16, 1, 64), strides)
    ran = _gemm_ops(lambda: torch.ops.aotgemm.aotgemm_linear(x, w, b))
    assert ran in (["aten::mm"], ["aten::addmm"]), ran
    y = torch.ops.aotgemm.aotgemm_linear(x, w, b)
    assert y.shape == (16, 1, 32)
    torch.testing.assert_close(y, F.linear(x.contiguous(), w, b), rtol=0, atol=0)
    assert clean_runtime.stats().total_misses == 2


@pytest.mark.parametrize("bias", [False, True])
def test_a_patched_linears_eager_misses_are_2d_gemms_too(clean_runtime, bias):
    """The eager path's miss (runtime/eager.py, which skips F.linear's wrappers once a miss is logged) takes the
    same care: matmul where it folds x, x's rows where it would not."""
    from aotgemm.runtime import eager

    set_active(Dispatch((16,), {}, device_type="cpu"))  # every call a miss
    lin = torch.nn.Linear(64, 32, bias=bias, dtype=bf16).requires_grad_(False)  # served as in inference: with
    # a weight that requires grad, matmul folds any x (and the call goes through the op's autograd)
    odd = torch.randn(16 * 64, dtype=bf16).as_strided((16, 1, 64), (64, 16, 1))
    plain = torch.randn(16, 1, 64, dtype=bf16)
    for x in (odd, plain, odd):
        for _ in range(2):  # the first call logs the miss, the next ones take the logged fast path
            ran = _gemm_ops(lambda: eager.linear(lin, x))
            assert ran in (["aten::mm"], ["aten::addmm"]), ran
            torch.testing.assert_close(eager.linear(lin, x), lin.forward(x.contiguous()), rtol=0, atol=0)


def test_ops_keep_inductor_default_layout_constraint():
    """The ops take their inputs with the strides eager gives them (Inductor's default for custom ops). Tagged
    flexible_layout, Inductor materialised a fused input read by several ops once instead of once per op, but
    chose a column-major layout for it, and the compiled patched decoder layer ran 4.6x slower at M = 16 and
    38x at 128 on the H200 (bench/results/h200-2026-12-01/session11, G)."""
    import aotgemm.runtime  # noqa: F401  (registers every op)

    for op in ("aotgemm_linear", "aotgemm_linear_swiglu", "aotgemm_linear_residual", "aotgemm_scaled_mm"):
        tags = getattr(torch.ops.aotgemm, op).default.tags
        assert torch.Tag.flexible_layout not in tags, op


# --- the kernel path, on CPU, with Python "kernels" -------------------------------------------
class FakeKernel:
    """Stands in for a tvm_ffi kernel: computes out = A @ B like the real one and records its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, a, b, out, stream):
        self.calls.append((a, b, out, stream))
        out.copy_((a.float() @ b.float()).to(out.dtype))


@pytest.fixture
def cpu_table(clean_runtime):
    k = FakeKernel()
    table = {
        ("bfloat16", "linear", "identity", 256, 128, 16): Route("k16", k, 8),
        ("bfloat16", "linear", "identity", 256, 128, 128): Route("k128", k, 8),
        ("bfloat16", "linear", "identity", 256, 128, 1024): Route(None, None),
        ("float16", "linear", "identity", 24, 40, 16): Route("k_fp16", k, 16),  # alignment 16: 24 and 40 are not
    }
    set_active(Dispatch(BUCKETS, table, device_type="cpu", name="cpu test table"))
    return k


def ref(x, w, b=None):
    return F.linear(x.float(), w.float(), None if b is None else b.float()).to(x.dtype)


def test_hits_call_the_kernel_without_copying(clean_runtime, cpu_table):
    x = torch.randn(2, 3, 128, dtype=bf16)
    w, b = torch.randn(256, 128, dtype=bf16), torch.randn(256, dtype=bf16)
    y = clean_runtime.linear(x, w, b)
    assert y.shape == (2, 3, 256)
    a, bt, out, stream = cpu_table.calls[-1]
    assert a.shape == (6, 128) and a.data_ptr() == x.data_ptr()  # a view of x, no copy
    assert bt.shape == (128, 256) and bt.stride() == (1, 128) and bt.data_ptr() == w.data_ptr()
    assert stream == 0
    torch.testing.assert_close(y, (ref(x, w).float() + b.float()).to(bf16), rtol=2e-2, atol=2e-2)
    clean_runtime.linear(torch.randn(17, 128, dtype=bf16), w)   # bucket 128
    clean_runtime.linear(torch.randn(128, 128, dtype=bf16), w)  # bucket 128
    assert clean_runtime.stats().hits == {("bfloat16", 256, 128, 16): 1, ("bfloat16", 256, 128, 128): 2}
    assert clean_runtime.stats().misses == {}


@pytest.mark.parametrize("make, reason, bucket", [
    (lambda w: (torch.randn(2000, 128, dtype=bf16), w), "bundle chose cublas", 1024),
    (lambda w: (torch.randn(4, 64, dtype=bf16), torch.randn(256, 64, dtype=bf16)), "no entry", 16),
    (lambda w: (torch.randn(4, 128, dtype=torch.float64), w.double()), "unsupported dtype", 16),
    (lambda w: (torch.randn(0, 128, dtype=bf16), w), "empty input", 16),
    (lambda w: (torch.randn(2, 0, 0, dtype=bf16), torch.randn(256, 0, dtype=bf16)), "empty input", 16),
    (lambda w: (torch.randn(3, 0, dtype=bf16), torch.randn(256, 0, dtype=bf16)), "empty input", 16),
    (lambda w: (torch.randn(128, 4, dtype=bf16).t(), w), "non-contiguous", 16),
    (lambda w: (torch.randn(4, 128, dtype=bf16), torch.randn(128, 256, dtype=bf16).t()), "non-contiguous", 16),
    (lambda w: (torch.randn(4 * 128 + 1, dtype=bf16)[1:].view(4, 128), w), "unaligned", 16),
    (lambda w: (torch.randn(4, 132, dtype=bf16)[:, :128], w), "unaligned", 16),  # row stride 132 % 8 != 0
    (lambda w: (torch.randn(4, 40, dtype=torch.float16), torch.randn(24, 40, dtype=torch.float16)), "unaligned", 16),
])
def test_misses_fall_back_with_their_reason(clean_runtime, cpu_table, make, reason, bucket):
    x, w = make(torch.randn(256, 128, dtype=bf16))
    y = clean_runtime.linear(x, w)
    torch.testing.assert_close(y, F.linear(x, w), rtol=0, atol=0)
    assert cpu_table.calls == []
    n, k = w.shape
    dt = str(x.dtype).removeprefix("torch.")
    assert clean_runtime.stats().misses == {(dt, n, k, bucket, reason): 1}


def test_padded_rows_are_served(clean_runtime, cpu_table):
    x = torch.randn(4, 136, dtype=bf16)[:, :128]  # row stride 136, a multiple of 8
    w = torch.randn(256, 128, dtype=bf16)
    torch.testing.assert_close(clean_runtime.linear(x, w), ref(x, w), rtol=2e-2, atol=2e-2)
    assert cpu_table.calls[-1][0].stride() == (136, 1)


def test_cpu_tensors_never_reach_cuda_kernels(clean_runtime):
    calls = []
    set_active(Dispatch(BUCKETS, {("bfloat16", "linear", "identity", 256, 128, 16): Route("k", lambda *a: calls.append(a), 8)}))
    x, w = torch.randn(4, 128, dtype=bf16), torch.randn(256, 128, dtype=bf16)
    torch.testing.assert_close(clean_runtime.linear(x, w), F.linear(x, w), rtol=0, atol=0)
    assert calls == [] and clean_runtime.stats().misses == {("bfloat16", 256, 128, 16, "cpu tensor"): 1}


def test_max_m_and_fused_bias_follow_the_call_convention(clean_runtime):
    """A kernel serves M <= its max_m only ("above max_m" beyond); a bias kernel is called with the bias
    between out and the stream (GemmProblem.operands); without a bias entry, the identity kernel runs and
    the bias is added after it."""
    plain, fused = FakeKernel(), []

    def bias_kernel(a, b, out, bias, stream):
        fused.append(bias)
        out.copy_((a.float() @ b.float() + bias.float()).to(out.dtype))

    table = {
        ("bfloat16", "linear", "identity", 256, 128, 16): Route("k16", plain, 8, max_m=16),
        ("bfloat16", "linear", "identity", 256, 128, 128): Route("k128", plain, 8, max_m=64),
        ("bfloat16", "linear", "bias", 256, 128, 16): Route("kb16", bias_kernel, 8),
    }
    set_active(Dispatch(BUCKETS, table, device_type="cpu"))
    w, b = torch.randn(256, 128, dtype=bf16), torch.randn(256, dtype=bf16)
    x = torch.randn(8, 128, dtype=bf16)
    torch.testing.assert_close(clean_runtime.linear(x, w, b), (ref(x, w).float() + b.float()).to(bf16),
                               rtol=2e-2, atol=2e-2)
    assert len(fused) == 1 and fused[0] is b and plain.calls == []
    x100 = torch.randn(100, 128, dtype=bf16)
    torch.testing.assert_close(clean_runtime.linear(x100, w), F.linear(x100, w), rtol=0, atol=0)  # above max_m
    x40 = torch.randn(40, 128, dtype=bf16)
    torch.testing.assert_close(clean_runtime.linear(x40, w, b), (ref(x40, w).float() + b.float()).to(bf16),
                               rtol=2e-2, atol=2e-2)  # no bias entry in bucket 128: identity kernel + add
    assert len(plain.calls) == 1
    s = clean_runtime.stats()
    assert s.hits == {("bfloat16", 256, 128, 16): 1, ("bfloat16", 256, 128, 128): 1}
    assert s.misses == {("bfloat16", 256, 128, 128, "above max_m"): 1}


def test_call_kernel_builds_the_argument_list_from_the_problem():
    from aotgemm.problem import GemmProblem
    from aotgemm.runtime.table import call_kernel

    got = []
    x, w, out, bias = (torch.zeros(2, 8), torch.zeros(4, 8), torch.zeros(2, 4), torch.zeros(4))
    call_kernel(lambda *a: got.append(a), GemmProblem("bfloat16", "linear", "bias", 4, 8), x, w, out,
                {"bias": bias}, 7)
    call_kernel(lambda *a: got.append(a), GemmProblem("bfloat16", "linear", "identity", 4, 8), x, w, out, {}, 7)
    (a, wt, o, bb, st), (a2, wt2, o2, st2) = got
    assert a is x and o is out and bb is bias and st == st2 == 7 and wt.shape == (8, 4) and wt.stride() == (1, 8)


def test_counters_are_exact_under_threads_and_reads(clean_runtime):
    """The hot path bumps its counter without a lock (ops._ticks); a reader ticks it too, and
    subtracts its own ticks: counts stay exact with bumping threads and a reader racing them."""
    import threading

    from aotgemm.runtime import ops

    key = ("bfloat16", 8, 8, 16, ops.HIT)
    miss = ("bfloat16", 8, 8, 16, "bundle chose cublas")
    stop = threading.Event()
    seen = []

    def bump(k, n):
        for _ in range(n):
            ops._count(k)

    def read():
        while not stop.is_set():
            seen.append(ops.stats().total_hits)

    reader = threading.Thread(target=read)
    reader.start()
    workers = [threading.Thread(target=bump, args=(key if i % 2 else miss, 20000)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    reader.join()
    s = ops.stats()
    assert (s.total_hits, s.total_misses) == (40000, 40000)
    assert ops.stats() == s  # reading twice: the readers' ticks are not calls
    assert seen == sorted(seen) and seen[-1] <= 40000
    ops.reset_stats()
    assert ops.stats().total_hits == 0
    ops._count(key)
    assert ops.stats().hits == {key[:4]: 1}
