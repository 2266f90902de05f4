#!/usr/bin/env python
"""Host cost of a patched nn.Linear call that the bundle sends to cuBLAS, with the GEMM itself stubbed out (CPU).

    python bench/eager_miss_cpu.py

What a miss adds over a bare `F.linear` call: nn.Linear's (its __call__ and forward frames, the two
parameter lookups) against the patched module's (`aotgemm.runtime.eager`: its __call__, the checks, the
memo, the counter). Both GEMM calls are replaced by a stub returning x, so only the Python around them is
timed; the min over 5 rounds of 3 x 50000 calls, the three forms interleaved per round. A CPU stand-in
dispatch table (bench/eager_host.py) routes M=100 to cuBLAS. `--plain-call` times the patched module
through nn.Module.__call__ (the path before eager.module_call) for comparison.
"""

from __future__ import annotations

import argparse
import copy
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    import torch
    import torch.nn.functional as F

    import eager_host
    from aotgemm.runtime import eager
    from aotgemm.runtime.ops import set_active
    from aotgemm.runtime.patch import patch_model

    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    set_active(eager_host._cpu_table([("identity", 16, 16)]))
    lin = torch.nn.Linear(16, 16, bias=False, dtype=torch.bfloat16)
    patched = copy.deepcopy(lin)
    patch_model(patched, frozenset({("bfloat16", 16, 16)}))
    x = torch.randn(100, 16, dtype=torch.bfloat16)
    patched(x)  # fills the memo: a miss ("bundle chose cublas")

    def stub(a, *_):
        return a

    eager._mm = stub
    real = F.linear
    plain_call = torch.nn.Module.__call__
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        F.linear = stub
        t = {"F.linear": lambda: F.linear(x, lin.weight), "nn.Linear": lambda: lin(x)}
        got = {k: min(timeit.repeat(f, number=50000, repeat=3)) / 50000 * 1e6 for k, f in t.items()}
        F.linear = real
        got["patched"] = min(timeit.repeat(lambda: patched(x), number=50000, repeat=3)) / 50000 * 1e6
        got["patched via nn.Module.__call__"] = min(
            timeit.repeat(lambda: plain_call(patched, x), number=50000, repeat=3)) / 50000 * 1e6
        for k, v in got.items():
            best[k] = min(best.get(k, float("inf")), v)
    print(f"torch {torch.__version__}, CPU, a miss with the GEMM stubbed out: us per call (min of {args.rounds} rounds)")
    for k, v in best.items():
        print(f"  {k:32s} {v:6.2f}   over F.linear {v - best['F.linear']:+6.2f}")


if __name__ == "__main__":
    main()
