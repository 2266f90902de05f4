"""The fused-epilogue ops: a GEMM and its epilogue from one bundle kernel, else cuBLAS + the epilogue in torch.

    torch.ops.aotgemm.aotgemm_linear_swiglu(x, w_gate_up)      # silu(x Wg^T) * (x Wu^T), W = [gate; up]
    torch.ops.aotgemm.aotgemm_linear_geglu(x, w_gate_up)       # gelu_tanh(x Wg^T) * (x Wu^T)
    torch.ops.aotgemm.aotgemm_linear_residual(x, w, residual)  # x W^T + residual

One op per gated epilogue (aotgemm.epilogues.fused_ops names them), all
defined, implemented and differentiated by the same code here.

Each call is looked up, like aotgemm_linear's, by the GemmProblem key
(dtype, "linear", epilogue, N, K) + bucket_for(M) in the active dispatch
table; when the bundle has no entry for the epilogue's problem, the identity
problem's entry serves the GEMM and the epilogue runs after it in torch (the
way a bias is served). The shared rule (aotgemm.dispatch_rule.decide) decides,
with the epilogue's operands checked by `operand_contiguous`; a hit calls the
kernel through the one call convention (table.call_epilogue), a miss runs
`F.linear` and the epilogue's unfused form (Epilogue.unfused). Every call is
counted in aotgemm.runtime.stats() (hits / misses, and `epilogues` by name);
the first miss of each (shape, reason, epilogue) is logged. The AOTInductor
shims of the same names (aotgemm/native/shim.cpp) follow the same steps.

N is the weight's row count: for a gated epilogue, 2 x the intermediate size
(the output is N/2 wide). Names repeat the namespace for the AOTI shim's name
(aotgemm/aoti/op.py says why).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from ..dispatch_rule import Reason, decide, operand_contiguous, rows
from ..epilogues import IDENTITY, epilogue, fused_op, fused_ops
from ..errors import UnsupportedInput
from ..problem import DTYPE_BYTES, LINEAR
from . import ops
from .log import get_logger
from .table import call_epilogue, dtype_name

# op name -> the epilogue it serves (the AOTI rewrite and op.py read this too)
OPS = fused_ops()
# op name -> its schema: x, the weight, then the epilogue's operands (tensors of x's leading dims + [N])
SCHEMAS = {op: f"{op}(Tensor x, Tensor weight{''.join(f', Tensor {o}' for o in epilogue(name).operands)}) -> Tensor"
           for op, name in OPS.items()}


def _check(op: str, x: torch.Tensor, weight: torch.Tensor, operands: dict[str, torch.Tensor]) -> None:
    """Raise UnsupportedInput (one line: what is wrong, what to do) unless the call is well formed."""
    where = f"aotgemm::{op}"
    ops.check_x_and_weight(where, x, weight)
    n, k = weight.shape
    if epilogue(OPS[op]).gate is not None and n % 2:
        raise UnsupportedInput(f"{where}: weight must be [gate; up] stacked along N (an even N), got N={n}; "
                               "concatenate the gate and up weights with torch.cat([w_gate, w_up])")
    for name, t in operands.items():
        want = (*x.shape[:-1], n)
        if tuple(t.shape) != want:
            raise UnsupportedInput(f"{where}: {name} must have shape {want} (x's leading dims + [N]), "
                                   f"got {tuple(t.shape)}")
        if t.dtype != x.dtype or t.device != x.device:
            raise UnsupportedInput(f"{where}: {name} is {t.dtype} on {t.device} but x is {x.dtype} on {x.device}; "
                                   "they must match")


def _miss(op, name, x, weight, operands, dt, n, k, bucket, reason: Reason) -> torch.Tensor:
    if ops.record_miss((dt, n, k, bucket, reason.text, name)):
        level = logging.WARNING if reason.warns else logging.INFO
        get_logger().log(level, "cuBLAS + torch serve %s linear N=%d K=%d + %s (M bucket %s): %s (logged once "
                         "per shape, epilogue and reason; see aotgemm.runtime.stats())", dt, n, k, name, bucket,
                         reason.text)
    return epilogue(name).linear_unfused(x, weight, linear=ops.torch_linear, **operands)


@dataclass(frozen=True)
class EpilogueDecision:
    """What the rule decided for one epilogue-op call (see `decision`). `used` is the epilogue of the entry
    that serves it: the op's own (a fused kernel), or IDENTITY (the epilogue then runs in torch after it)."""

    reason: Reason
    dt: str
    n: int
    k: int
    bucket: int | None
    route: object = None
    used: str = IDENTITY
    m: int = 0
    x_row: int | None = None


def decision(op: str, d, x: torch.Tensor, weight: torch.Tensor, operands: dict[str, torch.Tensor]) -> EpilogueDecision:
    """The dispatch rule applied to one (checked, `_check`) call of epilogue op `op` against table `d`: the one
    place these ops' inputs become decide()'s arguments (the op and the fused modules' eager path use it)."""
    name = OPS[op]
    ep = epilogue(name)
    n, k = weight.shape
    dt = dtype_name(x.dtype)
    if d is None:
        return EpilogueDecision(Reason.NOT_LOADED, dt, n, k, None)
    shape = x.shape
    m, bucket = ops.rows_and_bucket(d, shape)
    dev = x.device
    device = ops.device_of(d, dev)
    route, used = d.table.get((dt, LINEAR, name, n, k, bucket)), name
    if route is None:  # no entry for the epilogue's problem: the plain GEMM's, the epilogue after it
        route, used = d.table.get((dt, LINEAR, IDENTITY, n, k, bucket)), IDENTITY
    fused = used == name
    x_row = rows(shape, x.stride())
    pointers = [x.data_ptr(), weight.data_ptr()]
    contiguous = True
    if fused:
        for o, t in operands.items():
            pointers.append(t.data_ptr())
            contiguous = contiguous and operand_contiguous(ep.operand_shapes[o], m, n, t.shape, t.stride())
    # fp8 GEMMs are aotgemm_scaled_mm's (no fused-epilogue kernels): unsupported here, as in aotgemm_linear
    reason = decide(loaded=True, fallback=d.fallback, dtype_supported=dt in ops._LINEAR_DTYPES,
                    device=device, m=m, n=n, k=k, entry=None if route is None else route.entry, x_row=x_row,
                    w_strides=weight.stride(), operands_contiguous=contiguous, pointers=pointers,
                    element_bytes=DTYPE_BYTES.get(dt, 0))
    return EpilogueDecision(reason, dt, n, k, bucket, route, used, m, x_row)


def unfused_when_compiled(op: str, x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether torch.compile, tracing a call of epilogue op `op`, should write it as aotgemm_linear followed by
    the epilogue's torch ops (Epilogue.unfused) instead of the opaque fused op: at a static M whose bucket has
    no kernel for the epilogue's problem (the tuner kept cuBLAS there, or the bundle lacks it). Inductor then
    fuses the epilogue with its neighbours, as it does in the unpatched model, which is what the tuner timed
    the fused kernel against; the opaque op would run it as separate torch kernels after cuBLAS. At a dynamic
    M the op stays (it decides per call); outside torch.compile (or torch.export, alike) this is False.
    (torch.compiler.is_exporting cannot tell the two apart: under torch 2.11's Dynamo it is True in both.)"""
    if not torch.compiler.is_compiling():
        return False
    m = ops.static_rows(x.shape)
    return m is not None and not ops.has_kernel(x.dtype, (OPS[op],), weight.shape[0], weight.shape[1], m)


def compiled_unfused(op: str, x: torch.Tensor, weight: torch.Tensor, operands: dict[str, torch.Tensor]):
    """What torch.compile traces for a call of epilogue op `op` where `unfused_when_compiled`: the unpatched
    layer's GEMMs (a gated epilogue: gate's and up's, Epilogue.linear_unfused) as aotgemm_linear calls, still counted,
    and the epilogue in torch ops for Inductor to fuse."""
    return epilogue(OPS[op]).linear_unfused(x, weight, linear=_plain_linear, **operands)


def _plain_linear(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return torch.ops.aotgemm.aotgemm_linear(x, w, None)


def serve(op: str, x: torch.Tensor, weight: torch.Tensor, operands: dict[str, torch.Tensor]) -> torch.Tensor:
    """out = epilogue(x @ weight.T, operands) for the epilogue op `op`: a bundle kernel when the rule allows."""
    _check(op, x, weight, operands)
    name = OPS[op]
    ep = epilogue(name)
    c = decision(op, ops.get_active(), x, weight, operands)
    if c.reason is not Reason.HIT:
        return _miss(op, name, x, weight, operands, c.dt, c.n, c.k, c.bucket, c.reason)
    shape, m, n, k, x_row, route = x.shape, c.m, c.n, c.k, c.x_row, c.route
    dev = x.device
    x2 = x if len(shape) == 2 and x.stride(0) == x_row else x.as_strided((m, k), (x_row, 1))
    if c.used == name:  # the operands as the kernel indexes them: [N], or [M, N] rows N apart (checked above)
        args = {o: (t if len(ep.operand_shapes[o]) == 1 else t.as_strided((m, n), (n, 1)))
                for o, t in operands.items()}
        out = torch.empty((m, ep.output_n(n)), dtype=x.dtype, device=dev)
        call_epilogue(route.fn, name, x2, weight, out, args, ops._current_stream(dev))
        out = out.view(*shape[:-1], out.shape[1])
    else:
        plain = torch.empty((m, n), dtype=x.dtype, device=dev)
        call_epilogue(route.fn, IDENTITY, x2, weight, plain, {}, ops._current_stream(dev))
        out = ep.unfused(plain.view(*shape[:-1], n), **operands)
    ops._count((c.dt, n, k, c.bucket, ops.HIT, name))
    return out


def gated_linear(name: str, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """act(x @ Wg^T) * (x @ Wu^T) for weight = [Wg; Wu] ([2I, K]) and gated epilogue `name`: output [..., I]."""
    return serve(fused_op(name), x, weight, {})


def linear_residual(x: torch.Tensor, weight: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """x @ W^T + residual, residual [..., N] (x's leading dims)."""
    return serve("aotgemm_linear_residual", x, weight, {"residual": residual})


def _impl_of(op: str):
    """The op's eager meaning: serve(op, x, weight, its operands by name)."""
    names = epilogue(OPS[op]).operands

    def impl(x, weight, *operands):
        return serve(op, x, weight, dict(zip(names, operands)))

    impl.__name__ = op
    return impl


def _fake_of(op: str):
    ep = epilogue(OPS[op])

    def fake(x, weight, *operands):
        _check(op, x, weight, dict(zip(ep.operands, operands)))
        return x.new_empty((*x.shape[:-1], ep.output_n(weight.shape[0])))

    return fake


# --- registration: the same Library API as aotgemm_linear (ops.py says why not custom_op) -----------
_LIB = torch.library.Library("aotgemm", "FRAGMENT")
for _op, _schema in SCHEMAS.items():
    _LIB.define(_schema)
    for _key in ("CPU", "CUDA"):
        _LIB.impl(_op, _impl_of(_op), _key)
    torch.library.register_fake(f"aotgemm::{_op}", _fake_of(_op), lib=_LIB)


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _backward_of(op: str):
    """Backward by recomputing the unfused form with autograd (the ops serve inference; this keeps a model
    whose weights require grad working, with torch's gradients)."""
    name = OPS[op]

    def backward(ctx, grad):
        x, weight, *rest = ctx.saved_tensors
        leaves = [t.detach().requires_grad_(need) for t, need in zip((x, weight, *rest), ctx.needs_input_grad)]
        operands = dict(zip(epilogue(name).operands, leaves[2:]))
        with torch.enable_grad():
            y = epilogue(name).unfused(ops.torch_linear(leaves[0], leaves[1]), **operands)
            wanted = [t for t in leaves if t.requires_grad]
            grads = iter(torch.autograd.grad(y, wanted, grad) if wanted else ())
        return tuple(next(grads) if t.requires_grad else None for t in leaves)

    return backward


for _op in OPS:
    torch.library.register_autograd(f"aotgemm::{_op}", _backward_of(_op), setup_context=_setup_context, lib=_LIB)
