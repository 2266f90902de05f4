"""The AOTInductor rewrite's merge of GEMMs that read one x (aotgemm/aoti/rewrite_merge.py), on the CPU.

- a tiny random transformers Llama / Qwen2 (biased q/k/v), exported: where the bundle covers the stacked
  qkv shape, each layer's q/k/v projections become one routed GEMM on a new constant [Wq; Wk; Wv] (+ bias),
  the originals are dropped, and the program computes what it did;
- nothing is merged where the stacked shape is not covered, where the GEMMs' biases differ in kind, or where
  a weight is not a constant of the program.
"""

from __future__ import annotations

import collections

import pytest
import torch

from aotgemm.aoti.rewrite import route_exported_program
from aotgemm.aoti.rewrite_merge import merge_shared_input_gemms

bf16 = torch.bfloat16
HIDDEN = 64
QKV = ("bfloat16", 128, HIDDEN)  # 4 heads + 2 x 2 KV heads of 16


def _targets(ep) -> collections.Counter:
    return collections.Counter(str(n.target) for n in ep.graph.nodes if n.op == "call_function")


def _exported_tiny(kind):
    transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    cfg = getattr(transformers, f"{kind}Config")(hidden_size=HIDDEN, intermediate_size=96, num_hidden_layers=2,
                                                  num_attention_heads=4, num_key_value_heads=2, vocab_size=100,
                                                  head_dim=16)
    torch.manual_seed(0)
    model = getattr(transformers, f"{kind}ForCausalLM")(cfg).to(bf16).eval()

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, ids):
            return self.model(ids, use_cache=False).logits

    ids = torch.randint(0, 100, (2, 7), generator=torch.Generator().manual_seed(1))
    wrapped = Logits()
    with torch.no_grad():
        ref = wrapped(ids)
    return wrapped, ids, ref, torch.export.export(wrapped, (ids,))


@pytest.mark.parametrize("kind", ["Llama", "Qwen2"])
def test_qkv_projections_become_one_routed_gemm(kind):
    model, ids, ref, ep = _exported_tiny(kind)
    before = _targets(ep)["aten.linear.default"]
    routed = route_exported_program(ep, {QKV})
    assert [(r.n, r.k) for r in routed] == [(128, HIDDEN)] * 2  # one per layer
    t = _targets(ep)
    assert t["aotgemm.aotgemm_linear.default"] == 2 and t["aten.split_with_sizes.default"] == 2
    assert t["aten.linear.default"] == before - 6  # q, k and v of two layers
    targets = [s.target for s in ep.graph_signature.input_specs]
    assert not any(x and ("q_proj" in x or "k_proj" in x or "v_proj" in x) for x in targets)  # dropped
    attn = model.model.model.layers[0].self_attn
    stacked = [ep.state_dict[x] for x in targets if x and x.startswith("aotgemm_stacked_weight")]
    assert any(torch.equal(w, torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]))
               for w in stacked)
    assert len([x for x in targets if x and x.startswith("aotgemm_stacked_bias")]) == (2 if kind == "Qwen2" else 0)
    y = ep.module()(ids)  # no bundle loaded: the op's fallback, F.linear on the stacked weight
    assert ((y.float() - ref.float()).norm() / ref.float().norm()).item() < 1e-2


def test_nothing_is_merged_where_the_stacked_shape_is_not_covered():
    _, _, _, ep = _exported_tiny("Llama")
    before = _targets(ep)
    assert merge_shared_input_gemms(ep, {("bfloat16", 64, HIDDEN)}) == 0  # q's shape, not the stack's
    assert merge_shared_input_gemms(ep, {("float16", 128, HIDDEN)}) == 0
    assert _targets(ep) == before


class Projections(torch.nn.Module):
    def __init__(self, biases=(False, False), weight_from_input=False):
        super().__init__()
        self.a = torch.nn.Linear(HIDDEN, 32, bias=biases[0], dtype=bf16)
        self.b = torch.nn.Linear(HIDDEN, 32, bias=biases[1], dtype=bf16)
        self.weight_from_input = weight_from_input

    def forward(self, x):
        wb = self.b.weight * 2 if self.weight_from_input else self.b.weight
        return self.a(x) * torch.nn.functional.linear(x, wb, self.b.bias)


@pytest.mark.parametrize("kw, merged", [({}, 1), ({"biases": (True, True)}, 1), ({"biases": (True, False)}, 0),
                                        ({"weight_from_input": True}, 0)])
def test_which_gemms_are_merged(kw, merged):
    torch.manual_seed(2)
    m = Projections(**kw).eval()
    x = torch.randn(3, 5, HIDDEN, dtype=bf16)
    ref = m(x)
    ep = torch.export.export(m, (x,))
    assert merge_shared_input_gemms(ep, {("bfloat16", 64, HIDDEN)}) == merged
    ep.graph_module.recompile()
    assert _targets(ep)["aten.linear.default"] == 2 - merged
    assert ((ep.module()(x).float() - ref.float()).norm() / ref.float().norm()).item() < 1e-2


def test_a_merged_gemm_served_at_some_m_runs_under_a_cond_whose_other_branch_is_the_merged_gemm():
    """With M dynamic and the stacked shape's kernels serving M <= 16 only, the merged GEMM is routed under a
    torch.cond on M (guard.py); either branch computes what the three GEMMs did."""
    torch.manual_seed(3)
    m = Projections(biases=(True, True)).eval()
    x = torch.randn(2, 8, HIDDEN, dtype=bf16)
    rows = torch.export.Dim("rows", min=1, max=4096)
    ep = torch.export.export(m, (x,), dynamic_shapes=({0: rows},))
    routed = route_exported_program(ep, {("bfloat16", 64, HIDDEN): ((0, 16),)})
    assert [(r.n, r.k) for r in routed] == [(64, HIDDEN)]
    t = _targets(ep)
    assert t["aten.split_with_sizes.default"] == 1 and t["cond"] == 1, t
    for b in (1, 2, 40):  # M = 8 (served), 16 (served), 320 (the other branch)
        xb = torch.randn(b, 8, HIDDEN, dtype=bf16)
        y, ref = ep.module()(xb), m(xb)
        assert ((y.float() - ref.float()).norm() / ref.float().norm()).item() < 1e-2, b


def test_compile_names_the_gemms_whose_shapes_the_bundle_lacks():
    """After routing, aoti.compile warns about the GEMMs left to Inductor whose (N, K) no layer of the bundle has
    (package._unheld_gemms): a bundle built from another model's manifest serves nothing, and says so."""
    from aotgemm.aoti.package import _unheld_gemms

    m = Projections().eval()  # a: 32 x 64, b: 32 x 64, both read x
    x = torch.randn(3, HIDDEN, dtype=bf16)
    ep = torch.export.export(m, (x,))
    assert _unheld_gemms(ep, {(32, HIDDEN)}) == []
    assert _unheld_gemms(ep, {(64, HIDDEN)}) == [("bfloat16", 32, HIDDEN)] * 2
    route_exported_program(ep, {("bfloat16", 64, HIDDEN)})  # merged and routed: nothing left to name
    assert _unheld_gemms(ep, {(64, HIDDEN)}) == []
