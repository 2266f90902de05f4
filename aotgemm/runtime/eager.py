"""The patched nn.Linear's eager path: the op's decisions and counters, without the dispatcher's per-call cost.

In eager mode a patched module's forward does not go through
`torch.ops.aotgemm.aotgemm_linear` (a Python-implemented op: the dispatcher,
`check_inputs`, the rule's 13 arguments and the kernel's argument conversion
cost several µs per call, and transformers' `generate` makes 4 x 32 GEMM calls
per token). Instead each module keeps, for its weight, bias and the active
dispatch table, a memo from the *signature* of x -- everything the rule reads
from x: shape, strides, dtype, device, and its address modulo the largest
alignment any kernel of the table asks for -- to what the op decided for that
signature (`ops.decision`, the one application of the rule) and, for a hit, a
`PreparedCall` holding the kernel's argument block with the weight filled in.
A call then costs: the eager checks, the signature, a dict lookup, torch.empty,
the stream, the kernel call and the counter. Misses go to `ops.linear`, so
they are decided, counted and logged exactly as the op does.

The memo is dropped when the active table, the weight or the bias (object or
address) changes. Under torch.compile / export / FX or jit tracing, with
autograd recording, with a dispatch mode active or a tensor subclass, the
forward calls the op as before, so graphs still contain
`aotgemm::aotgemm_linear`.
"""

from __future__ import annotations

import math

import torch

from . import ops
from .ffi import KernelFunction
from .table import call_order

_MEMO_LIMIT = 64  # signatures kept per module (decode keeps one; prefill one per prompt length)
_Tensor = torch.Tensor
_is_compiling = torch.compiler.is_compiling
_grad_enabled = torch.is_grad_enabled
_dispatch_modes = torch._C._len_torch_dispatch_stack
_tracing_state = torch._C._get_tracing_state
_module_call = torch.nn.Module.__call__
_hooks = torch.nn.modules.module  # its _global_*_hooks dicts
_linear = torch.nn.functional.linear
_mm, _addmm, _matmul = torch.mm, torch.addmm, torch.matmul


def is_eager(x, weight, bias) -> bool:
    """Whether a call may skip the dispatcher: plain tensors, no tracing/compiling, nothing for autograd."""
    if type(x) is not _Tensor or _is_compiling() or _dispatch_modes() or _tracing_state() is not None:
        return False
    if _grad_enabled() and (x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)):
        return False
    return True


class Served:
    """A hit's recipe for one signature of x: the prepared kernel call and the output's shape."""

    __slots__ = ("call", "generic", "m", "x_row", "out_shape", "add_bias", "count_key", "cuda_index")

    def __init__(self, c: ops.Decision, x: torch.Tensor, weight, bias, prepared, generic) -> None:
        self.call = prepared
        self.generic = generic  # (fn, epilogue): for a kernel that is not a KernelFunction (tests' stand-ins)
        self.m = c.m
        self.x_row = c.x_row
        self.out_shape = (*x.shape[:-1], c.n)
        self.add_bias = bias is not None and not c.fused
        self.count_key = (c.dt, c.n, c.k, c.bucket, ops.HIT)
        self.cuda_index = x.device.index if x.device.type == "cuda" else None


class Missed:
    """A miss's arguments to ops._miss (which counts, logs the first one, and calls cuBLAS)."""

    __slots__ = ("args", "key", "folds")

    def __init__(self, c: ops.Decision, x: torch.Tensor) -> None:
        self.args = (c.dt, c.n, c.k, c.bucket, c.reason)
        self.key = (c.dt, c.n, c.k, c.bucket, c.reason.text)  # ops._miss's counter key
        self.folds = ops.matmul_folds(x)  # matmul runs this signature's x as one GEMM (ops.torch_linear)


def _no_memo() -> None:
    return None


class ModuleMemo:
    """One module's memo: valid for one (dispatch table, weight, bias) and their addresses.

    A cache: a copy (copy.deepcopy, pickle, torch.save of the module) starts without one.
    """

    def __reduce__(self):
        return (_no_memo, ())

    __slots__ = ("dispatch", "weight", "w_ptr", "bias", "b_ptr", "align", "plans", "wt", "prepared", "halves")

    def __init__(self, d, weight, w_ptr, bias, b_ptr) -> None:
        self.dispatch, self.weight, self.w_ptr, self.bias, self.b_ptr = d, weight, w_ptr, bias, b_ptr
        align = 16
        if d is not None:
            for r in d.table.values():
                if r.fn is not None:  # max(16 bytes, alignment elements of up to 8 bytes) divides this
                    align = math.lcm(align, max(16, r.alignment * 8))
        self.align = align
        self.plans: dict = {}
        self.wt = None
        self.halves = None  # a gated weight's [gate; up] row blocks, for its misses (eager_epilogues)
        self.prepared: dict = {}  # (symbol, epilogue) -> PreparedCall, shared by the signatures using it

    def plan(self, x: torch.Tensor):
        """What to do with x's signature: a Served, a Missed, or None (the op raises its error)."""
        weight, bias = self.weight, self.bias
        try:
            ops.check_inputs(x, weight, bias)
        except Exception:
            return None
        c = ops.decision(self.dispatch, x, weight, bias)
        if c.reason is not ops.Reason.HIT:
            return Missed(c, x)
        fn = c.route.fn
        key = (c.route.symbol, c.epilogue)
        prepared = self.prepared.get(key)
        if prepared is None and isinstance(fn, KernelFunction):
            if self.wt is None:
                self.wt = weight.t()
            extras = tuple(bias for name in call_order(c.epilogue) if name == "bias")
            n_out = c.n  # identity and bias write N columns (the only epilogues nn.Linear's forward reaches)
            prepared = self.prepared[key] = fn.prepared(self.wt, extras, call_order(c.epilogue), n_out)
        return Served(c, x, weight, bias, prepared, (fn, c.epilogue))


def linear(module: torch.nn.Module, x: torch.Tensor, weight: torch.Tensor | None = None,
           bias: torch.Tensor | None = None, memo_slot: str = "_aotgemm_memo") -> torch.Tensor:
    """The patched forward: nn.Linear's result, served and counted exactly as the op would.

    With `weight` given, the GEMM is x @ weight^T (+ `bias`) instead of the module's own, memoised in the
    module's `memo_slot` (merged projections: fuse_transformers.fuse_projections)."""
    if weight is None:
        # The parameters from the module's dict: nn.Module.__getattr__ costs ~1.5 µs per name, a quarter of
        # this function (a parametrized weight is not in _parameters: getattr computes it).
        params = module._parameters
        weight = params.get("weight")
        if weight is None:
            weight = module.weight
        bias = params["bias"] if "bias" in params else module.bias
    if not is_eager(x, weight, bias):
        return torch.ops.aotgemm.aotgemm_linear(x, weight, bias)
    d = ops._active
    memo = module.__dict__.get(memo_slot)
    w_ptr = weight.data_ptr()
    b_ptr = 0 if bias is None else bias.data_ptr()
    if (memo is None or memo.dispatch is not d or memo.weight is not weight or memo.w_ptr != w_ptr
            or memo.bias is not bias or memo.b_ptr != b_ptr):
        memo = module.__dict__[memo_slot] = ModuleMemo(d, weight, w_ptr, bias, b_ptr)
    x_ptr = x.data_ptr()
    sig = (x.shape, x.stride(), x.dtype, x.device, x_ptr % memo.align)
    plans = memo.plans
    try:
        s = plans[sig]
    except KeyError:
        if len(plans) >= _MEMO_LIMIT:
            plans.clear()
        s = plans[sig] = memo.plan(x)
    if type(s) is not Served:
        if s is None:
            return ops.linear(x, weight, bias)  # it raises the input error
        if s.key in ops._logged:  # already logged: count it and call cuBLAS, as ops._miss does
            next(ops._ticks[s.key])  # ops._count, inlined
            wt = memo.wt
            if wt is None:
                wt = memo.wt = weight.t()
            # F.linear's own cuBLAS call without its wrappers (aten::linear, a new weight.t() view per
            # call): mm / addmm for 2-D x, matmul (which folds the leading dims) without a bias; the
            # same kernel on the same operands, so the same bits, ~1.5 µs less host time per call. An x whose
            # leading dims matmul would not fold goes as its rows (ops.torch_linear says why).
            if x.dim() == 2:
                return _mm(x, wt) if bias is None else _addmm(bias, x, wt)
            if not s.folds:
                return ops.torch_linear(x, weight, bias)
            return _matmul(x, wt) if bias is None else _linear(x, weight, bias)
        return ops._miss(x, weight, bias, *s.args)
    out = x.new_empty(s.out_shape)  # x's dtype and device (cheaper to call than torch.empty with both)
    stream = 0 if s.cuda_index is None else ops._raw_stream(s.cuda_index)
    call = s.call
    if call is not None:
        call(x_ptr, s.m, s.x_row, out.data_ptr(), stream)
    else:  # a stand-in kernel (tests): the op's call convention with tensors
        fn, epilogue = s.generic
        x2 = x.as_strided((s.m, weight.shape[1]), (s.x_row, 1))
        ops.call_epilogue(fn, epilogue, x2, weight, out.view(s.m, -1), {ops.BIAS: bias} if epilogue == ops.BIAS
                          else {}, stream)
    if s.add_bias:
        out.add_(bias)
    next(ops._ticks[s.count_key])  # ops._count, inlined
    return out


def module_call(module: torch.nn.Module, *args, **kwargs):
    """The patched nn.Linear's __call__: straight to `linear` when nn.Module's own __call__ would do nothing
    but call forward (no hooks, module or global; not compiled with module.compile(); no jit tracing), else
    nn.Module's. It saves _wrapped_call_impl, _call_impl and forward's frames: ~1.5-2.5 µs a call, about
    as much as nn.Linear costs over F.linear, the bar of a call the bundle sends to cuBLAS."""
    if (len(args) == 1 and not kwargs and module._compiled_call_impl is None and _tracing_state() is None
            and not (module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
                     or module._backward_pre_hooks or _hooks._global_forward_hooks
                     or _hooks._global_forward_pre_hooks or _hooks._global_backward_hooks
                     or _hooks._global_backward_pre_hooks)):
        return linear(module, args[0])
    return _module_call(module, *args, **kwargs)
