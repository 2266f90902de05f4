"""The output stage of the decode kernels (decode_kernels, decode_simt): fused epilogues.

Kept apart from the main loops (operand types, k steps, MMA) so the two
concerns change independently. Its code is compiled into the kernels, so it
is one of DecodeSource's kernel files (its text keys their cache entries).

* Which epilogues the kernels fuse per input dtype (`EPILOGUES`,
  aotgemm.epilogues' names) and how a design dict records them: key
  "epilogue", absent for identity, and key "dtype", absent for bf16 (so bf16
  identity designs and their cache keys are what they were before); never
  the "epi" key, which names the cluster reduction. fp8 (e4m3, W8A8) designs
  dequantise through a scale epilogue, and only through one: scale_tensor
  (scale_a [1], scale_b [1]), scale_row (scale_a [1], scale_b [N]) or
  scale_rowwise (scale_a [M], one per token, scale_b [N]), all float32.
* `weight_row`: which weight row a CTA's logical row reads. A gated epilogue
  (swiglu, geglu: W = [gate; up] along N) gives a CTA gate rows and then their
  matching up rows.
* `push_slot`: where the cluster's split-K partial of a row is reduced: with
  a gated epilogue each CTA of a cluster owns matching gate/up pairs.
* `column_factor` and `epilogue_value`: the epilogue in fp32, rounded once to
  bf16 by the caller (cuBLAS + torch rounds the GEMM's output first, then the
  epilogue's); what it reads per output column whatever the token (the
  dequantisation factor scale_a * scale_b[col]; scale_b[col] for
  scale_rowwise, whose scale_a[tok] is read per token) is read once, before
  the token loop.
* `jit_launcher` and `fake_operands`: the exported signature
  fn(x, wt, out, *the epilogue's operands, stream), from the operands the
  epilogue registry lists (`operand_specs`).

Imports cutlass only inside the functions the kernels call while tracing.
"""

from ...epilogues import BIAS, FLOAT32, GEGLU, IDENTITY, RESIDUAL_ADD, SCALE_ROW, SCALE_ROWWISE, SCALE_TENSOR, SWIGLU
from ...epilogues import epilogue as _epilogue

BF16 = "bfloat16"
FP8 = "float8_e4m3fn"

# input dtype -> the epilogues these kernels fuse for it (aotgemm.epilogues' names)
EPILOGUES = {BF16: (IDENTITY, BIAS, RESIDUAL_ADD, SWIGLU, GEGLU), FP8: (SCALE_TENSOR, SCALE_ROW, SCALE_ROWWISE)}


def is_gated(name: str | None) -> bool:
    """Whether epilogue `name` (a design's "epilogue" key; None: identity) is a gated one: W = [gate; up] along N,
    each CTA holding both halves of its output columns (weight_row, push_slot), the output N/2 wide."""
    return name is not None and _epilogue(name).gate is not None


def validate_epilogue(d: dict) -> None:
    dtype = d.get("dtype", BF16)
    if dtype not in EPILOGUES or "dtype" in d and dtype == BF16:
        raise ValueError(f"dtype {dtype!r}: decode designs are bf16 (no 'dtype' key) or {FP8!r}")
    name = d.get("epilogue", IDENTITY)
    if "epilogue" in d and name == IDENTITY:
        raise ValueError("identity designs carry no 'epilogue' key (it would change their cache keys)")
    if name not in EPILOGUES[dtype]:
        raise ValueError(f"epilogue {name!r} is not one the decode kernels fuse for dtype {dtype}; they fuse "
                         f"{', '.join(EPILOGUES[dtype])}")
    if is_gated(name) and d["n"] % 2:
        raise ValueError(f"{name}: W is [gate; up] stacked along N, so N must be even, got n={d['n']}")


def with_epilogue(d: dict, name: str, dtype: str = BF16) -> dict:
    if dtype != BF16:
        d["dtype"] = dtype
    if name != IDENTITY:
        d["epilogue"] = name
    return d


def operand_specs(name: str) -> tuple:
    """((operand, shape dims, dtype), ...) of epilogue `name`, in call order (the registry's); dims are
    "m", "n", "n_out" or "1"; dtype FLOAT32 or OUTPUT (the output's: bf16)."""
    e = _epilogue(name)
    return tuple((o, e.operand_shapes[o], e.operand_dtypes.get(o, "output")) for o in e.operands)


def output_n(name: str, n: int) -> int:
    """Output columns of epilogue `name` for a weight of n rows (the registry's rule)."""
    return _epilogue(name).output_n(n)


# ---------------------------------------------------------------------------
# the output stage: row mapping and fused epilogue
#
# These take plain ints or DSL integers alike (the kernels call them while
# tracing, with run-time indices), so they use arithmetic, not branches.


def weight_row(bn, local, rows: int, n: int, gated: bool):
    """The weight row of CTA bn's logical row `local` (0 <= local < rows).

    Plain: bn*rows + local. gated (W = [gate; up] along N): the first rows/2
    logical rows are gate rows bn*rows/2.., the second half their matching up
    rows N/2 + bn*rows/2.., so one CTA holds both factors of its outputs.
    """
    if not gated:
        return bn * rows + local
    half = rows // 2
    upper = local // half  # 0: a gate row, 1: an up row
    return bn * half + local + upper * (n // 2 - half)


def push_slot(r, rows: int, part: int, gated: bool):
    """(owning CTA of the cluster, slot in its part) of the CTA's logical row r.

    Plain: CTA q owns rows [q*part, (q+1)*part). gated: CTA q owns gate rows
    [q*part/2, (q+1)*part/2) in slots 0..part/2 and their up rows (rows/2 on)
    in slots part/2..part, so it can form act(gate) * up itself.
    """
    if not gated:
        return r // part, r % part
    half, hp = rows // 2, part // 2
    upper = r // half
    r0 = r - upper * half
    return r0 // hp, upper * hp + r0 % hp


def column_factor(name: str, col, ep):
    """What epilogue `name` reads per output column whatever the token, once before the token
    loop (fp32): the dequantisation factor scale_a * scale_b[col] (scale_b[0] per tensor;
    scale_b[col] alone for scale_rowwise, whose scale_a is per token); None for the others.
    ep: the epilogue's operands, in call order."""
    if name == SCALE_ROW:
        return ep[0][0] * ep[1][col]
    if name == SCALE_ROWWISE:
        return ep[1][col]
    if name == SCALE_TENSOR:
        return ep[0][0] * ep[1][0]
    return None


def uniform_factor(name: str, ep):
    """column_factor's value where it is the same for every column (scale_tensor: scale_a[0] * scale_b[0]), for an
    output stage to read once before its loop; None where it depends on the column. Read inside a loop that also
    stores outputs, the scales are loaded again for every column: the compiler cannot tell them from the stores.
    On the H200 that output loop was a third of an e4m3 max_m 128 kernel's warp samples at M = 128 (session 30)."""
    return ep[0][0] * ep[1][0] if name == SCALE_TENSOR else None


# Each gate activation as g * sigmoid(z(g)) = g / (1 + exp(-z(g))), one exp either way: silu is z = g; gelu's tanh
# form, 0.5 g (1 + tanh(y)) with y = sqrt(2/pi) (g + 0.044715 g^3), is z = 2y, since 0.5 (1 + tanh(y)) =
# sigmoid(2y). Large |g| saturate correctly: exp(-z) -> inf gives -0, exp(-z) -> 0 gives g. By Gate.name (the
# registry's); a gated epilogue whose gate is missing here fails at compile time with a KeyError naming it.
_GATE_EXPONENT = {  # name -> z(g, F32), F32 the DSL's float type (constants as fp32, not Python floats)
    "silu": lambda g, F32: g,
    # 2 sqrt(2/pi) (g + 0.044715 g^3) = g (1.5957691 + 0.0713548 g^2)
    "gelu_tanh": lambda g, F32: g * (F32(1.5957691216057308) + F32(0.07135481627260025) * g * g),
}


def epilogue_value(name: str, acc, tok, col, ep, colf=None):
    """The fp32 output value of epilogue `name` at (token, output column).

    acc: the fp32 sums, (gate, up) for a gated epilogue, (sum,) otherwise; ep: the
    epilogue's operands in call order (bias [N]; residual [M, N]; scale_a,
    scale_b); colf: column_factor's value for this column; tok: the token
    (row of x and out), in [0, M). All in fp32, then
    the caller rounds once to bf16; cuBLAS + torch rounds the GEMM to bf16
    first and the epilogue's result again, so the fused output is the closer
    one to the float32 reference.
    """
    import cutlass
    import cutlass.cute as cute

    F32 = cutlass.Float32
    if is_gated(name):
        g, u = acc
        return g / (F32(1.0) + cute.math.exp(-_GATE_EXPONENT[_epilogue(name).gate.name](g, F32))) * u
    v = acc[0]
    if name == BIAS:
        v = v + ep[0][col].to(F32)
    elif name == RESIDUAL_ADD:
        v = v + ep[0][tok, col].to(F32)
    elif name in (SCALE_TENSOR, SCALE_ROW):
        v = v * colf  # dequantise once, on the fp32 sum
    elif name == SCALE_ROWWISE:
        v = v * ep[0][tok] * colf  # _scaled_mm's order: sum * scale_a[tok] * scale_b[col]
    return v


def jit_launcher(launch_body, name: str):
    """The @cute.jit entry point fn(x, wt, out, *the epilogue's operands, stream) around
    launch_body(x, wt, out, ep, stream), ep the tuple of those operands (empty for none)."""
    import cutlass.cute as cute

    count = len(operand_specs(name))
    if count == 0:
        @cute.jit
        def launch(x: cute.Tensor, wt: cute.Tensor, out: cute.Tensor, stream):
            launch_body(x, wt, out, (), stream)
    elif count == 1:
        @cute.jit
        def launch(x: cute.Tensor, wt: cute.Tensor, out: cute.Tensor, ep0: cute.Tensor, stream):
            launch_body(x, wt, out, (ep0,), stream)
    elif count == 2:
        @cute.jit
        def launch(x: cute.Tensor, wt: cute.Tensor, out: cute.Tensor, ep0: cute.Tensor, ep1: cute.Tensor,
                   stream):
            launch_body(x, wt, out, (ep0, ep1), stream)
    else:
        raise ValueError(f"epilogue {name!r} has {count} operands; the decode launcher takes at most 2")
    return launch


def fake_operands(name: str, sym_m, n: int, n_out: int) -> list:
    """Compile-time stand-ins for epilogue `name`'s operands (row-major, registry order), read
    one element at a time by the output stage."""
    import math

    import cutlass
    from cutlass.cute.runtime import make_fake_tensor

    extents = {"m": sym_m, "n": n, "n_out": n_out, "1": 1}
    fakes = []
    for _, dims, dtype in operand_specs(name):
        shape = tuple(extents[dim] for dim in dims)
        strides = tuple(math.prod(shape[i + 1:]) for i in range(len(shape)))
        el = cutlass.Float32 if dtype == FLOAT32 else cutlass.BFloat16
        fakes.append(make_fake_tensor(el, shape, strides, assumed_align=el.width // 8))
    return fakes
