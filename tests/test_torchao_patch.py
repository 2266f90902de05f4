"""patch() on torchao's float8 inference linears, on the CPU: what is served (torchao's own activation
quantization, then aotgemm_scaled_mm through a CPU table of a Python "kernel"), what each miss runs (exactly
torchao's _scaled_mm call, fast accumulation included), and what is left alone. Skips without torchao.

torchao's quantize_ refuses a CPU-only machine (it checks for an sm_89+ GPU), so the weights are made as it
makes them, with Float8Tensor.from_hp; tests/gpu/test_torchao_gpu.py runs quantize_ itself on a GPU."""

from __future__ import annotations

import warnings

import pytest
import torch

import aotgemm.runtime as rt
from aotgemm.runtime.ops import Dispatch, Route, set_active
from aotgemm.runtime.patch import AotGemmLinear, AotGemmTorchaoFp8Linear, patch_model, unpatch_model

try:
    from .test_runtime_fixtures import BUCKETS
except ImportError:
    from test_runtime_fixtures import BUCKETS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torchao = pytest.importorskip("torchao", reason="torchao is not installed (pip install -e '.[test]')")
    from torchao.float8.inference import Float8MMConfig
    from torchao.quantization import PerRow, PerTensor
    from torchao.quantization.quantize_.workflows.float8.float8_tensor import (Float8Tensor,
                                                                              QuantizeTensorToFloat8Kwargs)

N, K = 256, 128
FP8 = torch.float8_e4m3fn
GRANULARITY = {"tensor": PerTensor, "row": PerRow}


def torchao_linear(scales: str, fast: bool = True, bias: bool = False, act: bool = True, seed: int = 0,
                   n: int = N, k: int = K) -> torch.nn.Linear:
    """An nn.Linear whose weight is what quantize_(Float8DynamicActivationFloat8WeightConfig) makes of it."""
    torch.manual_seed(seed)
    lin = torch.nn.Linear(k, n, bias=bias).to(torch.bfloat16)
    g = GRANULARITY[scales]()
    cfg = Float8MMConfig(use_fast_accum=fast)
    w = Float8Tensor.from_hp(lin.weight.detach(), float8_dtype=FP8, granularity=g, mm_config=cfg,
                             act_quant_kwargs=QuantizeTensorToFloat8Kwargs(FP8, g, mm_config=cfg) if act else None)
    lin.weight = torch.nn.Parameter(w, requires_grad=False)
    return lin


class Kernel:
    """A stand-in e4m3 kernel (the call convention of aotgemm_scaled_mm's kernels), recording its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, a, wt, out, sa, sb, stream):
        self.calls.append((a.clone(), sa.clone(), sb.clone()))
        out.copy_((a.float() @ wt.float() * sa.reshape(-1, 1) * sb).to(out.dtype))


@pytest.fixture
def table(clean_runtime):
    k = Kernel()
    set_active(Dispatch(BUCKETS, {("float8_e4m3fn", "linear", epi, N, K, 16): Route(epi, k, 16)
                                  for epi in ("scale_tensor", "scale_row", "scale_rowwise")},
                        device_type="cpu", name="fp8 cpu table"))
    return k


SERVED = frozenset({("float8_e4m3fn", N, K)})


def rel(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


@pytest.fixture
def scaled_mm_calls(monkeypatch):
    """torch._scaled_mm, recording each call's use_fast_accum."""
    calls, real = [], torch._scaled_mm

    def spy(*args, **kwargs):
        calls.append(kwargs.get("use_fast_accum", args[7] if len(args) > 7 else False))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "_scaled_mm", spy)
    return calls


@pytest.mark.parametrize("scales", ["tensor", "row"])
def test_served_with_torchaos_own_quantization_of_x(table, scales):
    lin = torchao_linear(scales)
    x = torch.randn(3, 3, K, dtype=torch.bfloat16)
    stock = lin(x)
    assert patch_model(torch.nn.Sequential(lin), SERVED) == ["0"] and type(lin) is AotGemmTorchaoFp8Linear
    served = lin(x)
    assert rt.stats().total_hits == 1 and len(table.calls) == 1
    a, sa, sb = table.calls[0]
    xq = Float8Tensor.from_hp(x, float8_dtype=FP8, granularity=GRANULARITY[scales]())
    assert torch.equal(a.view(torch.uint8), xq.qdata.reshape(-1, K).view(torch.uint8))  # torchao's bits
    assert torch.equal(sa, xq.scale.reshape(-1)) and torch.equal(sb, lin.weight.scale.reshape(-1))
    assert sa.shape == ((9,) if scales == "row" else (1,)) and sb.shape == ((N,) if scales == "row" else (1,))
    assert served.shape == stock.shape == (3, 3, N) and served.dtype == torch.bfloat16
    assert rel(served, stock) < 1e-2
    assert unpatch_model(torch.nn.Sequential(lin)) == ["0"] and type(lin) is torch.nn.Linear
    assert torch.equal(lin(x), stock)


@pytest.mark.parametrize("scales", ["tensor", "row"])
@pytest.mark.parametrize("fast", [True, False])
def test_a_miss_is_torchaos_own_scaled_mm_call(table, scaled_mm_calls, scales, fast):
    """At an M the bundle has no kernel for, the call is torchao's: same bits out, same use_fast_accum."""
    lin = torchao_linear(scales, fast=fast)
    x = torch.randn(100, K, dtype=torch.bfloat16)
    stock = lin(x)
    assert scaled_mm_calls == [fast]
    patch_model(torch.nn.Sequential(lin), SERVED)
    scaled_mm_calls.clear()
    served = lin(x)
    assert rt.stats().by_reason() == {"no entry": 1} and not table.calls
    assert scaled_mm_calls == [fast]
    assert torch.equal(served, stock)


def test_one_token_per_row_is_served_as_scale_row(table):
    lin = torchao_linear("row")
    x = torch.randn(1, K, dtype=torch.bfloat16)
    stock = lin(x)
    patch_model(torch.nn.Sequential(lin), SERVED)
    assert rel(lin(x), stock) < 1e-2 and rt.stats().total_hits == 1


def test_other_input_dtypes_run_torchaos_forward(table):
    """aotgemm_scaled_mm writes bf16; torchao's output dtype is x's, so float32 x keeps torchao's path."""
    lin = torchao_linear("tensor").float()
    x = torch.randn(4, K)
    stock = lin(x)
    patch_model(torch.nn.Sequential(lin), SERVED)
    out = lin(x)
    assert out.dtype == torch.float32 and torch.equal(out, stock) and rt.stats().total_hits == 0


@pytest.mark.parametrize("make, why", [
    (lambda: torchao_linear("tensor", bias=True), "has a bias"),
    (lambda: torchao_linear("tensor", act=False), "not quantized to float8"),
])
def test_left_alone_with_the_reason(table, make, why):
    from aotgemm.runtime.torchao_fp8 import unserved_reason

    lin = make()
    assert why in unserved_reason(lin)
    assert patch_model(torch.nn.Sequential(lin), SERVED) == [] and type(lin) is torch.nn.Linear


def test_never_taken_for_a_bf16_linear(table):
    """The Float8Tensor reports the bf16 of its original weight; a bundle holding that bf16 shape (and no fp8
    one) must not route it to aotgemm_linear, nor fuse it into a SwiGLU GEMM."""
    lin = torchao_linear("tensor")
    assert lin.weight.dtype == torch.bfloat16
    assert patch_model(torch.nn.Sequential(lin), frozenset({("bfloat16", N, K)})) == []
    assert type(lin) is not AotGemmLinear


def test_shapes_the_bundle_lacks_are_left_alone(table):
    lin = torchao_linear("tensor", n=2 * N)
    assert patch_model(torch.nn.Sequential(lin), SERVED) == []


class Recorded:
    """A torch.compile backend that keeps the code of every graph Dynamo makes and runs it as it is."""

    def __init__(self):
        self.codes = []

    def __call__(self, gm, example_inputs):
        self.codes.append(gm.code)
        return gm.forward


def compiled_patched(scales: str, dynamic: bool):
    """(the patched torchao layer, its torch.compile'd call with M static or symbolic, the Recorded backend)."""
    lin = torchao_linear(scales)
    patch_model(torch.nn.Sequential(lin), SERVED)
    torch._dynamo.reset()
    rec = Recorded()
    return lin, torch.compile(lin, backend=rec, fullgraph=True, dynamic=dynamic), rec


@pytest.mark.parametrize("scales", ["tensor", "row"])
@pytest.mark.parametrize("m", [1, 5, 40])
def test_compiled_static_m_traces_the_op_only_where_a_kernel_serves(table, scales, m):
    """torch.compile at a static M traces aotgemm_scaled_mm only where the bundle serves the layer with a kernel
    (the table's bucket 16: M = 1-16; at M = 1 a per-token call is looked up as scale_row, then scale_rowwise);
    at M = 40 (a bucket without an entry) torchao's own forward (its output exactly)."""
    lin, f, rec = compiled_patched(scales, dynamic=False)
    x = torch.randn(m, K, dtype=torch.bfloat16)
    out = f(x)
    (code,) = rec.codes
    if m <= 16:
        assert "aotgemm_scaled_mm.fast_accum" in code and "aten._scaled_mm" not in code, code
        assert rt.stats().total_hits == 1 and len(table.calls) == 1
        assert rel(out, torch.nn.Linear.forward(lin, x)) < 2e-2
    else:
        assert "aotgemm" not in code and "linear" in code, code
        assert torch.equal(out, torch.nn.Linear.forward(lin, x)) and rt.stats().total_hits == 0


@pytest.mark.parametrize("scales", ["tensor", "row"])
def test_compiled_symbolic_m_traces_the_op_which_decides_per_call(table, scales):
    """At a symbolic M one graph serves every M: the op is traced (the bundle has a kernel for the layer at some
    M) and decides per call, the bundle's kernel at M = 5 and 12 (bucket 16), torchao's own _scaled_mm call at
    M = 40 (its output bit for bit, uncounted as a hit)."""
    lin, f, rec = compiled_patched(scales, dynamic=True)
    for m in (5, 40, 12):
        rt.reset_stats()
        x = torch.randn(m, K, dtype=torch.bfloat16)
        out, own = f(x), torch.nn.Linear.forward(lin, x)
        if m <= 16:
            assert rt.stats().total_hits == 1 and rel(out, own) < 2e-2, m
        else:
            assert rt.stats().total_hits == 0 and torch.equal(out, own), m
    (code,) = rec.codes
    assert "aotgemm_scaled_mm.fast_accum" in code and "aten._scaled_mm" not in code, code


@pytest.mark.parametrize("scales", ["tensor", "row"])
def test_compiled_symbolic_m_is_torchaos_own_where_no_kernel_serves(table, scales):
    """Where the bundle has cuBLAS entries alone for the layer, a symbolic-M trace is torchao's own forward."""
    from aotgemm.runtime import ops

    d = ops.get_active()
    for key in [key for key in d.table if key[3:5] == (N, K)]:
        d.table[key] = Route(None, None)
    lin, f, rec = compiled_patched(scales, dynamic=True)
    for m in (5, 40):
        x = torch.randn(m, K, dtype=torch.bfloat16)
        assert torch.equal(f(x), torch.nn.Linear.forward(lin, x)), m
    (code,) = rec.codes
    assert "aotgemm" not in code and "linear" in code, code


def test_compiled_static_m_follows_min_m_and_max_m(table):
    """The static-M choice is the op's own (ops.has_kernel): below an entry's min_m and above its kernel's max_m
    the trace is torchao's; at M = 1 a per-token call is looked up as scale_row first, even a cuBLAS entry."""
    from aotgemm.runtime import ops
    from aotgemm.runtime.torchao_fp8 import kernel_when_compiled

    d = ops.get_active()
    key = ("float8_e4m3fn", "linear", "scale_tensor", N, K, 16)
    d.table[key] = Route("scale_tensor", d.table[key].fn, 16, max_m=8, min_m=3)
    lin = torchao_linear("tensor")
    assert [m for m in range(1, 20) if kernel_when_compiled(lin, torch.empty(m, K))] == list(range(3, 9))
    row = torchao_linear("row")
    assert kernel_when_compiled(row, torch.empty(1, K)) and kernel_when_compiled(row, torch.empty(2, 3, K))
    d.table[("float8_e4m3fn", "linear", "scale_row", N, K, 16)] = Route(None, None)
    assert not kernel_when_compiled(row, torch.empty(1, K)) and kernel_when_compiled(row, torch.empty(2, K))

def _torchao_transformers_llama(scales: str):
    """A tiny transformers Llama whose q/k/v projections are torchao float8 linears (as quantize_ makes them)."""
    transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(hidden_size=K, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, head_dim=32, vocab_size=100)
    model = transformers.LlamaForCausalLM(cfg).to(torch.bfloat16).eval()
    g, mm = GRANULARITY[scales](), Float8MMConfig(use_fast_accum=True)
    for layer in model.model.layers:
        for name in ("q_proj", "k_proj", "v_proj"):
            lin = getattr(layer.self_attn, name)
            w = Float8Tensor.from_hp(lin.weight.detach(), float8_dtype=FP8, granularity=g, mm_config=mm,
                                     act_quant_kwargs=QuantizeTensorToFloat8Kwargs(FP8, g, mm_config=mm))
            lin.weight = torch.nn.Parameter(w, requires_grad=False)
    return model


def test_per_row_qkv_of_a_transformers_model_run_as_one_scaled_gemm(clean_runtime):
    """torchao PerRow q/k/v (per-token x, per-row weights) of one input stack into the per-token bundles' qkv GEMM
    (scale_rowwise): x quantized once by torchao's own function, one kernel call per layer, the unpatched logits;
    the layers' data and scales become views of the stacks (no memory growth)."""
    model = _torchao_transformers_llama("row")
    ids = torch.randint(0, 100, (2, 5), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(ids).logits
    k = Kernel()
    n_qkv = 128 + 2 * 64  # 4 heads + 2 x 2 KV heads of 32
    set_active(Dispatch(BUCKETS, {("float8_e4m3fn", "linear", epi, n_qkv, K, 16): Route(epi, k, 16)
                                  for epi in ("scale_row", "scale_rowwise")}, device_type="cpu", name="fp8 qkv"))
    attn = model.model.layers[0].self_attn
    names = patch_model(model, frozenset({("float8_e4m3fn", n_qkv, K)}))
    assert "model.layers.0.self_attn" in names and "model.layers.1.self_attn" in names
    assert attn.aotgemm_merged_weight.shape == (n_qkv, K) and attn.aotgemm_merged_scale.shape == (n_qkv, 1)
    assert attn.k_proj.weight.qdata.data_ptr() == attn.aotgemm_merged_weight.data_ptr() + 128 * K  # views
    with torch.no_grad():
        out = model(ids).logits
    assert len(k.calls) == 2 and k.calls[0][1].shape == (10,) and k.calls[0][2].shape == (n_qkv,)
    assert rel(out, ref) < 2e-2
    assert unpatch_model(model) and not hasattr(attn, "aotgemm_merged_scale")
    with torch.no_grad():
        assert rel(model(ids).logits, ref) < 1e-6  # torchao's own layers again, on the stacked views


def test_per_tensor_qkv_are_not_stacked(clean_runtime):
    """Per-tensor layers have a scale each: one GEMM would need per-row scales, which their bundles' kernels
    (scale_tensor) do not take. They stay one GEMM each."""
    model = _torchao_transformers_llama("tensor")
    names = patch_model(model, frozenset({("float8_e4m3fn", 256, K)}))
    assert not any(n.endswith("self_attn") for n in names)
