"""End to end on CPU: aotgemm.aoti.compile folds a gated MLP with a residual add into the fused-epilogue ops,
and a fresh process runs the package through their C shims.

The block is `x + down(act(x Wg^T) * (x Wu^T))` with two separate weights (the rewrite concatenates
them into one constant). The bundle's "kernel library" is the CPU TVM-FFI test library (fused gated
and residual kernels). Two packages, one AOTInductor compile each (about 20 s on 2 cores):
- "unguarded", a GeGLU MLP (gelu's tanh form): geglu's entry of bucket 16 is cuBLAS and the package is
  compiled with fold_slow_fallbacks=True, so that bucket takes the shim's unfused path (mm, then
  gelu(approximate="tanh") * mul through the dispatcher);
- "guarded", a SwiGLU MLP: swiglu's kernels serve only M <= 16, and by default the package folds it under
  a torch.cond on M (aoti/guard.py): above 16 the shim is never called and Inductor's code runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import aotgemm.aoti as aoti
from aotgemm.aoti import testing
from aotgemm.bundle import bucket_for

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

RUN = """
import json, sys, torch
sys.path.insert(0, {tests!r})
import aotgemm.aoti as aoti
from aotgemm.aoti import testing
from test_runtime_epilogues import Block
runner = aoti.load({package!r}, _device=testing.fake_device(), _cpu_kernels=True, cache_dir={cache!r})
model = Block(False, {act!r}).eval()
model.load_state_dict(torch.load({weights!r}))
out = {{}}
for b in {batches!r}:
    x = testing.deterministic_input((b, 5, 64), torch.bfloat16)
    y = runner(x)
    with torch.no_grad():
        ref = model(x).float()
    out[b] = [list(y.shape), ((y.float() - ref).norm() / ref.norm()).item()]
print(json.dumps({{"out": out, "counters": aoti.counters()}}))
"""


@pytest.mark.parametrize("guarded, act", [(False, "gelu_tanh"), (True, "silu")])
def test_package_serves_the_gated_epilogue_and_residual_from_the_bundle(tmp_path, guarded, act):
    from test_runtime_epilogues import ACTS, Block

    gated = ACTS[act][0]
    lib = testing.build_cpu_kernel_library(tmp_path / "kernels")
    bundle = tmp_path / "block.agb"
    gated_cublas = (16,) if not guarded else (128, 1024)
    testing.make_bundle(bundle, [("gate_up", 256, 64), ("down", 64, 128)], library=lib,
                        epilogues=("identity", "residual_add", gated),
                        cublas={("bfloat16", gated, 256, 64, b) for b in gated_cublas})
    torch.manual_seed(0)
    model = Block(False, act).eval()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    pkg = aoti.compile(model, (torch.randn(2, 5, 64, dtype=torch.bfloat16),), bundle, tmp_path / "block.pt2",
                       fold_slow_fallbacks=not guarded)
    routed = aoti.package_info(pkg).routed
    assert sorted((r.epilogue, r.n, r.k) for r in routed) == sorted([("residual_add", 64, 128), (gated, 256, 64)])

    batches = [1, 3, 40]  # M = 5, 15, 200: buckets 16, 16, 1024
    code = RUN.format(tests=str(HERE), package=str(pkg), cache=str(tmp_path / "cache"), weights=str(tmp_path / "w.pt"),
                      batches=batches, act=act)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300,
                          cwd=str(REPO), env={"PYTHONPATH": str(REPO), "PATH": "/nonexistent", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    for b in batches:
        shape, err = r["out"][str(b)]
        assert shape == [b, 5, 64] and err < 1e-2, (b, shape, err)
    c = r["counters"]
    if not guarded:
        cublas = sum(bucket_for(5 * b, testing.TEST_BUCKETS) == 16 for b in batches)
        assert c["calls"] == 2 * len(batches)  # one geglu and one residual call per forward, nothing else
        assert c["miss_chose_cublas"] == cublas == c["misses"] and c["hits"] == 2 * len(batches) - cublas
    else:  # residual at every M; swiglu only at M = 5 and 15 (M = 200 runs Inductor's silu * mul)
        assert c["calls"] == c["hits"] == len(batches) + 2 and c["misses"] == 0
