"""Session 11: the SiLU-mul Triton kernel after the MLP's gate and up GEMMs at M = 128, compiled with Inductor's PDL:
the unpatched layer's (3.7 us) against the patched layer's (after aotgemm_linear ops, 5.4 us). Writes each row's
generated code (run_and_get_code) and prints the pointwise kernels that read the GEMM outputs, and the wrapper
lines that call them. Usage: python3 m128code.py TUNED_FUSED.agb OUTDIR"""
import copy
import re
import sys
from pathlib import Path

import torch
from torch._inductor.utils import run_and_get_code

sys.path.insert(0, "bench")
import epilogue_block as eb  # noqa: E402

import aotgemm.runtime as rt  # noqa: E402

out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
model, hidden, cfg = eb.build_layer(False, "cuda")
rt.load(sys.argv[1])
patched = copy.deepcopy(model)
rt.patch(patched)
x = torch.randn(128, 1, hidden, device="cuda", dtype=torch.bfloat16)
for name, m in (("compiled", model), ("compiled-patched", patched)):
    torch._dynamo.reset()
    fn = torch.compile(m, dynamic=False, options={"triton.enable_pdl": True, "fx_graph_cache": False})
    with torch.no_grad():
        _, code = run_and_get_code(fn, x)
    text = "\n\n# ----- next module -----\n\n".join(code)
    (out / f"{name}.py").write_text(text)
    print(f"===== {name}: {len(text)} chars")
    for mm in re.finditer(r"(@triton.jit\ndef (triton_poi_fused\w*silu\w*)\(.*?)(?=\n''', device_str|\n\n\n)", text, re.S):
        print(mm.group(1)[:3000])
    for line in text.splitlines():
        if "silu" in line and ("run(" in line or ".run" in line) or "aotgemm_linear" in line and "=" in line:
            print("  |", line.strip()[:200])
