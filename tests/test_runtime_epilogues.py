"""The fused-epilogue ops, patch()'s SwiGLU MLP fusion, and the AOTInductor rewrite's epilogue patterns, on the CPU.

- ops: the fallback (no bundle) matches Epilogue.reference and is counted as a miss; a CPU dispatch
  table with Python kernels takes the fused kernel, the identity kernel + unfused epilogue, and the
  cuBLAS choice; fake tensors give the right shapes (torch.export traces the ops); bad calls raise
  one-line UnsupportedInput errors;
- patch: a tiny random transformers Llama / Qwen3 (bf16, CPU) gives the unpatched model's output,
  with gate and up concatenated once into views of one buffer (no steady-state memory growth);
- rewrite: the three patterns on small exported graphs, routed only where the bundle has kernels.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import aotgemm.runtime as rt
from aotgemm.aoti import testing
from aotgemm.aoti.meta import epilogue_coverage
from aotgemm.aoti.rewrite import route_exported_program
from aotgemm.bundle import open_bundle
from aotgemm.epilogues import epilogue
from aotgemm.errors import UnsupportedInput
from aotgemm.runtime.ops import set_active
from aotgemm.runtime.patch import is_patched
from aotgemm.runtime.table import Dispatch, Route

bf16 = torch.bfloat16


def rel(y, ref) -> float:
    return ((y.float() - ref).norm() / ref.norm()).item()


pytestmark = pytest.mark.usefixtures("clean_runtime")  # tests/conftest.py


def test_fallback_matches_reference_and_counts_a_miss():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 7, 64, generator=g).to(bf16)
    w = (torch.randn(256, 64, generator=g) / 8).to(bf16)
    r = torch.randn(3, 7, 256, generator=g).to(bf16)
    y = rt.linear_swiglu(x, w)
    assert y.shape == (3, 7, 128) and rel(y, epilogue("swiglu").reference(x, w)) < 1e-2
    y = rt.linear_residual(x, w, r)
    assert y.shape == (3, 7, 256) and rel(y, epilogue("residual_add").reference(x, w, residual=r)) < 1e-2
    s = rt.stats()
    assert s.misses == {("bfloat16", 256, 64, None, "not loaded"): 2}
    assert s.epilogues == {("swiglu", "bfloat16", 256, 64, None, "not loaded"): 1,
                           ("residual_add", "bfloat16", 256, 64, None, "not loaded"): 1}
    assert s.to_dict()["epilogues"][0]["epilogue"] in ("residual_add", "swiglu")


class Kern:
    def __init__(self, name):
        self.name, self.calls = name, 0

    def __call__(self, a, bt, out, *rest):
        self.calls += 1
        acc = a.float() @ bt.float()
        out.copy_(epilogue(self.name).apply(acc, **({"residual": rest[0].float()} if len(rest) > 1 else {})))


def test_bundle_kernels_fused_identity_and_cublas():
    sw, ident, res = Kern("swiglu"), Kern("identity"), Kern("residual_add")
    table = {("bfloat16", "linear", "swiglu", 256, 64, 16): Route("sw", sw),
             ("bfloat16", "linear", "identity", 256, 64, 128): Route("id", ident),
             ("bfloat16", "linear", "swiglu", 256, 64, 1024): Route(None, None),  # the tuner chose cuBLAS
             ("bfloat16", "linear", "residual_add", 256, 64, 16): Route("res", res)}
    set_active(Dispatch((16, 128, 1024), table, device_type="cpu"))
    g = torch.Generator().manual_seed(2)
    w = (torch.randn(256, 64, generator=g) / 8).to(bf16)
    for m in (1, 7, 100, 1000):
        x = torch.randn(m, 64, generator=g).to(bf16)
        y = torch.full((m, 128), float("nan"), dtype=bf16)
        y = rt.linear_swiglu(x, w)
        assert not y.isnan().any() and rel(y, epilogue("swiglu").reference(x, w)) < 1e-2, m
    r = torch.randn(2, 5, 256, generator=g).to(bf16)
    x = torch.randn(2, 5, 64, generator=g).to(bf16)
    assert rel(rt.linear_residual(x, w, r), epilogue("residual_add").reference(x, w, residual=r)) < 1e-2
    assert rel(rt.linear_residual(x, w, r.transpose(0, 1).contiguous().transpose(0, 1)),  # strided: cuBLAS
               epilogue("residual_add").reference(x, w, residual=r)) < 1e-2
    assert (sw.calls, ident.calls, res.calls) == (2, 1, 1)
    e = rt.stats().epilogues
    assert e[("swiglu", "bfloat16", 256, 64, 16, "hit")] == 2 and e[("swiglu", "bfloat16", 256, 64, 128, "hit")] == 1
    assert e[("swiglu", "bfloat16", 256, 64, 1024, "bundle chose cublas")] == 1
    assert e[("residual_add", "bfloat16", 256, 64, 16, "hit")] == 1
    assert e[("residual_add", "bfloat16", 256, 64, 16, "non-contiguous")] == 1


def test_fake_tensor_shapes_and_export():
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        x, w, r = torch.empty(4, 9, 64, dtype=bf16), torch.empty(256, 64, dtype=bf16), torch.empty(4, 9, 256, dtype=bf16)
        assert torch.ops.aotgemm.aotgemm_linear_swiglu(x, w).shape == (4, 9, 128)
        assert torch.ops.aotgemm.aotgemm_linear_residual(x, w, r).shape == (4, 9, 256)

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(256, 64, dtype=bf16))

        def forward(self, x):
            return torch.ops.aotgemm.aotgemm_linear_swiglu(x, self.w)

    ep = torch.export.export(M(), (torch.randn(8, 64, dtype=bf16),))
    assert "aotgemm_linear_swiglu" in ep.graph_module.code


@pytest.mark.parametrize("call, match", [
    (lambda: rt.linear_swiglu(torch.randn(2, 64, dtype=bf16), torch.randn(255, 64, dtype=bf16)), "even N"),
    (lambda: rt.linear_swiglu(torch.randn(2, 63, dtype=bf16), torch.randn(256, 64, dtype=bf16)), "K=64"),
    (lambda: rt.linear_swiglu(torch.randn(2, 64), torch.randn(256, 64, dtype=bf16)), "must match"),
    (lambda: rt.linear_residual(torch.randn(2, 64, dtype=bf16), torch.randn(256, 64, dtype=bf16),
                                torch.randn(3, 256, dtype=bf16)), "residual must have shape"),
    (lambda: rt.linear_residual(torch.randn(2, 64, dtype=bf16), torch.randn(256, 64, dtype=bf16),
                                torch.randn(2, 256)), "residual is torch.float32"),
])
def test_bad_input_is_a_one_line_error(call, match):
    with pytest.raises(UnsupportedInput, match=match) as e:
        call()
    assert "\n" not in str(e.value)


# --- patch on transformers models -------------------------------------------------------------
def _tiny(kind):
    transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")
    common = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=100, head_dim=16)
    model, config = {"llama": ("LlamaForCausalLM", "LlamaConfig"), "qwen2": ("Qwen2ForCausalLM", "Qwen2Config"),
                     "qwen3": ("Qwen3ForCausalLM", "Qwen3Config"),
                     "mistral": ("MistralForCausalLM", "MistralConfig")}[kind]
    return getattr(transformers, model)(getattr(transformers, config)(**common))


@pytest.mark.parametrize("kind", ["llama", "qwen2", "qwen3", "mistral"])
def test_patch_fuses_the_mlps_and_keeps_the_output(kind):
    torch.manual_seed(0)
    model = _tiny(kind).to(bf16).eval()
    ids = torch.randint(0, 100, (2, 7))
    with torch.no_grad():
        ref = model(ids).logits.float()
    keys = sorted(model.state_dict())
    mlp = model.model.layers[0].mlp
    gate_before = mlp.gate_proj.weight.detach().clone()
    # a bundle-like dispatch table holding the gate_up problem (a Python swiglu kernel) and down
    kern, res = Kern("swiglu"), Kern("residual_add")
    set_active(Dispatch((16, 128), {("bfloat16", "linear", "swiglu", 256, 64, 16): Route("sw", kern),
                                    ("bfloat16", "linear", "residual_add", 64, 128, 16): Route("res", res)},
                        device_type="cpu"))
    names = rt.patch_model(model, frozenset({("bfloat16", 256, 64), ("bfloat16", 64, 128)}))
    assert "model.layers.0.mlp" in names and "model.layers.1.mlp.down_proj" in names
    assert "model.layers.1" in names  # the decoder layer: residual + mlp(..) fused into down_proj
    buf = mlp.aotgemm_gate_up
    assert buf.shape == (256, 64) and mlp.gate_proj.weight.data_ptr() == buf.data_ptr()
    assert mlp.up_proj.weight.data_ptr() == buf.data_ptr() + 128 * 64 * 2  # views: no second copy
    assert torch.equal(mlp.gate_proj.weight, gate_before)
    assert sorted(model.state_dict()) == keys
    with torch.no_grad():
        y = model(ids).logits.float()
    assert rel(y, ref) < 2e-2 and kern.calls == res.calls == 2  # M = 14 rows, bucket 16: once per layer
    e = rt.stats().epilogues
    assert e[("swiglu", "bfloat16", 256, 64, 16, "hit")] == e[("residual_add", "bfloat16", 64, 128, 16, "hit")] == 2
    rt.unpatch_model(model)
    assert type(model.model.layers[0]).__name__.endswith("DecoderLayer") and not is_patched(model.model.layers[0])
    assert not hasattr(mlp, "aotgemm_gate_up")
    with torch.no_grad():
        assert torch.equal(model(ids).logits.float(), ref)


def test_patch_routes_only_what_a_kernel_serves():
    """With `served` (what rt.patch passes: LoadedBundle.served), a layer the bundle left to cuBLAS at every M
    keeps nn.Linear's own call, and the MLP / decoder residual are fused only where a kernel serves them."""
    from aotgemm.bundle.format import DispatchEntry
    from aotgemm.runtime.table import served as served_of

    def entry(ep, n, k, m, kernel):
        return DispatchEntry("bfloat16", "linear", ep, n, k, m, kernel, "tuned")

    class T:  # the fields of a Target that served() reads
        dispatch = (entry("swiglu", 256, 64, 1, "sw"), entry("swiglu", 256, 64, 16, "cublas"),
                    entry("residual_add", 64, 128, 1, "cublas"), entry("residual_add", 64, 128, 16, "cublas"),
                    entry("identity", 64, 64, 1, "cublas"), entry("identity", 32, 64, 1, "q"),
                    entry("bias", 48, 64, 1, "b"))
    served = served_of([T])
    assert served == {("bfloat16", 256, 64, "swiglu"), ("bfloat16", 32, 64, "identity"),
                      ("bfloat16", 48, 64, "bias")}
    shapes = frozenset({("bfloat16", 256, 64), ("bfloat16", 64, 128), ("bfloat16", 64, 64), ("bfloat16", 32, 64),
                        ("bfloat16", 48, 64)})
    torch.manual_seed(0)
    model = _tiny("llama").to(bf16).eval()
    layer = model.model.layers[0]
    names = rt.patch_model(model, shapes, served=served)
    assert "model.layers.0.mlp" in names  # swiglu has a kernel (at M=1)
    assert "model.layers.0" not in names  # residual_add: cuBLAS at every M, no identity kernel either
    assert "model.layers.0.mlp.down_proj" not in names and "model.layers.0.self_attn.o_proj" not in names
    assert not is_patched(layer.self_attn.o_proj) and not is_patched(layer)
    rt.unpatch_model(model)
    lin = torch.nn.Sequential(torch.nn.Linear(64, 32, bias=False, dtype=bf16), torch.nn.Linear(64, 48, dtype=bf16),
                              torch.nn.Linear(64, 48, bias=False, dtype=bf16))
    # identity kernel: routed; a bias kernel serves a module with a bias, not one without
    assert rt.patch_model(lin, shapes, served=served) == ["0", "1"]
    assert rt.unpatch_model(lin) == ["0", "1"]
    assert rt.patch_model(lin, shapes) == ["0", "1", "2"]  # without `served`: every held shape


def test_patch_fuses_no_other_mlp_into_swiglu():
    """A GELU-gated MLP, or one activating up rather than gate, is not SwiGLU: never aotgemm_linear_swiglu. Its
    gate and up, read from one input, are merged into one plain GEMM on their stacked weights instead (the rule
    for every such pair of projections, fuse_transformers.fuse_projections), and the output is unchanged."""
    class GeluMLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gate_proj, self.up_proj, self.down_proj = (torch.nn.Linear(64, 128, bias=False, dtype=bf16),
                                                            torch.nn.Linear(64, 128, bias=False, dtype=bf16),
                                                            torch.nn.Linear(128, 64, bias=False, dtype=bf16))
            self.act_fn = torch.nn.GELU()

        def forward(self, x):
            return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))

    class Reordered(GeluMLP):
        def __init__(self):
            super().__init__()
            self.act_fn = torch.nn.SiLU()

        def forward(self, x):  # up activated, not gate: not the pattern
            return self.down_proj(self.act_fn(self.up_proj(x)) * self.gate_proj(x))

    for m in (GeluMLP(), Reordered()):
        x = torch.randn(3, 64, dtype=bf16)
        with torch.no_grad():
            ref = m(x)
            assert "" in rt.patch_model(m, frozenset({("bfloat16", 256, 64)}))
            assert not type(m).__dict__.get("_aotgemm_fused_mlp") and "aotgemm_merged" in type(m).__dict__
            assert torch.equal(m(x), ref)  # no bundle: the merged GEMM is F.linear on [gate; up] (or [up; gate])


# --- the AOTInductor rewrite's epilogue patterns ---------------------------------------------------
# a gated MLP's activation -> the epilogue the rewrite folds it into (None: none, exact GELU)
ACTS = {"silu": ("swiglu", F.silu), "gelu_tanh": ("geglu", lambda t: F.gelu(t, approximate="tanh")),
        "gelu": (None, F.gelu)}


class Block(torch.nn.Module):
    def __init__(self, chunked, act="silu"):
        super().__init__()
        self.chunked, self.act = chunked, ACTS[act][1]
        lin = lambda k, n: torch.nn.Linear(k, n, bias=False, dtype=bf16)  # noqa: E731
        self.g, self.u, self.gu, self.d = lin(64, 128), lin(64, 128), lin(64, 256), lin(128, 64)

    def forward(self, x):
        if self.chunked:
            g, u = self.gu(x).chunk(2, dim=-1)
            h = self.act(g) * u
        else:
            h = self.act(self.g(x)) * self.u(x)
        return x + self.d(h)


def _bundle(tmp_path, epilogues, cublas=()):
    path = tmp_path / "b.agb"
    testing.make_bundle(path, [("gate_up", 256, 64), ("down", 64, 128)], epilogues=epilogues, cublas=cublas)
    return open_bundle(path)


@pytest.mark.parametrize("act", ["silu", "gelu_tanh"])
@pytest.mark.parametrize("chunked", [False, True])
def test_rewrite_folds_gated_and_residual(tmp_path, chunked, act):
    torch.manual_seed(0)
    model = Block(chunked, act).eval()
    gated = ACTS[act][0]
    x = torch.randn(2, 5, 64, dtype=bf16)
    ref = model(x)
    ep = torch.export.export(model, (x,))
    bf = _bundle(tmp_path, ("identity", "residual_add", "swiglu", "geglu"))
    fusable = epilogue_coverage(bf, "H100_SXM")
    assert ("bfloat16", gated, 256, 64) in fusable and ("bfloat16", "residual_add", 64, 128) in fusable
    routed = route_exported_program(ep, set(), fusable)
    assert sorted(r.epilogue for r in routed) == sorted(["residual_add", gated])
    code = ep.graph_module.code
    assert f"aotgemm_linear_{gated}" in code and "aotgemm_linear_residual" in code
    assert "silu" not in code and "gelu" not in code and "linear.default" not in code
    if not chunked:  # the two weights became one constant; the originals are gone
        targets = [s.target for s in ep.graph_signature.input_specs]
        assert "g.weight" not in targets and "u.weight" not in targets
        assert torch.equal(ep.state_dict[[t for t in targets if t and t.startswith("aotgemm_gate_up")][0]],
                           torch.cat([model.g.weight, model.u.weight]))
    assert torch.equal(ep.module()(x), ref)


def test_rewrite_folds_no_exact_gelu_into_geglu(tmp_path):
    """geglu is gelu's tanh form: an MLP with exact GELU (approximate="none") keeps its GEMMs and activation."""
    model = Block(True, "gelu").eval()
    x = torch.randn(3, 64, dtype=bf16)
    ep = torch.export.export(model, (x,))
    routed = route_exported_program(ep, set(), epilogue_coverage(_bundle(tmp_path, ("identity", "geglu"))))
    assert routed == [] and "gelu" in ep.graph_module.code and "aotgemm" not in ep.graph_module.code


class DropoutResidual(torch.nn.Module):
    """Phi-3's decoder adds the residual to its GEMM's output through a Dropout."""

    def __init__(self):
        super().__init__()
        self.d = torch.nn.Linear(128, 64, bias=False, dtype=bf16)
        self.drop = torch.nn.Dropout(0.1)

    def forward(self, x, h):
        return x + self.drop(self.d(h))


def test_rewrite_folds_a_residual_through_an_inert_dropout_only(tmp_path):
    """Exported in eval mode, the dropout changes nothing (aten.dropout(.., train=False)): the add and the dropout
    go into the residual GEMM. Exported training, the dropout acts on the GEMM's output: nothing is folded."""
    fusable = epilogue_coverage(_bundle(tmp_path, ("identity", "residual_add")))
    x, h = torch.randn(3, 64, dtype=bf16), torch.randn(3, 128, dtype=bf16)
    model = DropoutResidual().eval()
    ep = torch.export.export(model, (x, h))
    assert [r.epilogue for r in route_exported_program(ep, set(), fusable)] == ["residual_add"]
    assert "dropout" not in ep.graph_module.code and torch.equal(ep.module()(x, h), model(x, h))
    ep = torch.export.export(DropoutResidual().train(), (x, h))
    assert "aten.dropout.default" in ep.graph_module.code
    assert [r.epilogue for r in route_exported_program(ep, set(), fusable)] != ["residual_add"]
    assert "aotgemm_linear_residual" not in ep.graph_module.code


def test_rewrite_routes_only_kernel_served_epilogues(tmp_path):
    model = Block(True).eval()
    x = torch.randn(2, 5, 64, dtype=bf16)
    ep = torch.export.export(model, (x,))
    cublas = {("bfloat16", "swiglu", 256, 64, b) for b in testing.TEST_BUCKETS}
    bf = _bundle(tmp_path, ("identity", "swiglu"), cublas=cublas)  # swiglu: cuBLAS everywhere; no residual kernels
    fusable = epilogue_coverage(bf)
    assert ("bfloat16", "swiglu", 256, 64) not in fusable and not {f for f in fusable if f[1] == "residual_add"}
    assert route_exported_program(ep, set(), fusable) == []
    assert "silu" in ep.graph_module.code and "aotgemm" not in ep.graph_module.code


class NotSwiglu(torch.nn.Module):
    """Near misses: silu on the second half; a GEMM output used twice; a residual that broadcasts."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.gu = torch.nn.Linear(64, 256, bias=False, dtype=bf16)
        self.d = torch.nn.Linear(128, 64, bias=False, dtype=bf16)

    def forward(self, x):
        y = self.gu(x)
        g, u = y.chunk(2, dim=-1)
        if self.kind == "second_half":
            h = F.silu(u) * g
        else:
            h = F.silu(g) * u + y[..., :128]  # "used_twice": y feeds the chunk and the add
        d = self.d(h)
        return d + x[:1] if self.kind == "broadcast_residual" else d * 2


@pytest.mark.parametrize("kind", ["second_half", "used_twice", "broadcast_residual"])
def test_rewrite_leaves_near_misses_alone(tmp_path, kind):
    model = NotSwiglu(kind).eval()
    x = torch.randn(3, 64, dtype=bf16)
    ep = torch.export.export(model, (x,))
    bf = _bundle(tmp_path, ("identity", "residual_add", "swiglu"))
    routed = route_exported_program(ep, set(), epilogue_coverage(bf))
    assert routed == [] and "aotgemm" not in ep.graph_module.code
    assert torch.equal(ep.module()(x), model(x))


@pytest.mark.parametrize("act", ["silu", "gelu_tanh"])
def test_rewrite_folds_epilogues_only_at_the_m_their_kernels_serve(tmp_path, act):
    """Gated kernels serve M <= 16 here and residual_add kernels M <= 128: the gated epilogue is folded under a
    torch.cond on M whose other branch is the computation as it was (guard.py: for geglu, gelu's tanh form, or
    the outputs at M = 40 would differ), unless the graph admits no larger M; residual_add only where its
    kernels serve every M the graph admits (Epilogue.guard_on_m)."""
    from torch.export import Dim

    gated = ACTS[act][0]
    cublas = {("bfloat16", gated, 256, 64, b) for b in testing.TEST_BUCKETS if b > 16}
    cublas |= {("bfloat16", "residual_add", 64, 128, b) for b in testing.TEST_BUCKETS if b > 128}
    bf = _bundle(tmp_path, ("identity", "residual_add", gated), cublas=cublas)
    fusable = epilogue_coverage(bf)
    assert fusable[("bfloat16", gated, 256, 64)] == ((0, 16),)
    assert fusable[("bfloat16", "residual_add", 64, 128)] == ((0, 128),)
    for max_m, conds in ((1 << 16, 1), (16, 0), (17, 1), (128, 1), (129, 1)):
        model = Block(True, act).eval()
        x = torch.randn(4, 64, dtype=bf16)
        ep = torch.export.export(model, (x,), dynamic_shapes=({0: Dim("m", min=1, max=max_m)},))
        routed = route_exported_program(ep, set(), fusable)
        assert sorted(r.epilogue for r in routed) == (sorted(["residual_add", gated]) if max_m <= 128
                                                      else [gated]), max_m
        assert ep.graph_module.code.count("torch.ops.higher_order.cond") == conds, max_m
        for m in sorted({4, min(max_m, 40)}):  # served by both, and (where the graph admits it) by neither
            xm = torch.randn(m, 64, dtype=bf16)
            assert torch.equal(ep.module()(xm), model(xm)), (max_m, m)
    x = torch.randn(4, 64, dtype=bf16)
    ep = torch.export.export(Block(True, act).eval(), (x,))  # static M = 4: served, no cond
    assert sorted(r.epilogue for r in route_exported_program(ep, set(), fusable)) == sorted(["residual_add", gated])
    assert "higher_order.cond" not in ep.graph_module.code
    ep = torch.export.export(Block(True, act).eval(), (torch.randn(40, 64, dtype=bf16),))  # static M = 40: residual
    assert [r.epilogue for r in route_exported_program(ep, set(), fusable)] == ["residual_add"]


def test_swiglu_without_a_kernel_runs_the_unfused_mlps_kernels():
    """A call no kernel serves computes silu(x Wg^T) * (x Wu^T) from the halves' GEMMs: the unfused MLP's
    result exactly (same GEMMs on contiguous outputs), and the fused form's within bf16 rounding."""
    torch.manual_seed(0)
    x, w = torch.randn(7, 64, dtype=bf16), torch.randn(256, 64, dtype=bf16) / 8
    ep = epilogue("swiglu")
    got = ep.linear_unfused(x, w)
    assert torch.equal(got, F.silu(F.linear(x, w[:128])) * F.linear(x, w[128:]))
    ref = ep.reference(x, w)
    assert ((got.float() - ref).norm() / ref.norm()).item() < 1e-2
    assert torch.equal(epilogue("residual_add").linear_unfused(x, w, residual=torch.ones(7, 256, dtype=bf16)),
                       F.linear(x, w) + 1)


def _compiled_fused_mlp(dynamic: bool):
    """A tiny patched Llama MLP whose table has the fused kernels in bucket 16 and cuBLAS in bucket 128, its
    residual-fused call compiled (fullgraph) with a backend recording each graph's call targets: (fn, mlp, the
    two stand-in kernels, the graphs' target sets)."""
    torch.manual_seed(0)
    model = _tiny("llama").to(bf16).eval()
    kern, res = Kern("swiglu"), Kern("residual_add")
    set_active(Dispatch((16, 128), {("bfloat16", "linear", "swiglu", 256, 64, 16): Route("sw", kern),
                                    ("bfloat16", "linear", "swiglu", 256, 64, 128): Route(None, None),
                                    ("bfloat16", "linear", "residual_add", 64, 128, 16): Route("res", res),
                                    ("bfloat16", "linear", "residual_add", 64, 128, 128): Route(None, None)},
                        device_type="cpu"))
    rt.patch_model(model, frozenset({("bfloat16", 256, 64), ("bfloat16", 64, 128)}))
    mlp = model.model.layers[0].mlp
    graphs = []

    def backend(gm, inputs):
        graphs.append({getattr(n.target, "__name__", str(n.target)) for n in gm.graph.nodes if n.op == "call_function"})
        return gm.forward

    fn = torch.compile(lambda h, r: mlp.aotgemm_residual(h, r), backend=backend, dynamic=dynamic, fullgraph=True)
    return fn, mlp, kern, res, graphs


def _check_fused_mlp_call(fn, mlp, m: int) -> None:
    """One call of _compiled_fused_mlp's function at M on fresh inputs, stats reset first, against float32."""
    h, r = torch.randn(m, 64, dtype=bf16), torch.randn(m, 64, dtype=bf16)
    rt.reset_stats()
    with torch.no_grad():
        got = fn(h, r)
    ref = r.float() + epilogue("swiglu").reference(h, mlp.aotgemm_gate_up) @ mlp.down_proj.weight.float().t()
    assert rel(got, ref) < 2e-2, m


def test_compile_unfuses_where_the_bundle_has_no_kernel():
    """torch.compile at a static M: where the table has the fused kernels (bucket 16) the graph holds the fused
    ops; where the tuner kept cuBLAS (bucket 128) it holds the unpatched MLP's GEMMs (gate, up, down) as
    aotgemm_linear and the epilogues' torch ops, which Inductor fuses with their neighbours as unpatched. The same numbers either way, and
    every GEMM still counted per call."""
    fn, mlp, kern, res, graphs = _compiled_fused_mlp(dynamic=False)
    for m, fused in ((14, True), (100, False)):
        _check_fused_mlp_call(fn, mlp, m)
        ops = {t for t in graphs[-1] if "aotgemm" in t}
        if fused:
            assert ops == {"aotgemm_linear_swiglu", "aotgemm_linear_residual"}, ops
            assert rt.stats().total_hits == 2
        else:
            assert ops == {"aotgemm_linear"} and {"silu", "silu.default"} & graphs[-1], graphs[-1]
            # the unpatched MLP's GEMMs: gate and up (the buffer's halves), then down
            assert rt.stats().misses == {("bfloat16", 128, 64, 128, "no entry"): 2,
                                         ("bfloat16", 64, 128, 128, "no entry"): 1}
    assert (kern.calls, res.calls) == (1, 1) and len(graphs) == 2


def test_compile_rule_is_marked_as_dynamo_marks_a_constant_and_import_stays_light():
    """ops.has_kernel is marked the way torch._dynamo.assume_constant_result marks a function (set by hand, so
    importing the runtime does not import Dynamo); a torch whose decorator works otherwise fails here."""
    import subprocess
    import sys

    from aotgemm.runtime import ops

    def probe():
        return 0

    marked = torch._dynamo.assume_constant_result(probe)
    assert vars(marked) == {"_dynamo_marked_constant": True}
    assert ops.has_kernel._dynamo_marked_constant is True
    code = "import sys, aotgemm.runtime; print('torch._dynamo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_compile_at_a_symbolic_m_keeps_the_fused_ops():
    """torch.compile with M symbolic: the fused ops stay in the graph and decide per call (a hit at M = 14, the
    unfused form's numbers at M = 100 from the op itself), one graph for both; the static-M test of
    unfused_when_compiled must not read a symbolic M as static (under Dynamo it passes isinstance(m, int))."""
    fn, mlp, _, _, graphs = _compiled_fused_mlp(dynamic=True)
    for m, hits in ((14, 2), (100, 0)):
        _check_fused_mlp_call(fn, mlp, m)
        assert rt.stats().total_hits == hits
    assert len(graphs) == 1 and {t for t in graphs[0] if "aotgemm" in t} == {"aotgemm_linear_swiglu",
                                                                            "aotgemm_linear_residual"}, graphs
