"""Check every kernel of a bundle on this GPU, loaded with tvm_ffi alone (no DSL import).

    python tests/gpu/check_kernels.py BUNDLE [BUNDLE ...] [--hardware-info]

For each bundle: pick the target for this GPU, extract its library, load it
with tvm_ffi, and run every kernel on every layer of the bundle at M values
on and between buckets, against a float32 reference on fresh random inputs
of the kernel's dtype and epilogue (fp8: the dequantized operands), with the
output poisoned (NaN) before each run. Prints a table; exits 1 on
any failure. --hardware-info also compares aotgemm.gpus' cluster counts with
what cutlass.utils.HardwareInfo reads off this GPU (that part imports the DSL,
after the kernel checks).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

M_VALUES = (1, 7, 65, 300, 1000, 4096)
TOLERANCE = 1e-2


def preload_for(link_mode: str) -> None:
    import torch

    torch.cuda.init()  # loads libcudart, which a static-runtime library resolves by soname
    if link_mode == "dsl-runtime":
        path = os.environ.get("AOTGEMM_DSL_RUNTIME_LIB")
        if not path:
            raise SystemExit("dsl-runtime bundle: set AOTGEMM_DSL_RUNTIME_LIB to libcute_dsl_runtime.so")
        ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)


def bundle_target(path):
    """(bundle, its target for GPU 0) of the bundle at `path`, blobs verified; SystemExit when it has none
    (also check_epilogues.py's)."""
    from aotgemm.errors import EnvironmentMismatch
    from aotgemm.timing import open_for_gpu

    try:
        _, _, b, target = open_for_gpu(path)
    except EnvironmentMismatch as e:
        raise SystemExit(str(e)) from None
    return b, target


def check_bundle(path: str) -> list[tuple]:
    import torch
    import tvm_ffi

    b, target = bundle_target(path)
    env = target.env
    preload_for(env["link_mode"])
    tmp = tempfile.mkdtemp(prefix="aotgemm-check-")
    lib = Path(tmp) / target.library
    lib.write_bytes(b.blob(target.library))
    t0 = time.perf_counter()
    mod = tvm_ffi.load_module(str(lib))
    load_ms = (time.perf_counter() - t0) * 1e3
    rows = []
    gen = torch.Generator(device="cuda").manual_seed(1234)
    stream = torch.cuda.current_stream().cuda_stream
    from aotgemm.epilogues import epilogue
    from aotgemm.problem import GemmProblem
    from aotgemm.runtime.table import call_kernel
    from aotgemm.timing import random_operands, torch_dtype

    for kern in target.kernels:
        fn = mod.get_function(kern.symbol)
        worst, checked, bad = 0.0, 0, []
        # the layers whose entries keep this kernel (a decode kernel is specialised on one N x K)
        shapes = {(e.n, e.k) for e in target.dispatch if kern.symbol in e.ranked or e.kernel == kern.symbol}
        for layer in [x for x in b.index.layers if (x.n, x.k) in shapes]:
            problem = GemmProblem(kern.dtype, kern.layout, kern.epilogue, layer.n, layer.k)
            for m in [m for m in M_VALUES if kern.serves(m)]:
                # fresh operands of the kernel's dtype and its epilogue's (fp8: e4m3 x and W with their scales)
                x, w, operands = random_operands(problem, m, gen)
                out = torch.full((m, problem.n_out), float("nan"), device="cuda",
                                 dtype=torch_dtype(problem.out_dtype))
                call_kernel(fn, problem, x, w, out, operands, stream)
                torch.cuda.synchronize()
                ref = epilogue(problem.epilogue).reference(x, w, **operands)
                rel = ((out.float() - ref).norm() / ref.norm()).item()
                checked += 1
                if not (rel < TOLERANCE) or torch.isnan(out).any().item():
                    bad.append(f"{layer.name} M={m}: rel {rel:.2e}")
                worst = max(worst, rel if rel == rel else float("inf"))
        d = kern.design_dict
        rows.append((Path(path).name, env["link_mode"], kern.symbol, kern.family.removesuffix("Operator"),
                     "x".join(map(str, d.get("tile", ["-"])[:2])),
                     "x".join(map(str, d.get("cluster", ["-"])[:2])), checked, worst, bad))
    print(f"{path}: {target.gpu} library {len(b.blob(target.library))} B loaded in {load_ms:.1f} ms; "
          f"cutlass imported: {any(m.startswith('cutlass') for m in sys.modules)}")
    return rows


def hardware_info_check() -> list[str]:
    import torch

    from aotgemm.gpus import identify

    props = torch.cuda.get_device_properties(0)
    model = identify(props.name, props.multi_processor_count, (props.major, props.minor))
    from cutlass.utils import HardwareInfo

    hw = HardwareInfo()
    lines = [f"HardwareInfo on {props.name}: SMs {hw.get_device_multiprocessor_count()} (table {model.sm_count}), "
             f"L2 {hw.get_l2_cache_size_in_bytes()} B"]
    for size in (1, 2, 4, 8, 16):
        try:
            got = hw.get_max_active_clusters(size)
        except Exception as e:  # sizes past the portable limit may be refused
            got = f"error: {e}"
        lines.append(f"  cluster size {size:2d}: HardwareInfo {got}, table {model.clusters_for(size)}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bundles", nargs="+")
    ap.add_argument("--hardware-info", action="store_true")
    a = ap.parse_args()
    rows = []
    for p in a.bundles:
        rows += check_bundle(p)
    failed = 0
    print(f"{'bundle':24} {'link':15} {'kernel':10} {'tile':8} {'cluster':7} {'runs':>4} {'max rel err':>11}  result")
    for bundle, mode, sym, op, tile, cl, n, worst, bad in rows:
        failed += bool(bad)
        print(f"{bundle[:24]:24} {mode:15} {op[:10]:10} {tile:8} {cl:7} {n:4d} {worst:11.2e}  "
              + ("PASS" if not bad else "FAIL " + "; ".join(bad[:3])))
    print(f"{len(rows) - failed}/{len(rows)} kernels correct on every shape (tolerance {TOLERANCE})")
    if a.hardware_info:
        print("\n".join(hardware_info_check()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
