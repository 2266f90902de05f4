"""Check the fused-epilogue decode kernels of a bundle on this GPU against the float32 reference.

    python tests/gpu/check_epilogues.py BUNDLE [BUNDLE ...]     # a table; exit 1 on any failure
    (pytest: tests/gpu/test_epilogues_gpu.py, with AOTGEMM_TEST_FUSED_BUNDLE=BUNDLE)

The bundle (built elsewhere, e.g. from manifests/llama-3.1-8b-fused.toml with
`--sources aotgemm`) is loaded the way the runtime loads one (torch + tvm_ffi,
no DSL). Every kernel with a fused epilogue (bias, residual_add, swiglu) runs
at every M from 1 to its max_m on fresh random inputs, with the output
poisoned (NaN) first and one poisoned guard row after it, and must match
`Epilogue.reference` (relative Frobenius error < 1e-2), write every output
element, and leave the guard row alone. Identity decode kernels in the bundle
are checked the same way (they share the row mapping and output stage). The Llama-3.1-8B fused shapes must be
in the bundle: gate_up 28672x4096 swiglu, o 4096x4096 and down 4096x14336
residual_add.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

from check_kernels import bundle_target  # noqa: E402  (tests/gpu, the script's folder, is on sys.path)

TOLERANCE = 1e-2
LLAMA_FUSED = [("gate_up", 28672, 4096, "swiglu"), ("o", 4096, 4096, "residual_add"),
               ("down", 4096, 14336, "residual_add")]


def load_fused(path):
    """(target for GPU 0, {symbol: kernel function}) of the bundle at `path`, through the runtime's loader."""
    from aotgemm import timing

    b, target = bundle_target(path)
    mod = timing.load_kernel_library(b.blob(target.library), target.env["link_mode"])
    # every decode kernel: the fused ones, and identity ones where the bundle has them (same output stage)
    ours = [k for k in target.kernels if k.source == "aotgemm"]
    return target, {k.symbol: mod.get_function(k.symbol) for k in ours}


def check_kernel(fn, kern, seed: int) -> tuple[int, float, list[str]]:
    """(runs, worst relative error, failures) of one fused kernel at every M in 1..max_m."""
    from aotgemm.epilogues import epilogue
    from aotgemm.problem import GemmProblem
    from aotgemm.runtime.table import call_kernel
    from aotgemm.timing import random_operands

    d = kern.design_dict
    problem = GemmProblem(kern.dtype, kern.layout, kern.epilogue, d["n"], d["k"])
    ep = epilogue(kern.epilogue)
    g = torch.Generator(device="cuda").manual_seed(seed)
    stream = torch.cuda.current_stream().cuda_stream
    worst, bad = 0.0, []
    for m in range(1, kern.max_m + 1):
        x, w, extras = random_operands(problem, m, g)  # fresh data at every M
        buf = torch.full((m + 1, problem.n_out), float("nan"), device="cuda", dtype=x.dtype)
        out = buf[:m]  # row m is a guard: a kernel must not write past M
        call_kernel(fn, problem, x, w, out, extras, stream)
        torch.cuda.synchronize()
        ref = ep.reference(x, w, **extras)
        rel = ((out.float() - ref).norm() / ref.norm()).item()
        rel = rel if rel == rel else float("inf")
        worst = max(worst, rel)
        if not rel < TOLERANCE:
            bad.append(f"M={m}: rel {rel:.2e}")
        elif torch.isnan(out).any().item():
            bad.append(f"M={m}: unwritten outputs")
        elif not torch.isnan(buf[m]).all().item():
            bad.append(f"M={m}: wrote past row M")
    return kern.max_m, worst, bad


def check_bundle(path) -> list[tuple]:
    target, fns = load_fused(path)
    kernels = {k.symbol: k for k in target.kernels}
    rows = []
    for i, (symbol, fn) in enumerate(sorted(fns.items())):
        kern = kernels[symbol]
        runs, worst, bad = check_kernel(fn, kern, seed=1000 + i)
        rows.append((symbol, kern.epilogue, kern.family, kern.design_dict["n"], kern.design_dict["k"],
                     kern.max_m, runs, worst, bad))
    return rows


def main(paths: list[str]) -> int:
    failed = 0
    print(f"{'kernel':34} {'epilogue':12} {'family':17} {'N x K':12} {'max_m':>5} {'worst rel':>9}  result")
    for path in paths:
        for sym, name, family, n, k, max_m, runs, worst, bad in check_bundle(path):
            failed += bool(bad)
            print(f"{sym:34} {name:12} {family:17} {f'{n}x{k}':12} {max_m:5d} {worst:9.2e}  "
                  + ("PASS" if not bad else "FAIL " + "; ".join(bad[:3])))
    print("all decode kernels correct at every M" if not failed else f"{failed} decode kernel(s) FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
