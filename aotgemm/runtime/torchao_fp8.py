"""torchao's float8 inference linears (`Float8DynamicActivationFloat8WeightConfig`, per tensor and per row)
served through aotgemm::aotgemm_scaled_mm. The only module of aotgemm that imports torchao, and only once a
module holding a torchao tensor is seen: a model without one never imports it.

torchao quantizes such a layer's weight once into a `Float8Tensor` (e4m3 `qdata` [N, K] and float32 `scale`,
[1, 1] per tensor or [N, 1] per output row) that keeps the layer an nn.Linear. Its F.linear override quantizes
x on every call (`act_quant_kwargs`: same float8 dtype and granularity) and calls
`torch._scaled_mm(x_q, W_q.t(), scale_x, scale_w, bias=bias, out_dtype=x.dtype,
use_fast_accum=mm_config.use_fast_accum)`. The patched forward (`forward`) keeps torchao's activation
quantization, calling torchao's own Float8Tensor.from_hp for it, so x_q and its scale are the bits torchao
would have made, and replaces only that GEMM: aotgemm_scaled_mm, or its fast_accum overload where the config asks for
fast accumulation (torchao's default), so that a shape or M the bundle leaves to `_scaled_mm` runs exactly the
call torchao would have made.

Per-row layers that read one input (a transformers attention's q/k/v) can also run as one GEMM on their stacked
data and scales, x quantized once (`stackable`, `stack`, `merged_forward`; fuse_transformers.fuse_projections
decides where): the shape the per-token bundles' qkv layer has.

Served (`unserved_reason` says why not, for everything else): bf16 x; no bias (torchao fuses the bias into
_scaled_mm's epilogue, before the output is rounded; adding it after our GEMM would round twice); e4m3
weight and activation, both per tensor or both per row; no inner-dimension padding or emulation; and the
kernel torchao itself would pick is torch._scaled_mm (KernelPreference TORCH, or AUTO where torchao would
not pick mslk's row-wise kernel: per-tensor scales, or mslk absent), since the bundle was tuned against
_scaled_mm and must not replace a different kernel unmeasured.
"""

from __future__ import annotations

import torch
from torch import nn

from ..dispatch_rule import ScaleForm, scale_epilogues as scale_epilogues_of
from ..epilogues import SCALE_ROW, SCALE_ROWWISE, SCALE_TENSOR
from . import ops

_FP8 = torch.float8_e4m3fn


def holds_torchao_tensor(module: nn.Module) -> bool:
    """Whether module's weight is a torchao tensor subclass (any of them; no torchao import)."""
    w = getattr(module, "weight", None)
    return isinstance(w, torch.Tensor) and type(w).__module__.split(".")[0] == "torchao"


def _float8_tensor_class():
    from torchao.quantization.quantize_.workflows.float8.float8_tensor import Float8Tensor

    return Float8Tensor


def _per_tensor(t) -> bool:
    return t.scale.numel() == 1


def _per_row(t, rows: int) -> bool:
    return tuple(t.scale.shape) == (rows, 1)


def _mslk_may_run() -> bool:
    """Whether torchao's AUTO preference could pick mslk's row-wise kernel here (True where that cannot be told)."""
    try:
        from torchao.utils import _is_mslk_available
    except ImportError:
        return True
    return bool(_is_mslk_available())


def unserved_reason(module: nn.Module) -> str | None:
    """None if `forward` can serve module (a torchao float8 linear of a form the module docstring lists), else
    why not, in a few words."""
    if type(module).forward is not nn.Linear.forward or "forward" in module.__dict__:
        return "not nn.Linear's forward"
    w = module.weight
    try:
        float8_tensor = _float8_tensor_class()
    except ImportError as e:
        return f"torchao's Float8Tensor cannot be imported ({e})"
    if type(w) is not float8_tensor:
        return f"weight is torchao's {type(w).__name__}, not Float8Tensor"
    if module.bias is not None:
        return "has a bias (torchao adds it inside _scaled_mm)"
    act = getattr(w, "act_quant_kwargs", None)
    cfg = getattr(w, "mm_config", None)
    if act is None or type(act).__name__ != "QuantizeTensorToFloat8Kwargs":
        return "activations are not quantized to float8 (weight-only)"
    if w.qdata.dtype != _FP8 or act.float8_dtype != _FP8 or w.qdata.dim() != 2:
        return f"not e4m3 W8A8 (weight {w.qdata.dtype}, activations {act.float8_dtype})"
    if cfg is None or cfg.emulate or cfg.pad_inner_dim:
        return "mm_config emulates or pads the inner dimension"
    n = w.qdata.shape[0]
    granularity = type(act.granularity).__name__
    if _per_tensor(w) and granularity == "PerTensor":
        rowwise = False
    elif _per_row(w, n) and granularity == "PerRow":
        rowwise = True
    else:
        return f"scales are not both per tensor or both per row ({tuple(w.scale.shape)}, x {granularity})"
    preference = getattr(w.kernel_preference, "name", str(w.kernel_preference))
    if preference not in ("TORCH", "AUTO") or (preference == "AUTO" and rowwise and _mslk_may_run()):
        return f"torchao would run another kernel than torch._scaled_mm (kernel_preference {preference})"
    return None


def scale_epilogues(module: nn.Module) -> tuple[str, ...]:
    """The scale epilogues a served module's calls select: per tensor scale_tensor; per row scale_rowwise, and
    scale_row at M = 1 (one token's scale is one value: aotgemm_scaled_mm's shapes pick the problem)."""
    return (SCALE_ROWWISE, SCALE_ROW) if not _per_tensor(module.weight) else (SCALE_TENSOR,)


def scale_form(module: nn.Module, m: int) -> ScaleForm:
    """The form aotgemm_scaled_mm reads a served module's call at M rows as: per tensor; per token, except at
    M = 1, where the one token's scale is one value (per output channel: dispatch_rule.scale_form)."""
    return ScaleForm.TENSOR if _per_tensor(module.weight) else ScaleForm.ROW if m == 1 else ScaleForm.ROWWISE


def kernel_when_compiled(module: nn.Module, x: torch.Tensor) -> bool:
    """Whether torch.compile, tracing a served module's call, traces aotgemm_scaled_mm rather than torchao's own
    forward. At a static M: only where the active bundle serves the layer with a kernel (ops.has_kernel, for
    the epilogues a call at M looks up; a constant of the graph); at any other static M the compiled layer is
    torchao's compiled layer exactly (Inductor's own lowering of its _scaled_mm, no Python op on the host per
    call). At a symbolic M (one graph for every M, as servers compile): where the bundle has a kernel for the
    layer at some M (ops.has_kernel_at_some_m), and the op then decides per call, its kernel or the same
    _scaled_mm call torchao makes: per token on the H200 1.20x-1.91x torchao's compiled layer at M = 2-64 and
    0.97x-1.03x at misses (session 28, calls A and C). (A torch.cond over the M ranges the bundle serves, each
    branch compiled, timed 0.16x-0.93x at M = 16-64 in session 27's call B, with one compiled function for
    every layer shape, a setup session 28 found to distort per-tensor timings; not retried.)"""
    n, k = module.weight.qdata.shape
    m = ops.static_rows(x.shape)
    if m is None:
        return ops.has_kernel_at_some_m(_FP8, scale_epilogues(module), n, k)
    return ops.has_kernel(_FP8, scale_epilogues_of(scale_form(module, m), m), n, k, m)


def forward(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What torchao's F.linear override computes for a served module, with its _scaled_mm call made by
    aotgemm_scaled_mm (fast_accum overload where torchao's mm_config asks for fast accumulation). Any x but
    bf16 runs torchao's own forward (its output dtype is x's; aotgemm_scaled_mm writes bf16), and so does a call
    torch.compile traces where kernel_when_compiled says the bundle has no kernel for it.

    (Session 26's call E, tracing the op at every M, timed misses up to 15% slower than torchao's compiled
    layer; session 27's probe found the same kernels on both sides, the same cuBLAS algorithm and the same
    Triton quantization kernels, whose times moved 2-4x from one compiled graph to the next: not the op.)"""
    w = module.weight
    if x.dtype != torch.bfloat16:
        return nn.Linear.forward(module, x)
    if torch.compiler.is_compiling() and not kernel_when_compiled(module, x):
        return nn.Linear.forward(module, x)
    return _gemm(w, x, w.qdata, w.scale)


def _gemm(w, x: torch.Tensor, qdata: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x quantized as torchao quantizes it for weight `w` (its act_quant_kwargs), times qdata^T (e4m3 [N, K],
    scales `scale`: [1, 1] per tensor or [N, 1] per row) through aotgemm_scaled_mm: torchao's _scaled_mm call
    (`forward`), on `w`'s own data or on several such weights stacked (`merged_forward`)."""
    n, k = qdata.shape
    from torchao.quantization.quantize_.common import KernelPreference

    # torchao's quantization of x (QuantizeTensorToFloat8Kwargs -> Float8Tensor.from_hp), in the branch its AUTO
    # preference takes for every layer served here (torch ops, not mslk's kernels: unserved_reason), named
    # directly: from_hp's AUTO test asks importlib whether mslk is installed, which Dynamo will not trace (a
    # graph break under torch.compile, then a failed guard on torchao's tensor in torch 2.11).
    act = w.act_quant_kwargs
    xq = _float8_tensor_class().from_hp(x, act.float8_dtype, act.granularity, act.mm_config, act.hp_value_lb,
                                        act.hp_value_ub, KernelPreference.TORCH)
    data = xq.qdata.reshape(-1, k)
    if scale.numel() == 1:
        scale_a, scale_b = xq.scale.reshape(1), scale.reshape(1)
    else:  # torchao's row-wise call: scale_a [M, 1] (one per token), scale_b [1, N]
        scale_a, scale_b = xq.scale.reshape(-1, 1), scale.reshape(1, -1)
    op = torch.ops.aotgemm.aotgemm_scaled_mm
    gemm = op.fast_accum if w.mm_config.use_fast_accum else op.default
    return gemm(data, qdata.t(), scale_a, scale_b).reshape(*x.shape[:-1], n)


# --- several per-row layers of one input as one GEMM (fuse_transformers.fuse_projections) --------------------
def stackable(modules) -> bool:
    """Whether served torchao layers (unserved_reason None) stack into one per-row GEMM that computes what each
    computes: all per row (one scale per output row, so stacking keeps every row's scale; per-tensor layers'
    scales differ), of one K, quantizing x alike (float8 dtype, granularity, bounds) and accumulating alike."""
    ws = [m.weight for m in modules]
    if any(_per_tensor(w) or not _per_row(w, w.qdata.shape[0]) for w in ws):
        return False
    acts = {(w.qdata.shape[1], w.qdata.device, w.mm_config.use_fast_accum, w.act_quant_kwargs.float8_dtype,
             type(w.act_quant_kwargs.granularity).__name__, w.act_quant_kwargs.hp_value_lb,
             w.act_quant_kwargs.hp_value_ub) for w in ws}
    return len(acts) == 1


def stack(modules) -> tuple[torch.Tensor, torch.Tensor]:
    """The layers' e4m3 data and per-row scales stacked into two new tensors ([sum N, K], [sum N, 1]); each
    layer's weight then holds views of them, so memory does not grow."""
    ws = [m.weight for m in modules]
    with torch.no_grad():
        qdata = torch.cat([w.qdata for w in ws], dim=0)
        scale = torch.cat([w.scale for w in ws], dim=0)
    at = 0
    for w in ws:
        n = w.qdata.shape[0]
        w.qdata, w.scale = qdata[at:at + n], scale[at:at + n]
        at += n
    return qdata, scale


def merged_forward(modules, x: torch.Tensor, qdata: torch.Tensor, scale: torch.Tensor) -> torch.Tensor | None:
    """The stacked layers' outputs side by side, [.., sum N], from one quantization of x and one GEMM; None where
    the layers must run one by one: x not bf16, or torch.compile tracing a call no bundle kernel serves (as
    `forward` decides for one layer)."""
    w = modules[0].weight
    if x.dtype != torch.bfloat16:
        return None
    if torch.compiler.is_compiling():
        n, k = qdata.shape
        m = ops.static_rows(x.shape)
        epilogues = (SCALE_ROWWISE, SCALE_ROW)
        if not (ops.has_kernel_at_some_m(_FP8, epilogues, n, k) if m is None else
                ops.has_kernel(_FP8, scale_epilogues_of(ScaleForm.ROW if m == 1 else ScaleForm.ROWWISE, m),
                               n, k, m)):
            return None
    return _gemm(w, x, qdata, scale)
