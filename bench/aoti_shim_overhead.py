"""Host cost of the AOTInductor shim per routed GEMM, measured on the CPU.

The shim's dispatch and cuBLAS-fallback code is the same for CPU and CUDA
tensors (only the final mm_out differs), so its per-call host overhead can
be read on a CPU: a tiny bf16 MLP (GEMMs of a few microseconds) compiled
(c) as a plain AOTInductor package and (d) through aotgemm.aoti.compile
with a bundle whose entries send every call at the timed M to the fallback
(the case of a tuned bundle that keeps cuBLAS at small M). Both run in this
process; per-forward medians over many runs, and (d - c) / routed GEMMs.

    python bench/aoti_shim_overhead.py [--iters 3000] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

K, HIDDEN, M = 64, 128, 1


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.up = torch.nn.Linear(K, HIDDEN, bias=False)
        self.down = torch.nn.Linear(HIDDEN, K, bias=False)

    def forward(self, x):
        return self.down(torch.relu(self.up(x)))


def per_forward_us(runner, x, iters: int) -> float:
    for _ in range(50):
        runner(x)
    samples = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(iters):
            runner(x)
        samples.append((time.perf_counter() - t0) / iters * 1e6)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    import aotgemm.aoti as aoti
    from aotgemm.aoti import testing

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="aotgemm-shim-overhead-"))
    torch.manual_seed(0)
    model = MLP().to(torch.bfloat16).eval()
    example = (torch.randn(8, K, dtype=torch.bfloat16),)
    # A kernel only at the largest bucket, so both GEMMs are routed, and cuBLAS at every smaller one.
    buckets = testing.TEST_BUCKETS
    cublas = {("bfloat16", n, k, b) for n, k in ((HIDDEN, K), (K, HIDDEN)) for b in buckets[:-1]}
    bundle = work / "b.agb"
    testing.make_bundle(bundle, [("up", HIDDEN, K), ("down", K, HIDDEN)],
                        library=testing.build_cpu_kernel_library(work / "kernels"), cublas=cublas)
    ep = torch.export.export(model, example, dynamic_shapes=({0: torch.export.Dim("m", min=1, max=1 << 16)},))
    plain = torch._inductor.aoti_compile_and_package(ep, package_path=str(work / "plain.pt2"))
    routed = aoti.compile(model, example, bundle, work / "routed.pt2")
    run_c = torch._inductor.aoti_load_package(plain)
    run_d = aoti.load(routed, strict=False)
    x = torch.randn(M, K, dtype=torch.bfloat16)
    with torch.no_grad():
        ref = model(x).float()
    for run in (run_c, run_d):
        assert torch.allclose(run(x).float(), ref, rtol=2e-2, atol=2e-2)
    aoti.reset_counters()
    rows = {}
    for name, run in (("(c) plain AOTI", run_c), ("(d) AOTI + bundle, cuBLAS entries", run_d)):
        rows[name] = per_forward_us(run, x, a.iters)
    counters = aoti.counters()
    c, d = rows["(c) plain AOTI"], rows["(d) AOTI + bundle, cuBLAS entries"]
    per_gemm = (d - c) / 2
    print(f"CPU, torch {torch.__version__}, 1 thread, M={M}, bf16 MLP {K}->{HIDDEN}->{K}")
    for name, us in rows.items():
        print(f"  {name:38s} {us:8.2f} us per forward")
    print(f"  shim overhead per routed GEMM (fallback path): {per_gemm:.2f} us; counters {counters}")
    if a.out:
        Path(a.out).write_text(json.dumps({"per_forward_us": rows, "per_gemm_overhead_us": per_gemm,
                                           "counters": counters, "torch": torch.__version__}, indent=1))


if __name__ == "__main__":
    main()
