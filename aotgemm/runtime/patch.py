"""Route a model's nn.Linear layers through aotgemm::aotgemm_linear, and back.

`patch_model` swaps the class of each matching module for a thin subclass
whose only change is `forward`, so the module keeps its parameters, buffers,
hooks and state_dict keys; `unpatch_model` swaps the original class back.
Only modules that use nn.Linear's own forward are touched: a subclass with
its own forward (LoRA, quantised layers...) is left alone.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from .eager import linear as _eager_linear
from .table import supported_dtype


class AotGemmLinear(nn.Linear):
    """nn.Linear whose forward calls torch.ops.aotgemm.aotgemm_linear (what patch() turns nn.Linear into)."""

    _aotgemm_original_class = nn.Linear

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        # eager: the op's decisions without the dispatcher (runtime/eager.py); traced or compiled: the op itself
        return _eager_linear(self, input)


_subclasses: dict[type, type] = {nn.Linear: AotGemmLinear}


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
    """Whether `module` is an nn.Linear (with nn.Linear's forward) whose (dtype, N, K) is in `shapes`."""
    if not isinstance(module, nn.Linear) or is_patched(module):
        return False
    if type(module).forward is not nn.Linear.forward or "forward" in module.__dict__:
        return False
    w = module.weight
    dt = supported_dtype(w.dtype)
    return dt is not None and (dt, module.out_features, module.in_features) in shapes


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
