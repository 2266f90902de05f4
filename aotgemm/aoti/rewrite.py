"""Route the GEMMs a bundle covers to `aotgemm::aotgemm_linear`, in an exported graph.

Runs on the ExportedProgram before AOTInductor lowers it (Inductor's own
CuTe DSL backend is off under AOT compilation, and its autotuner would
benchmark at compile time anyway). Patterns, with W a 2-D [N, K] tensor:

    aten.linear(x, W, b)           -> aotgemm_linear(x, W) (+ b)
    aten.mm(x, t(W))               -> aotgemm_linear(x, W)
    aten.addmm(b, x, t(W))         -> aotgemm_linear(x, W) + b     (beta = alpha = 1)
    aten.matmul(x, t(W))           -> aotgemm_linear(x, W)

where t(W) is aten.t / aten.permute(W, [1, 0]) / aten.transpose(W, 0, 1)
(or its numpy_T / mT forms). A GEMM is routed when its (dtype, N, K) has a
bundle kernel in some bucket of the package's target, and only at the M its
kernels serve (`meta.served_ranges`): where that is not every M the graph
admits, the op sits in a torch.cond on M whose other branch is the GEMM as
it was (aotgemm/aoti/guard.py). The bias is kept as a separate add, which
Inductor fuses into the next pointwise kernel.

fp8 (W8A8):

    aten._scaled_mm(x, mat2, scale_a, scale_b, out_dtype=bf16)
                                   -> aotgemm_scaled_mm(x, mat2, scale_a, scale_b)

for e4m3 x [M, K] and mat2 [K, N] with no bias and no scale_result, routed
only when the bundle has a kernel for the problem its scales select
(dispatch_rule.scale_form: scale_tensor, scale_row, or scale_rowwise for a
per-token scale_a [M, 1], M dynamic or not; at a static M = 1 a scale_rowwise
kernel serves the scale_row form too, dispatch_rule.scale_epilogues):
`meta.epilogue_coverage`,
guarded on M the same way. Whether mat2 is W^T of a compact W
is checked per call (the rule's NON_CONTIGUOUS), as for the linear patterns.

Before all of these, `route_exported_program` folds SwiGLU and residual-add
epilogues into the fused-epilogue ops where the bundle has kernels for them
(aotgemm/aoti/rewrite_epilogues.py), and merges GEMMs that read one x (a
transformers attention's q/k/v projections) into one on their stacked
weights where the bundle holds that shape (aotgemm/aoti/rewrite_merge.py).
"""

from __future__ import annotations

import torch
from torch.fx import Node

from ..dispatch_rule import scale_epilogues, scale_form
from ..problem import FLOAT8_E4M3, SCALED_DTYPES, output_dtype, torch_dtype
from ..runtime.table import supported_dtype
from .guard import guarded, spec_for, traced_call
from .meta import Routed
from .op import op as aotgemm_op
from .op import scaled_mm_op

aten = torch.ops.aten
_TRANSPOSES = tuple(getattr(aten, name).default for name in ("t", "numpy_T", "mT") if hasattr(aten, name))


def _val(n) -> torch.Tensor | None:
    v = n.meta.get("val") if isinstance(n, Node) else None
    return v if isinstance(v, torch.Tensor) else None


def _transposed_weight(n) -> Node | None:
    """W when n is a 2-D transpose of a 2-D W, else None."""
    if not isinstance(n, Node) or n.op != "call_function":
        return None
    src = n.args[0] if n.args else None
    v = _val(src)
    if v is None or v.dim() != 2:
        return None
    t = n.target
    if t in _TRANSPOSES:
        return src
    if t == aten.permute.default and list(n.args[1]) in ([1, 0], [-1, -2], [1, -2], [-1, 0]):
        return src
    if t == aten.transpose.int and sorted(int(d) % 2 for d in n.args[1:3]) == [0, 1]:
        return src
    return None


def _static(*xs) -> bool:
    return all(isinstance(x, int) for x in xs)


def _match(node: Node) -> tuple[Node, Node, Node | None] | None:
    """(x, W, bias) for a routable GEMM node, else None."""
    if node.op != "call_function":
        return None
    t = node.target
    if t == aten.linear.default:
        x, w = node.args[0], node.args[1]
        b = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
        return x, w, b
    if t in (aten.mm.default, aten.matmul.default):
        w = _transposed_weight(node.args[1])
        return (node.args[0], w, None) if w is not None else None
    if t == aten.addmm.default:
        beta = node.kwargs.get("beta", 1)
        alpha = node.kwargs.get("alpha", 1)
        if beta != 1 or alpha != 1:
            return None
        w = _transposed_weight(node.args[2])
        return (node.args[1], w, node.args[0]) if w is not None else None
    return None


def route_gemms(gm: torch.fx.GraphModule, covered) -> list[Routed]:
    """Rewrite, in place, every GEMM of gm's graph whose (dtype, N, K) is in `covered`: a set (routed at
    every M) or a mapping to the M ranges its kernels serve (meta.served_ranges; routed under a torch.cond
    on M elsewhere: guard.py)."""
    graph = gm.graph
    op = aotgemm_op()
    routed: list[Routed] = []
    for node in list(graph.nodes):
        m = _match(node)
        if m is None:
            continue
        x, w, b = m
        xv, wv, out = _val(x), _val(w), _val(node)
        if xv is None or wv is None or out is None or wv.dim() != 2 or xv.dim() < 1:
            continue
        n, k = wv.shape
        dtype = supported_dtype(xv.dtype)
        if dtype in SCALED_DTYPES:  # fp8 has no linear kernels; its GEMMs are _scaled_mm (route_scaled_mm)
            continue
        if not _static(n, k) or xv.dtype != wv.dtype or dtype is None or xv.shape[-1] != k:
            continue
        key = (dtype, int(n), int(k))
        if key not in covered:
            continue
        if isinstance(b, Node) and _val(b) is None:
            continue
        bias = [b] if isinstance(b, Node) else []

        def on_kernel(g, ins):  # the op, then the bias as a separate add (Inductor fuses it downstream)
            new = traced_call(g, op, (ins[0], ins[1]))
            return traced_call(g, aten.add.Tensor, (new, ins[2])) if len(ins) > 2 else new

        def as_was(g, ins):
            return traced_call(g, aten.linear.default, (ins[0], ins[1], ins[2] if len(ins) > 2 else None))

        spec = spec_for(covered, key, x)
        result = guarded(gm, node, x, [x, w, *bias], spec, on_kernel, as_was)
        if result is None:
            continue
        old_t = node.args[1] if node.target in (aten.mm.default, aten.matmul.default) else (
            node.args[2] if node.target == aten.addmm.default else None)
        node.replace_all_uses_with(result)
        graph.erase_node(node)
        if isinstance(old_t, Node) and not old_t.users:
            graph.erase_node(old_t)
        routed.append(Routed(node.name, dtype, int(n), int(k)))
    graph.lint()
    return routed


_FP8 = torch_dtype(FLOAT8_E4M3)
_FP8_OUT = torch_dtype(output_dtype(FLOAT8_E4M3))


def _scaled_mm_call(node: Node):
    """(x, mat2, scale_a, scale_b) of an aten._scaled_mm node aotgemm_scaled_mm can take, else None."""
    if node.op != "call_function" or node.target != aten._scaled_mm.default or len(node.args) < 4:
        return None
    names = ("bias", "scale_result", "out_dtype", "use_fast_accum")
    extra = dict(zip(names, node.args[4:]))
    extra.update({k: v for k, v in node.kwargs.items() if k in names})
    if extra.get("bias") is not None or extra.get("scale_result") is not None or extra.get("out_dtype") != _FP8_OUT:
        return None
    return tuple(node.args[:4])


def _scale_a_shape(shape, m) -> tuple[int, ...] | None:
    """scale_a's shape as scale_form takes it, with x's M written -1 where it is symbolic (a per-token
    scale_a [M, 1] of a graph with a dynamic M, made from x in the graph); None for any other symbolic size."""
    if _static(*shape):
        return tuple(int(d) for d in shape)
    expr = getattr(getattr(m, "node", None), "expr", None)
    if len(shape) == 2 and shape[1] == 1 and expr is not None and \
            getattr(getattr(shape[0], "node", None), "expr", None) == expr:
        return (-1, 1)
    return None


def route_scaled_mm(gm: torch.fx.GraphModule, covered) -> list[Routed]:
    """Rewrite, in place, every aten._scaled_mm of gm's graph whose (dtype, scale epilogue, N, K) is in
    `covered` (a set, or a mapping to the M ranges its kernels serve, as route_gemms)."""
    graph = gm.graph
    op = scaled_mm_op()
    routed: list[Routed] = []
    for node in list(graph.nodes):
        args = _scaled_mm_call(node)
        if args is None:
            continue
        vals = [_val(a) for a in args]
        out = _val(node)
        if any(v is None for v in vals) or out is None:
            continue
        xv, mv, av, bv = vals
        if xv.dtype != _FP8 or mv.dtype != _FP8 or xv.dim() != 2 or mv.dim() != 2:
            continue
        if av.dtype != torch.float32 or bv.dtype != torch.float32:
            continue
        k, n = mv.shape
        if not _static(n, k, *bv.shape) or xv.shape[-1] != k:
            continue
        m = xv.shape[0]
        a_shape = _scale_a_shape(av.shape, m)
        if a_shape is None:
            continue
        m_static = int(m) if _static(m) else -1
        form = scale_form(m_static, int(n), a_shape, tuple(int(d) for d in bv.shape))
        # the form's epilogue, or at a static M = 1 the one that also serves it (scale_epilogues), as the shim looks up
        key = next((key for e in scale_epilogues(form, m_static)
                    if (key := (FLOAT8_E4M3, e, int(n), int(k))) in covered), None)
        if key is None:
            continue
        rest, kwargs = tuple(node.args[4:]), dict(node.kwargs)

        def on_kernel(g, ins):
            return traced_call(g, op, tuple(ins))

        def as_was(g, ins):
            return traced_call(g, aten._scaled_mm.default, (*ins, *rest), kwargs)

        spec = spec_for(covered, key, args[0])
        result = guarded(gm, node, args[0], list(args), spec, on_kernel, as_was)
        if result is None:
            continue
        node.replace_all_uses_with(result)
        graph.erase_node(node)
        routed.append(Routed(node.name, FLOAT8_E4M3, int(n), int(k), key[1]))
    graph.lint()
    return routed


def route_exported_program(ep: torch.export.ExportedProgram, covered, fusable=frozenset()) -> list[Routed]:
    """Fold the epilogues the bundle has kernels for (rewrite_epilogues; `fusable`: meta.epilogue_coverage),
    merge the GEMMs reading one x whose stacked shape is covered (rewrite_merge), route the remaining covered GEMMs (`covered`: meta.served_ranges' identity problems), then the _scaled_mm
    calls whose scale epilogue problem is in `fusable`. Sets instead of mappings route at every M."""
    from .rewrite_epilogues import fold_epilogues
    from .rewrite_merge import merge_shared_input_gemms

    routed = fold_epilogues(ep, fusable)
    merge_shared_input_gemms(ep, covered)  # q/k/v as the one qkv GEMM a bundle holds: then routed below
    routed += route_gemms(ep.graph_module, covered)
    if fusable:
        routed += route_scaled_mm(ep.graph_module, fusable)
    ep.graph_module.recompile()
    return routed
