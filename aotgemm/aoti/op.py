"""The op AOTInductor packages call: `torch.ops.aotgemm.aotgemm_linear(x, weight, bias=None)`.

out = x @ weight.T (+ bias), the nn.Linear convention; x may have leading
batch dimensions, the output is contiguous.

It is the Python runtime's op (aotgemm/runtime/ops.py). Its name repeats the
namespace because AOTInductor names a custom op's C shim
`aoti_torch_<device>_<op name>` and drops the namespace: `aotgemm::linear`
would call `aoti_torch_cuda_linear`, a name anything could export;
`aotgemm::aotgemm_linear` gives the unique `aoti_torch_cuda_aotgemm_linear`,
which libaotgemm_aoti exports.

Only compilation needs this module (export traces the op through its fake
implementation). A process that loads a package never registers it: the
generated code calls the shim directly.
"""

from __future__ import annotations

import torch

from ..epilogues import epilogue, fused_ops

OP_NAME = "aotgemm::aotgemm_linear"
SHIM_ARGS = "(AtenTensorHandle x, AtenTensorHandle weight, AtenTensorHandle* bias, AtenTensorHandle* ret0)"
# The fused-epilogue ops (aotgemm/runtime/epilogue_ops.py): op name -> its C shim's arguments: x, the weight,
# the epilogue's operands, the result.
EPILOGUE_SHIM_ARGS = {
    op: "(AtenTensorHandle x, AtenTensorHandle weight, "
        + "".join(f"AtenTensorHandle {o}, " for o in epilogue(name).operands) + "AtenTensorHandle* ret0)"
    for op, name in fused_ops().items()}
# fp8: torch.ops.aotgemm.aotgemm_scaled_mm(x, mat2, scale_a, scale_b) (aotgemm/runtime/scaled_mm.py)
SCALED_MM_OP_NAME = "aotgemm::aotgemm_scaled_mm"
SCALED_MM_SHIM_ARGS = ("(AtenTensorHandle x, AtenTensorHandle mat2, AtenTensorHandle scale_a, "
                       "AtenTensorHandle scale_b, AtenTensorHandle* ret0)")
# Every op a package may call -> its C shim's arguments.
OP_SHIM_ARGS = {"aotgemm_linear": SHIM_ARGS, **EPILOGUE_SHIM_ARGS, "aotgemm_scaled_mm": SCALED_MM_SHIM_ARGS}


def shim_declarations(name: str = "aotgemm_linear") -> list[str]:
    """The declarations aot_inductor.custom_ops_to_c_shims wants for op `name` (one per device, both exported)."""
    args = OP_SHIM_ARGS[name]
    return [f"AOTITorchError aoti_torch_{dev}_{name}{args}" for dev in ("cuda", "cpu")]


def _register() -> None:
    # One op for every path: the runtime's (eager, torch.compile, CUDA graphs), whose
    # eager meaning serves from the active bundle or cuBLAS; AOTI packages call its C shim.
    import aotgemm.runtime.epilogue_ops  # noqa: F401  (registers the fused-epilogue ops)
    import aotgemm.runtime.ops  # noqa: F401  (registers aotgemm::aotgemm_linear)


def _has_op() -> bool:
    try:
        return all(hasattr(torch.ops.aotgemm, name) for name in OP_SHIM_ARGS)
    except (AttributeError, RuntimeError):
        return False


def op(name: str = "aotgemm_linear") -> torch._ops.OpOverload:
    """The registered OpOverload of `name` (registers the ops on first use)."""
    if not _has_op():
        _register()
    return getattr(torch.ops.aotgemm, name).default


def scaled_mm_op() -> torch._ops.OpOverload:
    """aotgemm::aotgemm_scaled_mm's OpOverload."""
    return op("aotgemm_scaled_mm")


def shims() -> dict:
    """aot_inductor.custom_ops_to_c_shims: every aotgemm op a package may call -> its C shim declarations."""
    return {op(name): shim_declarations(name) for name in OP_SHIM_ARGS}
