"""The output stage of the decode kernels (decode_kernels, decode_simt): fused epilogues.

Kept apart from the main loops (operand types, k steps, MMA) so the two
concerns change independently. Its code is compiled into the kernels, so it
is one of DecodeSource's kernel files (its text keys their cache entries).

* Which epilogues the kernels fuse (`EPILOGUES`, aotgemm.epilogues' names) and
  how a design dict records one: key "epilogue", absent for identity (so
  identity designs and their cache keys are what they were before), never
  the "epi" key, which names the cluster reduction.
* `weight_row`: which weight row a CTA's logical row reads. swiglu (W = [gate;
  up] along N) gives a CTA gate rows and then their matching up rows.
* `push_slot`: where the cluster's split-K partial of a row is reduced: with
  swiglu each CTA of a cluster owns matching gate/up pairs.
* `epilogue_value`: the epilogue in fp32, rounded once to bf16 by the caller
  (cuBLAS + torch rounds the GEMM's output first, then the epilogue's).
* `jit_launcher`: the exported signature fn(x, wt, out, *operands, stream).

Imports cutlass only inside the functions the kernels call while tracing.
"""

from ...epilogues import BIAS, IDENTITY, RESIDUAL_ADD, SWIGLU
from ...epilogues import epilogue as _epilogue

# The epilogues these kernels fuse (aotgemm.epilogues' names); identity designs carry no "epilogue" key.
EPILOGUES = (IDENTITY, BIAS, RESIDUAL_ADD, SWIGLU)


def validate_epilogue(d: dict) -> None:
    name = d.get("epilogue", IDENTITY)
    if name not in EPILOGUES:
        raise ValueError(f"epilogue {name!r} is not one the decode kernels fuse; they fuse {', '.join(EPILOGUES)}")
    if "epilogue" in d and name == IDENTITY:
        raise ValueError("identity designs carry no 'epilogue' key (it would change their cache keys)")
    if name == SWIGLU and d["n"] % 2:
        raise ValueError(f"swiglu: W is [gate; up] stacked along N, so N must be even, got n={d['n']}")


def with_epilogue(d: dict, name: str) -> dict:
    if name != IDENTITY:
        d["epilogue"] = name
    return d


# ---------------------------------------------------------------------------
# the output stage: row mapping and fused epilogue
#
# These take plain ints or DSL integers alike (the kernels call them while
# tracing, with run-time indices), so they use arithmetic, not branches.


def weight_row(bn, local, rows: int, n: int, swiglu: bool):
    """The weight row of CTA bn's logical row `local` (0 <= local < rows).

    Plain: bn*rows + local. swiglu (W = [gate; up] along N): the first rows/2
    logical rows are gate rows bn*rows/2.., the second half their matching up
    rows N/2 + bn*rows/2.., so one CTA holds both factors of its outputs.
    """
    if not swiglu:
        return bn * rows + local
    half = rows // 2
    upper = local // half  # 0: a gate row, 1: an up row
    return bn * half + local + upper * (n // 2 - half)


def push_slot(r, rows: int, part: int, swiglu: bool):
    """(owning CTA of the cluster, slot in its part) of the CTA's logical row r.

    Plain: CTA q owns rows [q*part, (q+1)*part). swiglu: CTA q owns gate rows
    [q*part/2, (q+1)*part/2) in slots 0..part/2 and their up rows (rows/2 on)
    in slots part/2..part, so it can form silu(gate) * up itself.
    """
    if not swiglu:
        return r // part, r % part
    half, hp = rows // 2, part // 2
    upper = r // half
    r0 = r - upper * half
    return r0 // hp, upper * hp + r0 % hp


def epilogue_value(name: str, acc, tok, col, ep):
    """The fp32 output value of epilogue `name` at (token, output column).

    acc: the fp32 sums, (gate, up) for swiglu, (sum,) otherwise; ep: the
    epilogue's operand (bias [N], residual [M, N]). All in fp32, then the
    caller rounds once to bf16; cuBLAS + torch rounds the GEMM to bf16 first
    and the epilogue's result again, so the fused output is the closer one to
    the float32 reference.
    """
    import cutlass
    import cutlass.cute as cute

    F32 = cutlass.Float32
    if name == SWIGLU:
        g, u = acc
        return g / (F32(1.0) + cute.math.exp(-g)) * u  # silu(g) * u
    v = acc[0]
    if name == BIAS:
        v = v + ep[col].to(F32)
    elif name == RESIDUAL_ADD:
        v = v + ep[tok, col].to(F32)
    return v


def epilogue_operand_count(name: str) -> int:
    return len(_epilogue(name).operands)


def jit_launcher(launch_body, name: str):
    """The @cute.jit entry point fn(x, wt, out, *the epilogue's operands, stream) around
    launch_body(x, wt, out, ep, stream); `ep` is `out` (unread) for epilogues without operands."""
    import cutlass.cute as cute

    if epilogue_operand_count(name) == 0:
        @cute.jit
        def launch(x: cute.Tensor, wt: cute.Tensor, out: cute.Tensor, stream):
            launch_body(x, wt, out, out, stream)
    else:
        @cute.jit
        def launch(x: cute.Tensor, wt: cute.Tensor, out: cute.Tensor, ep: cute.Tensor, stream):
            launch_body(x, wt, out, ep, stream)
    return launch
