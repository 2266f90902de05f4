"""Route a model's nn.Linear layers through aotgemm::aotgemm_linear, and back.

`patch_model` swaps the class of each matching module for a thin subclass
whose only change is `forward`, so the module keeps its parameters, buffers,
hooks and state_dict keys; `unpatch_model` swaps the original class back.
Only modules that use nn.Linear's own forward are touched: a subclass with
its own forward (LoRA, quantised layers...) is left alone.

fp8 (W8A8): patch serves `Fp8Linear` modules (below): a plain module holding
an e4m3 weight [N, K] and its float32 scale (per tensor [1], or per output
channel [N]), that quantizes its input per tensor on the fly and runs
torch._scaled_mm; patched, it runs torch.ops.aotgemm.aotgemm_scaled_mm
instead (same semantics, a bundle kernel where the bundle has one).
`Fp8Linear.from_linear` makes one from an nn.Linear.

It does not serve torchao's float8 inference linears
(Float8DynamicActivationFloat8WeightConfig): there the activation is
quantized inside torchao's weight tensor subclass (Float8Tensor's linear
override), so a patch would have to re-implement torchao's activation
quantization (its scale choice, bounds and rounding) bit for bit, which
cannot be tested without torchao installed; and torchao's per-row config
quantizes activations per row (scale_a [M, 1]), a form no bundle kernel
takes (aotgemm_scaled_mm sends it to _scaled_mm).
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from ..problem import FLOAT8_E4M3, SCALED_DTYPES, output_dtype, torch_dtype
from .table import supported_dtype

_FP8 = torch_dtype(FLOAT8_E4M3)
_FP8_MAX = 448.0  # the largest finite e4m3 value


def quantize_per_tensor(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x as e4m3 with one float32 scale: scale = amax(|x|) / 448 (1e-12 at least), x_fp8 = x / scale."""
    scale = (x.abs().amax().float().clamp(min=1e-12) / _FP8_MAX).reshape(1)
    return (x.float() / scale).clamp(-_FP8_MAX, _FP8_MAX).to(_FP8), scale


class Fp8Linear(nn.Module):
    """y = x W^T (+ bias) with W stored in e4m3 and x quantized per tensor on the fly (W8A8), output bf16.

    `weight` [N, K] float8_e4m3fn and `weight_scale` float32 [1] (per tensor) or [N] (per output channel)
    are buffers; W = weight * weight_scale. The forward runs
    torch._scaled_mm(x_fp8, weight.t(), x_scale, weight_scale, out_dtype=bfloat16); patch() turns it into
    the class whose forward runs aotgemm_scaled_mm (a bundle kernel where the bundle has one).
    """

    def __init__(self, weight: torch.Tensor, weight_scale: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        super().__init__()
        if weight.dtype != _FP8 or weight.dim() != 2:
            raise ValueError(f"Fp8Linear: weight must be a 2-D {FLOAT8_E4M3} tensor, got {weight.dtype} "
                             f"{tuple(weight.shape)}")
        n = weight.shape[0]
        if weight_scale.dtype != torch.float32 or weight_scale.numel() not in (1, n):
            raise ValueError(f"Fp8Linear: weight_scale must be float32 with 1 or N={n} elements, got "
                             f"{weight_scale.dtype} {tuple(weight_scale.shape)}")
        self.register_buffer("weight", weight)
        self.register_buffer("weight_scale", weight_scale.reshape(-1).contiguous())
        self.register_buffer("bias", bias)
        self.out_features, self.in_features = weight.shape

    @classmethod
    def from_linear(cls, linear: nn.Linear, scales: str = "tensor") -> Fp8Linear:
        """Quantize an nn.Linear's weight to e4m3: one scale (`scales="tensor"`) or one per output row ("row")."""
        w = linear.weight.detach()
        if scales == "tensor":
            amax = w.abs().amax().float().reshape(1)
        elif scales == "row":
            amax = w.abs().amax(dim=1).float()
        else:
            raise ValueError(f"Fp8Linear.from_linear: scales must be 'tensor' or 'row', got {scales!r}")
        scale = amax.clamp(min=1e-12) / _FP8_MAX
        q = (w.float() / scale.reshape(-1, 1)).clamp(-_FP8_MAX, _FP8_MAX).to(_FP8)
        bias = None if linear.bias is None else linear.bias.detach().to(torch_dtype(output_dtype(FLOAT8_E4M3)))
        return cls(q, scale, bias)

    def _gemm(self, xq, x_scale):
        # torch._scaled_mm's forms: per tensor, or row-wise (scale_a [M, 1], scale_b [1, N])
        sb = self.weight_scale
        if sb.numel() == 1:
            return torch._scaled_mm(xq, self.weight.t(), x_scale, sb, out_dtype=torch.bfloat16)
        sa = x_scale.reshape(1, 1).expand(xq.shape[0], 1).contiguous()
        return torch._scaled_mm(xq, self.weight.t(), sa, sb.reshape(1, -1), out_dtype=torch.bfloat16)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        xq, x_scale = quantize_per_tensor(input.reshape(-1, self.in_features))
        out = self._gemm(xq, x_scale)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*input.shape[:-1], self.out_features)


class AotGemmFp8Linear(Fp8Linear):
    """Fp8Linear whose GEMM is torch.ops.aotgemm.aotgemm_scaled_mm (what patch() turns Fp8Linear into)."""

    _aotgemm_original_class = Fp8Linear

    def _gemm(self, xq, x_scale):
        return torch.ops.aotgemm.aotgemm_scaled_mm(xq, self.weight.t(), x_scale, self.weight_scale)


class AotGemmLinear(nn.Linear):
    """nn.Linear whose forward calls torch.ops.aotgemm.aotgemm_linear (what patch() turns nn.Linear into)."""

    _aotgemm_original_class = nn.Linear

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return torch.ops.aotgemm.aotgemm_linear(input, self.weight, self.bias)


_subclasses: dict[type, type] = {nn.Linear: AotGemmLinear, Fp8Linear: AotGemmFp8Linear}


def _patched_class(cls: type) -> type:
    sub = _subclasses.get(cls)
    if sub is None:
        sub = type(cls.__name__, (cls,), {
            "forward": AotGemmLinear.forward,
            "_aotgemm_original_class": cls,
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
        })
        _subclasses[cls] = sub
    return sub


def is_patched(module: nn.Module) -> bool:
    return "_aotgemm_original_class" in type(module).__dict__


def patchable(module: nn.Module, shapes: Iterable[tuple[str, int, int]] | frozenset) -> bool:
    """Whether `module` is an nn.Linear (with nn.Linear's forward) or an Fp8Linear whose (dtype, N, K) is in
    `shapes`."""
    if is_patched(module):
        return False
    if type(module) is Fp8Linear:
        return (FLOAT8_E4M3, module.out_features, module.in_features) in shapes
    if not isinstance(module, nn.Linear):
        return False
    if type(module).forward is not nn.Linear.forward or "forward" in module.__dict__:
        return False
    w = module.weight
    dt = supported_dtype(w.dtype)
    return dt is not None and dt not in SCALED_DTYPES and (dt, module.out_features, module.in_features) in shapes


def patch_model(model: nn.Module, shapes: frozenset[tuple[str, int, int]]) -> list[str]:
    names = []
    for name, module in model.named_modules():
        if patchable(module, shapes):
            module.__class__ = _patched_class(type(module))
            names.append(name)
    return names


def unpatch_model(model: nn.Module) -> list[str]:
    names = []
    for name, module in model.named_modules():
        if is_patched(module):
            module.__class__ = type(module).__dict__["_aotgemm_original_class"]
            names.append(name)
    return names
