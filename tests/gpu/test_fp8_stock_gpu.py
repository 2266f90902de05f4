"""fp8 on an H100/H200 without a bundle kernel: the stock path the tuner and bench time kernels against
(torch._scaled_mm, per tensor, per output channel and per token), the op's fallback, and the timing
machinery on fp8 operands.

    pytest -s tests/gpu/test_fp8_stock_gpu.py

Checks, on fresh random e4m3 operands with the output poisoned first, that each scale epilogue's stock
path (Epilogue.stock, through timing.cublas_call) matches the float32 reference on the dequantized
operands, that aotgemm_scaled_mm with no bundle is the same, and that a CUDA graph of the stock path
replays (Operands + GraphTimer), printing its median time. Says which torch/GPU ran row-wise _scaled_mm.
"""

from __future__ import annotations

import pytest
import torch

from aotgemm import timing
from aotgemm.epilogues import SCALE_ROW, SCALE_ROWWISE, SCALE_TENSOR, epilogue
from aotgemm.problem import FLOAT8_E4M3, GemmProblem

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU"),
    pytest.mark.skipif(torch.cuda.is_available() and torch.cuda.get_device_capability() < (8, 9),
                       reason="fp8 tensor cores need sm_89 or newer"),
]
SHAPES = [(4096, 4096), (1280, 8192), (28672, 4096)]
SCALE_EPILOGUES = [SCALE_TENSOR, SCALE_ROW, SCALE_ROWWISE]


@pytest.mark.parametrize("epi", SCALE_EPILOGUES)
@pytest.mark.parametrize("n, k", SHAPES)
@pytest.mark.parametrize("m", [1, 16, 300])
def test_stock_path_matches_the_dequantized_reference(epi, n, k, m):
    p = GemmProblem(FLOAT8_E4M3, "linear", epi, n, k)
    err = timing.check(timing.cublas_call(p), p, m, seed=m + n)
    print(f"{torch.__version__} {torch.cuda.get_device_name()} {epi} {n}x{k} M={m}: rel. error {err:.2e}")
    assert err < timing.TOLERANCE


@pytest.mark.parametrize("epi", SCALE_EPILOGUES)
def test_op_without_a_bundle_is_scaled_mm(epi):
    import aotgemm.runtime as rt

    rt.unload()
    rt.reset_stats()
    p = GemmProblem(FLOAT8_E4M3, "linear", epi, 4096, 4096)
    g = torch.Generator(device="cuda").manual_seed(3)
    x, w, ex = timing.random_operands(p, 7, g)
    sa, sb = ex["scale_a"], ex["scale_b"]
    if epi == SCALE_ROWWISE:  # the epilogue's [M] and [N] as the op takes them: _scaled_mm's [M, 1] and [1, N]
        sa, sb = sa.reshape(-1, 1), sb.reshape(1, -1)
    y = rt.scaled_mm(x, w.t(), sa, sb)
    ref = epilogue(epi).reference(x, w, **ex)
    assert y.dtype == torch.bfloat16 and ((y.float() - ref).norm() / ref.norm()).item() < timing.TOLERANCE
    assert rt.stats().by_reason() == {"not loaded": 1}


@pytest.mark.parametrize("epi", SCALE_EPILOGUES)
def test_stock_path_replays_in_a_cuda_graph(epi):
    p = GemmProblem(FLOAT8_E4M3, "linear", epi, 4096, 4096)
    ops = timing.Operands(p, 16, torch.cuda.get_device_properties(0).L2_cache_size)
    t = timing.GraphTimer(timing.cublas_call(p), ops, reps=timing.reps_for(p, 16))
    s = timing.summarize([t.once() for _ in range(10)])
    print(f"{torch.cuda.get_device_name()} _scaled_mm {epi} 4096x4096 M=16: {s.median_us:.2f} us "
          f"(spread {100 * s.spread:.1f}%)")
    assert 0 < s.median_us < 1e4
