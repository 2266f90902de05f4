"""Inline PTX for what the CuTe DSL's copy atoms do not express: an L2 cache policy on a cp.async (the DSL
takes one on TMA copies only). Imports cutlass: import this module only inside a kernel's build function."""

from cutlass import Int32, Int64
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
