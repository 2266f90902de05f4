"""Epilogues: what a GEMM kernel does to x @ W^T before it writes the output.

One `Epilogue` per kind, registered once here. Each says which extra operands
the kernel takes (in call order, after `out`: see aotgemm.problem), how wide
the output is, the float32 reference a kernel is checked against, and the
unfused form (a plain GEMM's output, then torch ops) that the runtime falls
back to and the tuner times a fused kernel against.

Adding an epilogue is one `register(Epilogue(...))` call (plus kernels that
implement it); the bundle format, the dispatch key and the shim take its
name as data.

Imports nothing heavy at module level: torch is imported inside the
functions that need tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import UnsupportedProblem

IDENTITY = "identity"
BIAS = "bias"
SWIGLU = "swiglu"
RESIDUAL_ADD = "residual_add"


@dataclass(frozen=True)
class Epilogue:
    name: str
    # Extra kernel operands, in call order; each is described in `operand_shapes`.
    operands: tuple[str, ...]
    # operand name -> shape in terms of (m, n) of the GEMM: ("n",) or ("m", "n_out") ...
    operand_shapes: dict[str, tuple[str, ...]]
    # Output columns for a weight of N rows.
    output_n: Callable[[int], int]
    # apply(acc, **operands) -> output, on the GEMM result `acc` = x @ W^T (any dtype):
    # the reference (on float32 acc) and the unfused fallback (on the plain GEMM's output).
    apply: Callable[..., Any]
    # The FX ops, after the GEMM, that the AOTInductor rewrite folds into this epilogue
    # ("" for none): aten op names, in the order they follow the mm.
    fx_pattern: tuple[str, ...] = ()

    def reference(self, x, w, **operands):
        """float32 reference: epilogue(x @ W^T) computed on upcast operands."""
        acc = x.float() @ w.float().t()
        return self.apply(acc, **{k: v.float() for k, v in operands.items()})

    def unfused(self, plain_out, **operands):
        """The epilogue applied by torch to a plain GEMM's output (the cuBLAS path)."""
        return self.apply(plain_out, **operands)


_REGISTRY: dict[str, Epilogue] = {}


def register(e: Epilogue) -> Epilogue:
    if e.name in _REGISTRY:
        raise ValueError(f"epilogue {e.name!r} is registered twice")
    if set(e.operands) != set(e.operand_shapes):
        raise ValueError(f"epilogue {e.name!r}: operand_shapes must describe exactly its operands")
    _REGISTRY[e.name] = e
    return e


def epilogue(name: str) -> Epilogue:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnsupportedProblem(
            f"unknown epilogue {name!r}; known epilogues: {', '.join(sorted(_REGISTRY))}") from None


def names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def _identity(acc):
    return acc


def _bias(acc, bias):
    return acc + bias


def _swiglu(acc):
    # W is [gate; up] stacked along N (vLLM's merged gate_up layout): out = silu(gate) * up, N/2 wide
    import torch

    gate, up = acc.chunk(2, dim=-1)
    return torch.nn.functional.silu(gate) * up


def _residual_add(acc, residual):
    return acc + residual


def _half(n: int) -> int:
    if n % 2:
        raise UnsupportedProblem(f"swiglu needs an even N ([gate; up] stacked), got N={n}")
    return n // 2


register(Epilogue(IDENTITY, (), {}, lambda n: n, _identity))
register(Epilogue(BIAS, ("bias",), {"bias": ("n",)}, lambda n: n, _bias, fx_pattern=("aten.add.Tensor",)))
register(Epilogue(SWIGLU, (), {}, _half, _swiglu, fx_pattern=("aten.split.Tensor", "aten.silu.default",
                                                             "aten.mul.Tensor")))
register(Epilogue(RESIDUAL_ADD, ("residual",), {"residual": ("m", "n")}, lambda n: n, _residual_add,
                  fx_pattern=("aten.add.Tensor",)))
