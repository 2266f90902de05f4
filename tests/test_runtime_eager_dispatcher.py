"""Patched modules in eager mode never go through the dispatcher: nn.Linear (runtime/eager.py) and the fused SwiGLU
MLP's swiglu and residual GEMMs (runtime/eager_epilogues.py), for hits and for every kind of miss.

Dispatcher calls are counted with torch.profiler (it records every op the dispatcher runs, aotgemm's included);
the same calls with autograd recording must go through the ops (the positive control), decide the same, count the
same and give the same output. The kernels are the TVM-FFI CPU stand-ins of aotgemm.aoti.testing (a real library
called through the prepared C-ABI calls, the residual's address passed per call).
"""

from __future__ import annotations

import subprocess

import pytest
import torch
import torch.nn.functional as F

import aotgemm.runtime as rt
from aotgemm.aoti import testing
from aotgemm.runtime import ffi
from aotgemm.runtime.ops import set_active
from aotgemm.runtime.patch import patch_model
from aotgemm.runtime.table import Dispatch, Route

bf16 = torch.bfloat16
BUCKETS = (1, 16, 128, 1024)
H, I = 32, 48  # hidden, intermediate: gate_up [2I, H], down [H, I]


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    try:
        out = tmp_path_factory.mktemp("kernels")
        testing.build_cpu_kernel_library(out)
        lib = ffi.KernelLibrary(out / "fake_kernels.so")
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot build the CPU TVM-FFI kernel library: {e}")
    fns = {"identity": testing.TEST_SYMBOL, "swiglu": testing.TEST_SWIGLU_SYMBOL,
           "residual_add": testing.TEST_RESIDUAL_SYMBOL}
    return {ep: lib.get_function(sym["bfloat16"]) for ep, sym in fns.items()}


@pytest.fixture
def clean(clean_runtime):  # tests/conftest.py
    return clean_runtime


def dispatcher_calls(fn) -> dict[str, int]:
    """fn() run under torch.profiler: the aotgemm ops the dispatcher ran, with their counts."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        fn()
    return {e.key: e.count for e in prof.key_averages() if e.key.startswith("aotgemm::")}


def rel(y, ref) -> float:
    return float((y.float() - ref.float()).norm() / ref.float().norm())


def table(kernels, shapes) -> Dispatch:
    """Per (epilogue, N, K): bucket 1 a kernel, 16 a kernel for identity only (the fused ops: identity kernel +
    epilogue in torch), 128 cuBLAS (the tuner's choice), 1024 no entry."""
    t = {}
    for ep, n, k in shapes:
        t[("bfloat16", "linear", ep, n, k, 1)] = Route(ep, kernels[ep], 8)
        t[("bfloat16", "linear", ep, n, k, 128)] = Route(None, None)
        if ep == "identity":
            t[("bfloat16", "linear", ep, n, k, 16)] = Route(ep, kernels[ep], 8)
    return Dispatch(BUCKETS, t, device_type="cpu", name="cpu kernels")


def _same_as_the_op(rt, model, xs):
    """Run `model` on each x eagerly (no grad) and through the ops (grad on): same outputs and stats; no
    dispatcher call on the eager side, at least one on the op side. Returns the eager stats."""
    rt.reset_stats()
    with torch.enable_grad():
        want = [model(x).detach() for x in xs]
        assert sum(dispatcher_calls(lambda: model(xs[0])).values()) > 0  # the op path is what is counted
    rt.reset_stats()
    with torch.enable_grad():
        for x in xs:
            model(x)
    op_stats = rt.stats()
    rt.reset_stats()
    with torch.no_grad():
        for _ in range(2):  # the first call fills the memos, the second uses them
            got = []
            calls = dispatcher_calls(lambda: got.extend(model(x) for x in xs))
            assert calls == {}, f"the eager path went through the dispatcher: {calls}"
    s = rt.stats()
    assert s.hits == {key: 2 * c for key, c in op_stats.hits.items()}
    assert s.misses == {key: 2 * c for key, c in op_stats.misses.items()}
    assert s.epilogues == {key: 2 * c for key, c in op_stats.epilogues.items()}
    for y, w in zip(got, want):
        assert y.shape == w.shape and torch.equal(y, w)
    return s


@pytest.mark.parametrize("m", [1, 5, 100, 600])  # kernel; kernel; cuBLAS chosen; no entry
@pytest.mark.parametrize("bias", [False, True])
def test_patched_linear_eager_calls_skip_the_dispatcher(clean, kernels, m, bias):
    torch.manual_seed(m)
    lin = torch.nn.Linear(H, 2 * I, bias=bias, dtype=bf16)  # weights require grad: the op path with grad on
    assert patch_model(torch.nn.Sequential(lin), frozenset({("bfloat16", 2 * I, H)})) == ["0"]
    set_active(table(kernels, [("identity", 2 * I, H)]))
    xs = [torch.randn(m, H, dtype=bf16), torch.randn(2, m, H, dtype=bf16)]
    s = _same_as_the_op(clean, lin, xs)
    assert (s.total_hits > 0) == (m < 16)
    with torch.no_grad():
        for x in xs:
            assert rel(lin(x), F.linear(x.float(), lin.weight.float(), None if lin.bias is None else lin.bias.float())) < 1e-2


def _decoder_layer():
    transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    config = transformers.LlamaConfig(hidden_size=H, intermediate_size=I, num_attention_heads=2, num_key_value_heads=1,
                                      head_dim=16, vocab_size=50, num_hidden_layers=1)
    config._attn_implementation = "sdpa"
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

    torch.manual_seed(0)
    layer = LlamaDecoderLayer(config, layer_idx=0).to(bf16).eval()
    probe = torch.zeros(1, 1, H, dtype=bf16)
    cos, sin = LlamaRotaryEmbedding(config)(probe, torch.full((1, 1), 3, dtype=torch.long))

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, hidden):
            out = self.layer(hidden, position_embeddings=(cos.to(bf16), sin.to(bf16)))
            return out[0] if isinstance(out, tuple) else out

    return Block().eval()


@pytest.mark.parametrize("m", [1, 5, 100, 600])  # fused kernels; identity kernels + torch epilogue; cuBLAS; no entry
def test_fused_mlp_eager_calls_skip_the_dispatcher(clean, kernels, m):
    model = _decoder_layer()
    xs = [torch.randn(m, 1, H, dtype=bf16), torch.randn(m, 1, H, dtype=bf16)]
    with torch.no_grad():
        ref = [model(x).float() for x in xs]
    shapes = [("identity", 2 * I, H), ("swiglu", 2 * I, H), ("identity", H, I), ("residual_add", H, I)]
    set_active(table(kernels, shapes))
    names = patch_model(model, frozenset(("bfloat16", n, k) for _, n, k in shapes))
    assert {"layer.mlp", "layer", "layer.mlp.down_proj"} <= set(names)
    s = _same_as_the_op(clean, model, xs)
    with torch.no_grad():
        for x, r in zip(xs, ref):
            assert rel(model(x), r) < 2e-2
    served = {(e, o) for (e, _, _, _, _, o) in s.epilogues}
    if m == 1:
        assert served == {("swiglu", "hit"), ("residual_add", "hit")}
        mlp = model.layer.mlp
        for attr in ("_aotgemm_memo_gated", "_aotgemm_memo_residual"):  # served by the prepared C-ABI calls
            assert len(mlp.__dict__[attr].prepared) == 1
    elif m == 5:
        assert served == {("swiglu", "hit"), ("residual_add", "hit")}
    else:
        assert {o for _, o in served} == {"bundle chose cublas" if m == 100 else "no entry"}


@pytest.mark.parametrize("m", [1, 3])
def test_export_of_a_patched_decoder_layer_holds_the_fused_ops(clean, kernels, m):
    """The eager paths step aside when torch.export traces: the graph calls the ops, and stays correct. At a
    static M whose bucket has no fused kernel (M = 3: bucket 16, identity kernels only) it calls aotgemm_linear
    and the epilogues' torch ops instead (epilogue_ops.unfused_when_compiled)."""
    model = _decoder_layer()
    x = torch.randn(m, 1, H, dtype=bf16)
    shapes = [("swiglu", 2 * I, H), ("residual_add", H, I)]
    set_active(table(kernels, shapes))
    patch_model(model, frozenset(("bfloat16", n, k) for _, n, k in shapes))
    with torch.no_grad():
        want = model(x)
        ep = torch.export.export(model, (x,))
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    fused = {"aotgemm.aotgemm_linear_swiglu.default", "aotgemm.aotgemm_linear_residual.default"}
    if m == 1:
        assert fused <= targets
    else:
        assert not fused & targets and "aotgemm.aotgemm_linear.default" in targets, targets
    with torch.no_grad():
        assert torch.equal(ep.module()(x), want)
