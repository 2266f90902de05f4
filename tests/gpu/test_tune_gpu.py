"""The tuner on a real GPU: a planted wrong kernel is excluded and never selected.

Needs a supported GPU and the [build] extra (it compiles); skipped elsewhere.
"""

import importlib.util

import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.skipif(importlib.util.find_spec("cutlass") is None, reason="needs the [build] extra"),
]


def test_planted_wrong_kernel_is_never_selected(tmp_path, monkeypatch):
    from aotgemm import timing
    from aotgemm.compiler.pipeline import BuildOptions, local_gpu_model, run_build
    from aotgemm.bundle import open_bundle
    from aotgemm.manifest import LayerSpec, Manifest

    gpu = local_gpu_model()
    if gpu is None:
        pytest.skip("GPU not in aotgemm's table")
    planted = {}
    real_kernel_call = timing.kernel_call

    def planting_kernel_call(fn):
        call = real_kernel_call(fn)
        if not planted:  # the first kernel the tuner wraps becomes wrong, and faster than anything
            def wrong(x, w, out):
                out.zero_()
            planted["call"] = wrong
            return wrong
        return call

    monkeypatch.setattr(timing, "kernel_call", planting_kernel_call)
    m = Manifest(model="planted", gpus=(gpu.name,), dtypes=("bfloat16",),
                 layers=(LayerSpec("o", 4096, 4096, 1),), m_buckets=(1, 128, 2048))
    run_build(m, BuildOptions(output=tmp_path / "p.agb", gpus=(gpu.name,), tune=True, top_k=3,
                              cache_dir=tmp_path / "cache"))
    (target,) = open_bundle(tmp_path / "p.agb", verify_blobs=True).index.targets
    symbols = [k.symbol for k in target.kernels]
    wrong_symbol = symbols[0]  # kernels are wrapped in symbol order
    log = __import__("json").loads((tmp_path / "p.tune.json").read_text())
    assert [e[0] for e in log["excluded"]] == [wrong_symbol]
    assert all(d.kernel != wrong_symbol for d in target.dispatch)
    assert all(d.source == "tuned" and d.cublas_us for d in target.dispatch)
