"""patch()'s attention fusions on the CPU: a transformers attention's q_proj, k_proj and v_proj run as one GEMM on
[Wq; Wk; Wv], the shape of the engines' merged qkv layer that `aotgemm manifest from-hf` lists, and its o_proj
takes the decoder layer's residual into its GEMM, as the manifests' o layer (residual_add) does.

- tiny random transformers Llama / Qwen2 (biased q/k/v) / Qwen3 (q/k norms) / Mistral models in bf16 give the
  unpatched model's logits, with and without a KV cache, served by a stand-in kernel at the fused shape; with
  the manifests' other layers too (o and down with residual_add, gate_up with swiglu), every GEMM of a decoder
  layer is a bundle call and both residual adds are in GEMMs;
- the weights (and biases) become views of one buffer, state_dict keys are unchanged, unpatch restores;
- gradients still reach the fused projections (q/k/v, and the MLP's gate/up) when autograd records;
- attention forwards of another form, and bundles without the fused shape or a kernel for it, are left alone.
"""

from __future__ import annotations

import pytest
import torch

import aotgemm.runtime as rt
from aotgemm.epilogues import epilogue
from aotgemm.runtime.ops import set_active
from aotgemm.runtime.fuse_transformers import SERVES, fusable_projections, projection_parts
from aotgemm.runtime.patch import is_patched, unserved
from aotgemm.runtime.table import Dispatch, Route

bf16 = torch.bfloat16
HIDDEN, HEADS, KV_HEADS, HEAD_DIM = 64, 4, 2, 16
N_QKV = (HEADS + 2 * KV_HEADS) * HEAD_DIM  # 128: q 64 + k 32 + v 32
QKV_SHAPE = ("bfloat16", N_QKV, HIDDEN)


def rel(y, ref) -> float:
    return ((y.float() - ref.float()).norm() / ref.float().norm()).item()


pytestmark = pytest.mark.usefixtures("clean_runtime")  # tests/conftest.py


def _tiny(kind):
    transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    common = dict(hidden_size=HIDDEN, intermediate_size=96, num_hidden_layers=2, num_attention_heads=HEADS,
                  num_key_value_heads=KV_HEADS, vocab_size=100, head_dim=HEAD_DIM)
    model, config = {"llama": ("LlamaForCausalLM", "LlamaConfig"), "qwen2": ("Qwen2ForCausalLM", "Qwen2Config"),
                     "qwen3": ("Qwen3ForCausalLM", "Qwen3Config"),
                     "mistral": ("MistralForCausalLM", "MistralConfig")}[kind]
    torch.manual_seed(0)
    return getattr(transformers, model)(getattr(transformers, config)(**common)).to(bf16).eval()


class Kern:
    """A stand-in bundle kernel (the op's call convention): x @ W^T in float32 (+ the epilogue), one rounding."""

    def __init__(self, name="identity"):
        self.name, self.calls, self.ms = name, 0, []

    def __call__(self, a, bt, out, *rest):
        self.calls += 1
        self.ms.append(a.shape[0])
        acc = a.float() @ bt.float()
        operand = {"bias": "bias", "residual_add": "residual"}.get(self.name)
        out.copy_(epilogue(self.name).apply(acc, **({operand: rest[0].float()} if operand else {})))


def _serve_qkv(kern, epilogue_name="identity", buckets=(1, 16)):
    table = {("bfloat16", "linear", epilogue_name, N_QKV, HIDDEN, b): Route(f"qkv{b}", kern) for b in buckets}
    set_active(Dispatch(tuple(buckets), table, device_type="cpu"))


def _logits(model, ids, **kw):
    with torch.no_grad():
        return model(ids, **kw)


@pytest.mark.parametrize("kind", ["llama", "qwen2", "qwen3", "mistral"])
def test_patch_fuses_qkv_and_keeps_the_output(kind):
    model = _tiny(kind)
    attn = model.model.layers[0].self_attn
    biased = attn.q_proj.bias is not None
    assert biased == (kind == "qwen2")
    g = torch.Generator().manual_seed(1)
    ids, step = torch.randint(0, 100, (2, 7), generator=g), torch.randint(0, 100, (2, 1), generator=g)
    ref = _logits(model, ids, use_cache=True)
    ref_step = _logits(model, step, past_key_values=ref.past_key_values, use_cache=True).logits
    keys = sorted(model.state_dict())
    q_before, k_before = attn.q_proj.weight.detach().clone(), attn.k_proj.weight.detach().clone()

    kern = Kern()  # an identity kernel; a biased layer gets its bias added after it, as for nn.Linear
    _serve_qkv(kern)
    names = rt.patch_model(model, frozenset({QKV_SHAPE}))
    assert "model.layers.0.self_attn" in names and "model.layers.1.self_attn" in names
    buf = attn.aotgemm_merged_weight
    assert buf.shape == (N_QKV, HIDDEN) and attn.q_proj.weight.data_ptr() == buf.data_ptr()
    assert attn.k_proj.weight.data_ptr() == buf.data_ptr() + 64 * HIDDEN * 2  # views: no second copy
    assert attn.v_proj.weight.data_ptr() == buf.data_ptr() + 96 * HIDDEN * 2
    assert torch.equal(attn.q_proj.weight, q_before) and torch.equal(attn.k_proj.weight, k_before)
    assert hasattr(attn, "aotgemm_merged_bias") == biased
    assert sorted(model.state_dict()) == keys

    out = _logits(model, ids, use_cache=True)
    out_step = _logits(model, step, past_key_values=out.past_key_values, use_cache=True).logits
    assert rel(out.logits, ref.logits) < 2e-2 and rel(out_step, ref_step) < 2e-2
    assert kern.ms == [14, 14, 2, 2]  # the prompt (2 x 7 rows), then one decode step, once per layer
    hits = rt.stats().hits
    assert hits == {(*QKV_SHAPE, 16): 4}  # M = 14 and 2: bucket 16

    assert "model.layers.0.self_attn" in rt.unpatch_model(model)
    assert not is_patched(attn) and not hasattr(attn, "aotgemm_qkv_weight") and not hasattr(attn, "aotgemm_merged_bias")
    assert torch.equal(_logits(model, ids).logits, ref.logits)


def test_gradients_still_reach_the_fused_projections():
    """q/k/v and the MLP's gate/up, fused, with autograd recording: every parameter gets its gradient."""
    model = _tiny("qwen2")
    ids = torch.randint(0, 100, (1, 5), generator=torch.Generator().manual_seed(2))
    model(ids).logits.float().square().mean().backward()
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    kern = Kern()
    _serve_qkv(kern)
    names = rt.patch_model(model, frozenset({QKV_SHAPE, ("bfloat16", 192, HIDDEN), ("bfloat16", HIDDEN, 96)}))
    assert "model.layers.0.self_attn" in names and "model.layers.0.mlp" in names and "model.layers.0" in names
    model(ids).logits.float().square().mean().backward()
    assert kern.ms == [5, 5]  # the op, on the projections' weights concatenated anew, then autograd's formula
    for n, p in model.named_parameters():
        assert p.grad is not None and rel(p.grad, ref[n]) < 2e-2, n
    mlp = model.model.layers[1].mlp  # called on its own, not through the fused decoder layer
    mlp.zero_grad()
    mlp(torch.randn(3, HIDDEN, dtype=bf16)).float().sum().backward()
    assert mlp.gate_proj.weight.grad is not None and mlp.up_proj.weight.grad is not None


def test_phi3_gradients_and_unpatch():
    """Phi-3's fused MLP runs on its gate_up_proj's own weight (no buffer): with autograd recording every
    parameter gets the unpatched model's gradient, and unpatch gives the unpatched logits exactly."""
    transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    torch.manual_seed(0)
    cfg = transformers.Phi3Config(hidden_size=HIDDEN, intermediate_size=96, num_hidden_layers=1,
                                  num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, vocab_size=100,
                                  pad_token_id=0, bos_token_id=1, eos_token_id=2)
    model = transformers.Phi3ForCausalLM(cfg).to(bf16)
    ids = torch.randint(0, 100, (1, 5), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = model(ids).logits
    model(ids).logits.float().square().mean().backward()
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    gate_up = Kern("swiglu")
    set_active(Dispatch((16,), {("bfloat16", "linear", "swiglu", 192, HIDDEN, 16): Route("gu", gate_up)},
                        device_type="cpu"))
    names = rt.patch_model(model, frozenset({("bfloat16", 192, HIDDEN)}))
    mlp = type(model.model.layers[0].mlp).__dict__
    assert "model.layers.0.mlp" in names and mlp[SERVES] == ("gate_up_proj",) and mlp["_aotgemm_gated"] == "swiglu"
    model(ids).logits.float().square().mean().backward()
    assert gate_up.ms == [5]
    for n, p in model.named_parameters():
        assert p.grad is not None and rel(p.grad, ref[n]) < 2e-2, n
    rt.unpatch_model(model)
    with torch.no_grad():
        assert torch.equal(model(ids).logits, want)


def test_patch_leaves_the_attention_alone_without_a_kernel_for_the_fused_shape():
    from aotgemm.bundle.format import DispatchEntry
    from aotgemm.runtime.table import served as served_of

    model = _tiny("llama")
    attn = model.model.layers[0].self_attn
    qkv = lambda a, shapes, served=None: bool(projection_parts(a, frozenset(shapes), served)[0])  # noqa: E731
    assert not qkv(attn, {("bfloat16", 64, HIDDEN)})  # q's shape alone (here also o's: that part is o_proj's)
    assert not qkv(attn, {("float16", N_QKV, HIDDEN)})  # another dtype

    class T:  # the fields of a Target that served() reads: the tuner kept cuBLAS at every M
        dispatch = (DispatchEntry("bfloat16", "linear", "identity", N_QKV, HIDDEN, 1, "cublas", "tuned"),)
    assert not fusable_projections(attn, frozenset({QKV_SHAPE}), served_of([T]))
    assert qkv(attn, {QKV_SHAPE}) and not projection_parts(attn, frozenset({QKV_SHAPE}))[1]
    biased = _tiny("qwen2").model.layers[0].self_attn
    bias_only = served_of([type("T", (), {"dispatch": (
        DispatchEntry("bfloat16", "linear", "bias", N_QKV, HIDDEN, 1, "k", "tuned"),)})])
    assert qkv(biased, {QKV_SHAPE}, bias_only)  # a bias kernel serves biased q/k/v
    assert not qkv(attn, {QKV_SHAPE}, bias_only)  # ... not bias-free ones


def _attention(forward):
    class Attention(torch.nn.Module):
        def __init__(self):
            super().__init__()
            lin = lambda n: torch.nn.Linear(HIDDEN, n, bias=False, dtype=bf16)  # noqa: E731
            self.q_proj, self.k_proj, self.v_proj = lin(64), lin(32), lin(32)

    Attention.forward = forward
    return Attention()


def _plain(self, x):
    q = self.q_proj(x)
    k, v = self.k_proj(x), self.v_proj(x)
    return q.sum(-1) + k.sum(-1) * v.sum(-1)


def _twice(self, x):
    return self.q_proj(x) + self.q_proj(x), self.k_proj(x), self.v_proj(x)


def _two_inputs(self, x):
    y = x * 2
    return self.q_proj(x), self.k_proj(y), self.v_proj(x)


def _in_a_branch(self, x):
    q = self.q_proj(x)
    if x.shape[0] > 1:
        k = self.k_proj(x)
    else:
        k = q[..., :32]
    return q, k, self.v_proj(x)


def _reassigned(self, x):
    q = self.q_proj(x)
    x = x + 1
    return q, self.k_proj(x), self.v_proj(x)


def test_an_attention_of_that_form_is_fused_whatever_its_class():
    m = _attention(_plain)
    x = torch.randn(3, HIDDEN, generator=torch.Generator().manual_seed(3)).to(bf16)
    with torch.no_grad():
        ref = m(x)
        kern = Kern()
        _serve_qkv(kern)
        assert rt.patch_model(m, frozenset({QKV_SHAPE})) == [""]
        assert rel(m(x), ref) < 2e-2 and kern.ms == [3]


@pytest.mark.parametrize("forward", [_twice, _two_inputs, _in_a_branch, _reassigned])
def test_other_forms_are_left_alone(forward):
    m = _attention(forward)
    assert not fusable_projections(m, frozenset({QKV_SHAPE}))
    assert rt.patch_model(m, frozenset({QKV_SHAPE})) == []


def _full_block_table():
    """Stand-in kernels for every layer a fused manifest lists for the tiny models (`aotgemm manifest from-hf`):
    qkv identity, o residual_add, gate_up swiglu, down residual_add."""
    kernels = {"qkv": Kern(), "o": Kern("residual_add"), "gate_up": Kern("swiglu"), "down": Kern("residual_add")}
    problems = {"qkv": ("identity", N_QKV, HIDDEN), "o": ("residual_add", HIDDEN, HEADS * HEAD_DIM),
                "gate_up": ("swiglu", 192, HIDDEN), "down": ("residual_add", HIDDEN, 96)}
    table = {("bfloat16", "linear", ep, n, k, 16): Route(name, kernels[name]) for name, (ep, n, k) in problems.items()}
    set_active(Dispatch((16,), table, device_type="cpu"))
    return kernels, frozenset(("bfloat16", n, k) for _, n, k in problems.values())


@pytest.mark.parametrize("kind", ["llama", "qwen3"])
def test_every_gemm_of_a_decoder_layer_is_a_bundle_call(kind):
    model = _tiny(kind)
    g = torch.Generator().manual_seed(4)
    ids, step = torch.randint(0, 100, (2, 7), generator=g), torch.randint(0, 100, (2, 1), generator=g)
    ref = _logits(model, ids, use_cache=True)
    ref_step = _logits(model, step, past_key_values=ref.past_key_values, use_cache=True).logits
    kernels, shapes = _full_block_table()
    names = rt.patch_model(model, shapes)
    layer = model.model.layers[0]
    assert {"model.layers.0", "model.layers.0.self_attn", "model.layers.0.mlp"} <= set(names)
    assert type(layer.self_attn).__dict__["_aotgemm_o_residual"]
    assert type(layer.self_attn).__dict__[SERVES] == ("q_proj", "k_proj", "v_proj")  # merged, in call order
    out = _logits(model, ids, use_cache=True)
    out_step = _logits(model, step, past_key_values=out.past_key_values, use_cache=True).logits
    assert rel(out.logits, ref.logits) < 2e-2 and rel(out_step, ref_step) < 2e-2
    # the prompt (14 rows) and one decode step (2 rows), once per layer and GEMM: o_proj with the residual
    assert {name: k.ms for name, k in kernels.items()} == dict.fromkeys(kernels, [14, 14, 2, 2])
    e = rt.stats().epilogues
    assert e[("residual_add", "bfloat16", HIDDEN, HEADS * HEAD_DIM, 16, "hit")] == 4
    assert rt.unpatch_model(model)
    assert not is_patched(layer) and not is_patched(layer.self_attn)
    assert torch.equal(_logits(model, ids).logits, ref.logits)


def test_an_attention_called_without_the_residual_runs_o_proj_as_before():
    """The attention's o_proj hook is used only when the decoder passes the residual: called on its own (or by a
    decoder layer whose forward was not rewritten), the attention returns o_proj(..) alone."""
    model = _tiny("llama")
    kernels, shapes = _full_block_table()
    attn = model.model.layers[0].self_attn
    x = torch.randn(1, 3, HIDDEN, generator=torch.Generator().manual_seed(5)).to(bf16)
    pos = model.model.rotary_emb(x, torch.arange(3).unsqueeze(0))
    with torch.no_grad():
        ref = attn(x, pos, None)[0]
        rt.patch_model(model, shapes)
        y = attn(x, pos, None)[0]
    assert rel(y, ref) < 2e-2 and kernels["o"].calls == 0 and kernels["qkv"].ms == [3]



def test_unserved_lists_what_no_kernel_runs_and_counts_fused_projections_as_served():
    model = _tiny("llama")
    kernels, shapes = _full_block_table()
    rt.patch_model(model, shapes)
    # q/k/v, gate/up, o_proj and down_proj run in the fused modules' calls; the lm_head's shape is not held
    assert [(u.name, u.n, u.k, u.reason) for u in unserved(model, shapes)] == [
        ("lm_head", 100, HIDDEN, "shape not in the bundle")]
    rt.unpatch_model(model)
    # a bundle without the stacked qkv shape: the three projections are what it lacks
    rt.patch_model(model, shapes - {QKV_SHAPE})
    left = unserved(model, shapes - {QKV_SHAPE})
    assert sorted({u.name.rsplit(".", 1)[-1] for u in left if u.reason == "shape not in the bundle"}) == [
        "k_proj", "lm_head", "v_proj"]  # q_proj is o_proj's shape here (64 x 64): held


@pytest.mark.parametrize("gate_up_kernel", ["geglu", "identity"])
def test_a_gelu_gated_mlp_runs_as_one_geglu_gemm(gate_up_kernel):
    """Gemma's MLP (gelu_pytorch_tanh(gate) * up) becomes one aotgemm_linear_geglu call on [gate; up], the
    manifests' gate_up layer (from-hf gives a tanh-GELU MLP the geglu epilogue), beside the attention's merged
    q/k/v: served by the bundle's geglu kernel, or by its identity kernel with the activation and multiply in
    torch after it; the logits are the unpatched model's either way."""
    transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    torch.manual_seed(0)
    cfg = transformers.GemmaConfig(hidden_size=HIDDEN, intermediate_size=96, num_hidden_layers=2,
                                   num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, head_dim=HEAD_DIM,
                                   vocab_size=100)
    model = transformers.GemmaForCausalLM(cfg).to(bf16).eval()
    ids = torch.randint(0, 100, (2, 7), generator=torch.Generator().manual_seed(6))
    ref = _logits(model, ids).logits
    qkv, gate_up = Kern(), Kern(gate_up_kernel)
    set_active(Dispatch((16,), {("bfloat16", "linear", "identity", N_QKV, HIDDEN, 16): Route("qkv", qkv),
                                ("bfloat16", "linear", gate_up_kernel, 192, HIDDEN, 16): Route("gu", gate_up)},
                        device_type="cpu"))
    names = rt.patch_model(model, frozenset({QKV_SHAPE, ("bfloat16", 192, HIDDEN)}))
    assert {"model.layers.0.self_attn", "model.layers.0.mlp"} <= set(names)
    mlp = type(model.model.layers[0].mlp).__dict__
    assert mlp[SERVES] == ("gate_proj", "up_proj") and mlp["_aotgemm_gated"] == "geglu"
    assert rel(_logits(model, ids).logits, ref) < 2e-2
    assert qkv.ms == gate_up.ms == [14, 14]
    assert {(e, o) for (e, *_, o) in rt.stats().epilogues if e != "residual_add"} == {("geglu", "hit")}


def test_an_exact_gelu_mlp_gets_its_gate_and_up_merged_not_gated():
    """An MLP whose act_fn is exact GELU (erf; a Llama config with hidden_act "gelu") is no gated epilogue's: its
    gate/up run as one plain merged GEMM (the projection merge), the activation in torch, as the model computes
    it."""
    transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(hidden_size=HIDDEN, intermediate_size=96, num_hidden_layers=1,
                                   num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, head_dim=HEAD_DIM,
                                   vocab_size=100, hidden_act="gelu")
    model = transformers.LlamaForCausalLM(cfg).to(bf16).eval()
    ids = torch.randint(0, 100, (1, 5), generator=torch.Generator().manual_seed(2))
    ref = _logits(model, ids).logits
    gate_up = Kern()
    set_active(Dispatch((16,), {("bfloat16", "linear", "identity", 192, HIDDEN, 16): Route("gu", gate_up)},
                        device_type="cpu"))
    rt.patch_model(model, frozenset({("bfloat16", 192, HIDDEN)}))
    mlp = type(model.model.layers[0].mlp).__dict__
    assert "_aotgemm_gated" not in mlp and mlp[SERVES] == ("gate_proj", "up_proj")
    assert rel(_logits(model, ids).logits, ref) < 2e-2 and gate_up.ms == [5]


# model kind -> (transformers classes, config fields beyond the common ones, the epilogues from-hf gives qkv, o,
# gate_up and down)
FROM_HF_KINDS = {
    "gemma": (("GemmaForCausalLM", "GemmaConfig"), {}, ("identity", "residual_add", "geglu", "residual_add")),
    "gemma2": (("Gemma2ForCausalLM", "Gemma2Config"), {}, ("identity", "identity", "geglu", "identity")),
    "gemma3": (("Gemma3ForCausalLM", "Gemma3TextConfig"), {}, ("identity", "identity", "geglu", "identity")),
    "phi3": (("Phi3ForCausalLM", "Phi3Config"), {}, ("identity", "residual_add", "swiglu", "residual_add")),
    "qwen2": (("Qwen2ForCausalLM", "Qwen2Config"), {}, ("bias", "residual_add", "swiglu", "residual_add")),
    "llama-biased": (("LlamaForCausalLM", "LlamaConfig"), {"attention_bias": True, "mlp_bias": True},
                     ("bias", "bias", "bias", "bias")),
}


@pytest.mark.parametrize("kind", sorted(FROM_HF_KINDS))
def test_a_model_is_served_whole_by_the_bundle_from_hf_lists_for_it(kind):
    """The manifest `aotgemm manifest from-hf` writes for a config and patch() agree. Gemma: q/k/v as the merged
    qkv GEMM, the MLP as one geglu GEMM, and o / down with the residual add where the decoder adds it to their
    outputs (Gemma 1) or plain where it normalises them first (Gemma 2 and 3). Phi-3 (and Phi-4): its merged
    qkv_proj and gate_up_proj as they are, the MLP's chunk, SiLU and multiply in the swiglu GEMM, and both
    residual adds (through Dropouts of p = 0) in o's and down's GEMMs. Qwen2: its biased q/k/v as one bias GEMM.
    A Llama with attention_bias and mlp_bias: every projection's bias in its GEMM, gate/up as one biased GEMM
    with the activation after it, no residual in a GEMM (the folds take bias-free projections). Every GEMM of a decoder layer is a call
    of the bundle's kernel for that layer's problem, and the logits (a prompt and a decode step on its KV
    cache) are the unpatched model's."""
    transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    from aotgemm.hf import manifest_from_hf_config

    common = dict(hidden_size=HIDDEN, intermediate_size=96, num_hidden_layers=2, num_attention_heads=HEADS,
                  num_key_value_heads=KV_HEADS, head_dim=HEAD_DIM, vocab_size=100, pad_token_id=0, bos_token_id=1,
                  eos_token_id=2)
    (model_cls, config_cls), fields, epilogues = FROM_HF_KINDS[kind]
    torch.manual_seed(0)
    model = getattr(transformers, model_cls)(getattr(transformers, config_cls)(**common, **fields)).to(bf16).eval()
    for name, p in model.named_parameters():  # transformers initialises biases to zero: a dropped one would not show
        if name.endswith(".bias"):
            p.data.normal_(0, 0.5)
    g = torch.Generator().manual_seed(4)
    ids, step = torch.randint(0, 100, (2, 7), generator=g), torch.randint(0, 100, (2, 1), generator=g)
    ref = _logits(model, ids, use_cache=True)
    ref_step = _logits(model, step, past_key_values=ref.past_key_values, use_cache=True).logits

    layers = {layer.name: layer for layer in manifest_from_hf_config(model.config.to_dict(), tp=1).layers}
    assert tuple(layers[n].epilogue for n in ("qkv", "o", "gate_up", "down")) == epilogues
    kernels = {n: Kern(layers[n].epilogue) for n in ("qkv", "o", "gate_up", "down")}
    table = {("bfloat16", "linear", layers[n].epilogue, layers[n].n, layers[n].k, 16): Route(n, k)
             for n, k in kernels.items()}
    set_active(Dispatch((16,), table, device_type="cpu"))
    rt.patch_model(model, frozenset(("bfloat16", layers[n].n, layers[n].k) for n in kernels))
    out = _logits(model, ids, use_cache=True)
    out_step = _logits(model, step, past_key_values=out.past_key_values, use_cache=True).logits
    assert rel(out.logits, ref.logits) < 2e-2 and rel(out_step, ref_step) < 2e-2
    # the prompt (14 rows) and one decode step (2 rows), once per layer and GEMM
    assert {n: k.ms for n, k in kernels.items()} == dict.fromkeys(kernels, [14, 14, 2, 2])
    # nothing but the lm_head (whose shape the table leaves out) is left to torch
    shapes = frozenset(("bfloat16", layers[n].n, layers[n].k) for n in kernels)
    assert [u.name for u in unserved(model, shapes)] == ["lm_head"]


@pytest.mark.parametrize("cache", ["dynamic", "static"])
def test_generate_gives_the_unpatched_tokens(cache):
    """transformers' generate (greedy) through every fusion, with its dynamic and its static KV cache (which
    copies the k/v views into preallocated buffers)."""
    model = _tiny("llama")
    ids = torch.randint(0, 100, (2, 5), generator=torch.Generator().manual_seed(7))
    kw = dict(max_new_tokens=6, do_sample=False, attention_mask=torch.ones_like(ids), pad_token_id=0,
              **({"cache_implementation": "static"} if cache == "static" else {}))
    want = model.generate(ids, **kw)
    kernels, shapes = _full_block_table()
    rt.patch_model(model, shapes)
    assert torch.equal(model.generate(ids, **kw), want)
    assert all(k.calls for k in kernels.values())


def test_a_compiled_patched_model_runs_its_misses_as_2d_gemms():
    """torch.compile of a patched model at an M the bundle has no kernel for (every call a miss): each GEMM is one
    2-D GEMM, as in the compiled unpatched model. Inductor hands the ops [M, 1, K] views whose size-1 dim has a
    stride of its own (o_proj's x, from the attention); F.linear ran those as M batched one-row GEMMs
    (aten::bmm), which made the compiled patched Llama-3.1-8B layer 0.30x of the compiled one at M = 128 on the
    H200 (session 42)."""
    from torch.profiler import ProfilerActivity, profile

    model = _tiny("llama")
    ids = torch.randint(0, 100, (32, 1), generator=torch.Generator().manual_seed(8))  # 32 sequences of one token
    ref = _logits(model, ids).logits
    _, shapes = _full_block_table()
    rt.patch_model(model, shapes)  # fused as for a bundle that holds every layer, which then has no kernel at all:
    set_active(Dispatch((16,), {}, device_type="cpu"))  # every call a miss, as where the tuner kept cuBLAS
    fn = torch.compile(model, dynamic=False)
    with torch.no_grad():
        out = fn(ids).logits
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn(ids)
    assert rel(out, ref) < 2e-2
    assert rt.stats().total_hits == 0 and rt.stats().total_misses > 0
    gemms = [e.name for e in prof.events() if e.name in ("aten::mm", "aten::addmm", "aten::bmm")]
    # the attention's q @ k^T and p @ v run inside sdpa, not as aten GEMMs here
    assert gemms and "aten::bmm" not in gemms, gemms
