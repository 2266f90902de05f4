"""Epilogues: what a GEMM kernel does to x @ W^T before it writes the output.

One `Epilogue` per kind, registered once here. Each says which extra operands
the kernel takes (in call order, after `out`: see aotgemm.problem), how wide
the output is, the float32 reference a kernel is checked against, and the
unfused form (a plain GEMM's output, then torch ops) that the runtime falls
back to and the tuner times a fused kernel against.

Scale epilogues (`scale_tensor`, `scale_row`, `scale_rowwise`) are how
quantized (fp8) GEMMs dequantize: out = acc * scale_a * scale_b, with float32
scales: one each (per tensor); scale_b per output channel; or scale_a per
token too (torch._scaled_mm's row-wise form, torchao's PerRow). They are the
only epilogues of fp8 problems, and fp8 problems the only users of them
(aotgemm.problem.GemmProblem checks both ways). Their stock path is
`torch._scaled_mm`, not a plain GEMM followed by torch ops.

`scale_mx` (MXFP8) is the block-scaled one: one float8_e8m0fnu (power of two)
scale per 32 elements along K of x and of W, in the swizzled layout cuBLAS
and torch._scaled_mm take (`mx_scale_offset`). Those scales multiply before
the dot product, so it has no `apply` on the accumulator: its reference
dequantizes x and W block by block (`Epilogue.reference_fn`). Its kernels
exist for Blackwell only (`archs`).

Gated epilogues (`swiglu`, `geglu`) take W = [gate; up] stacked along N and
write act(x Wg^T) * (x Wu^T), N/2 wide; they differ only in their `Gate`, the
activation on the gate half, named as torch's aten op names it. Everything
downstream asks `Epilogue.gate`, never the epilogue's name: the runtime's op
(aotgemm_linear_<name>), its C shim and unfused form (the generated header
names the aten op), the AOTInductor rewrite's pattern, the transformers MLP
fusion, `aotgemm manifest from-hf` and the kernels' output stage.

Adding an epilogue is one `register(Epilogue(...))` call (plus kernels that
implement it); the bundle format, the dispatch key and the shim take its
name as data. A gated one with a new activation is a `Gate` here, its
formula in the kernel sources' output stage, and its aten name already
reaches the C shim.

Imports nothing heavy at module level: torch is imported inside the
functions that need tensors.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import UnsupportedProblem
from ..problem import FLOAT8_E8M0 as E8M0

IDENTITY = "identity"
BIAS = "bias"
SWIGLU = "swiglu"
GEGLU = "geglu"
RESIDUAL_ADD = "residual_add"
SCALE_TENSOR = "scale_tensor"
SCALE_ROW = "scale_row"
SCALE_ROWWISE = "scale_rowwise"
SCALE_MX = "scale_mx"
# An operand dtype meaning "the problem's output dtype" (aotgemm.problem.OUTPUT_DTYPE): bias, residual.
OUTPUT = "output"
FLOAT32 = "float32"
# MXFP8: elements of K that share one e8m0 scale; the swizzled layout's row and K-block tiles (mx_scale_offset).
MX_BLOCK = 32
_MX_ROW_TILE, _MX_K_TILE = 128, 4


@dataclass(frozen=True)
class Gate:
    """The activation a gated epilogue applies to the gate half: torch's aten op (`aten`, e.g. "aten::gelu") with
    its string argument `approximate` where it takes one ("tanh"), as an exported graph holds it and as the C
    shim calls it through the dispatcher. `name` is how kernel sources look up their own formula for it."""

    name: str
    aten: str
    approximate: str | None = None

    def __call__(self, t):
        return self.function(t)

    @functools.cached_property
    def function(self):
        """The activation as a torch function of one tensor: torch.nn.functional's function of the aten op's name,
        its `approximate` bound (F.silu, F.gelu: 0.9 us a call on the host, where calling the OpOverload takes
        2.2; the unfused path of a miss calls it per call)."""
        import torch

        fn = getattr(torch.nn.functional, self.aten.split("::")[1])
        return functools.partial(fn, approximate=self.approximate) if self.approximate else fn

    def aten_call(self):
        """(the OpOverload, its kwargs): how an exported graph calls this activation."""
        import torch

        namespace, op = self.aten.split("::")
        return (getattr(getattr(torch.ops, namespace), op).default,
                {"approximate": self.approximate} if self.approximate else {})

    def matches(self, target, kwargs: dict) -> bool:
        """Whether an FX node calling `target` with `kwargs` computes this activation."""
        op, _ = self.aten_call()
        return target is op and kwargs.get("approximate", "none") == (self.approximate or "none")


SILU = Gate("silu", "aten::silu")
GELU_TANH = Gate("gelu_tanh", "aten::gelu", "tanh")


@dataclass(frozen=True)
class Epilogue:
    name: str
    # Extra kernel operands, in call order; each is described in `operand_shapes`.
    operands: tuple[str, ...]
    # operand name -> shape in terms of (m, n) of the GEMM: ("n",) or ("m", "n_out") or ("1",) ...
    operand_shapes: dict[str, tuple[str, ...]]
    # Output columns for a weight of N rows.
    output_n: Callable[[int], int]
    # apply(acc, **operands) -> output, on the GEMM result `acc` = x @ W^T (any dtype):
    # the reference (on float32 acc) and the unfused fallback (on the plain GEMM's output).
    apply: Callable[..., Any]
    # A gated epilogue's activation on the gate half (W = [gate; up] along N, out = gate(x Wg^T) * (x Wu^T),
    # N/2 wide); None for the others.
    gate: Gate | None = None
    # operand name -> its dtype: FLOAT32, or OUTPUT (the problem's output dtype), the default.
    operand_dtypes: dict[str, str] = field(default_factory=dict)
    # Operands that must be positive (scales); random ones are drawn from [0.5, 1.5).
    positive: tuple[str, ...] = ()
    # For a scale epilogue, the `scales` value of a manifest that selects it ("tensor", "row", "rowwise");
    # else None.
    scales: str | None = None
    # Whether the AOTInductor rewrite may fold this epilogue under a torch.cond on M (aotgemm/aoti/guard.py),
    # i.e. where its kernels serve only some of the M the package admits. False for residual_add: in the
    # cond's branch for the other M, the add stays next to its GEMM, where plain Inductor merges it into
    # the kernel after (the decoder's next RMSNorm), so that branch would run one more kernel per call.
    # Such an epilogue is folded only where its kernels serve every M the graph admits.
    guard_on_m: bool = True
    # linear_unfused(x, w, **operands): how torch serves x @ W^T + this epilogue when no kernel does, if
    # not apply(F.linear(x, w)) (swiglu: the two halves' GEMMs into contiguous outputs, as the unfused MLP).
    torch_linear: Callable[..., Any] | None = None
    # reference_fn(x, w, **operands) -> float32 output, for an epilogue whose operands act before the dot
    # product (scale_mx's block scales multiply x and W per 32 elements of K), which `apply` on the
    # accumulator cannot express; None: the reference is apply(x @ W^T).
    reference_fn: Callable[..., Any] | None = None
    # The GPU architectures that have kernels for this epilogue (empty: every one we build for). scale_mx:
    # sm_100a only, its MMA reads block scales in hardware (Hopper has no such instruction); a build for
    # another architecture is refused up front (aotgemm.compiler.plan.check_archs).
    archs: tuple[str, ...] = ()

    def operand_dtype(self, name: str, output_dtype: str) -> str:
        """The dtype name of operand `name` in a problem whose output is `output_dtype`."""
        d = self.operand_dtypes.get(name, OUTPUT)
        return output_dtype if d == OUTPUT else d

    def reference(self, x, w, **operands):
        """float32 reference: epilogue(x @ W^T) computed on upcast operands (reference_fn where given)."""
        if self.reference_fn is not None:
            return self.reference_fn(x, w, **operands)
        acc = x.float() @ w.float().t()
        return self.apply(acc, **{k: v.float() for k, v in operands.items()})

    def unfused(self, plain_out, **operands):
        """The epilogue applied by torch to a plain GEMM's output (the cuBLAS path)."""
        return self.apply(plain_out, **operands)

    def linear_unfused(self, x, w, linear=None, **operands):
        """x @ W^T and this epilogue computed by cuBLAS and torch (a call no kernel serves). `linear(x, w)`
        computes the GEMMs (default F.linear; the compiled fused MLP passes aotgemm_linear's)."""
        if self.torch_linear is not None:
            return self.torch_linear(x, w, linear=linear, **operands)
        import torch

        return self.apply((linear or torch.nn.functional.linear)(x, w), **operands)

    def stock(self, x, w, out, **operands) -> None:
        """A scale epilogue's stock path, written into `out`: torch._scaled_mm (`scaled_mm`), what the tuner
        and bench time fp8 kernels against. (The other epilogues' baseline is timing.cublas_call's: cuBLAS
        and the epilogue as Inductor compiles it.)"""
        if self.scales is None:
            raise ValueError(f"epilogue {self.name!r} is not a scale epilogue; its baseline is timing.cublas_call")
        scale_a, scale_b = (operands[o] for o in self.operands)  # (scale_a, scale_b) or scale_mx's block scales
        scaled_mm(x, w, scale_a, scale_b, out=out)


_REGISTRY: dict[str, Epilogue] = {}


def register(e: Epilogue) -> Epilogue:
    if e.name in _REGISTRY:
        raise ValueError(f"epilogue {e.name!r} is registered twice")
    if set(e.operands) != set(e.operand_shapes):
        raise ValueError(f"epilogue {e.name!r}: operand_shapes must describe exactly its operands")
    if not set(e.operand_dtypes) | set(e.positive) <= set(e.operands):
        raise ValueError(f"epilogue {e.name!r}: operand_dtypes and positive may name only its operands")
    _REGISTRY[e.name] = e
    _FUSED_OP.clear()
    return e


def epilogue(name: str) -> Epilogue:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnsupportedProblem(
            f"unknown epilogue {name!r}; known epilogues: {', '.join(sorted(_REGISTRY))}") from None


def names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def indexed(shape: tuple[str, ...]) -> bool:
    """Whether a kernel indexes an operand of declared `shape` (Epilogue.operand_shapes): one of M or N
    elements, or [M, N]; not a single value ("1",). The dispatch rule checks such an operand's layout and
    alignment (aotgemm.dispatch_rule.operand_contiguous; the C shim through aotgemm_epilogue_indexes)."""
    return any(d != "1" for d in shape)


def operand_extents(m: int, n: int, n_out: int, k: int) -> dict[str, int]:
    """The extent of each name Epilogue.operand_shapes uses, for a GEMM of M rows, N weight rows, n_out output
    columns and K: "m", "n", "n_out", "1", and scale_mx's flat block-scale counts "mx_m" (x's) and "mx_n" (W's)."""
    return {"m": m, "n": n, "n_out": n_out, "1": 1, "mx_m": mx_scale_count(m, k), "mx_n": mx_scale_count(n, k)}


def for_scales(scales: str) -> Epilogue:
    """The scale epilogue a manifest's `scales = "tensor" | "row" | "rowwise" | "mx"` selects."""
    for e in _REGISTRY.values():
        if e.scales == scales:
            return e
    raise UnsupportedProblem(f"unknown scales {scales!r}; known: {', '.join(scale_kinds())}")


def scale_kinds() -> tuple[str, ...]:
    """The `scales` values manifests may name ("row", "tensor")."""
    return tuple(sorted(e.scales for e in _REGISTRY.values() if e.scales is not None))


def _identity(acc):
    return acc


def _bias(acc, bias):
    return acc + bias


def gated() -> tuple[str, ...]:
    """The gated epilogues' names (Epilogue.gate set), sorted."""
    return tuple(sorted(n for n, e in _REGISTRY.items() if e.gate is not None))


def fused_ops() -> dict[str, str]:
    """The runtime's fused-epilogue ops (aotgemm.runtime.epilogue_ops), op name -> the epilogue it serves:
    `aotgemm_linear_<name>(x, weight)` for each gated epilogue and `aotgemm_linear_residual(x, weight,
    residual)`. The names repeat the namespace for their AOTInductor C shims (aotgemm/aoti/op.py says why),
    which libaotgemm_aoti exports under the same names (the generated header's AOTGEMM_GATED_EPILOGUES)."""
    return {**{f"aotgemm_linear_{name}": name for name in gated()}, "aotgemm_linear_residual": RESIDUAL_ADD}


_FUSED_OP: dict[str, str] = {}  # epilogue -> its op; filled on first use, emptied by register()


def fused_op(name: str) -> str:
    """The fused-epilogue op (fused_ops) that serves epilogue `name` (a dict lookup: the eager path asks per call)."""
    if not _FUSED_OP:
        _FUSED_OP.update({e: op for op, e in fused_ops().items()})
    return _FUSED_OP[name]


def _gated_apply(gate: Gate):
    def apply(acc):
        # W is [gate; up] stacked along N (vLLM's merged gate_up layout): out = gate(gate rows) * up, N/2 wide
        g, up = acc.chunk(2, dim=-1)
        return gate.function(g) * up

    return apply


def _residual_add(acc, residual):
    return acc + residual


def _scale(acc, scale_a, scale_b):
    # scale_a [1]; scale_b [1] (scale_tensor) or [N] (scale_row, one per output column): both broadcast
    return acc * scale_a * scale_b


def mx_k_blocks(k: int) -> int:
    """MXFP8 scales per row of K elements: ceil(K / 32)."""
    return -(-k // MX_BLOCK)


def mx_scale_count(rows: int, k: int) -> int:
    """Elements of a swizzled MXFP8 scale tensor for `rows` rows of K elements: round_up(rows, 128) *
    round_up(ceil(K / 32), 4) (the padding belongs to the layout; cuBLAS and torch._scaled_mm check this count)."""
    k_blocks = mx_k_blocks(k)
    return -(-rows // _MX_ROW_TILE) * _MX_ROW_TILE * (-(-k_blocks // _MX_K_TILE) * _MX_K_TILE)


def mx_scale_offset(row, block, k_blocks: int):
    """Where the scale of row `row`, K-block `block` (elements block*32 .. +31) lies in a swizzled scale tensor
    of `k_blocks` K-blocks per row: the one statement of the layout (cuBLAS's SWIZZLE_32_4_4, torch's
    `to_blocked`, the kernel's Swizzle32x4x4). Tiles of 128 rows x 4 K-blocks are 512 contiguous bytes, row
    tiles outermost; in a tile, row r sits at (r % 32) * 16 + (r // 32) * 4, its 4 K-blocks adjacent. Works on
    ints and on integer tensors alike."""
    tiles_k = -(-k_blocks // _MX_K_TILE)
    return ((row % 32) * 16 + (row // 32 % 4) * 4 + block % _MX_K_TILE + 512 * (block // _MX_K_TILE)
            + 512 * tiles_k * (row // _MX_ROW_TILE))


def _mx_offsets(rows: int, k: int):
    import torch

    k_blocks = mx_k_blocks(k)
    return mx_scale_offset(torch.arange(rows).reshape(-1, 1), torch.arange(k_blocks).reshape(1, -1), k_blocks)


def mx_swizzle(scales, k: int, fill: float = 1.0):
    """Per-block scales [rows, ceil(K/32)] as the flat swizzled tensor of mx_scale_count(rows, K) elements, in
    their dtype; the padding holds `fill` (1.0: a scale that changes nothing)."""
    import torch

    rows = scales.shape[0]
    fill_value = torch.tensor([fill], dtype=scales.dtype, device=scales.device)
    flat = _bits(fill_value).repeat(mx_scale_count(rows, k))
    flat[_mx_offsets(rows, k).to(scales.device).flatten()] = _bits(scales).flatten()
    return flat.view(scales.dtype)


def mx_unswizzle(flat, rows: int, k: int):
    """The inverse of mx_swizzle: the per-block scales [rows, ceil(K/32)] of a flat swizzled tensor."""
    return _bits(flat)[_mx_offsets(rows, k).to(flat.device)].view(flat.dtype)


def _bits(t):
    """A 1-byte tensor as uint8 (torch indexes e8m0 tensors only through such a view), others as they are."""
    import torch

    return t.view(torch.uint8) if t.element_size() == 1 else t


def _mx_dequantize(t, flat_scales):
    """t [rows, K] times its block scales, in float32."""
    rows, k = t.shape
    per_block = mx_unswizzle(flat_scales, rows, k).float()
    return t.float() * per_block.repeat_interleave(MX_BLOCK, dim=1)[:, :k]


def _scale_mx_reference(x, w, block_scale_a, block_scale_b):
    return _mx_dequantize(x, block_scale_a) @ _mx_dequantize(w, block_scale_b).t()


def _scale_mx_apply(acc, **operands):
    raise UnsupportedProblem("scale_mx's block scales multiply x and W before the dot product, so they cannot be "
                             "applied to a GEMM's output; use its reference() or stock() (torch._scaled_mm)")


def _scale_rowwise(acc, scale_a, scale_b):
    # scale_a [M], one per token (row of x and of out); scale_b [N], one per output column
    return acc * scale_a.reshape(-1, 1) * scale_b


_ROWWISE_A: dict[int, tuple] = {}  # id(scale_a [1]) -> (weakref to it, its [M, 1] copy): see scaled_mm


def _rowwise_a(scale_a, m: int):
    """scale_a [1] as a contiguous [M, 1], made once per (tensor, M) and kept exactly as long as scale_a lives
    (a CUDA graph captured over it then reads memory that is still its own)."""
    import weakref

    key = id(scale_a)
    hit = _ROWWISE_A.get(key)
    if hit is None or hit[0]() is not scale_a or hit[1].shape[0] != m:
        if hit is None or hit[0]() is not scale_a:
            weakref.finalize(scale_a, _ROWWISE_A.pop, key, None)
        hit = _ROWWISE_A[key] = (weakref.ref(scale_a), scale_a.reshape(1, 1).expand(m, 1).contiguous())
    return hit[1]


def scaled_mm(x, w, scale_a, scale_b, out=None):
    """The stock fp8 GEMM of a scale epilogue's operands: torch._scaled_mm(x, W^T, ..., out_dtype=bf16).

    scale_a [1] with scale_b [1] is _scaled_mm's per-tensor form. scale_b [N] (scale_row, scale_rowwise)
    needs its row-wise form, which takes scale_a [M, 1] and scale_b [1, N], both contiguous: scale_b is
    viewed as [1, N]; scale_a [M] (scale_rowwise) as [M, 1]; scale_a [1] (scale_row) is copied to [M, 1]
    once per tensor and kept while it lives (a CUDA graph that replays this call then times _scaled_mm
    alone, as a caller with per-row scales of its own would run it). scale_mx's e8m0 block scales are
    _scaled_mm's MXFP8 form as they are (flat, swizzled: needs an sm_100 GPU).
    """
    import torch

    # MXFP8 block scales (e8m0, scale_mx) go to _scaled_mm flat, as they are
    if scale_b.numel() != 1 and scale_b.dtype != torch.float8_e8m0fnu:
        scale_a = scale_a.reshape(-1, 1) if scale_a.numel() != 1 else _rowwise_a(scale_a, x.shape[0])
        scale_b = scale_b.reshape(1, -1).contiguous()
    if out is None:
        return torch._scaled_mm(x, w.t(), scale_a, scale_b, out_dtype=torch.bfloat16)
    return torch._scaled_mm(x, w.t(), scale_a, scale_b, out_dtype=out.dtype, out=out)


def _gated_linear(gate: Gate):
    def torch_linear(x, w, halves=None, linear=None):
        # The halves' GEMMs write contiguous outputs, so the activation and mul run torch's vectorised
        # kernels: the kernels of the unfused MLP (gate_proj, up_proj, act * mul). One GEMM on [gate; up]
        # would leave strided halves, which torch's elementwise kernels read at half speed. `halves`: W's
        # two row blocks cut once by a caller that keeps them (the eager path's memo), since chunk() costs
        # ~1.5 µs a call.
        import torch

        g, up = halves if halves is not None else w.chunk(2, dim=0)  # contiguous views, no copy
        linear = linear or torch.nn.functional.linear
        return gate.function(linear(x, g)) * linear(x, up)

    return torch_linear


def _half(name: str):
    def output_n(n: int) -> int:
        if n % 2:
            raise UnsupportedProblem(f"{name} needs an even N ([gate; up] stacked), got N={n}")
        return n // 2

    return output_n


def _register_gated(name: str, gate: Gate) -> None:
    register(Epilogue(name, (), {}, _half(name), _gated_apply(gate), gate=gate, torch_linear=_gated_linear(gate)))


register(Epilogue(IDENTITY, (), {}, lambda n: n, _identity))
register(Epilogue(BIAS, ("bias",), {"bias": ("n",)}, lambda n: n, _bias))
_register_gated(SWIGLU, SILU)  # Llama, Qwen, Mistral: silu(gate) * up
_register_gated(GEGLU, GELU_TANH)  # Gemma: gelu_pytorch_tanh(gate) * up
_SCALE_DTYPES = {"scale_a": FLOAT32, "scale_b": FLOAT32}
register(Epilogue(SCALE_TENSOR, ("scale_a", "scale_b"), {"scale_a": ("1",), "scale_b": ("1",)}, lambda n: n,
                  _scale, operand_dtypes=_SCALE_DTYPES, positive=("scale_a", "scale_b"), scales="tensor"))
register(Epilogue(SCALE_ROW, ("scale_a", "scale_b"), {"scale_a": ("1",), "scale_b": ("n",)}, lambda n: n,
                  _scale, operand_dtypes=_SCALE_DTYPES, positive=("scale_a", "scale_b"), scales="row"))
register(Epilogue(SCALE_ROWWISE, ("scale_a", "scale_b"), {"scale_a": ("m",), "scale_b": ("n",)}, lambda n: n,
                  _scale_rowwise, operand_dtypes=_SCALE_DTYPES, positive=("scale_a", "scale_b"),
                  scales="rowwise"))
# MXFP8: "block_scale_a"/"block_scale_b", not scale_a/scale_b: the generated C header
# (aotgemm.aoti.rule_header) gives each operand name one dtype, and those are float32 scales.
register(Epilogue(SCALE_MX, ("block_scale_a", "block_scale_b"), {"block_scale_a": ("mx_m",),
                                                                 "block_scale_b": ("mx_n",)},
                  lambda n: n, _scale_mx_apply, operand_dtypes={"block_scale_a": E8M0, "block_scale_b": E8M0},
                  positive=("block_scale_a", "block_scale_b"), scales="mx", reference_fn=_scale_mx_reference,
                  archs=("sm_100a",)))
register(Epilogue(RESIDUAL_ADD, ("residual",), {"residual": ("m", "n")}, lambda n: n, _residual_add,
                  guard_on_m=False))
