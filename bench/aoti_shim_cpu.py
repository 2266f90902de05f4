#!/usr/bin/env python
"""Host cost of the AOTInductor shim on a call the bundle sends to cuBLAS, on the CPU (no GPU needed).

    python bench/aoti_shim_cpu.py [--k 64] [--rounds 40] [--calls 2000]

Five chained bf16 Linear layers (K x K, no bias), packaged twice from the same exported program: plain
AOTInductor, and aotgemm.aoti.compile with a bundle holding the five GEMMs (static M=4). On the CPU every
routed GEMM is a miss ("cpu tensor"): the shim reads the call, applies the rule, counts it and calls
aoti_torch_cpu_mm_out, where the plain package calls that same function directly. The two packages' forwards
alternate in rounds of --calls calls; per forward, the min and median over rounds, and their difference
per GEMM. K is small so that the GEMMs' own CPU time stays small beside the host work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    import torch

    import aotgemm.aoti as aoti
    from aotgemm.aoti import testing

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="aotgemm-shim-cpu-"))
    k = args.k

    class Chain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(k, k, bias=False) for _ in range(5))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    torch.manual_seed(0)
    model = Chain().to(torch.bfloat16).eval()
    bundle = work / "chain.agb"
    testing.make_bundle(bundle, [("layer", k, k)])
    x = torch.randn(4, k, dtype=torch.bfloat16)
    ep = torch.export.export(model, (x,))
    torch._inductor.aoti_compile_and_package(ep, package_path=str(work / "plain.pt2"))
    aoti.compile(model, (x,), bundle, work / "bundle.pt2", dynamic_m=False)
    forms = {"plain": torch._inductor.aoti_load_package(str(work / "plain.pt2")),
             "bundle": aoti.load(work / "bundle.pt2", strict=False)}
    with torch.no_grad():
        ref = model(x)
        for name, f in forms.items():
            assert torch.equal(f(x)[0] if isinstance(f(x), (list, tuple)) else f(x), ref), name
        times = {name: [] for name in forms}
        for _ in range(args.rounds):
            for name, f in forms.items():
                t0 = time.perf_counter()
                for _ in range(args.calls):
                    f(x)
                times[name].append((time.perf_counter() - t0) / args.calls * 1e6)
    print(f"torch {torch.__version__}, CPU, 5 GEMMs of {k}x{k} at M=4 per forward; us per forward over "
          f"{args.rounds} alternating rounds of {args.calls}")
    stat = {}
    for name, v in times.items():
        stat[name] = (min(v), statistics.median(v))
        print(f"  {name:7s} min {stat[name][0]:7.2f}  median {stat[name][1]:7.2f}")
    d_min = (stat["bundle"][0] - stat["plain"][0]) / 5
    d_med = (stat["bundle"][1] - stat["plain"][1]) / 5
    c = aoti.counters()
    print(f"  shim cost per GEMM call: {d_min:+.2f} us (mins), {d_med:+.2f} us (medians); "
          f"shim calls {c['calls']}, misses {c['misses']} (cpu tensor {c['miss_cpu_tensor']})")


if __name__ == "__main__":
    main()
