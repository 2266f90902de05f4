"""The op's first call must not pull in torch._dynamo (it cost 4-5 s of first GEMM on the H100 host)."""

import subprocess
import sys
from pathlib import Path

CODE = """
import sys, time, torch
import aotgemm.runtime as rt
x = torch.randn(8, 64, dtype=torch.bfloat16); w = torch.randn(32, 64, dtype=torch.bfloat16)
t = time.perf_counter(); y = rt.linear(x, w); first = time.perf_counter() - t
assert torch.allclose(y.float(), x.float() @ w.float().t(), rtol=2e-2, atol=2e-2)
heavy = [m for m in ("torch._dynamo", "torch._inductor", "sympy") if m in sys.modules]
print(repr((heavy, first)))
"""


def test_first_call_imports_no_compiler_stack():
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr
    heavy, first = eval(r.stdout.strip().splitlines()[-1])
    assert heavy == [], f"first call imported {heavy}"
    assert first < 0.5, f"first call took {first:.2f} s"
