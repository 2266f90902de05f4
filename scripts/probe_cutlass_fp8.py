"""Does cutlass.operators offer fp8 e4m3 GEMMs with device-tensor scales (and MXFP8)? CPU only, FakeTensors.

    PYTHONPATH=$PWD python scripts/probe_cutlass_fp8.py

Enumerates e4m3 x [M, K] @ W^T -> bf16 for target_sm "90a" and "100a", plain and with the scale epilogue
out = accum * scale_a * scale_b in each scale form, compiles (and exports) the first operator of each
sm_100a set, and tries MXFP8 (e8m0 scales per 1x32 block). Findings: docs/kernel-sources.md, "fp8".
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

import cutlass.operators as ops

from aotgemm.compiler.sources.cutlass_operators import _patched_cluster_counts
from aotgemm.gpus import gpu_model

M, N, K = 128, 4096, 4096
F8, BF16, F32 = torch.float8_e4m3fn, torch.bfloat16, torch.float32


def scale_both(accum, scale_a, scale_b):
    D = accum * scale_a * scale_b
    return D


def scale_b_only(accum, scale_b):
    D = accum * scale_b
    return D


def args(scales: dict | None, fn=scale_both):
    with FakeTensorMode():
        x, w = torch.empty(M, K, dtype=F8, device="cuda"), torch.empty(N, K, dtype=F8, device="cuda")
        out = torch.empty(M, N, dtype=BF16, device="cuda")
        epi = None
        if scales is not None:
            kw = {name: torch.empty(*shape, dtype=F32, device="cuda") for name, shape in scales.items()}
            epi = ops.EpilogueArguments(fn, D=out, **kw)
        return ops.GemmArguments(x, w.t(), out, accumulator_type=F32, epilogue=epi)


def mxfp8_args():
    mode, swz = ops.ScaleMode.Blockwise1x32, ops.ScaleSwizzleMode.Swizzle32x4x4
    with FakeTensorMode():
        x, w = torch.empty(M, K, dtype=F8, device="cuda"), torch.empty(N, K, dtype=F8, device="cuda")
        out = torch.empty(M, N, dtype=BF16, device="cuda")
        sa = torch.empty(ops.ScaledOperand.numel_scale((M, K), mode, swz), dtype=torch.float8_e8m0fnu, device="cuda")
        sb = torch.empty(ops.ScaledOperand.numel_scale((N, K), mode, swz), dtype=torch.float8_e8m0fnu, device="cuda")
        return ops.GemmArguments(ops.ScaledOperand(x, sa, mode, swz), ops.ScaledOperand(w.t(), sb, mode, swz), out,
                                 accumulator_type=F32)


def report(label: str, sm: str, a, compile_first: bool) -> None:
    got = ops.get_operators(a, target_sm=sm)
    line = f"{label:34} sm_{sm:4} {len(got):4} operators {dict(Counter(type(o).__name__ for o in got))}"
    if compile_first and got:
        t = time.perf_counter()
        try:
            with _patched_cluster_counts(gpu_model("B200" if sm == "100a" else "H200_SXM")):
                art = got[0].compile(a, target_sm=sm)
            with tempfile.TemporaryDirectory() as d:
                art.compiled_obj.export_to_c(os.path.join(d, "k.o"), function_name="k")
                size = os.path.getsize(os.path.join(d, "k.o"))
            line += f"; first compiled + exported ({size} bytes, {time.perf_counter() - t:.1f} s)"
        except Exception as e:  # noqa: BLE001  (the finding is the failure)
            line += f"; first fails to compile: {type(e).__name__}: {str(e)[:120]}"
    print(line, flush=True)


if __name__ == "__main__":
    forms = {"per-tensor scales [1,1] x [1,1]": {"scale_a": (1, 1), "scale_b": (1, 1)},
             "per-channel scale_b [1,1] x [1,N]": {"scale_a": (1, 1), "scale_b": (1, N)},
             "row-wise [M,1] x [1,N]": {"scale_a": (M, 1), "scale_b": (1, N)}}
    for sm in ("90a", "100a"):
        report("plain (no scales)", sm, args(None), False)
        for label, shapes in forms.items():
            report(label, sm, args(shapes), sm == "100a")
        report("scale_b [1,N] only", sm, args({"scale_b": (1, N)}, scale_b_only), sm == "100a")
    report("MXFP8 (e8m0 1x32 blocks)", "100a", mxfp8_args(), True)
