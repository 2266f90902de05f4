"""fp8 (e4m3) through AOTInductor on an H100/H200: a model that quantises its activations (per tensor, or
per token when the bundle is a row-wise one) and calls torch._scaled_mm twice is compiled with aotgemm.aoti.compile against a real fp8
bundle; the package runs on the GPU, its _scaled_mm calls go to the shim at the M where the bundle's
dispatch gives them a kernel (and there the kernels serve them, counted), to cuBLASLt elsewhere, and the
output matches the same model run eagerly (torch._scaled_mm) at every M.

    AOTGEMM_TEST_FP8_BUNDLE=/path/llama-3.1-8b-fp8.agb CXX=/usr/bin/g++ pytest -s tests/gpu/test_fp8_aoti_gpu.py

Needs: an NVIDIA GPU the bundle was built for, and a bundle with per-tensor (scale_tensor) or per-token
(scale_rowwise) fp8 entries for N x K = 4096 x 4096 and 6144 x 4096 (manifests/llama-3.1-8b-fp8.toml and
manifests/llama-3.1-8b-fp8-rowwise.toml build them). About a
minute, most of it Inductor's compile.
"""

from __future__ import annotations

import os

import pytest
import torch

BUNDLE = os.environ.get("AOTGEMM_TEST_FP8_BUNDLE")
HIDDEN, QKV = 4096, 6144
MS = (1, 5, 16, 300, 1024)  # 1024: a large-M kernel where a tuned bundle keeps one (quack's e4m3 GEMM on qkv)
TOL_REL_L2 = 3e-2  # two fp8 GEMMs with a bf16 round trip between them, against the same graph eagerly

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU"),
    pytest.mark.skipif(not BUNDLE, reason="set AOTGEMM_TEST_FP8_BUNDLE to an fp8 bundle built for this GPU"),
]


class Fp8Pair(torch.nn.Module):
    """o then qkv in fp8. Per tensor: each activation quantised with one scale (amax / 448), weights e4m3 with
    one. Per token (torchao's PerRow): one scale per row of the activation ([M, 1]) and one per output
    channel of the weight ([1, N]), torch._scaled_mm's row-wise form."""

    def __init__(self, per_token: bool):
        super().__init__()
        self.per_token = per_token
        gen = torch.Generator(device="cuda").manual_seed(7)
        for name, n, k in (("o", HIDDEN, HIDDEN), ("qkv", QKV, HIDDEN)):
            w = torch.randn(n, k, generator=gen, device="cuda") * k ** -0.5
            scale = w.abs().amax(dim=1, keepdim=True) / 448.0 if per_token else w.abs().amax() / 448.0
            self.register_buffer(f"{name}_w", (w / scale).to(torch.float8_e4m3fn))
            self.register_buffer(f"{name}_s", scale.reshape(1, n).float() if per_token else scale.reshape(1).float())

    def _quant(self, x):
        amax = x.abs().amax(dim=-1, keepdim=True) if self.per_token else x.abs().amax().reshape(1)
        scale = (amax.float() / 448.0).clamp(min=1e-12)
        return (x.float() / scale).clamp(-448.0, 448.0).to(torch.float8_e4m3fn), scale

    def forward(self, x):
        q, sa = self._quant(x)
        h = torch._scaled_mm(q, self.o_w.t(), sa, self.o_s, out_dtype=torch.bfloat16)
        q, sa = self._quant(h + x)
        return torch._scaled_mm(q, self.qkv_w.t(), sa, self.qkv_s, out_dtype=torch.bfloat16)


@torch.no_grad()
def test_fp8_package_serves_scaled_mm_from_the_bundle(tmp_path):
    import aotgemm.aoti as aoti
    from aotgemm.aoti.package import _package_target
    from aotgemm.bundle import open_bundle

    bf = open_bundle(BUNDLE)
    gpu = _package_target(bf, "cuda")
    assert gpu is not None, "the bundle has no target for this GPU"
    target = next(t for t in bf.index.targets if t.gpu == gpu)

    forms = {e.epilogue for e in target.dispatch if (e.dtype, e.n, e.k) == ("float8_e4m3fn", HIDDEN, HIDDEN)}
    if not forms & {"scale_tensor", "scale_rowwise"}:
        # a per-channel (scales = "row") bundle: torch._scaled_mm takes a per-tensor scale_a only with a per-tensor
        # scale_b, so a model calling it with per-channel weight scales passes scale_a as [M, 1], the per-token form
        pytest.skip(f"AOTGEMM_TEST_FP8_BUNDLE has no per-tensor or per-token fp8 entries for {HIDDEN}x{HIDDEN} "
                    f"(only {sorted(forms)}): build one from manifests/llama-3.1-8b-fp8.toml or -fp8-rowwise.toml")
    epi = "scale_rowwise" if "scale_rowwise" in forms else "scale_tensor"
    model = Fp8Pair(per_token=epi == "scale_rowwise")
    example = (torch.randn(8, HIDDEN, device="cuda", dtype=torch.bfloat16),)
    cxx = os.environ.get("CXX") or ("/usr/bin/g++" if os.path.exists("/usr/bin/g++") else None)
    pkg = aoti.compile(model, example, BUNDLE, tmp_path / "fp8_pair.pt2", cxx=cxx)
    routed = {(r.dtype, r.n, r.k) for r in aoti.package_info(pkg).routed}
    assert routed == {("float8_e4m3fn", HIDDEN, HIDDEN), ("float8_e4m3fn", QKV, HIDDEN)}, routed

    runner = aoti.load(pkg)
    torch.manual_seed(11)
    report = []
    for m in MS:
        x = torch.randn(m, HIDDEN, device="cuda", dtype=torch.bfloat16)  # fresh inputs per M
        aoti.reset_counters()
        got = runner(x)
        torch.cuda.synchronize()
        c = aoti.counters()
        ref = model(x)
        err = ((got.float() - ref.float()).norm() / ref.float().norm()).item()
        want = sum(target.kernel_for(("float8_e4m3fn", "linear", epi, n, k), m, bf.index.m_buckets) is not None
                   for n, k in ((HIDDEN, HIDDEN), (QKV, HIDDEN)))
        report.append(f"{epi} M={m}: rel err {err:.2e}, calls {c['calls']}, hits {c['hits']} (expected {want})")
        assert torch.isfinite(got).all(), f"M={m}: non-finite outputs"
        assert err < TOL_REL_L2, report[-1]
        # the package calls the shim only at the M a kernel serves (a torch.cond on M, aoti/guard.py)
        assert c["calls"] == want and c["hits"] == want, report[-1]
    print("\n" + "\n".join(report))
    assert any("hits 0 " not in r for r in report), "no M was served by the bundle's kernels"
