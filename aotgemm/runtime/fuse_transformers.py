"""patch()'s fusions of transformers' modules, each into the GEMM shape a bundle built from its manifest holds.

- gated MLPs: gate_proj, up_proj, the activation and the multiply as one GEMM on [gate; up] with the gated
  epilogue of that activation (SiLU: aotgemm_linear_swiglu; GELU, tanh form: aotgemm_linear_geglu, Gemma)
  (`fuse_mlp`), and the decoder layer's `residual + mlp(..)` in down_proj's GEMM (`fuse_decoder_residual`);
- projections of one input: an attention's q_proj, k_proj and v_proj (the gate_proj and up_proj of a gated MLP
  whose activation no gated epilogue has) as one aotgemm_linear on their stacked weights, and an attention's
  o_proj taking the decoder layer's residual into its GEMM (`fuse_projections`; the decoder's side in
  `fuse_decoder_residual`).

transformers writes these as separate projections where the engines (and `aotgemm manifest from-hf`) merge
them. Each fusion rewrites only what it recognises exactly (a module's structure, and its forward's source),
compiled from the class's own source with only the recognised lines changed; anything else is left as it is.
runtime/patch.py's patch_model applies them before routing the remaining nn.Linear layers.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import torch
from torch import nn

from ..epilogues import BIAS, IDENTITY, RESIDUAL_ADD, SCALE_ROW, SCALE_ROWWISE, epilogue, gated
from ..problem import FLOAT8_E4M3, SCALED_DTYPES
from . import eager_epilogues as _eager_fused
from . import forward_source
from .forward_source import is_name, self_calls
from . import torchao_fp8 as _torchao_fp8
from .eager import linear as _eager_linear
from .patch import _kernel_for, _plain_linear, _serves, is_patched, patched_subclass
from .table import supported_dtype


# A fused module's class names, relative to the module, the GEMM modules it runs in its own fused calls (the
# q/k/v projections of a fused attention, down_proj and o_proj of a decoder that passes them its residuals...):
# what patch.unserved counts as served though they are not patched themselves.
SERVES = "_aotgemm_serves"


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


# --- gated MLPs (SwiGLU, GeGLU) ----------------------------------------------------------
@dataclass(frozen=True)
class _MlpForm:
    """A form of gated MLP transformers writes: its gate/up projections (two, stacked here into [gate; up]; or one
    that already holds [gate; up]), its activation's attribute, and its forward's source with whitespace removed."""

    projections: tuple[str, ...]
    act: str
    forward: re.Pattern


_MLP_FORMS = (
    # Llama, Qwen, Mistral, Gemma: down_proj(act_fn(gate_proj(x)) * up_proj(x))
    _MlpForm(("gate_proj", "up_proj"), "act_fn", re.compile(
        r"returnself\.down_proj\(self\.act_fn\(self\.gate_proj\((\w+)\)\)\*self\.up_proj\(\1\)\)$|"
        r"(\w+)=self\.down_proj\(self\.act_fn\(self\.gate_proj\((\w+)\)\)\*self\.up_proj\(\3\)\)return\2$")),
    # Phi-3, Phi-4: y = gate_up_proj(x); gate, y = y.chunk(2, dim=-1); y = y * activation_fn(gate); down_proj(y)
    _MlpForm(("gate_up_proj",), "activation_fn", re.compile(
        r"(\w+)=self\.gate_up_proj\((\w+)\)(\w+),\1=\1\.chunk\(2,dim=-1\)\1=\1\*self\.activation_fn\(\3\)"
        r"returnself\.down_proj\(\1\)$")),
)
_forms: dict[type, _MlpForm | None] = {}


_PROBE = (-6.0, -3.0, -1.3, -0.5, -0.1, 0.0, 0.05, 0.7, 1.9, 4.0, 8.0)


def gate_epilogue(act) -> str | None:
    """The gated epilogue whose activation `act` (an MLP's act_fn) computes, or None: decided on values, not
    names (transformers maps "silu" to SiLUActivation or nn.SiLU, "gelu_pytorch_tanh" and "gelu_new" to
    different classes of one function, and exact "gelu" to a class that differs from the tanh form by up to
    5e-4). Only a stateless module (no parameters or buffers) is probed."""
    if not isinstance(act, nn.Module) or any(True for _ in act.parameters()) or any(True for _ in act.buffers()):
        return None
    t = torch.tensor(_PROBE)
    try:
        with torch.no_grad():
            y = act(t)
    except Exception:
        return None
    for name in gated():
        with torch.no_grad():
            if isinstance(y, torch.Tensor) and y.shape == t.shape and torch.allclose(y, epilogue(name).gate(t),
                                                                                   rtol=1e-6, atol=1e-6):
                return name
    return None


def _form(cls: type) -> _MlpForm | None:
    """The _MLP_FORMS entry whose forward cls.forward's source is (comments and docstrings aside), or None."""
    if cls not in _forms:
        body = forward_source.body_text(cls)
        _forms[cls] = next((f for f in _MLP_FORMS if f.forward.search(body)), None)
    return _forms[cls]


def _gate_up_shape(module: nn.Module, form: _MlpForm):
    """[2I, H] and the dtype of the MLP's gate and up weights where its projections are plain bias-free
    nn.Linear layers of one shape, dtype and device (one of [2I, H], or two of [I, H]), else None."""
    projs = [getattr(module, a, None) for a in form.projections]
    if not all(_plain_linear(p) and p.bias is None for p in projs):
        return None
    w = projs[0].weight
    if any(p.weight.shape != w.shape or p.weight.dtype != w.dtype or p.weight.device != w.device for p in projs):
        return None
    if w.is_meta or len(projs) == 1 and w.shape[0] % 2:
        return None
    return (len(projs) * w.shape[0], w.shape[1]), w.dtype


def fusable_mlp(module: nn.Module, shapes, served=None) -> bool:
    """Whether `module` is a gated MLP `fuse_mlp` can serve: a forward of one of the `_MLP_FORMS` (read from its
    source: down(act(gate(x)) * up(x)), or Phi-3's one gate_up projection chunked in two), its gate/up projections
    plain bias-free nn.Linear layers of one shape and dtype, a down_proj nn.Linear, an activation some gated
    epilogue computes (`gate_epilogue`), and the bundle holding [2I, H] (with a kernel of that epilogue or an
    identity one, when `served` is given)."""
    if is_patched(module) or "forward" in module.__dict__:
        return False
    form = _form(type(module))
    if form is None or not isinstance(getattr(module, "down_proj", None), nn.Linear):
        return False
    shape = _gate_up_shape(module, form)
    name = gate_epilogue(getattr(module, form.act, None))
    if shape is None or name is None:
        return False
    (n, k), dtype = shape
    dt = supported_dtype(dtype)  # fp8 GEMMs are Fp8Linear's (aotgemm_scaled_mm): no gated kernels
    return dt is not None and dt not in SCALED_DTYPES and _serves(shapes, served, dt, n, k, (name, IDENTITY))


def _gated(self, x: torch.Tensor) -> torch.Tensor:
    # eager: the op's decisions without the dispatcher (runtime/eager_epilogues.py); traced or compiled: the op.
    # W = [gate; up]: the stacked buffer (or, where autograd records, the two weights concatenated anew), or the
    # one projection that holds it (its parameter, which the op's autograd formula differentiates)
    projs = self._aotgemm_gate_up
    w = (_fused_operand(self, "aotgemm_gate_up", projs) if len(projs) == 2
         else self._modules[projs[0]]._parameters["weight"])
    return _eager_fused.gated(self._aotgemm_gated, self, x, w)


def _fused_mlp_forward(self, x: torch.Tensor) -> torch.Tensor:
    return self.down_proj(_gated(self, x))


_fused_subclasses: dict[tuple, type] = {}  # (original class, what the fusion took) -> its patched subclass


def _stack_into_buffers(module: nn.Module, projs, weight_buffer: str, bias_buffer: str | None = None) -> None:
    """The nn.Linear projections' weights (and biases, where they have them and `bias_buffer` names a buffer)
    concatenated along N into non-persistent buffers of `module`; each projection's parameters then become
    views of them (same requires_grad), so the originals are freed and state_dict keys stay."""
    with torch.no_grad():
        stacked = torch.cat([p.weight.detach() for p in projs], dim=0)
        bias = (torch.cat([p.bias.detach() for p in projs], dim=0)
                if bias_buffer and projs[0].bias is not None else None)
    module.register_buffer(weight_buffer, stacked, persistent=False)
    if bias is not None:
        module.register_buffer(bias_buffer, bias, persistent=False)
    at = 0
    for p in projs:
        n = p.out_features
        p.weight = nn.Parameter(stacked[at:at + n], requires_grad=p.weight.requires_grad)
        if bias is not None:
            p.bias = nn.Parameter(bias[at:at + n], requires_grad=p.bias.requires_grad)
        at += n


def fuse_mlp(module: nn.Module) -> None:
    """Serve a gated MLP with one GEMM on W = [gate; up] (aotgemm_linear_swiglu for a SiLU, _geglu for the
    tanh GELU), then down_proj.

    What is fused: gate_proj, up_proj, the activation and the multiply become one op
    (one bundle kernel with the gated epilogue when the bundle has one; else
    one identity-kernel or cuBLAS GEMM on [gate; up] and act * mul in torch).
    down_proj is unchanged (an nn.Linear, patched as usual) when the MLP is
    called on its own; the decoder layer's `residual + self.mlp(...)` becomes
    down_proj's residual_add GEMM where `fuse_decoder_residual` recognises the
    layer (as the attention's residual add goes into o_proj's GEMM where
    `fuse_projections` gave it the hook).

    Memory (the two-projection form; Phi-3's one gate_up_proj serves as it is): gate and up are concatenated
    once into the non-persistent buffer
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
    cls = type(module)
    form = _form(cls)
    name = gate_epilogue(getattr(module, form.act, None)) if form is not None else None
    if name is None:
        raise ValueError(f"fuse_mlp: {cls.__qualname__} is no gated MLP of a form and activation it knows")
    if len(form.projections) == 2:
        _stack_into_buffers(module, [getattr(module, a) for a in form.projections], "aotgemm_gate_up")
    sub = _fused_subclasses.get((cls, name))
    if sub is None:
        sub = _fused_subclasses[(cls, name)] = patched_subclass(cls, {
            "forward": _fused_mlp_forward, "aotgemm_residual": _fused_mlp_residual, "_aotgemm_fused_mlp": True,
            "_aotgemm_gated": name, "_aotgemm_gate_up": form.projections, SERVES: form.projections})
    module.__class__ = sub


def _fused_mlp_residual(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """residual + self.forward(x), with the add in down_proj's GEMM (aotgemm_linear_residual)."""
    return _eager_fused.residual(self, _gated(self, x), residual)


def _residual_add(stmt, h: str, inert: tuple[str, ...] = ()) -> str | None:
    """r when stmt is exactly `h = r + h`, or `h = r + self.d(h)` with d one of `inert` (r a name), else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and is_name(stmt.targets[0], h)
            and isinstance(stmt.value, ast.BinOp) and isinstance(stmt.value.op, ast.Add)
            and is_name(stmt.value.left)):
        return None
    right = stmt.value.right
    if (isinstance(right, ast.Call) and isinstance(right.func, ast.Attribute) and is_name(right.func.value, "self")
            and right.func.attr in inert and len(right.args) == 1 and not right.keywords):
        right = right.args[0]  # Phi-3's resid_attn_dropout / resid_mlp_dropout, of p = 0: the identity
    return stmt.value.left.id if is_name(right, h) else None


# --- decoder layers: the residual adds into the GEMMs before them ----------------------------------------
_decoder_forwards: dict[tuple, object] = {}
RESIDUAL_KWARG = "aotgemm_residual"  # how a rewritten decoder hands the attention its residual


def _fold_mlp_residual(f: ast.FunctionDef, inert: tuple[str, ...]) -> bool:
    """`h = self.mlp(h)`, `h = r + h` (or `r + self.d(h)`, d in `inert`), `return h` at the end of f (its only
    self.mlp call) into `h = self.mlp.aotgemm_residual(h, r)`, `return h`."""
    if len(f.body) < 3 or len(self_calls(f, "mlp")) != 1:
        return False
    call_stmt, add, ret = f.body[-3:]
    if not (isinstance(ret, ast.Return) and is_name(ret.value)):
        return False
    h = ret.value.id
    r = _residual_add(add, h, inert)
    if not (r and isinstance(call_stmt, ast.Assign) and len(call_stmt.targets) == 1
            and is_name(call_stmt.targets[0], h) and call_stmt.value is self_calls(f, "mlp")[0]
            and len(call_stmt.value.args) == 1 and is_name(call_stmt.value.args[0], h)
            and not call_stmt.value.keywords):
        return False
    call_stmt.value = ast.parse(f"self.mlp.aotgemm_residual({h}, {r})", mode="eval").body
    f.body.remove(add)
    return True


def _fold_attention_residual(f: ast.FunctionDef, inert: tuple[str, ...]) -> bool:
    """`h, .. = self.self_attn(..)` (f's only self_attn call) followed by `h = r + h` (or `r + self.d(h)`, d in
    `inert`) into the call with `aotgemm_residual=r` added: the attention (rewritten by fuse_projections)
    returns r + o_proj(..)."""
    calls = self_calls(f, "self_attn")
    if len(calls) != 1 or any(k.arg == RESIDUAL_KWARG for k in calls[0].keywords):
        return False
    for i, stmt in enumerate(f.body[:-1]):
        if isinstance(stmt, ast.Assign) and stmt.value is calls[0] and len(stmt.targets) == 1:
            t = stmt.targets[0]
            h = t.id if is_name(t) else (t.elts[0].id if isinstance(t, ast.Tuple) and t.elts
                                          and is_name(t.elts[0]) else None)
            r = _residual_add(f.body[i + 1], h, inert) if h else None
            if r is None:
                return False
            calls[0].keywords.append(ast.keyword(arg=RESIDUAL_KWARG, value=ast.Name(id=r, ctx=ast.Load())))
            del f.body[i + 1]
            return True
    return False


def _decoder_forward(cls: type, mlp: bool, attention: bool, inert: tuple[str, ...] = ()):
    """cls.forward with the residual add after the MLP folded into the fused MLP's down_proj GEMM (`mlp`) and
    the one after the attention into its o_proj GEMM (`attention`), or None when its source is not of that form
    (`_fold_mlp_residual`, `_fold_attention_residual`): transformers' Llama, Qwen2, Qwen3, Mistral, Gemma and
    Phi-3 decoder layers (Phi-3's adds take their GEMM's output through a Dropout: `inert` names the layer's
    Dropouts of p = 0, the identity in every mode, which go with the add). Compiled from the class's own source
    with only those statements changed (`forward_source.compiled`): what the installed transformers does around
    them (norms, attention kwargs, decorators) is kept as is."""
    key = (cls, mlp, attention, inert)
    if key not in _decoder_forwards:
        fn, parsed = None, forward_source.parsed(cls)
        if parsed is not None:
            inner, tree, f = parsed
            if (not mlp or _fold_mlp_residual(f, inert)) and (not attention or _fold_attention_residual(f, inert)):
                fn = forward_source.compiled(cls, inner, tree, f, "residual fused")
        _decoder_forwards[key] = fn
    return _decoder_forwards[key]


def fuse_decoder_residual(module: nn.Module, served=None) -> bool:
    """Fold a decoder layer's residual adds into the GEMMs before them: `residual + self.mlp(..)` into the fused
    MLP's down_proj GEMM (`module.mlp` fused by `fuse_mlp`, a bias-free down_proj with a residual_add or
    identity kernel), and `residual + self_attn(..)` into the attention's o_proj GEMM (`module.self_attn`
    fused by `fuse_projections` with its o_proj hook). Each where the forward is of `_decoder_forward`'s form;
    the class is swapped for a subclass with that forward (undone by unpatch)."""
    if is_patched(module) or "forward" in module.__dict__:
        return False
    mlp = getattr(module, "mlp", None)
    mlp_ok = bool(type(mlp).__dict__.get("_aotgemm_fused_mlp")) and _residual_served(mlp.down_proj, served)
    attn_ok = bool(type(getattr(module, "self_attn", None)).__dict__.get("_aotgemm_o_residual"))
    inert = tuple(sorted(n for n, c in module.named_children() if type(c) is nn.Dropout and c.p == 0))
    for flags in ((mlp_ok, attn_ok), (mlp_ok, False), (False, attn_ok)):
        fwd = _decoder_forward(type(module), *flags, inert) if any(flags) else None
        if fwd is not None:
            break
    else:
        return False
    cls = type(module)
    sub = _fused_subclasses.get((cls, flags, inert))
    if sub is None:
        sub = _fused_subclasses[(cls, flags, inert)] = patched_subclass(cls, {
            "forward": fwd, SERVES: ("mlp.down_proj",) * flags[0] + ("self_attn.o_proj",) * flags[1]})
    module.__class__ = sub
    return True


def _residual_served(linear, served) -> bool:
    """Whether `linear` can run as aotgemm_linear_residual: a plain bias-free nn.Linear of a 16-bit dtype with a
    residual_add (or identity) kernel at some M, when `served` is given."""
    if not _plain_linear(linear) or linear.bias is not None:
        return False
    dt = supported_dtype(linear.weight.dtype)
    return (dt is not None and dt not in SCALED_DTYPES
            and _kernel_for(served, dt, linear.out_features, linear.in_features, (RESIDUAL_ADD, IDENTITY)))


# --- projections of one input as one GEMM (q/k/v); o_proj with the residual ------------------------------
# transformers keeps an attention's q/k/v projections apart (and a GELU-gated MLP's gate and up), where the
# engines (and `aotgemm manifest from-hf`'s qkv and gate_up layers) merge them: without this those GEMMs are
# shapes the bundle lacks. The rule is the AOTInductor rewrite's (aoti/rewrite_merge.py): the projections a
# module calls on one input, merged where the bundle holds their stacked shape. And the manifests' o layer
# carries the residual add after the attention, which transformers does in the decoder layer.
_RESIDUAL_LOCAL = "_aotgemm_residual"
_MERGED_PREFIX = "_aotgemm_p"  # the locals holding the merged call's outputs: _aotgemm_p0, _aotgemm_p1, ...
_projection_forwards: dict[tuple, object] = {}


def _shared_input_calls(fn: ast.FunctionDef, names) -> tuple[str, int, dict] | None:
    """(x, the index in fn's body of the first statement calling one of them, {name: its Call node}) for the
    projections among `names` (the module's plain nn.Linear children) that fn calls on one variable x, when
    there are at least two, each called exactly once in fn, in statements of fn's own body (not inside a branch
    or loop), with x not assigned from the first such statement to the last, and no other projection among
    `names` called on x; else None."""
    calls: dict[str, list] = {}
    for node in ast.walk(fn):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names
                and is_name(node.func.value, "self")):
            calls.setdefault(node.func.attr, []).append(node)
        elif isinstance(node, ast.Attribute) and node.attr in names and not isinstance(node.ctx, ast.Load):
            return None
    by_x: dict[str, dict] = {}
    for name, cs in calls.items():
        for c in cs:
            if len(c.args) == 1 and not c.keywords and is_name(c.args[0]):
                by_x.setdefault(c.args[0].id, {})[name] = c
    groups = [(x, g) for x, g in by_x.items() if len(g) > 1]
    if len(groups) != 1:
        return None
    x, group = groups[0]
    if any(len(calls[name]) != 1 for name in group):
        return None
    at = [_owner(fn, c) for c in group.values()]
    if None in at:
        return None
    span = fn.body[min(at):max(at) + 1]
    if any(isinstance(n, ast.Name) and n.id == x and not isinstance(n.ctx, ast.Load)
           for stmt in span for n in ast.walk(stmt)):
        return None
    return x, min(at), dict(sorted(group.items(), key=lambda kv: (kv[1].lineno, kv[1].col_offset)))


def _owner(fn: ast.FunctionDef, call) -> int | None:
    """The index of the statement of fn's own body whose expressions hold `call` (None: nested deeper)."""
    for i, stmt in enumerate(fn.body):
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Return)) and any(
                n is call for n in ast.walk(stmt)):
            return i
    return None


def _merge_calls(f: ast.FunctionDef, names) -> tuple[str, ...] | None:
    """The projection calls `_shared_input_calls` finds, replaced by the outputs of one `self.aotgemm_merged(x)`
    placed before the first; the projections in the order of their calls (the stacking order), or None."""
    found = _shared_input_calls(f, names)
    if found is None:
        return None
    x, first, calls = found
    outputs = {id(c): f"{_MERGED_PREFIX}{i}" for i, c in enumerate(calls.values())}

    class Outputs(ast.NodeTransformer):
        def visit_Call(self, node):
            if id(node) in outputs:
                return ast.copy_location(ast.Name(id=outputs[id(node)], ctx=ast.Load()), node)
            return self.generic_visit(node)

    Outputs().visit(f)
    targets = ", ".join(outputs.values())
    f.body.insert(first, ast.parse(f"{targets}, = self.aotgemm_merged({x})").body[0])
    return tuple(calls)


def _hook_o_proj(f: ast.FunctionDef) -> bool:
    """f's one self.o_proj(y) call (in a statement of its own body) into `self.aotgemm_o_proj(y, r)`, r popped
    from f's **kwargs (`RESIDUAL_KWARG`: what a rewritten decoder layer passes) at its start."""
    calls = self_calls(f, "o_proj")
    if f.args.kwarg is None or len(calls) != 1 or len(calls[0].args) != 1 or calls[0].keywords:
        return False
    if _owner(f, calls[0]) is None:
        return False
    calls[0].func = ast.Attribute(value=ast.Name(id="self", ctx=ast.Load()), attr="aotgemm_o_proj", ctx=ast.Load())
    calls[0].args.append(ast.Name(id=_RESIDUAL_LOCAL, ctx=ast.Load()))
    at = 1 if f.body and isinstance(f.body[0], ast.Expr) and isinstance(f.body[0].value, ast.Constant) else 0
    f.body.insert(at, ast.parse(f"{_RESIDUAL_LOCAL} = {f.args.kwarg.arg}.pop({RESIDUAL_KWARG!r}, None)").body[0])
    return True


def _projection_forward(cls: type, names: tuple[str, ...], o_residual: bool):
    """(cls.forward with the projections among `names` it calls on one input merged into one GEMM
    (`_merge_calls`; `names` empty: none) and its o_proj call taking the decoder's residual (`o_residual`,
    `_hook_o_proj`), the merged projections in stacking order), or None when its source is not of that form.
    Compiled from the class's own source with only those calls changed (`forward_source.compiled`), so rotary
    embeddings, q/k norms, the cache and the attention backend run as the installed transformers has them."""
    key = (cls, names, o_residual)
    if key not in _projection_forwards:
        result, parsed = None, forward_source.parsed(cls)
        if parsed is not None:
            inner, tree, f = parsed
            src = ast.unparse(f)
            merged = _merge_calls(f, names) if names else ()
            if (_MERGED_PREFIX not in src and _RESIDUAL_LOCAL not in src and merged is not None
                    and (not o_residual or _hook_o_proj(f))):
                what = "projections merged" if merged else "o_proj residual"
                result = forward_source.compiled(cls, inner, tree, f, what), merged
        _projection_forwards[key] = result
    return _projection_forwards[key]


def _torchao_row_linear(m) -> bool:
    """A torchao float8 linear patch serves (torchao_fp8.unserved_reason): a candidate for merging when per row."""
    return (isinstance(m, nn.Linear) and type(m).forward is nn.Linear.forward and "forward" not in m.__dict__
            and _torchao_fp8.holds_torchao_tensor(m) and _torchao_fp8.unserved_reason(m) is None)


def _stackable(projs, shapes, served) -> bool:
    """Whether projections stack into a shape the bundle holds: plain nn.Linear ones of one K, dtype and device,
    all with a bias or none (with an identity kernel, or bias for biased ones, when `served` is given), or
    torchao per-row float8 ones quantizing x alike (torchao_fp8.stackable; a per-token scale kernel)."""
    torchao = {_torchao_fp8.holds_torchao_tensor(p) for p in projs}
    if torchao == {True}:
        if not _torchao_fp8.stackable(projs):
            return False
        n, k = sum(p.weight.qdata.shape[0] for p in projs), projs[0].weight.qdata.shape[1]
        return _serves(shapes, served, FLOAT8_E4M3, n, k, (SCALE_ROWWISE, SCALE_ROW))
    if torchao != {False}:
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
            and _serves(shapes, served, dt, n, w[0].shape[1], (IDENTITY, BIAS) if True in biased else (IDENTITY,)))


def projection_parts(module: nn.Module, shapes, served=None) -> tuple[tuple[str, ...], bool]:
    """What `fuse_projections` can do for `module`: (the projections to merge into one GEMM: plain nn.Linear
    children its forward calls on one input (`_shared_input_calls`) that stack into a shape the bundle holds
    (`_stackable`), in call order, or () ; whether its o_proj can take the decoder's residual: a bias-free
    o_proj whose shape the bundle holds with a residual_add or identity kernel), each where its forward is of
    `_projection_forward`'s form for it and for both together."""
    if is_patched(module) or "forward" in module.__dict__:
        return (), False
    cls = type(module)
    linears = tuple(sorted(n for n, c in module.named_children() if _plain_linear(c) or _torchao_row_linear(c)))
    names = ()
    if len(linears) > 1:
        found = _projection_forward(cls, linears, False)
        if found is not None and found[1] and _stackable([getattr(module, n) for n in found[1]], shapes, served):
            names = found[1]  # the group, in call order (as candidates, it is found again: the same group)
    o = getattr(module, "o_proj", None)
    o_ok = (_residual_served(o, served) and (supported_dtype(o.weight.dtype), o.out_features, o.in_features) in shapes
            and _projection_forward(cls, (), True) is not None)
    if names and o_ok and _projection_forward(cls, names, True) is None:
        o_ok = False
    return names, o_ok


def fusable_projections(module: nn.Module, shapes, served=None) -> bool:
    """Whether `fuse_projections` changes anything in `module` (`projection_parts`)."""
    names, o_ok = projection_parts(module, shapes, served)
    return bool(names) or o_ok


def _merged_projections(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The merged projections' outputs (q_proj(x), k_proj(x), v_proj(x) for an attention): the column blocks of
    one GEMM on their stacked weights (views of its output, as vLLM's merged projections split them)."""
    names = type(self).__dict__[SERVES]
    if type(self).__dict__.get("_aotgemm_merged_fp8"):  # torchao per-row float8 layers: one quantization of x
        buffers = self._buffers
        projs = [self._modules[p] for p in names]
        y = _torchao_fp8.merged_forward(projs, x, buffers["aotgemm_merged_weight"], buffers["aotgemm_merged_scale"])
        if y is None:
            return tuple(p(x) for p in projs)
        return y.split(self.__dict__["_aotgemm_merged_split"], dim=-1)
    weight = _fused_operand(self, "aotgemm_merged_weight", names)
    bias = _fused_operand(self, "aotgemm_merged_bias", names, "bias")
    y = _eager_linear(self, x, weight, bias, "_aotgemm_memo_merged")
    return y.split(self.__dict__["_aotgemm_merged_split"], dim=-1)


def _o_proj_with_residual(self, y: torch.Tensor, residual: torch.Tensor | None) -> torch.Tensor:
    """o_proj(y), plus the decoder's residual when it passed one, added in the GEMM (aotgemm_linear_residual)."""
    o = self._modules["o_proj"]
    if residual is None:
        return o(y)
    return _eager_fused.residual(self, y, residual, o._parameters["weight"])


def fuse_projections(module: nn.Module, names: tuple[str, ...] = (), o_residual: bool = False) -> None:
    """Serve the projections `module` calls on one input (`projection_parts`: an attention's q_proj, k_proj and
    v_proj; a GELU-gated MLP's gate_proj and up_proj) with one aotgemm_linear on their stacked weights (and
    biases): the shapes of the engines' merged qkv and gate_up layers, which the bundles built from
    `aotgemm manifest from-hf` hold. Their outputs are views of the one output, split along its last dimension.
    With `o_residual`, o_proj takes the residual the decoder layer passes (`fuse_decoder_residual`) and adds it
    in its GEMM, as the manifests' o layer (residual_add) does; called without one, o_proj runs as it did
    (patched as an nn.Linear where the bundle serves it).

    Memory: as fuse_mlp: the weights (and biases) are concatenated once into the non-persistent buffers
    `aotgemm_merged_weight` (and `aotgemm_merged_bias`), and each projection's parameters become views of them,
    so steady-state memory is unchanged and state_dict keys are too. Patch after moving the model to its device
    and dtype."""
    cls = type(module)
    merged = _projection_forward(cls, names, o_residual)[1] if names else ()
    if names and merged != names:
        raise ValueError(f"fuse_projections: {cls.__qualname__}'s forward calls {merged} on one input, not {names}")
    fp8 = bool(merged) and _torchao_fp8.holds_torchao_tensor(getattr(module, merged[0]))
    if fp8:  # torchao's float8 tensors keep their class; their data and scales become views of the stacks
        projs = [getattr(module, a) for a in merged]
        qdata, scale = _torchao_fp8.stack(projs)
        module.register_buffer("aotgemm_merged_weight", qdata, persistent=False)
        module.register_buffer("aotgemm_merged_scale", scale, persistent=False)
        module.__dict__["_aotgemm_merged_split"] = tuple(p.weight.qdata.shape[0] for p in projs)
    elif merged:
        projs = [getattr(module, a) for a in merged]
        _stack_into_buffers(module, projs, "aotgemm_merged_weight", "aotgemm_merged_bias")
        module.__dict__["_aotgemm_merged_split"] = tuple(p.out_features for p in projs)
    sub = _fused_subclasses.get((cls, names, o_residual, fp8))
    if sub is None:
        sub = _fused_subclasses[(cls, names, o_residual, fp8)] = patched_subclass(cls, {
            "forward": _projection_forward(cls, names, o_residual)[0], "aotgemm_merged": _merged_projections,
            "aotgemm_o_proj": _o_proj_with_residual, "_aotgemm_o_residual": o_residual, SERVES: merged,
            "_aotgemm_merged_fp8": fp8})
    module.__class__ = sub


def drop_fused_buffers(module: nn.Module) -> None:
    """Undo a fusion's buffers before unpatch restores the class: the projections keep their weights (and
    biases) as views of them, so nothing is copied."""
    if type(module).__dict__.get("_aotgemm_fused_mlp"):
        module._buffers.pop("aotgemm_gate_up", None)  # Phi-3's form has none: its gate_up_proj serves as it is
    if "aotgemm_merged" in type(module).__dict__:
        for name in ("aotgemm_merged_weight", "aotgemm_merged_bias", "aotgemm_merged_scale"):
            module._buffers.pop(name, None)
        for slot in ("_aotgemm_merged_split", "_aotgemm_memo_merged"):
            module.__dict__.pop(slot, None)
    for memo in ("_aotgemm_memo_residual", "_aotgemm_memo_gated"):
        module.__dict__.pop(memo, None)
