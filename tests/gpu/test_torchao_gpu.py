"""torchao's float8 inference linears served by an fp8 bundle on an H100/H200.

A stack of nn.Linear layers of the bundle's fp8 shapes is quantized by torchao itself
(`quantize_(model, Float8DynamicActivationFloat8WeightConfig(granularity=PerTensor() or PerRow()))`, the
granularity the bundle's scales call for; torchao's default mm_config, fast accumulation), then patched. At
every M tried, on fresh random inputs: each layer's output against a float32 GEMM of the operands torchao
made (its e4m3 x and W, dequantized) and against torchao's own output, the calls a bundle kernel served
counted where the bundle's dispatch has one, torch.compile of a patched layer is served where the bundle has a
kernel at the graph's M and is torchao's compiled layer elsewhere (with M symbolic, one graph decides per call), and
the patched model with no kernel behind it is torchao's model bit for bit (its misses are torchao's
_scaled_mm call).

    AOTGEMM_TEST_FP8_BUNDLE=/path/llama-3.1-8b-fp8.agb pytest -s tests/gpu/test_torchao_gpu.py

Needs: an NVIDIA GPU the bundle was built for, a tuned fp8 bundle with per-tensor (scales "tensor") or
per-token (scales "rowwise") entries, and torchao (the [test] extra). About 30 s.
"""

from __future__ import annotations

import os
import warnings

import pytest
import torch

BUNDLE = os.environ.get("AOTGEMM_TEST_FP8_BUNDLE")
MS = (1, 3, 8, 16, 33, 64, 200, 1024)
TOL = 1e-2  # bf16 output of an fp8 GEMM against float32 on the same e4m3 operands

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU"),
    pytest.mark.skipif(not BUNDLE, reason="set AOTGEMM_TEST_FP8_BUNDLE to a tuned fp8 bundle built for this GPU"),
]


def _torchao():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("torchao", reason="torchao is not installed (pip install -e '.[test]')")


def _layers_and_form():
    """The bundle's fp8 (N, K) layers and their scale form ("tensor" or "rowwise"), for this GPU's target."""
    from aotgemm.aoti.package import _package_target
    from aotgemm.bundle import open_bundle

    bf = open_bundle(BUNDLE)
    gpu = _package_target(bf, "cuda")
    assert gpu is not None, "the bundle has no target for this GPU"
    target = next(t for t in bf.index.targets if t.gpu == gpu)
    forms = {e.epilogue for e in target.dispatch if e.dtype == "float8_e4m3fn"}
    if not forms & {"scale_tensor", "scale_rowwise"}:
        pytest.skip(f"no per-tensor or per-token fp8 entries in the bundle (only {sorted(forms)})")
    form = "rowwise" if "scale_rowwise" in forms else "tensor"
    epi = "scale_rowwise" if form == "rowwise" else "scale_tensor"
    shapes = sorted({(e.n, e.k) for e in target.dispatch if (e.dtype, e.epilogue) == ("float8_e4m3fn", epi)})
    return shapes, form, target, bf.index.m_buckets


def _served(target, buckets, lin, m) -> bool:
    """Whether the bundle gives this layer's call at M a kernel, looked up as aotgemm_scaled_mm looks it up: the
    scale form's own epilogue, at M = 1 then the one that also serves it (dispatch_rule.scale_epilogues; the
    first with an entry decides), and that entry's kernel at M (Target.kernel_for)."""
    from aotgemm.dispatch_rule import scale_epilogues
    from aotgemm.problem import LINEAR, bucket_for
    from aotgemm.runtime.torchao_fp8 import scale_form

    n, k = lin.weight.qdata.shape
    entries = {e.key for e in target.dispatch}
    for epi in scale_epilogues(scale_form(lin, m), m):
        key = ("float8_e4m3fn", LINEAR, epi, n, k)
        if key + (bucket_for(m, buckets),) in entries:
            return target.kernel_for(key, m, buckets) is not None
    return False


@torch.no_grad()
def test_torchao_float8_linears_are_served_by_the_bundle():
    _torchao()
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, PerTensor, quantize_
    from torchao.quantization.quantize_.common import _choose_quant_func_and_quantize_tensor

    import aotgemm.runtime as rt
    from aotgemm.runtime.patch import AotGemmTorchaoFp8Linear

    shapes, form, target, buckets = _layers_and_form()
    torch.manual_seed(5)
    layers = torch.nn.ModuleList(torch.nn.Linear(k, n, bias=False, device="cuda", dtype=torch.bfloat16)
                                 for n, k in shapes)
    quantize_(layers, Float8DynamicActivationFloat8WeightConfig(
        granularity=PerRow() if form == "rowwise" else PerTensor()))
    assert all(lin.weight.mm_config.use_fast_accum for lin in layers)  # torchao's default
    stock = {}
    for m in MS:
        for i, lin in enumerate(layers):
            x = torch.randn(m, lin.in_features, device="cuda", dtype=torch.bfloat16)
            stock[m, i] = (x, lin(x))
    rt.load(BUNDLE)
    try:
        names = rt.patch(layers)
        assert names and all(type(layers[int(n)]) is AotGemmTorchaoFp8Linear for n in names), names
        report, hits = [], 0
        for m in MS:
            for i, lin in enumerate(layers):
                x, want = stock[m, i]
                rt.reset_stats()
                got = lin(x)
                torch.cuda.synchronize()
                w = lin.weight
                q = _choose_quant_func_and_quantize_tensor(x, w.act_quant_kwargs)  # the x torchao makes
                ref = (q.qdata.float() * q.scale.float()) @ (w.qdata.float() * w.scale.float()).t()
                err = ((got.float() - ref).norm() / ref.norm()).item()
                err_torchao = ((got.float() - want.float()).norm() / want.float().norm()).item()
                n, k = w.qdata.shape
                expected = _served(target, buckets, lin, m) and str(i) in names
                h = rt.stats().total_hits
                hits += h
                report.append(f"{form} {n}x{k} M={m}: err {err:.2e} (torchao's own {err_torchao:.2e}), hit {h}")
                assert torch.isfinite(got).all() and got.shape == want.shape and got.dtype == want.dtype
                assert err < TOL and err_torchao < TOL, report[-1]
                assert h == int(expected), report[-1] + f" (expected {int(expected)})"
        print("\n" + "\n".join(report))
        assert hits > 0, "no call was served by the bundle's kernels"

        # torch.compile of a patched layer, one graph per M: the bundle's kernel where its dispatch has one at that M
        # (a hit per call), else torchao's own forward, as Inductor compiles it; within 3e-2 of torchao's own
        # compiled layer either way (Inductor's fused quantization of x may round an element to the next e4m3 value)
        lin = layers[next(int(n) for n in names)]
        n, k = lin.weight.qdata.shape
        for m in (8, 200):
            x = torch.randn(m, lin.in_features, device="cuda", dtype=torch.bfloat16)
            torch._dynamo.reset()
            own = torch.compile(lambda x: torch.nn.Linear.forward(lin, x), fullgraph=True, dynamic=False)(x)
            rt.reset_stats()
            out = torch.compile(lin, fullgraph=True, dynamic=False)(x)
            torch.cuda.synchronize()
            err = ((out.float() - own.float()).norm() / own.float().norm()).item()
            assert err < 3e-2, f"compiled M={m}: {err:.2e} off torchao's compiled layer"
            served = _served(target, buckets, lin, m)
            assert rt.stats().total_hits == int(served) and not rt.stats().misses, (m, served, rt.stats())
            print(f"compiled {n}x{k} M={m}: {'bundle kernel' if served else 'torchao'}, {err:.2e} off torchao's")

        # M symbolic, one graph for every M: the op is traced and decides per call, the bundle's kernel where its
        # dispatch has one (a hit), else torchao's _scaled_mm call (a miss, counted)
        torch._dynamo.reset()
        compiled = torch.compile(lin, fullgraph=True, dynamic=True)
        own = torch.compile(lambda x: torch.nn.Linear.forward(lin, x), fullgraph=True, dynamic=True)
        for m in (8, 200, 13):
            x = torch.randn(m, lin.in_features, device="cuda", dtype=torch.bfloat16)
            rt.reset_stats()
            out = compiled(x)
            torch.cuda.synchronize()
            served = _served(target, buckets, lin, m)
            assert rt.stats().total_hits == int(served) and rt.stats().total_misses == int(not served), (m, rt.stats())
            want = own(x).float()
            err = ((out.float() - want).norm() / want.norm()).item()
            assert err < 3e-2, f"compiled, M symbolic, M={m}: {err:.2e} off torchao's compiled layer"
            print(f"compiled (M symbolic) {n}x{k} M={m}: {'bundle kernel' if served else 'torchao'}, {err:.2e} off")

        # with no kernel behind it (no bundle active), the patched layer is torchao's call exactly
        rt.unload()
        for m in (3, 200):
            for i in map(int, names):
                x, want = stock[m, i]
                assert torch.equal(layers[i](x), want), f"M={m}: a miss is not torchao's own _scaled_mm call"
    finally:
        rt.unpatch(layers)
        rt.unload()


@torch.no_grad()
def test_per_row_projections_of_one_input_are_one_served_gemm():
    """Three per-row torchao linears reading one x (an attention's q/k/v), stacked to a per-token shape the bundle
    holds: patch runs them as one GEMM (x quantized once by torchao's function; fuse_transformers.fuse_projections),
    the outputs torchao's own within bf16 rounding, the calls served where the bundle has a kernel."""
    _torchao()
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, quantize_

    import aotgemm.runtime as rt

    shapes, form, target, buckets = _layers_and_form()
    if form != "rowwise":
        pytest.skip("per-tensor layers are not stacked (one scale each): needs a per-token bundle")
    n, k = shapes[0]
    kv = (n // 6) // 16 * 16  # any split of the stacked rows: the bundle holds their sum

    class Projections(torch.nn.Module):
        def __init__(self):
            super().__init__()
            lin = lambda rows: torch.nn.Linear(k, rows, bias=False, device="cuda", dtype=torch.bfloat16)  # noqa: E731
            self.q_proj, self.k_proj, self.v_proj = lin(n - 2 * kv), lin(kv), lin(kv)

        def forward(self, x):
            q = self.q_proj(x)
            kk = self.k_proj(x)
            v = self.v_proj(x)
            return torch.cat([q, kk, v], dim=-1)

    torch.manual_seed(6)
    model = Projections()
    quantize_(model, Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()))
    xs = {m: torch.randn(m, k, device="cuda", dtype=torch.bfloat16) for m in MS}
    want = {m: model(x) for m, x in xs.items()}
    rt.load(BUNDLE)
    try:
        assert "" in rt.patch(model) and type(model).__dict__.get("_aotgemm_merged_fp8")
        hits = 0
        for m, x in xs.items():
            rt.reset_stats()
            got = model(x)
            torch.cuda.synchronize()
            err = ((got.float() - want[m].float()).norm() / want[m].float().norm()).item()
            assert err < TOL, (m, err)
            hits += rt.stats().total_hits
        assert hits > 0, "no call was served by the bundle's kernels"
    finally:
        rt.unload()
