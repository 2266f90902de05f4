"""patch()'s fusions of transformers' modules, each into the GEMM shape a bundle built from its manifest holds.

- SwiGLU MLPs: gate_proj, up_proj, the SiLU and the multiply as one aotgemm_linear_swiglu GEMM on [gate; up]
  (`fuse_mlp`), and the decoder layer's `residual + mlp(..)` in down_proj's GEMM (`fuse_decoder_residual`);
- attentions: q_proj, k_proj and v_proj as one aotgemm_linear on [Wq; Wk; Wv] (`fuse_attention`).

transformers writes these as separate projections where the engines (and `aotgemm manifest from-hf`) merge
them. Each fusion rewrites only what it recognises exactly (a module's structure, and its forward's source),
compiled from the class's own source with only the recognised lines changed; anything else is left as it is.
runtime/patch.py's patch_model applies them before routing the remaining nn.Linear layers.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import torch
from torch import nn

from ..epilogues import BIAS, IDENTITY, RESIDUAL_ADD, SWIGLU
from ..problem import SCALED_DTYPES
from . import eager_epilogues as _eager_fused
from .eager import linear as _eager_linear
from .patch import _kernel_for, _plain_linear, _serves, is_patched
from .table import supported_dtype


def _fused_operand(module: nn.Module, buffer: str, projections: tuple[str, ...], attr: str = "weight"):
    """A fused module's concatenated `buffer` (None where it has none), or, where autograd records and one of
    the projections' parameters `attr` requires grad, those parameters concatenated anew: their gradients reach
    them so (they are views of the buffer, but autograd does not know a GEMM on the buffer as one on them)."""
    if torch.is_grad_enabled():
        mods = module._modules
        params = [mods[p]._parameters.get(attr) for p in projections]
        if any(t is not None and t.requires_grad for t in params):
            return torch.cat(params, dim=0)
    return module._buffers.get(buffer)  # nn.Module.__getattr__ costs ~1.5 us a name


# --- SwiGLU MLPs -------------------------------------------------------------------
# The forward every supported transformers MLP has (whitespace removed): down(act(gate(x)) * up(x)).
_MLP_FORWARD = re.compile(r"returnself\.down_proj\(self\.act_fn\(self\.gate_proj\((\w+)\)\)\*self\.up_proj\(\1\)\)$|"
                          r"(\w+)=self\.down_proj\(self\.act_fn\(self\.gate_proj\((\w+)\)\)\*self\.up_proj\(\3\)\)"
                          r"return\2$")
_forward_ok: dict[type, bool] = {}


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


def fusable_mlp(module: nn.Module, shapes, served=None) -> bool:
    """Whether `module` is a SwiGLU MLP `fuse_mlp` can serve: plain bias-free nn.Linear gate_proj and up_proj of
    one shape [I, H] and dtype, a down_proj nn.Linear, a SiLU `act_fn`, a forward that is exactly
    down_proj(act_fn(gate_proj(x)) * up_proj(x)) (read from its source), and the bundle holding [2I, H] (with a
    swiglu or identity kernel, when `served` is given)."""
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
    dt = supported_dtype(g.weight.dtype)  # fp8 GEMMs are Fp8Linear's (aotgemm_scaled_mm): no swiglu kernels
    return (dt is not None and dt not in SCALED_DTYPES
            and _serves(shapes, served, dt, 2 * g.out_features, g.in_features, (SWIGLU, IDENTITY)))


_GATE_UP = ("gate_proj", "up_proj")


def _fused_mlp_forward(self, x: torch.Tensor) -> torch.Tensor:
    # eager: the op's decisions without the dispatcher (runtime/eager_epilogues.py); traced or compiled: the op
    return self.down_proj(_eager_fused.swiglu(self, x, _fused_operand(self, "aotgemm_gate_up", _GATE_UP)))


_fused_subclasses: dict[type, type] = {}


def fuse_mlp(module: nn.Module) -> None:
    """Serve a SwiGLU MLP with one aotgemm_linear_swiglu GEMM on W = [gate; up], then down_proj.

    What is fused: gate_proj, up_proj, the SiLU and the multiply become one op
    (one bundle kernel with the swiglu epilogue when the bundle has one; else
    one identity-kernel or cuBLAS GEMM on [gate; up] and the SiLU*mul in torch).
    down_proj is unchanged (an nn.Linear, patched as usual) when the MLP is
    called on its own; the decoder layer's `residual + self.mlp(...)` becomes
    down_proj's residual_add GEMM where `fuse_decoder_residual` recognises the
    layer. The attention's residual add (`residual + self_attn(...)`, o_proj
    inside the attention module) is NOT fused in eager mode (it would need
    rewriting transformers' attention forward); the AOTInductor rewrite
    (aotgemm.aoti) fuses it in compiled packages.

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
    sub = _fused_subclasses.get(cls)
    if sub is None:
        sub = _fused_subclasses[cls] = type(cls.__name__, (cls,), {
            "forward": _fused_mlp_forward, "aotgemm_residual": _fused_mlp_residual,
            "_aotgemm_original_class": cls, "_aotgemm_fused_mlp": True,
            "__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__})
    module.__class__ = sub


def _fused_mlp_residual(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """residual + self.forward(x), with the add in down_proj's GEMM (aotgemm_linear_residual)."""
    h = _eager_fused.swiglu(self, x, _fused_operand(self, "aotgemm_gate_up", _GATE_UP))
    return _eager_fused.residual(self, h, residual)


# --- decoder layers: `residual + self.mlp(hidden_states)` into down_proj's GEMM -----------------------
# The tail of transformers' decoder-layer forwards (Llama, Qwen2, Qwen3, Mistral; 5.x, and 4.x since they
# return a tensor):
_DECODER_TAIL = re.compile(r"\n(?P<i>[ \t]+)hidden_states = self\.mlp\(hidden_states\)\n"
                           r"(?P=i)hidden_states = residual \+ hidden_states\n"
                           r"(?P=i)return hidden_states\s*$")
_decoder_forwards: dict[type, object] = {}


def _residual_fused_forward(cls: type):
    """cls.forward with its last `hidden_states = residual + self.mlp(hidden_states)` made one
    `self.mlp.aotgemm_residual(hidden_states, residual)` call, or None when its source does not end
    exactly so (or cannot be read, or uses zero-argument super()).

    The new forward is compiled from the class's own source with only those lines changed, in a copy
    of its module's globals (transformers 5 wraps decoder forwards at run time, in another module): whatever the installed transformers does before the MLP (attention, its
    kwargs, decorators) is kept as is.
    """
    if cls in _decoder_forwards:
        return _decoder_forwards[cls]
    fn = None
    try:
        inner = inspect.unwrap(cls.forward)  # its module's globals, not those of a wrapper installed at run time
        src = textwrap.dedent(inspect.getsource(inner))
    except (OSError, TypeError, ValueError):
        inner, src = None, ""
    m = _DECODER_TAIL.search(src)
    if m and "super()" not in src and "__class__" not in src and src.count("self.mlp(") == 1:
        ind = m.group("i")
        tail = f"\n{ind}hidden_states = self.mlp.aotgemm_residual(hidden_states, residual)\n{ind}return hidden_states\n"
        scope: dict = {}
        code = compile(src[:m.start()] + tail, f"<aotgemm: {cls.__qualname__}.forward, residual fused>", "exec")
        exec(code, dict(inner.__globals__), scope)  # noqa: S102 - the class's own, checked source
        fn = scope.get("forward")
    _decoder_forwards[cls] = fn
    return fn


def fuse_decoder_residual(module: nn.Module, served=None) -> bool:
    """Fold a decoder layer's final `residual + self.mlp(...)` into the fused MLP's down_proj GEMM.

    Only when `module.mlp` was fused by `fuse_mlp`, its down_proj has no bias, and the layer's forward
    ends exactly as transformers' decoder layers do (`_residual_fused_forward`). The class is swapped
    for a subclass with that forward (undone by unpatch). The attention's residual add
    (`residual + self_attn(...)`, o_proj inside the attention module) stays unfused in eager mode."""
    mlp = getattr(module, "mlp", None)
    if is_patched(module) or "forward" in module.__dict__ or not type(mlp).__dict__.get("_aotgemm_fused_mlp"):
        return False
    d = mlp.down_proj
    if d.bias is not None or not _plain_linear(d):
        return False
    if not _kernel_for(served, supported_dtype(d.weight.dtype), d.out_features, d.in_features,
                       (RESIDUAL_ADD, IDENTITY)):
        return False
    fwd = _residual_fused_forward(type(module))
    if fwd is None:
        return False
    cls = type(module)
    sub = _fused_subclasses.get(cls)
    if sub is None:
        sub = _fused_subclasses[cls] = type(cls.__name__, (cls,), {
            "forward": fwd, "_aotgemm_original_class": cls, "__module__": cls.__module__,
            "__qualname__": cls.__qualname__, "__doc__": cls.__doc__})
    module.__class__ = sub
    return True


# --- attention: q_proj, k_proj and v_proj as one GEMM on [Wq; Wk; Wv] ---------------------------------------
# transformers keeps the three projections apart, where the engines (and `aotgemm manifest from-hf`'s qkv layer)
# merge them: without this a transformers model's q/k/v GEMMs are shapes the bundle lacks.
_QKV = ("q_proj", "k_proj", "v_proj")
_QKV_OUTPUTS = ("_aotgemm_q", "_aotgemm_k", "_aotgemm_v")
_attention_forwards: dict[type, object] = {}


def _qkv_calls(fn: ast.FunctionDef) -> tuple[str, int, dict] | None:
    """(x, the index in fn's body of the first statement calling a projection, {projection: its Call node})
    when fn calls each of self.q_proj, self.k_proj and self.v_proj exactly once, on one variable x, each in a
    statement of fn's own body (not inside a branch or loop), with x not assigned from the first such
    statement to the last; else None."""
    calls: dict[str, list] = {}
    for node in ast.walk(fn):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _QKV
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"):
            calls.setdefault(node.func.attr, []).append(node)
        elif isinstance(node, ast.Attribute) and node.attr in _QKV and not isinstance(node.ctx, ast.Load):
            return None
    if sorted(calls) != sorted(_QKV) or any(len(c) != 1 for c in calls.values()):
        return None
    calls = {p: c[0] for p, c in calls.items()}
    if any(len(c.args) != 1 or c.keywords or not isinstance(c.args[0], ast.Name) for c in calls.values()):
        return None
    xs = {c.args[0].id for c in calls.values()}
    if len(xs) != 1:
        return None
    x = xs.pop()

    def owner(call) -> int | None:  # the index of the statement of fn.body whose expressions hold `call`
        for i, stmt in enumerate(fn.body):
            if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Return)) and any(
                    n is call for n in ast.walk(stmt)):
                return i
        return None

    at = [owner(c) for c in calls.values()]
    if None in at:
        return None
    span = fn.body[min(at):max(at) + 1]
    if any(isinstance(n, ast.Name) and n.id == x and not isinstance(n.ctx, ast.Load)
           for stmt in span for n in ast.walk(stmt)):
        return None
    return x, min(at), calls


def _qkv_fused_forward(cls: type):
    """cls.forward with its self.q_proj(x), self.k_proj(x) and self.v_proj(x) calls (`_qkv_calls`) replaced by
    the three outputs of one `self.aotgemm_qkv(x)`, called just before the first of them; None when the source
    is not of that form (or cannot be read, or uses zero-argument super()).

    Compiled from the class's own source with only those calls changed, in its module's globals (the function
    under any wrapper installed at run time: transformers 5 wraps attention forwards for its kernels hub), so
    whatever the installed transformers does around them (rotary embedding, q/k norms, cache, attention
    backend) is kept as is."""
    if cls in _attention_forwards:
        return _attention_forwards[cls]
    fn = None
    try:
        inner = inspect.unwrap(cls.forward)
        src = textwrap.dedent(inspect.getsource(inner))
        tree = ast.parse(src)
    except (OSError, TypeError, SyntaxError, ValueError):
        inner, src, tree = None, "", None
    f = tree.body[0] if tree is not None and tree.body else None
    found = _qkv_calls(f) if isinstance(f, ast.FunctionDef) else None
    if found and "super()" not in src and "__class__" not in src and not any(o in src for o in _QKV_OUTPUTS):
        x, first, calls = found

        class Outputs(ast.NodeTransformer):
            def visit_Call(self, node):
                for proj, out in zip(_QKV, _QKV_OUTPUTS):
                    if node is calls[proj]:
                        return ast.copy_location(ast.Name(id=out, ctx=ast.Load()), node)
                return self.generic_visit(node)

        f = Outputs().visit(f)
        f.body.insert(first, ast.parse(f"{', '.join(_QKV_OUTPUTS)} = self.aotgemm_qkv({x})").body[0])
        ast.fix_missing_locations(tree)
        code = compile(tree, f"<aotgemm: {cls.__qualname__}.forward, q/k/v fused>", "exec")
        scope: dict = {}
        exec(code, dict(inner.__globals__), scope)  # noqa: S102 - the class's own, checked source
        fn = scope.get(f.name)
    _attention_forwards[cls] = fn
    return fn


def fusable_attention(module: nn.Module, shapes, served=None) -> bool:
    """Whether `module` is an attention `fuse_attention` can serve: plain nn.Linear q_proj, k_proj and v_proj of
    one K, dtype and device, all with a bias or none, a forward of `_qkv_fused_forward`'s form, and the bundle
    holding [Nq + Nk + Nv, K] (with an identity kernel, or bias for biased projections, when `served` is
    given)."""
    if is_patched(module) or "forward" in module.__dict__:
        return False
    projs = [getattr(module, a, None) for a in _QKV]
    if not all(_plain_linear(p) for p in projs):
        return False
    w = [p.weight for p in projs]
    if len({(t.shape[1], t.dtype, t.device) for t in w}) != 1 or w[0].is_meta:
        return False
    biased = {p.bias is not None for p in projs}
    if len(biased) != 1 or (True in biased and len({(p.bias.dtype, p.bias.device) for p in projs}) != 1):
        return False
    dt = supported_dtype(w[0].dtype)
    n = sum(t.shape[0] for t in w)
    return (dt is not None and dt not in SCALED_DTYPES
            and _serves(shapes, served, dt, n, w[0].shape[1], (IDENTITY, BIAS) if True in biased else (IDENTITY,))
            and _qkv_fused_forward(type(module)) is not None)


def _fused_qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """q_proj(x), k_proj(x), v_proj(x): the three column blocks of one GEMM on [Wq; Wk; Wv] (views of its
    output, as vLLM's merged projection splits them)."""
    weight = _fused_operand(self, "aotgemm_qkv_weight", _QKV)
    bias = _fused_operand(self, "aotgemm_qkv_bias", _QKV, "bias")
    y = _eager_linear(self, x, weight, bias, "_aotgemm_memo_qkv")
    return y.split(self.__dict__["_aotgemm_qkv_split"], dim=-1)


def fuse_attention(module: nn.Module) -> None:
    """Serve an attention module's q_proj, k_proj and v_proj with one aotgemm_linear on W = [Wq; Wk; Wv] (and
    b = [bq; bk; bv]): the shape of the engines' merged qkv layer, which the bundles built from
    `aotgemm manifest from-hf` hold. The three outputs are views of the one output, split along its last
    dimension; o_proj is unchanged (patched as an nn.Linear where the bundle serves it).

    Memory: as fuse_mlp: the weights (and biases) are concatenated once into the non-persistent buffers
    `aotgemm_qkv_weight` (and `aotgemm_qkv_bias`), and each projection's parameters become views of them, so
    steady-state memory is unchanged and state_dict keys are too. Patch after moving the model to its device
    and dtype."""
    projs = [getattr(module, a) for a in _QKV]
    with torch.no_grad():
        qkv = torch.cat([p.weight.detach() for p in projs], dim=0)
        bias = None if projs[0].bias is None else torch.cat([p.bias.detach() for p in projs], dim=0)
    module.register_buffer("aotgemm_qkv_weight", qkv, persistent=False)
    if bias is not None:
        module.register_buffer("aotgemm_qkv_bias", bias, persistent=False)
    split, at = [], 0
    for p in projs:
        n = p.out_features
        p.weight = nn.Parameter(qkv[at:at + n], requires_grad=p.weight.requires_grad)
        if bias is not None:
            p.bias = nn.Parameter(bias[at:at + n], requires_grad=p.bias.requires_grad)
        split.append(n)
        at += n
    module.__dict__["_aotgemm_qkv_split"] = tuple(split)
    cls = type(module)
    sub = _fused_subclasses.get(cls)
    if sub is None:
        sub = _fused_subclasses[cls] = type(cls.__name__, (cls,), {
            "forward": _qkv_fused_forward(cls), "aotgemm_qkv": _fused_qkv, "_aotgemm_original_class": cls,
            "_aotgemm_fused_qkv": True, "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__})
    module.__class__ = sub


def drop_fused_buffers(module: nn.Module) -> None:
    """Undo a fusion's buffers before unpatch restores the class: the projections keep their weights (and
    biases) as views of them, so nothing is copied."""
    if type(module).__dict__.get("_aotgemm_fused_mlp"):
        del module._buffers["aotgemm_gate_up"]
    if type(module).__dict__.get("_aotgemm_fused_qkv"):
        module._buffers.pop("aotgemm_qkv_bias", None)
        del module._buffers["aotgemm_qkv_weight"]
        for slot in ("_aotgemm_qkv_split", "_aotgemm_memo_qkv"):
            module.__dict__.pop(slot, None)
