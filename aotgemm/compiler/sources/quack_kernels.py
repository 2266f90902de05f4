"""Compile one quack-kernels GEMM to a TVM-FFI object with the project's call convention, GPU-free.

The only module that imports quack. It is run as its own process
(`python -m aotgemm.compiler.sources.quack_kernels DESIGN_JSON SYMBOL OBJECT`)
by `QuackSource.compile`, because importing quack changes the CuTe DSL for
the whole process: `quack.dsl` replaces CuTe's tensor `__getitem__` /
`__setitem__` and installs an AST rewrite of mixed static/dynamic `if`
tests. A compile worker that goes on to compile another source's kernels
would compile them under the patched DSL, so the same cache key could name
different machine code depending on what the worker compiled before.

What is compiled: quack's own kernel class (`GemmDefaultSm90`, or
`GemmDefaultSm100` for sm_100a) with the identity epilogue (no alpha, beta,
C or bias), called from our own `@cute.jit` entry point whose signature is
the one call convention (aotgemm.problem): `fn(x, wt, out, stream)` with x
[M, K] row-major, wt = W.t() ([K, N], strides (1, ldw)), out [M, N]
row-major, stream the raw CUDA stream. M, N, K and the leading strides are
dynamic (multiples of 8 elements: 16-byte rows for TMA), so one object serves
every problem of its dtype. quack takes B in the caller's (K, N) orientation
when `b_transposed` is set and 2-D operands without a batch mode (it adds
one at trace time), which is exactly x and wt. Its host-side launch
machinery (`quack.gemm`, `gemm_interface`, the autotuner, jit_cache) is not
used: the scheduler options are built here, with the cluster count that
fits baked in from our GPU table (`max_active_clusters` in the design) as
the cutlass_operators source does.
"""

# No `from __future__ import annotations`: the DSL reads the entry point's annotations (cute.Tensor, ...) as objects.
import json
import os
import sys

ARCH_ENV = ("CUTE_DSL_ARCH", "QUACK_ARCH")  # quack reads its dispatch/compile target from these when GPU-less


def _dtype(cutlass, name: str):
    return {"bfloat16": cutlass.BFloat16, "float16": cutlass.Float16}[name]


def build_entry(design: dict):
    """The `@cute.jit` entry point fn(x, wt, out, stream) for `design` (see the module docstring)."""
    import cuda.bindings.driver as cuda
    import cutlass
    import cutlass.cute as cute
    from cutlass import Float32, Int32

    from quack.tile_scheduler import TileSchedulerOptions

    el = _dtype(cutlass, design["dtype"])
    tile = tuple(design["tile"])
    cluster = (*design["cluster"], 1)
    if design["arch"] == "sm_90a":
        from quack.gemm_default_epi import GemmDefaultSm90 as GemmCls

        # static persistent: the dynamic (tile-counter) scheduler needs a semaphore buffer our call has no slot for
        gemm = GemmCls(Float32, el, tile, cluster, pingpong=design["pingpong"], is_persistent=True)
    elif design["arch"] == "sm_100a":
        from quack.gemm_default_epi import GemmDefaultSm100 as GemmCls

        # cluster launch control: the hardware hands out tiles, no buffer needed
        gemm = GemmCls(Float32, el, tile, cluster, use_clc_persistence=design["clc"])
    else:
        raise ValueError(f"quack kernels are built here for sm_90a and sm_100a, not {design['arch']}")
    gemm.b_transposed = True  # B arrives as wt (K, N), W's [N, K] storage seen column-major
    gemm.a_transposed = False
    gemm.cd_transposed = False
    gemm.cd_packed = None
    clusters = int(design["max_active_clusters"])
    swizzle = int(design.get("max_swizzle", 8))

    @cute.jit
    def entry(x: cute.Tensor, wt: cute.Tensor, out: cute.Tensor, stream: cuda.CUstream):
        epilogue = GemmCls.EpilogueArguments()  # identity: D = acc, no C, no alpha/beta, no vectors
        scheduler = TileSchedulerOptions(max_active_clusters=Int32(clusters), max_swizzle_size=Int32(swizzle))
        gemm(x, wt, out, None, epilogue, scheduler, None, stream, None, None)

    return entry


def fake_operands(dtype_name: str):
    """x, wt, out, stream as fake tensors: M, N, K and leading strides dynamic, 16-byte aligned."""
    import cutlass
    import cutlass.cute as cute
    from cutlass.cute.runtime import make_fake_stream, make_fake_tensor

    el = _dtype(cutlass, dtype_name)
    div = 128 // el.width
    m, n, k = cute.sym_int32(symbol="M"), cute.sym_int32(divisibility=div), cute.sym_int32(divisibility=div)
    x = make_fake_tensor(el, (m, k), (cute.sym_int64(divisibility=div), 1), assumed_align=16)
    wt = make_fake_tensor(el, (k, n), (1, cute.sym_int64(divisibility=div)), assumed_align=16)
    out = make_fake_tensor(el, (m, n), (cute.sym_int64(divisibility=div), 1), assumed_align=16)
    return x, wt, out, make_fake_stream()


def compile_quack(design: dict, symbol: str, object_path: str) -> None:
    """Compile `design` for its arch and export it as `symbol` to `object_path` (call in a fresh process)."""
    for var in ARCH_ENV:
        os.environ[var] = design["arch"]
    import cutlass.cute as cute

    entry = build_entry(design)
    options = (cute.GPUArch(design["arch"]), cute.EnableTVMFFI(True))
    compiled = cute.compile[options](entry, *fake_operands(design["dtype"]))
    compiled.export_to_c(object_path, function_name=symbol)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m aotgemm.compiler.sources.quack_kernels DESIGN_JSON SYMBOL OBJECT_PATH")
    compile_quack(json.loads(sys.argv[1]), sys.argv[2], sys.argv[3])
