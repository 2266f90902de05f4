"""The fused MLP modules' eager path: the gated ops (aotgemm_linear_swiglu, _geglu) and aotgemm_linear_residual
without the dispatcher.

What runtime/eager.py does for a patched nn.Linear, for the two calls a fused
gated MLP makes (fuse_transformers.fuse_mlp): in eager mode the module does not call
`torch.ops.aotgemm.aotgemm_linear_swiglu` / `_residual` (Python ops: the
dispatcher, their Python autograd kernel and redispatch, `_check`, the rule's
arguments and the kernel's argument conversion, every call). Each module keeps,
per op, a memo from the signature of its tensor inputs (x, and the residual:
shape, strides, dtype, device, address modulo the largest alignment a kernel of
the table asks for) to what the op decided (`epilogue_ops.decision`, the one
application of the rule) and, for a hit, a `PreparedCall` with the weight (and
for the residual its per-call rows) in place. Misses go the op's way
(`epilogue_ops._miss`: counted, logged once, cuBLAS + the unfused epilogue), so
decisions, results, counters and logs are the op's. Under torch.compile /
export / FX or jit tracing, with autograd recording, with a dispatch mode or a
tensor subclass, the op itself is called, so graphs still hold it; except that
torch.compile (and torch.export), at a static M whose bucket has no kernel for
the epilogue, get aotgemm_linear and the epilogue's torch ops, which Inductor
fuses with their neighbours as in the unpatched model
(epilogue_ops.unfused_when_compiled).
"""

from __future__ import annotations

import torch

from ..epilogues import epilogue, fused_op
from . import epilogue_ops, ops
from .eager import _MEMO_LIMIT, ModuleMemo, is_eager
from .ffi import KernelFunction
from .table import call_epilogue, call_order

RESIDUAL_OP = "aotgemm_linear_residual"
_Tensor = torch.Tensor


class EpilogueServed:
    """A hit's recipe for one signature: the prepared kernel call, the output's shape, the epilogue's
    unfused form when the identity kernel serves the GEMM, and the counter key."""

    __slots__ = ("call", "generic", "m", "x_row", "out_shape", "unfused", "count_key", "cuda_index", "n")

    def __init__(self, c: epilogue_ops.EpilogueDecision, name: str, x: torch.Tensor, prepared) -> None:
        ep = epilogue(name)
        fused = c.used == name
        self.call = prepared
        self.generic = c.route.fn, c.used
        self.m, self.x_row, self.n = c.m, c.x_row, c.n
        self.out_shape = (*x.shape[:-1], ep.output_n(c.n) if fused else c.n)
        self.unfused = None if fused else ep.unfused
        self.count_key = (c.dt, c.n, c.k, c.bucket, ops.HIT, name)
        self.cuda_index = x.device.index if x.device.type == "cuda" else None


class EpilogueMissed:
    """A miss's arguments to epilogue_ops._miss, and its counter key (also the key it is logged under)."""

    __slots__ = ("args", "key")

    def __init__(self, c: epilogue_ops.EpilogueDecision, name: str) -> None:
        self.args = (c.dt, c.n, c.k, c.bucket, c.reason)
        self.key = (c.dt, c.n, c.k, c.bucket, c.reason.text, name)


def _memo(module, attr: str, weight):
    """The module's memo for one op (`attr`), rebuilt when the active table or the weight changes."""
    d = ops._active
    memo = module.__dict__.get(attr)
    w_ptr = weight.data_ptr()
    if memo is None or memo.dispatch is not d or memo.weight is not weight or memo.w_ptr != w_ptr:
        memo = module.__dict__[attr] = ModuleMemo(d, weight, w_ptr, None, 0)
    return memo


def _plan(memo: ModuleMemo, op: str, x: torch.Tensor, operands: dict):
    """What to do for this signature: an EpilogueServed, an EpilogueMissed, or None (the op raises its error)."""
    weight = memo.weight
    try:
        epilogue_ops._check(op, x, weight, operands)
    except Exception:
        return None
    name = epilogue_ops.OPS[op]
    c = epilogue_ops.decision(op, memo.dispatch, x, weight, operands)
    if c.reason is not ops.Reason.HIT:
        return EpilogueMissed(c, name)
    fn = c.route.fn
    prepared = None
    if isinstance(fn, KernelFunction):
        key = (c.route.symbol, c.used)
        prepared = memo.prepared.get(key)
        if prepared is None:
            if memo.wt is None:
                memo.wt = weight.t()
            order = call_order(c.used)
            # the epilogue's [M, N] operands (a residual) change every call: passed per call, rows N apart
            per_call = tuple(c.n for o in order if o in operands) if c.used == name else ()
            n_out = epilogue(c.used).output_n(c.n)
            prepared = memo.prepared[key] = fn.prepared(memo.wt, per_call, order, n_out)
    return EpilogueServed(c, name, x, prepared)


def _run(s: EpilogueServed, memo: ModuleMemo, x: torch.Tensor, x_ptr: int, operands: dict, r) -> torch.Tensor:
    """Serve a hit: the kernel into a fresh output, then (identity kernel) the epilogue in torch; count it."""
    out = x.new_empty(s.out_shape)
    stream = 0 if s.cuda_index is None else ops._raw_stream(s.cuda_index)
    fused = s.unfused is None
    if s.call is not None:
        if fused and r is not None:
            s.call(x_ptr, s.m, s.x_row, out.data_ptr(), stream, r.data_ptr())
        else:
            s.call(x_ptr, s.m, s.x_row, out.data_ptr(), stream)
    else:  # a stand-in kernel (tests): the op's call convention with tensors
        fn, used = s.generic
        m, n, k = s.m, s.n, x.shape[-1]
        args = {o: t.as_strided((m, n), (n, 1)) for o, t in operands.items()} if fused else {}
        call_epilogue(fn, used, x.as_strided((m, k), (s.x_row, 1)), memo.weight, out.view(m, -1), args, stream)
    if not fused:
        out = s.unfused(out, **operands)
    next(ops._ticks[s.count_key])  # ops._count, inlined
    return out


def _missed(s: EpilogueMissed, op: str, x, memo: ModuleMemo, operands: dict) -> torch.Tensor:
    weight = memo.weight
    if s.key in ops._logged:  # already logged: count it and serve it, as epilogue_ops._miss does
        next(ops._ticks[s.key])  # ops._count, inlined
        ep = epilogue(s.key[5])
        if ep.gate is not None:  # the same kernels, with W's halves cut once per memo rather than per call
            if memo.halves is None:
                memo.halves = weight.chunk(2, dim=0)
            return ep.linear_unfused(x, weight, halves=memo.halves, linear=ops.torch_linear)
        return ep.linear_unfused(x, weight, linear=ops.torch_linear, **operands)
    return epilogue_ops._miss(op, s.key[5], x, weight, operands, *s.args)


def gated(name: str, module: torch.nn.Module, x: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The gated op of epilogue `name` (aotgemm_linear_swiglu, _geglu) on (x, module.aotgemm_gate_up, or
    `weight`), served and counted exactly as the op would."""
    if weight is None:
        weight = module.aotgemm_gate_up
    op = fused_op(name)
    if not is_eager(x, weight, None):
        if epilogue_ops.unfused_when_compiled(op, x, weight):  # Inductor fuses act * mul, as unpatched
            return epilogue_ops.compiled_unfused(op, x, weight, {})
        return getattr(torch.ops.aotgemm, op)(x, weight)
    memo = _memo(module, "_aotgemm_memo_gated", weight)
    x_ptr = x.data_ptr()
    sig = (x.shape, x.stride(), x.dtype, x.device, x_ptr % memo.align)
    plans = memo.plans
    s = plans.get(sig)
    if s is None:
        if len(plans) >= _MEMO_LIMIT:
            plans.clear()
        s = plans[sig] = _plan(memo, op, x, {})
        if s is None:
            return epilogue_ops.gated_linear(name, x, weight)  # it raises the input error
    if type(s) is EpilogueServed:
        return _run(s, memo, x, x_ptr, {}, None)
    return _missed(s, op, x, memo, {})


def residual(module: torch.nn.Module, x: torch.Tensor, r: torch.Tensor, weight: torch.Tensor | None = None
             ) -> torch.Tensor:
    """aotgemm_linear_residual(x, module.down_proj.weight or `weight`, r), served and counted exactly as the
    op would (memoised in `module`)."""
    if weight is None:
        weight = module.down_proj.weight
    if type(r) is not _Tensor or not is_eager(x, weight, r):
        if epilogue_ops.unfused_when_compiled(RESIDUAL_OP, x, weight):  # Inductor fuses the add, as unpatched
            return epilogue_ops.compiled_unfused(RESIDUAL_OP, x, weight, {"residual": r})
        return torch.ops.aotgemm.aotgemm_linear_residual(x, weight, r)
    memo = _memo(module, "_aotgemm_memo_residual", weight)
    x_ptr = x.data_ptr()
    sig = (x.shape, x.stride(), x.dtype, x.device, x_ptr % memo.align,
           r.shape, r.stride(), r.dtype, r.device, r.data_ptr() % memo.align)
    plans = memo.plans
    s = plans.get(sig)
    operands = {"residual": r}
    if s is None:
        if len(plans) >= _MEMO_LIMIT:
            plans.clear()
        s = plans[sig] = _plan(memo, RESIDUAL_OP, x, operands)
        if s is None:
            return epilogue_ops.linear_residual(x, weight, r)  # it raises the input error
    if type(s) is EpilogueServed:
        return _run(s, memo, x, x_ptr, operands, r)
    return _missed(s, RESIDUAL_OP, x, memo, operands)

