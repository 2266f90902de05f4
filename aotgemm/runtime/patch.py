"""Route a model's nn.Linear layers through aotgemm::aotgemm_linear, its gated MLPs through
aotgemm::aotgemm_linear_swiglu / _geglu, its Fp8Linear layers through aotgemm::aotgemm_scaled_mm, and back.

`patch_model` swaps the class of each matching module for a thin subclass
whose only change is `forward`, so the module keeps its parameters, buffers,
hooks and state_dict keys; `unpatch_model` swaps the original class back.
Only modules that use nn.Linear's own forward are touched: a subclass with
its own forward (LoRA, quantised layers...) is left alone.

transformers' gated MLPs, their attentions' q/k/v projections and the decoder layers' residual adds are first
fused into the GEMM shapes and epilogues a bundle built from its manifest holds (runtime/fuse_transformers.py).

fp8 (W8A8): patch serves `Fp8Linear` modules (runtime/fp8_linear.py): a plain module holding
an e4m3 weight [N, K] and its float32 scale (per tensor [1], or per output
channel [N]), that quantizes its input per tensor on the fly and runs
torch._scaled_mm; patched, it runs torch.ops.aotgemm.aotgemm_scaled_mm
instead (same semantics, a bundle kernel where the bundle has one).
`Fp8Linear.from_linear` makes one from an nn.Linear.

torchao's float8 inference linears (nn.Linear layers whose weight
`quantize_(model, Float8DynamicActivationFloat8WeightConfig(...))` made a
torchao Float8Tensor, per tensor or per row) become AotGemmTorchaoFp8Linear:
torchao still quantizes each input (its own function, so the same bits), and
the GEMM it would hand to torch._scaled_mm runs as aotgemm_scaled_mm (its
fast_accum overload under torchao's default config). Which of them are
served, and why others are not, is aotgemm/runtime/torchao_fp8.py's. A layer
holding any other tensor subclass, or a torchao tensor in a form not served,
is left alone: it is never taken for a bf16 nn.Linear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
from torch import nn

from ..epilogues import BIAS, IDENTITY, SCALE_ROW, SCALE_ROWWISE
from ..problem import FLOAT8_E4M3, SCALED_DTYPES
from . import torchao_fp8 as _torchao_fp8
from .eager import linear as _eager_linear
from .eager import module_call as _eager_module_call
from .fp8_linear import AotGemmFp8Linear, Fp8Linear
from .table import supported_dtype


class AotGemmLinear(nn.Linear):
    """nn.Linear whose forward calls torch.ops.aotgemm.aotgemm_linear (what patch() turns nn.Linear into)."""

    _aotgemm_original_class = nn.Linear
    __call__ = _eager_module_call  # nn.Module.__call__'s frames skipped when it would only call forward

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        # eager: the op's decisions without the dispatcher (runtime/eager.py); traced or compiled: the op itself
        return _eager_linear(self, input)


class AotGemmTorchaoFp8Linear(nn.Linear):
    """nn.Linear holding a torchao Float8Tensor weight whose GEMM is aotgemm_scaled_mm (torchao_fp8.forward)."""

    _aotgemm_original_class = nn.Linear

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return _torchao_fp8.forward(self, input)


_subclasses: dict[type, type] = {nn.Linear: AotGemmLinear, Fp8Linear: AotGemmFp8Linear}
_torchao_subclasses: dict[type, type] = {nn.Linear: AotGemmTorchaoFp8Linear}


def _linear_forward_on_plain_weight(module: nn.Module) -> bool:
    """Whether an nn.Linear runs nn.Linear's own forward (no subclass or instance override) on a plain weight:
    what patch may route (a LoRA layer, say, computes something else)."""
    return type(module).forward is nn.Linear.forward and "forward" not in module.__dict__ and _plain_weight(module)


def _plain_weight(module: nn.Module) -> bool:
    """Whether module's weight is a plain tensor: a tensor subclass (torchao's quantized weights, for one) has
    a dtype that need not say what its data is, and its own F.linear."""
    return type(module.weight) in (torch.Tensor, nn.Parameter)


def patched_subclass(cls: type, attrs: dict) -> type:
    """A subclass of `cls` with `attrs` (its new forward...) that passes for `cls` (name, module, qualname, doc)
    and remembers it (`_aotgemm_original_class`: is_patched, unpatch_model). Every patched or fused class is one."""
    return type(cls.__name__, (cls,), {**attrs, "_aotgemm_original_class": cls, "__module__": cls.__module__,
                                       "__qualname__": cls.__qualname__, "__doc__": cls.__doc__})


def _patched_class(cls: type, torchao: bool = False) -> type:
    """The patched subclass of `cls` (made once): its GEMM through aotgemm_linear, or with `torchao` (a layer
    holding a torchao float8 weight) through aotgemm_scaled_mm."""
    cache = _torchao_subclasses if torchao else _subclasses
    sub = cache.get(cls)
    if sub is None:
        base = AotGemmTorchaoFp8Linear if torchao else AotGemmLinear
        attrs = {"forward": base.forward}
        if not torchao:
            attrs["__call__"] = AotGemmLinear.__call__
        sub = cache[cls] = patched_subclass(cls, attrs)
    return sub


def is_patched(module: nn.Module) -> bool:
    return "_aotgemm_original_class" in type(module).__dict__


def _kernel_for(served, dt: str, n: int, k: int, epilogues: tuple[str, ...]) -> bool:
    """Whether, when `served` is given (patch_model's), one of `epilogues` has a kernel for (dt, n, k) there."""
    return served is None or any((dt, n, k, e) in served for e in epilogues)


def _serves(shapes, served, dt: str, n: int, k: int, epilogues: tuple[str, ...]) -> bool:
    """Whether (dt, n, k) is in `shapes` and `_kernel_for` it."""
    return (dt, n, k) in shapes and _kernel_for(served, dt, n, k, epilogues)


def patchable(module: nn.Module, shapes: Iterable[tuple[str, int, int]] | frozenset, served=None) -> bool:
    """Whether `module` is an nn.Linear (with nn.Linear's forward and a plain weight), an Fp8Linear, or a torchao
    float8 linear torchao_fp8 serves, whose (dtype, N, K) is in `shapes` and (`served` given) has a kernel that
    can serve it: identity (or bias, for a module with a bias; identity + the add serves it too), or a scale
    epilogue for the fp8 ones."""
    if is_patched(module):
        return False
    if type(module) is Fp8Linear:
        # per-token x at M = 1 is scale_row's form (aotgemm_scaled_mm's shapes pick the problem)
        epilogues = (SCALE_ROWWISE, SCALE_ROW) if module.per_token else (module.scale_epilogue,)
        return _serves(shapes, served, FLOAT8_E4M3, module.out_features, module.in_features, epilogues)
    if not isinstance(module, nn.Linear):
        return False
    if _torchao_fp8.holds_torchao_tensor(module):
        return (_torchao_fp8.unserved_reason(module) is None
                and _serves(shapes, served, FLOAT8_E4M3, module.out_features, module.in_features,
                            _torchao_fp8.scale_epilogues(module)))
    if not _linear_forward_on_plain_weight(module):
        return False
    w = module.weight
    dt = supported_dtype(w.dtype)
    return (dt is not None and dt not in SCALED_DTYPES
            and _serves(shapes, served, dt, module.out_features, module.in_features,
                        (IDENTITY, BIAS) if module.bias is not None else (IDENTITY,)))


@dataclass(frozen=True)
class Unserved:
    """A GEMM module of a patched model whose calls no bundle kernel can serve: its name, (dtype, N, K) and why
    (`UNSERVED_REASONS`)."""

    name: str
    dtype: str
    n: int
    k: int
    reason: str


NOT_IN_BUNDLE = "shape not in the bundle"
UNSERVED_REASONS = {
    NOT_IN_BUNDLE: "the manifest lacks this (dtype, N, K): build one from this model's config (aotgemm manifest "
                   "from-hf), or add the layer",
    "cuBLAS at every M": "the bundle holds the shape, and its tuner kept cuBLAS at every M bucket",
    "not a plain nn.Linear": "a subclass with its own forward, or a weight of a tensor subclass patch does not serve",
    "dtype not served": "bundle kernels are bf16, fp16 or e4m3 (Fp8Linear, torchao float8)",
}


def unserved(model: nn.Module, shapes, served=None) -> list[Unserved]:
    """The GEMM modules of `model` (nn.Linear, Fp8Linear) that are neither patched nor run inside a fused module's
    call (fuse_transformers' SERVES), with why: what `patch` left to torch."""
    covered = set()
    for name, module in model.named_modules():
        for child in type(module).__dict__.get("_aotgemm_serves", ()):
            covered.add(f"{name}.{child}" if name else child)
    out = []
    for name, module in model.named_modules():
        if name in covered or is_patched(module) or not (isinstance(module, nn.Linear) or type(module) is Fp8Linear):
            continue
        torchao = _torchao_fp8.holds_torchao_tensor(module)
        dt = FLOAT8_E4M3 if torchao or type(module) is Fp8Linear else supported_dtype(module.weight.dtype)
        shape = (module.out_features, module.in_features)
        if dt is None or (dt in SCALED_DTYPES and not (torchao or type(module) is Fp8Linear)):
            reason = "dtype not served"
        elif type(module) is not Fp8Linear and (
                (torchao and _torchao_fp8.unserved_reason(module) is not None)
                or (not torchao and not _linear_forward_on_plain_weight(module))):
            reason = "not a plain nn.Linear"
        elif (dt, *shape) not in shapes:
            reason = NOT_IN_BUNDLE
        else:
            reason = "cuBLAS at every M"
        out.append(Unserved(name, dt or str(module.weight.dtype).removeprefix("torch."), *shape, reason))
    return out


def _plain_linear(m) -> bool:
    return type(m) in (nn.Linear, AotGemmLinear) and "forward" not in m.__dict__ and _plain_weight(m)


def patch_model(model: nn.Module, shapes: frozenset[tuple[str, int, int]],
                served: frozenset[tuple[str, int, int, str]] | None = None) -> list[str]:
    """Fuse the gated MLPs (`fuse_mlp`), the projections modules call on one input (q/k/v) and o_proj hooks
    (`fuse_projections`) and the decoder layers' residual adds (`fuse_decoder_residual`), and route the nn.Linear
    and Fp8Linear layers whose (dtype, N, K) the bundle holds; the names of the modules changed.

    `served` (LoadedBundle.served: the (dtype, N, K, epilogue) problems with a kernel at some M bucket) narrows
    that to layers a kernel can serve: a layer the tuner left to cuBLAS at every M keeps nn.Linear's own
    call, since routing it would only add host time (a miss costs about what nn.Linear's call does). None:
    every held shape is routed (its calls then show in aotgemm.runtime.stats())."""
    from . import fuse_transformers as fuse  # it imports this module's helpers

    names = []
    for name, module in list(model.named_modules()):
        if fuse.fusable_mlp(module, shapes, served):
            fuse.fuse_mlp(module)
            names.append(name)
        elif any(parts := fuse.projection_parts(module, shapes, served)):
            fuse.fuse_projections(module, *parts)
            names.append(name)
    for name, module in list(model.named_modules()):
        if fuse.fuse_decoder_residual(module, served):
            names.append(name)
    for name, module in model.named_modules():
        if patchable(module, shapes, served):
            module.__class__ = _patched_class(type(module), _torchao_fp8.holds_torchao_tensor(module))
            names.append(name)
    return names


def unpatch_model(model: nn.Module) -> list[str]:
    from . import fuse_transformers as fuse

    names = []
    for name, module in model.named_modules():
        if is_patched(module):
            fuse.drop_fused_buffers(module)
            module.__class__ = type(module).__dict__["_aotgemm_original_class"]
            names.append(name)
    return names
