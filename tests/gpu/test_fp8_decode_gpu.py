"""aotgemm's fp8 (e4m3, W8A8) decode kernels on a real GPU, against the float32 reference.

    AOTGEMM_FP8_DECODE_DIR=DIR pytest -m gpu tests/gpu/test_fp8_decode_gpu.py -v

DIR is what `python bench/fp8_decode_probe.py compile DIR` wrote on a build machine
(kernels.so + designs.json; the GPU host needs no CuTe DSL). Without it, where the
CuTe DSL is installed, a scale_tensor and a scale_row design of each kind (tensor
core, SIMT) are compiled here for sm_90a. Skipped without a CUDA GPU
(tests/gpu/conftest.py), or with neither a DIR nor the DSL.

Every kernel runs at every M in 1..max_m on fresh random fp8 x and W and random
positive float32 scales, the output poisoned with NaN before each run, and must
match (x.float() @ W.float().t()) * scale_a * scale_b within 1e-2 (relative
Frobenius error) with every element written. Speed: bench/fp8_decode_probe.py run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.gpu

_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(_ROOT / "bench"))


def _compile_here(outdir: Path) -> None:
    from aotgemm.compiler.link import link_library
    from aotgemm.compiler.sources import decode_kernels as dk

    designs = []
    for scale in ("tensor", "row"):
        designs.append(dk.make_simt_design(4096, 4096, max_m=1, rows=4, warps=8, unroll=1, pdl=True,
                                           dtype="float8_e4m3fn", epilogue="scale_" + scale))
        designs.append(dk.make_design(4096, 4096, nt=2, mt=2, wk=2, ck=2, unroll=2, stages=3, pdl=True,
                                      dtype="float8_e4m3fn", epilogue="scale_" + scale))
    table = {}
    for d in designs:
        sym = "aotgemm_" + dk.design_name(d)
        dk.compile_decode(d, sym, str(outdir / f"{sym}.o"), "sm_90a")
        table[sym] = d
    lib = link_library({s: outdir / f"{s}.o" for s in table}, link_mode="static-runtime",
                       cuda_major=int(torch.version.cuda.split(".")[0]))
    (outdir / "kernels.so").write_bytes(lib)
    (outdir / "designs.json").write_text(json.dumps(table))


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> str:
    given = os.environ.get("AOTGEMM_FP8_DECODE_DIR")
    if given:
        return given
    if importlib.util.find_spec("cutlass") is None:
        pytest.skip("set AOTGEMM_FP8_DECODE_DIR to the output of `bench/fp8_decode_probe.py compile` "
                    "(no CuTe DSL here to compile the kernels)")
    out = tmp_path_factory.mktemp("fp8_decode")
    _compile_here(out)
    return str(out)


def test_fp8_decode_kernels_match_reference(kernel_dir, tmp_path):
    import fp8_decode_probe as probe

    designs = json.loads((Path(kernel_dir) / "designs.json").read_text())
    assert designs, f"{kernel_dir}/designs.json lists no kernels"
    result = tmp_path / "checks.jsonl"
    probe.check_child(kernel_dir, sorted(designs), str(result))
    done = [json.loads(line) for line in result.read_text().splitlines()]
    done = {e["symbol"]: e for e in done if e["status"] != "started"}
    assert set(done) == set(designs)
    bad = {s: e for s, e in done.items() if e["status"] != "ok"}
    assert not bad, f"{len(bad)} of {len(done)} fp8 kernels wrong: {json.dumps(bad)[:2000]}"
