"""aotgemm::aotgemm_scaled_mm on the CPU: fallback semantics against torch._scaled_mm, the kernel path
through a CPU dispatch table of Python "kernels", validation, the fake impl, patch's Fp8Linear, and the
AOTInductor rewrite of aten._scaled_mm."""

from __future__ import annotations

import pytest
import torch

import aotgemm.runtime as rt
from aotgemm.dispatch_rule import Entry, Reason, ScaleForm, decide, scale_form
from aotgemm.errors import UnsupportedInput
from aotgemm.runtime.ops import Dispatch, Route, set_active
from aotgemm.runtime.patch import AotGemmFp8Linear, Fp8Linear, patch_model, unpatch_model

try:
    from .test_runtime_fixtures import BUCKETS
except ImportError:
    from test_runtime_fixtures import BUCKETS

FP8 = torch.float8_e4m3fn
N, K = 256, 128


def _fp8(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).to(FP8)


def _scale(*shape, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g) + 0.5


def dequantized(x, mat2, sa, sb):
    """The float32 reference on the dequantized operands, any of the three scale forms."""
    acc = x.float() @ mat2.float()
    return acc * sa.reshape(-1, 1) * sb.reshape(1, -1) if sa.numel() > 1 else acc * sa.reshape(1, 1) * sb.reshape(1, -1)


def rel(a, b):
    return ((a.float() - b).norm() / b.norm()).item()


FORMS = {
    "tensor": lambda m: (_scale(1), _scale(1, seed=2)),
    "tensor_0d": lambda m: (_scale(1).reshape(()), _scale(1, seed=2).reshape(())),
    "row": lambda m: (_scale(1), _scale(N, seed=2)),
    "row_2d": lambda m: (_scale(1, 1), _scale(1, N, seed=2)),
    "rowwise": lambda m: (_scale(m, 1), _scale(1, N, seed=2)),
}


# --- the scale forms (one rule, dispatch_rule.scale_form) --------------------------------------------
def test_scale_form():
    assert scale_form(5, 32, (1,), (1,)) is ScaleForm.TENSOR and scale_form(5, 32, (), ()) is ScaleForm.TENSOR
    assert scale_form(5, 32, (1,), (32,)) is ScaleForm.ROW and scale_form(5, 32, (1, 1), (1, 32)) is ScaleForm.ROW
    assert scale_form(1, 32, (1, 1), (1, 32)) is ScaleForm.ROW  # M = 1: a per-row scale_a is one scale
    assert scale_form(5, 32, (5, 1), (1, 32)) is ScaleForm.ROWWISE
    for a, b in [((5,), (32,)), ((1,), (31,)), ((5, 1), (32,)), ((2,), (1,))]:
        assert scale_form(5, 32, a, b) is ScaleForm.INVALID
    assert [f.epilogue for f in ScaleForm] == ["scale_tensor", "scale_row", "scale_rowwise", None, "scale_mx"]


def test_scale_epilogues_at_one_row():
    """At M = 1 a per-token call's one scale_a value reads as the scale_row form; a scale_rowwise entry serves it
    where the bundle has no scale_row one (the same numbers at one row). Nothing else has a second epilogue."""
    from aotgemm.dispatch_rule import scale_epilogues

    assert scale_epilogues(ScaleForm.ROW, 1) == ("scale_row", "scale_rowwise")
    assert scale_epilogues(ScaleForm.ROW, 2) == ("scale_row",)
    assert scale_epilogues(ScaleForm.TENSOR, 1) == ("scale_tensor",)
    assert scale_epilogues(ScaleForm.ROWWISE, 5) == ("scale_rowwise",)
    assert scale_epilogues(ScaleForm.INVALID, 1) == ()


@pytest.mark.parametrize("shape, sizes, strides, ok", [
    (("n",), (32,), (1,), True), (("n",), (32,), (2,), False), (("n",), (1, 32), (32, 1), True),
    (("n",), (1, 32), (64, 2), False), (("m",), (5, 1), (1, 1), True), (("m",), (5, 1), (1, 7), True),
    (("m",), (5, 1), (2, 1), False), (("m",), (1, 1), (9, 9), True), (("m",), (5, 2), (1, 5), False),
    (("m", "n"), (5, 32), (32, 1), True), (("m", "n"), (5, 32), (40, 1), False),
])
def test_operand_layouts_the_kernels_index(shape, sizes, strides, ok):
    """A vector operand ([N], [1, N], or a per-token [M, 1]) is handed over as is only when the dimension it
    spans has unit stride (the strides of size-1 dimensions do not matter); [M, N] rows must be N apart."""
    from aotgemm.dispatch_rule import operand_contiguous

    assert operand_contiguous(shape, 5, 32, sizes, strides) is ok


# --- fallback: torch._scaled_mm's semantics, counted ---------------------------------------------------
@pytest.mark.parametrize("form", FORMS)
def test_not_loaded_is_scaled_mm(clean_runtime, form):
    x, w = _fp8(20, K), _fp8(N, K, seed=3)
    sa, sb = FORMS[form](20)
    y = rt.scaled_mm(x, w.t(), sa, sb)
    assert y.dtype == torch.bfloat16 and y.shape == (20, N)
    assert rel(y, dequantized(x, w.t(), sa, sb)) < 1e-2
    if form in ("tensor", "tensor_0d", "rowwise"):  # the forms _scaled_mm takes as they are: the same bits
        assert torch.equal(y, torch._scaled_mm(x, w.t(), sa, sb, out_dtype=torch.bfloat16))
    assert rt.stats().misses == {("float8_e4m3fn", N, K, None, "not loaded"): 1}


BAD = {
    "x 3-D": ((_fp8(2, 3, K), _fp8(N, K).t(), _scale(1), _scale(1)), "x and mat2 must be 2-D"),
    "K mismatch": ((_fp8(3, K), _fp8(N, K + 16).t(), _scale(1), _scale(1)), "x's K must equal"),
    "bf16 x": ((torch.randn(3, K, dtype=torch.bfloat16), _fp8(N, K).t(), _scale(1), _scale(1)),
               "must be float8_e4m3fn"),
    "bf16 scale": ((_fp8(3, K), _fp8(N, K).t(), _scale(1).bfloat16(), _scale(1)), "scale_a must be float32"),
    "per-row a only": ((_fp8(3, K), _fp8(N, K).t(), _scale(3), _scale(N)), "scale_a (3,) and scale_b (256,)"),
    "scale_b short": ((_fp8(3, K), _fp8(N, K).t(), _scale(1), _scale(N - 1)), "give one scale each"),
}


@pytest.mark.parametrize("args, message", BAD.values(), ids=BAD.keys())
def test_bad_calls_raise_one_line(clean_runtime, args, message):
    with pytest.raises(UnsupportedInput) as e:
        rt.scaled_mm(*args)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_fake_impl_shapes_and_dtype():
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        y = torch.ops.aotgemm.aotgemm_scaled_mm(torch.empty(7, K, dtype=FP8), torch.empty(N, K, dtype=FP8).t(),
                                                torch.empty(1), torch.empty(N))
        assert y.shape == (7, N) and y.dtype == torch.bfloat16
        with pytest.raises(UnsupportedInput):
            torch.ops.aotgemm.aotgemm_scaled_mm(torch.empty(7, K, dtype=FP8), torch.empty(N, K, dtype=FP8).t(),
                                                torch.empty(7), torch.empty(N))


@pytest.mark.parametrize("overload", ["default", "fast_accum"])
def test_opcheck(clean_runtime, overload):
    x, w = _fp8(20, K), _fp8(N, K, seed=3)
    torch.library.opcheck(getattr(torch.ops.aotgemm.aotgemm_scaled_mm, overload), (x, w.t(), _scale(1), _scale(N)),
                          test_utils=("test_faketensor",))  # test_schema: SchemaCheckMode cannot compare e4m3 tensors on the CPU


@pytest.mark.parametrize("form", ["tensor", "row", "rowwise"])
def test_fast_accum_overload_misses_are_scaled_mm_with_fast_accumulation(clean_runtime, monkeypatch, form):
    """The fast_accum overload differs from the default only in its misses: _scaled_mm(use_fast_accum=True)."""
    seen, real = [], torch._scaled_mm

    def spy(*args, **kwargs):
        seen.append(kwargs["use_fast_accum"])
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "_scaled_mm", spy)
    x, w = _fp8(20, K), _fp8(N, K, seed=3)
    sa, sb = FORMS[form](20)
    y = torch.ops.aotgemm.aotgemm_scaled_mm.fast_accum(x, w.t(), sa, sb)
    torch.ops.aotgemm.aotgemm_scaled_mm(x, w.t(), sa, sb)
    assert seen == [True, False] and rel(y, dequantized(x, w.t(), sa, sb)) < 1e-2
    assert rt.stats().misses == {("float8_e4m3fn", N, K, None, "not loaded"): 2}


# --- the kernel path, through a CPU table ------------------------------------------------------------
class Fp8Kernel:
    """A stand-in kernel: fn(x, wt, out, scale_a [1], scale_b [1] or [N], stream), out bf16."""

    def __init__(self):
        self.calls = []

    def __call__(self, a, wt, out, sa, sb, stream):
        self.calls.append((a, wt, out, sa, sb, stream))
        # the call convention's vectors: scale_a [1] or [M] (per token), scale_b [1] or [N]
        assert sa.dim() == sb.dim() == 1 and sa.shape[0] in (1, a.shape[0]) and sb.shape[0] in (1, wt.shape[1])
        assert sa.dtype == sb.dtype == torch.float32 and out.dtype == torch.bfloat16
        assert sa.stride() == (1,) and sb.stride() == (1,)
        out.copy_((a.float() @ wt.float() * sa.reshape(-1, 1) * sb).to(out.dtype))


@pytest.fixture
def fp8_table(clean_runtime):
    k = Fp8Kernel()
    table = {("float8_e4m3fn", "linear", "scale_tensor", N, K, 16): Route("kt16", k, 16),
             ("float8_e4m3fn", "linear", "scale_row", N, K, 16): Route("kr16", k, 16),
             ("float8_e4m3fn", "linear", "scale_rowwise", N, K, 16): Route("kw16", k, 16),
             ("float8_e4m3fn", "linear", "scale_row", N, K, 128): Route(None, None)}
    set_active(Dispatch(BUCKETS, table, device_type="cpu", name="fp8 cpu table"))
    return k


@pytest.mark.parametrize("form", ["tensor", "tensor_0d", "row", "row_2d", "rowwise"])
def test_hits_pass_the_scales_as_the_call_convention_says(fp8_table, form):
    x, w = _fp8(9, K), _fp8(N, K, seed=3)
    sa, sb = FORMS[form](9)
    y = rt.scaled_mm(x, w.t(), sa, sb)
    assert rt.stats().total_hits == 1 and len(fp8_table.calls) == 1
    a, wt, out, ksa, ksb, stream = fp8_table.calls[0]
    assert a.data_ptr() == x.data_ptr() and wt.data_ptr() == w.data_ptr() and wt.stride() == (1, K)
    assert ksb.shape == ((N,) if form.startswith("row") else (1,)) and stream == 0
    assert ksa.shape == ((9,) if form == "rowwise" else (1,)) and ksa.data_ptr() == sa.data_ptr()  # views
    assert rel(y, dequantized(x, w.t(), sa, sb)) < 1e-2


@pytest.mark.parametrize("make, reason", [
    (lambda: (_fp8(100, K), _fp8(N, K).t(), *FORMS["rowwise"](100)), "no entry"),
    # per-token scales the kernel cannot index as a vector with unit stride, or that are unaligned
    (lambda: (_fp8(9, K), _fp8(N, K).t(), _scale(9, 2)[:, :1], _scale(1, N)), "non-contiguous"),
    (lambda: (_fp8(9, K), _fp8(N, K).t(), _scale(9, 1), _scale(1, 2 * N)[:, ::2]), "non-contiguous"),
    (lambda: (_fp8(9, K), _fp8(N, K).t(), _scale(10, 1)[1:], _scale(1, N)), "unaligned"),
    (lambda: (_fp8(100, K), _fp8(N, K).t(), *FORMS["row"](100)), "bundle chose cublas"),
    (lambda: (_fp8(100, K), _fp8(N, K).t(), *FORMS["tensor"](100)), "no entry"),
    (lambda: (_fp8(9, K), _fp8(K, N), *FORMS["tensor"](9)), "non-contiguous"),  # W column-major
    (lambda: (_fp8(9, K), _fp8(N, K).t(), _scale(1), _scale(2 * N)[::2]), "non-contiguous"),
    (lambda: (_fp8(9, K), _fp8(N, K).t(), _scale(1), _scale(N + 1)[1:]), "unaligned"),
    (lambda: (_fp8(9, 2 * K)[:, :K + 8][:, 8:], _fp8(N, K).t(), *FORMS["tensor"](9)), "unaligned"),
    (lambda: (_fp8(0, K), _fp8(N, K).t(), *FORMS["tensor"](0)), "empty input"),
])
def test_misses_fall_back_to_scaled_mm_with_their_reason(fp8_table, make, reason):
    x, mat2, sa, sb = make()
    y = rt.scaled_mm(x, mat2, sa, sb)
    assert rt.stats().by_reason() == {reason: 1} and not fp8_table.calls
    if x.shape[0]:
        assert rel(y, dequantized(x, mat2, sa, sb)) < 1e-2


def test_linear_never_serves_fp8(fp8_table):
    """aotgemm_linear's rule calls fp8 an unsupported dtype: fp8 GEMMs are aotgemm_scaled_mm's."""
    assert decide(loaded=True, fallback=False, dtype_supported=False, device=0, m=1, n=N, k=K,
                  entry=Entry(True, 16), x_row=K, w_strides=(K, 1), operands_contiguous=True, pointers=(0, 0),
                  element_bytes=1) is Reason.UNSUPPORTED_DTYPE


# --- patch: Fp8Linear ---------------------------------------------------------------------------------
@pytest.mark.parametrize("scales", ["tensor", "row", "rowwise"])
def test_fp8_linear_and_its_patch(fp8_table, scales):
    lin = torch.nn.Linear(K, N, bias=True)
    m = torch.nn.Sequential(Fp8Linear.from_linear(lin, scales), torch.nn.Linear(N, 8))
    x = torch.randn(3, 3, K)
    stock = m[0](x)
    assert stock.dtype == torch.bfloat16 and stock.shape == (3, 3, N)
    assert rel(stock, lin(x).detach()) < 0.1  # W8A8 quantization error, not a kernel's
    assert patch_model(m, frozenset({("float8_e4m3fn", N, K)})) == ["0"]
    assert type(m[0]) is AotGemmFp8Linear and type(m[1]) is torch.nn.Linear
    served = m[0](x)
    assert rt.stats().total_hits == 1 and len(fp8_table.calls) == 1
    assert rel(served, stock.float()) < 1e-2
    assert unpatch_model(m) == ["0"] and type(m[0]) is Fp8Linear


def test_patch_skips_fp8_shapes_the_bundle_lacks():
    m = torch.nn.Sequential(Fp8Linear.from_linear(torch.nn.Linear(K, N)))
    assert patch_model(m, frozenset({("float8_e4m3fn", N, 2 * K), ("bfloat16", N, K)})) == []


def test_fp8_linear_rejects_bad_weights():
    with pytest.raises(ValueError, match="weight must be a 2-D float8_e4m3fn"):
        Fp8Linear(torch.randn(N, K), torch.ones(1))
    with pytest.raises(ValueError, match="weight_scale must be float32 with 1 or N=256"):
        Fp8Linear(_fp8(N, K), torch.ones(3))
    with pytest.raises(ValueError, match="with N=256 elements .per-token activations take per-channel"):
        Fp8Linear(_fp8(N, K), torch.ones(1), per_token=True)
    with pytest.raises(ValueError, match="scales must be one of 'tensor', 'row', 'rowwise', got 'token'"):
        Fp8Linear.from_linear(torch.nn.Linear(K, N), "token")


def test_per_token_fp8_linear_quantizes_each_row(clean_runtime):
    """scales="rowwise": one activation scale per token, so a row of large values leaves the others' resolution
    alone (per tensor it would not); at M = 1 its call is scale_row's form, which a scale_row kernel serves."""
    lin = torch.nn.Linear(K, N, bias=False)
    x = torch.randn(4, K)
    x[0] *= 1e6  # per tensor, the other rows fall to e4m3's subnormals
    ref = lin(x).detach()
    err = {s: rel(Fp8Linear.from_linear(lin, s)(x)[1:], ref[1:]) for s in ("row", "rowwise")}
    assert err["rowwise"] < 0.1 and err["row"] > 0.3
    m = torch.nn.Sequential(Fp8Linear.from_linear(lin, "rowwise"))
    assert m[0].scales == "rowwise" and m[0].scale_epilogue == "scale_rowwise"
    k = Fp8Kernel()
    set_active(Dispatch(BUCKETS, {("float8_e4m3fn", "linear", "scale_row", N, K, 16): Route("kr16", k, 16)},
                        device_type="cpu", name="scale_row only"))
    served = frozenset({("float8_e4m3fn", N, K, "scale_row")})
    assert patch_model(m, frozenset({("float8_e4m3fn", N, K)}), served) == ["0"]
    y = m(x[:1])
    assert rt.stats().total_hits == 1 and len(k.calls) == 1 and rel(y, ref[:1]) < 0.1
    rt.reset_stats()
    y = m(x)  # M = 4: the row-wise form, scale_rowwise's problem, which this table lacks
    assert rt.stats().by_reason() == {"no entry": 1} and rel(y[1:], ref[1:]) < 0.1


# --- the AOTInductor rewrite -----------------------------------------------------------------------
class ScaledMM(torch.nn.Module):
    def __init__(self, form: str, m: int):
        super().__init__()
        self.register_buffer("w", _fp8(N, K, seed=3))
        sa, sb = FORMS[form](m)
        self.register_buffer("sa", sa)
        self.register_buffer("sb", sb)

    def forward(self, x):
        return torch._scaled_mm(x, self.w.t(), self.sa, self.sb, out_dtype=torch.bfloat16)


# torch._scaled_mm takes per-tensor scales, or row-wise ones (scale_a [M, 1], scale_b [1, N]): a graph
# holds scale_row's form (one scale_a, N scale_b) only where M is 1.
@pytest.mark.parametrize("form, m, covered, routed", [
    ("tensor", 16, {("float8_e4m3fn", "scale_tensor", N, K)}, True),
    ("row_2d", 1, {("float8_e4m3fn", "scale_row", N, K)}, True),
    ("row_2d", 1, {("float8_e4m3fn", "scale_rowwise", N, K)}, True),  # at M = 1 the row-wise kernel serves it
    ("row_2d", 1, {("float8_e4m3fn", "scale_tensor", N, K)}, False),
    ("tensor", 16, {("float8_e4m3fn", "scale_row", N, K)}, False),  # the bundle serves the other scale form only
    ("rowwise", 16, {("float8_e4m3fn", "scale_row", N, K), ("float8_e4m3fn", "scale_tensor", N, K)}, False),
    ("rowwise", 16, {("float8_e4m3fn", "scale_rowwise", N, K)}, True),
    ("tensor", 16, set(), False),
])
def test_rewrite_routes_scaled_mm_only_where_the_bundle_has_a_kernel(form, m, covered, routed):
    from aotgemm.aoti.rewrite import route_exported_program

    x = _fp8(m, K, seed=5)
    ep = torch.export.export(ScaledMM(form, m), (x,))
    got = route_exported_program(ep, set(), covered)
    targets = [n.target for n in ep.graph_module.graph.nodes if n.op == "call_function"]
    assert (torch.ops.aotgemm.aotgemm_scaled_mm.default in targets) is routed
    assert (torch.ops.aten._scaled_mm.default in targets) is not routed
    assert len(got) == int(routed)
    if routed:
        assert (got[0].dtype, got[0].epilogue, got[0].n, got[0].k) in covered
        m = ScaledMM(form, m)
        assert torch.equal(ep.module()(x), m(x)) or rel(ep.module()(x), m(x).float()) < 1e-2


class PerTokenScaledMM(torch.nn.Module):
    """torchao's PerRow recipe in a graph: x quantised per token ([M, 1] scales made from x), W per channel."""

    def __init__(self):
        super().__init__()
        self.register_buffer("w", _fp8(N, K, seed=3))
        self.register_buffer("sb", _scale(1, N, seed=2))

    def forward(self, x):
        sa = x.abs().amax(dim=1, keepdim=True).float().clamp(min=1e-12) / 448.0
        xq = (x.float() / sa).clamp(-448.0, 448.0).to(FP8)
        return torch._scaled_mm(xq, self.w.t(), sa, self.sb, out_dtype=torch.bfloat16)


@pytest.mark.parametrize("covered, routed", [({("float8_e4m3fn", "scale_rowwise", N, K)}, True),
                                             ({("float8_e4m3fn", "scale_row", N, K)}, False)])
def test_rewrite_routes_per_token_scales_of_a_dynamic_m(clean_runtime, covered, routed):
    """scale_a [M, 1] made in the graph from x of a dynamic M is the row-wise form (scale_rowwise), which the
    rewrite routes where the bundle has such kernels; the routed graph computes _scaled_mm's numbers."""
    from torch.export import Dim

    from aotgemm.aoti.rewrite import route_exported_program

    x = torch.randn(6, K).to(torch.bfloat16)
    ep = torch.export.export(PerTokenScaledMM(), (x,), dynamic_shapes=({0: Dim("m", min=2, max=4096)},))
    got = route_exported_program(ep, set(), covered)
    targets = [n.target for n in ep.graph_module.graph.nodes if n.op == "call_function"]
    assert (torch.ops.aotgemm.aotgemm_scaled_mm.default in targets) is routed and len(got) == int(routed)
    if routed:
        assert (got[0].dtype, got[0].n, got[0].k, got[0].epilogue) == ("float8_e4m3fn", N, K, "scale_rowwise")
    for m in (2, 9, 100):
        x = torch.randn(m, K).to(torch.bfloat16)
        assert torch.equal(ep.module()(x), PerTokenScaledMM()(x))
