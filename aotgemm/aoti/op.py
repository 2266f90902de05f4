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

OP_NAME = "aotgemm::aotgemm_linear"
SHIM_ARGS = "(AtenTensorHandle x, AtenTensorHandle weight, AtenTensorHandle* bias, AtenTensorHandle* ret0)"
# fp8: torch.ops.aotgemm.aotgemm_scaled_mm(x, mat2, scale_a, scale_b) (aotgemm/runtime/scaled_mm.py)
SCALED_MM_OP_NAME = "aotgemm::aotgemm_scaled_mm"
SCALED_MM_SHIM_ARGS = ("(AtenTensorHandle x, AtenTensorHandle mat2, AtenTensorHandle scale_a, "
                       "AtenTensorHandle scale_b, AtenTensorHandle* ret0)")


def shim_declarations() -> list[str]:
    """The declarations aot_inductor.custom_ops_to_c_shims wants (one per device, both exported)."""
    return [f"AOTITorchError aoti_torch_{dev}_aotgemm_linear{SHIM_ARGS}" for dev in ("cuda", "cpu")]


def scaled_mm_shim_declarations() -> list[str]:
    return [f"AOTITorchError aoti_torch_{dev}_aotgemm_scaled_mm{SCALED_MM_SHIM_ARGS}" for dev in ("cuda", "cpu")]


def c_shims() -> dict:
    """aot_inductor.custom_ops_to_c_shims: each op a package may call -> its shims' declarations."""
    return {op(): shim_declarations(), scaled_mm_op(): scaled_mm_shim_declarations()}


def _register() -> None:
    # One op for every path: the runtime's (eager, torch.compile, CUDA graphs), whose
    # eager meaning serves from the active bundle or cuBLAS; AOTI packages call its C shim.
    import aotgemm.runtime.ops  # noqa: F401  (registers aotgemm::aotgemm_linear)


def _has_op() -> bool:
    try:
        return hasattr(torch.ops.aotgemm, "aotgemm_linear")
    except (AttributeError, RuntimeError):
        return False


def op() -> torch._ops.OpOverload:
    """The registered OpOverload (registers it on first use)."""
    if not _has_op():
        _register()
    return torch.ops.aotgemm.aotgemm_linear.default


def scaled_mm_op() -> torch._ops.OpOverload:
    """aotgemm::aotgemm_scaled_mm's OpOverload (registered with aotgemm_linear)."""
    op()
    return torch.ops.aotgemm.aotgemm_scaled_mm.default
