"""Fp8Linear: a plain W8A8 linear (e4m3 weight and its float32 scale, input quantized on the fly, bf16 out)
that runs torch._scaled_mm, and AotGemmFp8Linear, what runtime/patch.py turns it into: the same layer whose
GEMM is torch.ops.aotgemm.aotgemm_scaled_mm (a bundle kernel where the bundle has one)."""

from __future__ import annotations

import torch
from torch import nn

from ..epilogues import for_scales
from ..problem import FLOAT8_E4M3, output_dtype, torch_dtype

_FP8 = torch_dtype(FLOAT8_E4M3)
_FP8_MAX = 448.0  # the largest finite e4m3 value


def quantize_per_tensor(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x as e4m3 with one float32 scale: scale = amax(|x|) / 448 (1e-12 at least), x_fp8 = x / scale."""
    scale = (x.abs().amax().float().clamp(min=1e-12) / _FP8_MAX).reshape(1)
    return (x.float() / scale).clamp(-_FP8_MAX, _FP8_MAX).to(_FP8), scale


def quantize_per_row(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x [M, K] as e4m3 with one float32 scale per row (token), [M, 1]: the same rule row by row."""
    scale = x.abs().amax(dim=1, keepdim=True).float().clamp(min=1e-12) / _FP8_MAX
    return (x.float() / scale).clamp(-_FP8_MAX, _FP8_MAX).to(_FP8), scale


# Fp8Linear's scale forms (a manifest's `scales`): name -> (per-output-channel weight scale, per-token x scale)
_FP8_FORMS = {"tensor": (False, False), "row": (True, False), "rowwise": (True, True)}


class Fp8Linear(nn.Module):
    """y = x W^T (+ bias) with W stored in e4m3 and x quantized on the fly (W8A8), output bf16.

    `weight` [N, K] float8_e4m3fn and `weight_scale` float32 [1] (per tensor) or [N] (per output channel)
    are buffers; W = weight * weight_scale. x is quantized per tensor, or with `per_token` one scale per
    row (token; then weight_scale is per output channel: torch._scaled_mm's row-wise form, torchao's
    PerRow). `scales` names the form ("tensor", "row", "rowwise": a manifest's `scales`). The forward runs
    torch._scaled_mm(x_fp8, weight.t(), x_scale, weight_scale, out_dtype=bfloat16); patch() turns it into
    the class whose forward runs aotgemm_scaled_mm (a bundle kernel where the bundle has one).
    """

    def __init__(self, weight: torch.Tensor, weight_scale: torch.Tensor, bias: torch.Tensor | None = None,
                 per_token: bool = False) -> None:
        super().__init__()
        if weight.dtype != _FP8 or weight.dim() != 2:
            raise ValueError(f"Fp8Linear: weight must be a 2-D {FLOAT8_E4M3} tensor, got {weight.dtype} "
                             f"{tuple(weight.shape)}")
        n = weight.shape[0]
        if weight_scale.dtype != torch.float32 or weight_scale.numel() not in ((n,) if per_token else (1, n)):
            raise ValueError(f"Fp8Linear: weight_scale must be float32 with {'' if per_token else '1 or '}N={n} "
                             f"elements{' (per-token activations take per-channel weight scales)' if per_token else ''}"
                             f", got {weight_scale.dtype} {tuple(weight_scale.shape)}")
        self.register_buffer("weight", weight)
        self.register_buffer("weight_scale", weight_scale.reshape(-1).contiguous())
        self.register_buffer("bias", bias)
        self.out_features, self.in_features = weight.shape
        self.per_token = per_token

    @property
    def scales(self) -> str:
        """The scale form: "tensor", "row" (per-channel weight scale) or "rowwise" (and per-token x)."""
        return "rowwise" if self.per_token else "row" if self.weight_scale.numel() > 1 else "tensor"

    @property
    def scale_epilogue(self) -> str:
        """The epilogue of this layer's fp8 problem: the one a manifest's `scales` names."""
        return for_scales(self.scales).name

    @classmethod
    def from_linear(cls, linear: nn.Linear, scales: str = "tensor") -> Fp8Linear:
        """Quantize an nn.Linear's weight to e4m3: one scale (`scales="tensor"`) or one per output row ("row",
        and "rowwise", which also quantizes x per token)."""
        if scales not in _FP8_FORMS:
            raise ValueError(f"Fp8Linear.from_linear: scales must be one of {', '.join(map(repr, _FP8_FORMS))}, "
                             f"got {scales!r}")
        per_channel, per_token = _FP8_FORMS[scales]
        w = linear.weight.detach()
        amax = w.abs().amax(dim=1).float() if per_channel else w.abs().amax().float().reshape(1)
        scale = amax.clamp(min=1e-12) / _FP8_MAX
        q = (w.float() / scale.reshape(-1, 1)).clamp(-_FP8_MAX, _FP8_MAX).to(_FP8)
        bias = None if linear.bias is None else linear.bias.detach().to(torch_dtype(output_dtype(FLOAT8_E4M3)))
        return cls(q, scale, bias, per_token=per_token)

    def _scales(self, xq, x_scale):
        """(scale_a, scale_b) in torch._scaled_mm's forms: per tensor, or row-wise (scale_a [M, 1], scale_b
        [1, N]; a per-tensor x scale broadcast)."""
        sb = self.weight_scale
        if sb.numel() == 1:
            return x_scale, sb
        if not self.per_token:
            x_scale = x_scale.reshape(1, 1).expand(xq.shape[0], 1).contiguous()
        return x_scale, sb.reshape(1, -1)

    def _gemm(self, xq, x_scale):
        return torch._scaled_mm(xq, self.weight.t(), *self._scales(xq, x_scale), out_dtype=torch.bfloat16)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        quantize = quantize_per_row if self.per_token else quantize_per_tensor
        xq, x_scale = quantize(input.reshape(-1, self.in_features))
        out = self._gemm(xq, x_scale)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*input.shape[:-1], self.out_features)


class AotGemmFp8Linear(Fp8Linear):
    """Fp8Linear whose GEMM is torch.ops.aotgemm.aotgemm_scaled_mm (what patch() turns Fp8Linear into)."""

    _aotgemm_original_class = Fp8Linear

    def _gemm(self, xq, x_scale):
        if self.per_token:  # the row-wise form: its shapes select scale_rowwise (scale_row at M = 1)
            return torch.ops.aotgemm.aotgemm_scaled_mm(xq, self.weight.t(), x_scale, self.weight_scale.reshape(1, -1))
        return torch.ops.aotgemm.aotgemm_scaled_mm(xq, self.weight.t(), x_scale, self.weight_scale)
