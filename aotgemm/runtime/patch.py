"""Route a model's nn.Linear layers through aotgemm::aotgemm_linear, its SwiGLU MLPs through
aotgemm::aotgemm_linear_swiglu, and back.

`patch_model` swaps the class of each matching module for a thin subclass
whose only change is `forward`, so the module keeps its parameters, buffers,
hooks and state_dict keys; `unpatch_model` swaps the original class back.
Only modules that use nn.Linear's own forward are touched: a subclass with
its own forward (LoRA, quantised layers...) is left alone.

SwiGLU MLPs (transformers' LlamaMLP, Qwen2MLP, Qwen3MLP, MistralMLP and any
module of the same structure, see `fusable_mlp`) become one
`aotgemm_linear_swiglu` GEMM on [gate; up] followed by down_proj (itself a
patched nn.Linear when the bundle holds its shape). What is fused, and what
it costs, is in `fuse_mlp`'s docstring.
"""

from __future__ import annotations

import inspect
import re
from typing import Iterable

import torch
from torch import nn

from .table import supported_dtype


class AotGemmLinear(nn.Linear):
    """nn.Linear whose forward calls torch.ops.aotgemm.aotgemm_linear (what patch() turns nn.Linear into)."""

    _aotgemm_original_class = nn.Linear

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return torch.ops.aotgemm.aotgemm_linear(input, self.weight, self.bias)


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


# --- SwiGLU MLPs -------------------------------------------------------------------
# The forward every supported transformers MLP has (whitespace removed): down(act(gate(x)) * up(x)).
_MLP_FORWARD = re.compile(r"returnself\.down_proj\(self\.act_fn\(self\.gate_proj\((\w+)\)\)\*self\.up_proj\(\1\)\)$|"
                          r"(\w+)=self\.down_proj\(self\.act_fn\(self\.gate_proj\((\w+)\)\)\*self\.up_proj\(\3\)\)"
                          r"return\2$")
_forward_ok: dict[type, bool] = {}


def _plain_linear(m) -> bool:
    return type(m) in (nn.Linear, AotGemmLinear) and "forward" not in m.__dict__


def _is_silu(act) -> bool:
    """nn.SiLU or transformers' SiLUActivation, checked on values too (a config may map "silu" elsewhere)."""
    if not isinstance(act, nn.Module) or type(act).__name__ not in ("SiLU", "SiLUActivation"):
        return False
    t = torch.tensor([-3.0, -0.5, 0.0, 0.7, 4.0])
    with torch.no_grad():
        return torch.allclose(act(t), torch.nn.functional.silu(t), atol=1e-6)


def _forward_matches(cls: type) -> bool:
    ok = _forward_ok.get(cls)
    if ok is None:
        try:
            body = inspect.getsource(cls.forward).split(":", 1)[1]
        except (OSError, TypeError, IndexError):
            body = ""
        body = re.sub(r"#.*", "", body)
        body = re.sub(r'"""[\s\S]*?"""', "", body)
        ok = _forward_ok[cls] = bool(_MLP_FORWARD.search(re.sub(r"\s+", "", body)))
    return ok


def fusable_mlp(module: nn.Module, shapes) -> bool:
    """Whether `module` is a SwiGLU MLP `fuse_mlp` can serve: plain bias-free nn.Linear gate_proj and up_proj of
    one shape [I, H] and dtype, a down_proj nn.Linear, a SiLU `act_fn`, a forward that is exactly
    down_proj(act_fn(gate_proj(x)) * up_proj(x)) (read from its source), and the bundle holding [2I, H]."""
    if is_patched(module) or "forward" in module.__dict__:
        return False
    g, u, d = (getattr(module, a, None) for a in ("gate_proj", "up_proj", "down_proj"))
    if not (_plain_linear(g) and _plain_linear(u) and isinstance(d, nn.Linear)):
        return False
    if g.bias is not None or u.bias is not None or g.weight.shape != u.weight.shape:
        return False
    if g.weight.dtype != u.weight.dtype or g.weight.device != u.weight.device or g.weight.is_meta:
        return False
    if not _is_silu(getattr(module, "act_fn", None)) or not _forward_matches(type(module)):
        return False
    dt = supported_dtype(g.weight.dtype)
    return dt is not None and (dt, 2 * g.out_features, g.in_features) in shapes


def _fused_mlp_forward(self, x: torch.Tensor) -> torch.Tensor:
    return self.down_proj(torch.ops.aotgemm.aotgemm_linear_swiglu(x, self.aotgemm_gate_up))


_mlp_subclasses: dict[type, type] = {}


def fuse_mlp(module: nn.Module) -> None:
    """Serve a SwiGLU MLP with one aotgemm_linear_swiglu GEMM on W = [gate; up], then down_proj.

    What is fused: gate_proj, up_proj, the SiLU and the multiply become one op
    (one bundle kernel with the swiglu epilogue when the bundle has one; else
    one identity-kernel or cuBLAS GEMM on [gate; up] and the SiLU*mul in torch).
    down_proj is unchanged (an nn.Linear, patched as usual). The decoder
    layers' residual adds (`residual + self.o_proj(...)` inside attention's
    caller, `residual + self.mlp(...)`) are NOT fused in eager mode: that needs
    rewriting transformers' decoder-layer and attention forwards; the
    AOTInductor rewrite (aotgemm.aoti) fuses them in compiled packages.

    Memory: gate and up are concatenated once into the non-persistent buffer
    `aotgemm_gate_up` [2I, H], and gate_proj.weight / up_proj.weight become
    views of its two halves, so the originals are freed and steady-state
    memory is unchanged. During patching, one MLP at a time, the old gate and
    up weights and the new buffer coexist: a transient extra copy of one
    layer's gate+up (2*I*H elements; 235 MB in bf16 for Llama-3.1-8B), and the
    old weights stay alive if something else (an optimizer) holds them.
    state_dict keys and load_state_dict are unchanged (loading writes into the
    views, hence into the buffer). Patch after moving the model to its device
    and dtype: `.to()` would move the buffer and the views separately.
    """
    g, u = module.gate_proj, module.up_proj
    inter = g.out_features
    with torch.no_grad():
        gate_up = torch.cat([g.weight.detach(), u.weight.detach()], dim=0)
    module.register_buffer("aotgemm_gate_up", gate_up, persistent=False)
    g.weight = nn.Parameter(gate_up[:inter], requires_grad=g.weight.requires_grad)
    u.weight = nn.Parameter(gate_up[inter:], requires_grad=u.weight.requires_grad)
    cls = type(module)
    sub = _mlp_subclasses.get(cls)
    if sub is None:
        sub = _mlp_subclasses[cls] = type(cls.__name__, (cls,), {
            "forward": _fused_mlp_forward, "_aotgemm_original_class": cls, "_aotgemm_fused_mlp": True,
            "__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__})
    module.__class__ = sub


def patch_model(model: nn.Module, shapes: frozenset[tuple[str, int, int]]) -> list[str]:
    """Fuse the SwiGLU MLPs (`fuse_mlp`) and route the nn.Linear layers whose (dtype, N, K) the bundle holds;
    the names of the modules changed."""
    names = []
    for name, module in list(model.named_modules()):
        if fusable_mlp(module, shapes):
            fuse_mlp(module)
            names.append(name)
    for name, module in model.named_modules():
        if patchable(module, shapes):
            module.__class__ = _patched_class(type(module))
            names.append(name)
    return names


def unpatch_model(model: nn.Module) -> list[str]:
    names = []
    for name, module in model.named_modules():
        if is_patched(module):
            if type(module).__dict__.get("_aotgemm_fused_mlp"):
                # gate_proj / up_proj keep their weights as views of the concatenated buffer: no copy
                del module._buffers["aotgemm_gate_up"]
            module.__class__ = type(module).__dict__["_aotgemm_original_class"]
            names.append(name)
    return names
