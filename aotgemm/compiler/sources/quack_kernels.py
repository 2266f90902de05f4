"""Compile one quack-kernels GEMM to a TVM-FFI object with the project's call convention, GPU-free.

The only module that imports quack. It runs in a process of its own, a
compile server (`python -m aotgemm.compiler.sources.quack_kernels --serve`,
one per compile worker and architecture, started by `QuackSource.compile`:
requests and replies are JSON lines), because importing quack changes the
CuTe DSL for the whole process: `quack.dsl` replaces CuTe's tensor
`__getitem__` / `__setitem__` and installs an AST rewrite of mixed
static/dynamic `if` tests. A compile worker that went on to compile another
source's kernels would compile them under the patched DSL. (Sampled on
2026-11-30: a decode swap-AB, a decode SIMT and a registry Sm90 kernel came
out byte-identical after `import quack`; nothing promises that for every
kernel, and the cache key would not notice.) The server lives as long as its
worker (it exits when its stdin closes), so quack's import (about 7 s of
CPU here) is paid once per worker, not per kernel.

What is compiled: quack's own kernel class (`GemmDefaultSm90`, or
`GemmDefaultSm100` for sm_100a) with its default epilogue, D = acc (+ bias
as its row vector, or + the residual as its C: `LINEAR_TERMS`; no alpha or
beta), called from our own `@cute.jit` entry point whose signature is
the one call convention (aotgemm.problem): `fn(x, wt, out, stream)` with x
[M, K] row-major, wt = W.t() ([K, N], strides (1, ldw)), out [M, N]
row-major, stream the raw CUDA stream. M, N, K and the leading strides are
dynamic (multiples of 8 elements: 16-byte rows for TMA), so one object serves
every problem of its dtype. A bias or residual operand comes after `out`
(`fn(x, wt, out, bias, stream)`), as the call convention orders an
epilogue's operands. quack takes B in the caller's (K, N) orientation
when `b_transposed` is set and 2-D operands without a batch mode (it adds
one at trace time), which is exactly x and wt. Its host-side launch
machinery (`quack.gemm`, `gemm_interface`, the autotuner, jit_cache) is not
used: the scheduler options are built here, with the cluster count that
fits baked in from our GPU table (`max_active_clusters` in the design) as
the cutlass_operators source does.

The gated epilogues (`swiglu`, `geglu`: W = [gate; up] stacked along N, out
N/2 wide = act(gate) * up) use quack's gated-activation epilogue (`linear_act_mod`,
mode "acc_pair": it pairs adjacent accumulator columns, gate then up, and
stores N/2 columns). quack's native gated layout is *interleaved*
(gate_j, up_j adjacent along N); its `concat_layout=("B",)` re-reads a
stacked [gate; up] B as interleaved at trace time (layout_utils.
concat_to_interleave: N becomes (2, N/2) with strides (N/2 * ldb, ldb)),
so our stacked weights are used as they are, no permutation. The
pre-activation D is not stored (mD None). quack's tile N must be a multiple
of 32 for it (quack.gemm_config).

The fp8 scale epilogues (e4m3 x and W, bf16 out = acc * scale_a * scale_b,
the call `fn(x, wt, out, scale_a, scale_b, stream)`) use a dequantizing
epilogue written with quack's epilogue frontend (`gemm_epilogue`, minted into
a class of quack's Hopper or Blackwell GEMM): scale_a is read in the kernel
through its pointer, scale_b too (`scale_tensor`) or as a vector along N
broadcast over M (`scale_row`); the same tiles as 16-bit, quack's k-tile
widening to 128 elements for 8-bit operands.
"""

# No `from __future__ import annotations`: the DSL reads the entry point's annotations (cute.Tensor, ...) as objects.
import json
import os
import sys

ARCH_ENV = ("CUTE_DSL_ARCH", "QUACK_ARCH")  # quack reads its dispatch/compile target from these when GPU-less


def _dtype(cutlass, name: str):
    return {"bfloat16": cutlass.BFloat16, "float16": cutlass.Float16, "float8_e4m3fn": cutlass.Float8E4M3FN}[name]


# Our scale epilogue -> the kinds of quack epilogue operand its scale_a and scale_b are: a one-element scalar read
# through a pointer (per tensor), a vector along the output's N broadcast over M ("row": per output channel), or one
# along M broadcast over N ("col": per token, torchao's PerRow activations).
SCALE_KINDS = {"scale_tensor": ("scalar", "scalar"), "scale_row": ("scalar", "row"), "scale_rowwise": ("col", "row")}
# Our epilogues that quack's default (linear) epilogue computes, D = acc + rowvec + C, -> the term their operand is:
# bias a vector along N broadcast over M (quack's mRowVecBroadcast), residual_add's [M, N] tensor the GEMM's C
# (with no beta given, quack adds C as it is); identity has none.
LINEAR_TERMS = {"identity": None, "bias": "rowvec", "residual_add": "c"}


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
    epilogue = design["epilogue"]
    gate = _quack_gate(epilogue)
    if epilogue not in (*LINEAR_TERMS, *SCALE_KINDS) and gate is None:
        raise ValueError(f"quack kernels are built here for the {', '.join(LINEAR_TERMS)}, gated "
                         f"({', '.join(QUACK_GATES)}) and scale epilogues, not {epilogue!r}")
    sm = {"sm_90a": 9, "sm_100a": 10}.get(design["arch"])
    if sm is None:
        raise ValueError(f"quack kernels are built here for sm_90a and sm_100a, not {design['arch']}")
    extra = {}
    if gate is not None:
        GemmCls = _gated_class(sm, gate)
        extra = {"concat_layout": ("B",)}  # our W is [gate; up] stacked; quack pairs interleaved columns
    elif epilogue in SCALE_KINDS:
        GemmCls = _dequantize_class(sm, *SCALE_KINDS[epilogue])
    else:
        from quack.gemm_default_epi import GemmDefaultSm90, GemmDefaultSm100

        GemmCls = GemmDefaultSm90 if sm == 9 else GemmDefaultSm100
    if sm == 9:
        # static persistent: the dynamic (tile-counter) scheduler needs a semaphore buffer our call has no slot for.
        # fp8: quack's default slow accumulation (the MMA's partial sums promoted into float32 every k-block),
        # the numerics of torch._scaled_mm's default (use_fast_accum=False), which is what the tuner compares with;
        # design key "promote_every" (k tiles per promotion, promoting_class) promotes every so many k tiles instead.
        # "fp8_fast_accum" is for bench/quack_fp8_probe.py only: the source's designs never set it.
        every = int(design.get("promote_every", 1))
        if every > 1 and el.width == 8 and not design.get("fp8_fast_accum"):
            GemmCls = promoting_class(GemmCls, every)
        gemm = GemmCls(Float32, el, tile, cluster, pingpong=design["pingpong"], is_persistent=True,
                       fp8_fast_accum=bool(design.get("fp8_fast_accum", False)), **extra)
    else:
        # cluster launch control: the hardware hands out tiles, no buffer needed
        gemm = GemmCls(Float32, el, tile, cluster, use_clc_persistence=design["clc"], **extra)
    gemm.b_transposed = True  # B arrives as wt (K, N), W's [N, K] storage seen column-major
    gemm.a_transposed = False
    gemm.cd_transposed = False
    gemm.cd_packed = None
    clusters = int(design["max_active_clusters"])
    swizzle = int(design.get("max_swizzle", 8))

    Args = GemmCls.EpilogueArguments

    if gate is not None:
        @cute.jit
        def entry(x: cute.Tensor, wt: cute.Tensor, out: cute.Tensor, stream: cuda.CUstream):
            epi = Args(mAuxOut=out)  # out = act(gate) * up, N/2 wide; the pre-activation D is not stored
            scheduler = TileSchedulerOptions(max_active_clusters=Int32(clusters), max_swizzle_size=Int32(swizzle))
            gemm(x, wt, None, None, epi, scheduler, None, stream, None, None)
    elif epilogue in SCALE_KINDS:
        a_scalar, b_scalar = (kind == "scalar" for kind in SCALE_KINDS[epilogue])

        @cute.jit
        def entry(x: cute.Tensor, wt: cute.Tensor, out: cute.Tensor, scale_a: cute.Tensor, scale_b: cute.Tensor,
                  stream: cuda.CUstream):
            # a one-element scale is read through its pointer in the kernel (it lives on the device: no sync), a
            # vector as a tensor
            if cutlass.const_expr(a_scalar and b_scalar):
                epi = Args(scale_a=scale_a.iterator, scale_b=scale_b.iterator)
            elif cutlass.const_expr(a_scalar):
                epi = Args(scale_a=scale_a.iterator, scale_b=scale_b)
            else:
                epi = Args(scale_a=scale_a, scale_b=scale_b)
            scheduler = TileSchedulerOptions(max_active_clusters=Int32(clusters), max_swizzle_size=Int32(swizzle))
            gemm(x, wt, out, None, epi, scheduler, None, stream, None, None)
    elif LINEAR_TERMS[epilogue] == "rowvec":
        @cute.jit
        def entry(x: cute.Tensor, wt: cute.Tensor, out: cute.Tensor, bias: cute.Tensor, stream: cuda.CUstream):
            epi = Args(mRowVecBroadcast=bias)  # bias: D = acc + bias[n], no C, no alpha/beta
            scheduler = TileSchedulerOptions(max_active_clusters=Int32(clusters), max_swizzle_size=Int32(swizzle))
            gemm(x, wt, out, None, epi, scheduler, None, stream, None, None)
    elif LINEAR_TERMS[epilogue] == "c":
        @cute.jit
        def entry(x: cute.Tensor, wt: cute.Tensor, out: cute.Tensor, residual: cute.Tensor, stream: cuda.CUstream):
            epi = Args()  # residual_add: D = acc + C, the residual read as the GEMM's C (beta absent: 1)
            scheduler = TileSchedulerOptions(max_active_clusters=Int32(clusters), max_swizzle_size=Int32(swizzle))
            gemm(x, wt, out, residual, epi, scheduler, None, stream, None, None)
    else:
        @cute.jit
        def entry(x: cute.Tensor, wt: cute.Tensor, out: cute.Tensor, stream: cuda.CUstream):
            epi = Args()  # identity: D = acc, no C, no alpha/beta, no vectors
            scheduler = TileSchedulerOptions(max_active_clusters=Int32(clusters), max_swizzle_size=Int32(swizzle))
            gemm(x, wt, out, None, epi, scheduler, None, stream, None, None)

    return entry


def promoting_class(base, every: int):
    """`base` (a quack Hopper GEMM class) with an fp8 main loop that promotes every `every` k tiles, not every one.

    quack's slow accumulation waits for each k tile's warpgroup MMAs (wait_group(0)) and adds them into a float32
    sum: the tensor cores drain once per k tile (128 e4m3 of K). Here the MMAs of `every` k tiles accumulate in
    the warpgroup's accumulator (the stages released one tile behind, as in quack's fast mode), and the pipeline
    drains and promotes once per group: `every` = 2 adds 256 products of K between promotions, as our TMA decode
    kernels with 256-element k tiles do (their error matched torch._scaled_mm's default: docs/kernel-sources.md,
    Accumulation). The K % every tiles left over are promoted one by one. Groups are a static unroll inside a
    run-time loop, so no pipeline state changes under a run-time condition.
    """
    import cutlass
    import cutlass.cute as cute
    from cutlass import const_expr
    from cutlass.cute.nvgpu import warpgroup

    class Promoting(base):
        @cute.jit
        def mma(self, ab_pipeline, ab_read_state, mma_fn, acc, acc_slow, k_tile_cnt, warp_group_idx):
            release = ab_read_state.clone()
            acc_slow.fill(0.0)
            groups = k_tile_cnt // every
            for _ in cutlass.range(groups, unroll=1):
                for i in cutlass.range_constexpr(every):
                    ab_pipeline.consumer_wait(ab_read_state)
                    mma_fn(A_idx=ab_read_state.index, B_idx=ab_read_state.index, zero_init=i == 0)
                    ab_read_state.advance()
                    if const_expr(i > 0):
                        # the group's previous k tile is done with its stage
                        warpgroup.wait_group(1)
                        ab_pipeline.consumer_release(release)
                        release.advance()
                warpgroup.wait_group(0)
                ab_pipeline.consumer_release(release)
                release.advance()
                acc_slow.store(acc_slow.load() + acc.load())
            for _ in cutlass.range(k_tile_cnt - groups * every, unroll=1):
                ab_pipeline.consumer_wait(ab_read_state)
                mma_fn(A_idx=ab_read_state.index, B_idx=ab_read_state.index, zero_init=True)
                ab_read_state.advance()
                warpgroup.wait_group(0)
                ab_pipeline.consumer_release(release)
                release.advance()
                acc_slow.store(acc_slow.load() + acc.load())
            if const_expr(self.pingpong):
                # the other warpgroup's main loop may start (quack's own mma does the same here)
                self.pingpong_barrier_arrive(1 - warp_group_idx, stage="mma")
            acc.store(acc_slow.load())
            return ab_read_state

    Promoting.__name__ = f"{base.__name__}Promote{every}"
    return Promoting


# Our gated epilogues' activations (aotgemm.epilogues.Gate.name) -> quack's gated activation of the same function
# (quack.activation.gate_fn_map): swiglu's silu(g) * u; geglu's gelu_tanh_approx(g) * u.
QUACK_GATES = {"silu": "swiglu", "gelu_tanh": "geglu"}


def _quack_gate(epilogue: str) -> str | None:
    """quack's name for gated epilogue `epilogue`'s activation, None for an epilogue that is not gated (or whose
    activation quack has not)."""
    from ...epilogues import epilogue as _epilogue

    gate = _epilogue(epilogue).gate
    return None if gate is None else QUACK_GATES.get(gate.name)


def _gated_class(sm: int, activation: str):
    """quack's gated GEMM class (activation `activation`, quack's name) for SM major `sm` (acc_pair mode, no C,
    bias, alpha or vectors)."""
    _fingerprint_dsl_as_installed_code()
    from quack.epilogue.library import linear_act_mod
    from quack.rounding import RoundingMode

    mod = linear_act_mod(activation, gated=True, has_c=False, has_rowvec=False, has_colvec=False)
    # the mint key quack's EpiMod.gemm derives for this mod: no operands, acc_pair, no packed C, no prepass,
    # round-to-nearest stores, no argument forms, no add-to-output
    return mod._mint((), sm, True, False, (), RoundingMode.RN, (), False)


def _dequantize_class(sm: int, scale_a_kind: str, scale_b_kind: str):
    """quack's GEMM class for SM major `sm` with the fp8 dequantizing epilogue D = acc * scale_a * scale_b.

    Written with quack's epilogue frontend (a function over the float32 accumulator, minted into a GEMM class):
    each scale a one-element scalar ("scalar"), a float32 vector along N ("row") or along M ("col")."""
    _fingerprint_dsl_as_installed_code()
    from quack.epilogue.frontend import gemm_epilogue
    from quack.rounding import RoundingMode

    @gemm_epilogue()
    def dequantize(acc, scale_a, scale_b):
        return {"D": acc * scale_a * scale_b}

    # the mint key quack's EpiMod.gemm derives: these two operands, no acc pairing, no packed C, no prepass,
    # round-to-nearest stores, no argument forms, no add-to-output
    kinds = (("scale_a", scale_a_kind), ("scale_b", scale_b_kind))
    return dequantize._mint(kinds, sm, False, False, (), RoundingMode.RN, (), False)


def _fingerprint_dsl_as_installed_code() -> None:
    """Let quack fingerprint an epilogue when the CuTe DSL is not under site-packages (`pip install --target`).

    quack keys its epilogue functions by their source and, recursively, what they reference, but stops at
    "installed" code, which it recognises only by a site-packages / dist-packages / stdlib path
    (quack.gemm_runtime.identity._is_extern_function). With the DSL elsewhere it recurses into the DSL's
    internals and fails on a ContextVar: "epilogue fn depends on <ContextVar _LOC_TRANSFORMS> ... which has
    no fail-closed semantic key" (seen on the H200 host, where the DSL and quack were installed with
    --target). The key only names quack's own compile cache and minted class, neither of which we use, so
    treating the DSL's directory as installed code changes nothing we compile.
    """
    import cutlass

    import quack.gemm_runtime.identity as identity

    if getattr(identity._is_extern_function, "_aotgemm_dsl_root", None):
        return
    dsl_root = os.path.dirname(os.path.abspath(cutlass.__file__)) + os.sep
    original = identity._is_extern_function

    def is_extern(fn) -> bool:
        code = getattr(fn, "__code__", None)
        if code is not None and os.path.abspath(code.co_filename).startswith(dsl_root):
            return True
        return original(fn)

    is_extern._aotgemm_dsl_root = dsl_root
    identity._is_extern_function = is_extern


def fake_operands(dtype_name: str, epilogue: str = "identity"):
    """The entry point's arguments as fake tensors: x, wt, out (then bias [N] or residual [M, N] for bias and
    residual_add, scale_a and scale_b for a scale epilogue), stream. M, N, K and leading strides dynamic, rows
    16-byte aligned. For a gated epilogue, out's width is its own symbol (N/2: the exported function must not tie
    it to wt's N). fp8 (e4m3) x and W give a bf16 out, scale_a float32 [1] or [M], scale_b float32 [1] or [N]
    (SCALE_KINDS)."""
    import cutlass
    import cutlass.cute as cute
    from cutlass.cute.runtime import make_fake_stream, make_fake_tensor

    el = _dtype(cutlass, dtype_name)
    out_el = cutlass.BFloat16 if el.width == 8 else el  # aotgemm.problem.OUTPUT_DTYPE of an fp8 problem
    div, out_div = 128 // el.width, 128 // out_el.width
    m, n, k = cute.sym_int32(symbol="M"), cute.sym_int32(divisibility=div), cute.sym_int32(divisibility=div)
    x = make_fake_tensor(el, (m, k), (cute.sym_int64(divisibility=div), 1), assumed_align=16)
    wt = make_fake_tensor(el, (k, n), (1, cute.sym_int64(divisibility=div)), assumed_align=16)
    n_out = cute.sym_int32(divisibility=out_div) if _quack_gate(epilogue) else n
    out = make_fake_tensor(out_el, (m, n_out), (cute.sym_int64(divisibility=out_div), 1), assumed_align=16)
    term = LINEAR_TERMS.get(epilogue)
    if term == "rowvec":  # bias [N], in the output's dtype (the dispatch rule aligns every operand to 16 bytes)
        return x, wt, out, make_fake_tensor(out_el, (n,), (1,), assumed_align=16), make_fake_stream()
    if term == "c":  # the residual [M, N], rows of their own stride (N where M > 1: dispatch_rule.operand_contiguous)
        residual = make_fake_tensor(out_el, (m, n), (cute.sym_int64(divisibility=out_div), 1), assumed_align=16)
        return x, wt, out, residual, make_fake_stream()
    if epilogue not in SCALE_KINDS:
        return x, wt, out, make_fake_stream()
    # float32 scales, only 4-byte aligned: quack reads a scale vector one element per copy
    a_kind, b_kind = SCALE_KINDS[epilogue]
    scale_a = make_fake_tensor(cutlass.Float32, (m if a_kind == "col" else 1,), (1,), assumed_align=4)
    scale_b = make_fake_tensor(cutlass.Float32, (n if b_kind == "row" else 1,), (1,), assumed_align=4)
    return x, wt, out, scale_a, scale_b, make_fake_stream()


def compile_quack(design: dict, symbol: str, object_path: str) -> None:
    """Compile `design` for its arch and export it as `symbol` to `object_path` (in a process for quack only)."""
    for var in ARCH_ENV:
        if os.environ.get(var, design["arch"]) != design["arch"]:
            # quack caches what it reads from these: one process compiles for one architecture
            raise ValueError(f"this process compiles for {os.environ[var]}, not {design['arch']}")
        os.environ[var] = design["arch"]
    import cutlass.cute as cute

    entry = build_entry(design)
    options = (cute.GPUArch(design["arch"]), cute.EnableTVMFFI(True))
    compiled = cute.compile[options](entry, *fake_operands(design["dtype"], design["epilogue"]))
    compiled.export_to_c(object_path, function_name=symbol)


def serve() -> None:
    """Compile requests from stdin, one JSON line each ({"design", "symbol", "object_path"}), until it closes.

    Replies go to the original stdout, one JSON line per request ({"ok": true} or {"ok": false, "error"});
    anything else printed (the DSL's warnings) is sent to stderr, so it cannot corrupt a reply.
    """
    import traceback

    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    while line := sys.stdin.readline():
        req = json.loads(line)
        try:
            compile_quack(req["design"], req["symbol"], req["object_path"])
            reply = {"ok": True}
        except Exception:  # noqa: BLE001  (every failure goes back to the requester, which raises CompileError)
            reply = {"ok": False, "error": traceback.format_exc()[-4000:]}
        replies.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    elif len(sys.argv) == 4:
        compile_quack(json.loads(sys.argv[1]), sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: python -m aotgemm.compiler.sources.quack_kernels (--serve | DESIGN_JSON SYMBOL OBJECT_PATH)")
