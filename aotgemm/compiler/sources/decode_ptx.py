"""Inline PTX the decode kernels share, for what the CuTe DSL does not express: an L2 cache policy on a cp.async
(the DSL takes one on TMA copies only), fp32 loads and stores in a cluster peer's shared memory, a 16-byte
fp32 load from shared memory, and an 8-byte store of 4 outputs rounded to bf16. Imports cutlass: import this module
only inside a kernel's build function."""

from cutlass import Float32, Int32, Int64
from cutlass._mlir import ir
from cutlass._mlir.dialects import llvm
from cutlass.cutlass_dsl import dsl_user_op


@dsl_user_op
def evict_first_policy(*, loc=None, ip=None) -> Int64:
    """An L2 cache policy under which the lines a load brings in are evicted first: for weights, which a
    decode GEMM reads once, so that they do not push out x and the outputs."""
    v = llvm.inline_asm(ir.IntegerType.get_signless(64), [], "createpolicy.fractional.L2::evict_first.b64 $0, 1.0;",
                        "=l", has_side_effects=True, loc=loc, ip=ip)
    return Int64(v)


@dsl_user_op
def cp_async_16b_read_once(smem_addr: Int32, addr: Int64, policy: Int64, *, loc=None, ip=None) -> None:
    """cp.async of 16 bytes from global address `addr` to shared address `smem_addr`, through L2 only (.cg),
    with L2 cache policy `policy`."""
    llvm.inline_asm(None, [smem_addr.ir_value(loc=loc, ip=ip), addr.ir_value(loc=loc, ip=ip),
                           policy.ir_value(loc=loc, ip=ip)],
                    "cp.async.cg.shared.global.L2::cache_hint [$0], [$1], 16, $2;", "r,l,l",
                    has_side_effects=True, loc=loc, ip=ip)


@dsl_user_op
def ld_dsmem_f32(addr: Int32, *, loc=None, ip=None) -> Float32:
    """ld.shared::cluster of one fp32 at a 32-bit DSMEM address (a mapa result)."""
    v = llvm.inline_asm(ir.F32Type.get(), [addr.ir_value(loc=loc, ip=ip)], "ld.shared::cluster.f32 $0, [$1];", "=f,r",
                        has_side_effects=True, loc=loc, ip=ip)
    return Float32(v)


@dsl_user_op
def st_dsmem_f32(addr: Int32, val: Float32, *, loc=None, ip=None) -> None:
    """st.shared::cluster of one fp32 at a 32-bit DSMEM address (a mapa result)."""
    llvm.inline_asm(None, [addr.ir_value(loc=loc, ip=ip), val.ir_value(loc=loc, ip=ip)],
                    "st.shared::cluster.f32 [$0], $1;", "r,f", has_side_effects=True, loc=loc, ip=ip)


@dsl_user_op
def ld_shared_v4_f32(addr: Int32, *, loc=None, ip=None) -> tuple:
    """4 fp32 at a 16-byte aligned 32-bit shared address of this CTA, in one load."""
    f32 = Float32.mlir_type
    res = llvm.inline_asm(llvm.StructType.get_literal([f32] * 4), [addr.ir_value(loc=loc, ip=ip)],
                          "ld.shared.v4.f32 {$0, $1, $2, $3}, [$4];", "=f,=f,=f,=f,r",
                          has_side_effects=True, loc=loc, ip=ip)
    return tuple(Float32(llvm.extractvalue(f32, res, [i], loc=loc, ip=ip)) for i in range(4))


@dsl_user_op
def st_global_v4_bf16(addr: Int64, a: Float32, b: Float32, c: Float32, d: Float32, *, loc=None, ip=None) -> None:
    """a, b, c, d rounded to bf16 (to nearest even, as Float32.to(BFloat16)) and stored in that order at an 8-byte
    aligned global address, in one 8-byte store. cvt.rn.bf16x2.f32 puts its first source in the upper half."""
    llvm.inline_asm(None, [addr.ir_value(loc=loc, ip=ip)] + [v.ir_value(loc=loc, ip=ip) for v in (a, b, c, d)],
                    "{ .reg .b32 lo, hi; cvt.rn.bf16x2.f32 lo, $2, $1; cvt.rn.bf16x2.f32 hi, $4, $3; "
                    "st.global.v2.b32 [$0], {lo, hi}; }", "l,f,f,f,f", has_side_effects=True, loc=loc, ip=ip)
