"""Fused-epilogue decode kernels on a real GPU (tests/gpu/check_epilogues.py does the checking).

    AOTGEMM_TEST_FUSED_BUNDLE=fused.agb pytest -m gpu tests/gpu/test_epilogues_gpu.py

Every kernel with a fused epilogue (bias, residual_add, swiglu) in the bundle,
at every M from 1 to its max_m, on fresh random inputs with the output
poisoned: it must match Epilogue.reference, write every output and nothing
past row M; the Llama-3.1-8B fused shapes must have CUDA-core and
tensor-core kernels. Skipped without a GPU (conftest) or without the bundle.
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_epilogues import LLAMA_FUSED, check_bundle  # noqa: E402

BUNDLE = os.environ.get("AOTGEMM_TEST_FUSED_BUNDLE")

needs_bundle = pytest.mark.skipif(not BUNDLE, reason="set AOTGEMM_TEST_FUSED_BUNDLE to a bundle with fused-epilogue "
                                                     "decode kernels for this GPU")


@pytest.fixture(scope="module")
def results():
    return check_bundle(BUNDLE)


@needs_bundle
@pytest.mark.parametrize("layer,n,k,name", LLAMA_FUSED)
def test_llama_fused_shapes_have_correct_kernels(results, layer, n, k, name):
    mine = [r for r in results if (r[1], r[3], r[4]) == (name, n, k)]
    assert mine, f"the bundle has no {name} kernel for {layer} {n}x{k}"
    assert {r[2] for r in mine} >= {"decode_simt", "decode_swapab_cp"}, "expected CUDA-core and tensor-core kernels"
    failures = [f"{r[0]}: {'; '.join(r[8][:3])}" for r in mine if r[8]]
    assert not failures, "\n".join(failures)


@needs_bundle
def test_every_fused_kernel_matches_the_reference(results):
    assert any(r[1] != "identity" for r in results), "the bundle holds no fused-epilogue kernel"
    failures = [f"{r[0]} ({r[1]} {r[3]}x{r[4]}): {'; '.join(r[8][:3])}" for r in results if r[8]]
    assert not failures, "\n".join(failures)


