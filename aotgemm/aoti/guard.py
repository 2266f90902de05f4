"""Run a routed op only at the M its bundle serves with a kernel; Inductor's own code at every other M.

At an M where the bundle has no kernel for a routed problem (no entry, a
cuBLAS entry, above the kernel's max_m) the shim would call cuBLAS through the
C shim, and a folded epilogue would run unfused: slower than what Inductor
makes of the original subgraph (its extern mm into planned buffers, the
epilogue fused into one pointwise kernel). So, after the rewrite (rewrite.py,
rewrite_epilogues.py, or any route that produces an aotgemm op), every op call
whose problem is not served at every M becomes

    torch.cond(M in served, lambda: op(x, W, ...), lambda: reference(x, W, ...), (x, W, ...))

on the symbolic M (the product of x's leading dims), which AOTInductor
compiles into a branch in the generated code. `served` is meta.served_m, the
one rule of which M a problem's kernels serve. Where M is static, the choice
is made here: the op stays, or its reference replaces it (nothing routed).

The references are the ops' meanings in ATen, what Inductor lowers itself:

    aotgemm_linear(x, W) [+ b]       linear(x, W[, b])   (a bias add right after the op goes into the branch)
    aotgemm_linear_swiglu(x, W)      g, u = split(linear(x, W), N/2, -1); silu(g) * u
    aotgemm_linear_residual(x, W, r) linear(x, W) + r
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.utils._pytree as pytree
from torch.fx import Graph, GraphModule, Node

from ..epilogues import IDENTITY, RESIDUAL_ADD, SWIGLU
from ..runtime.table import supported_dtype
from .meta import MRange
from .op import op as aotgemm_op

aten = torch.ops.aten
# op name -> the epilogue of the problem it looks up
OP_EPILOGUES = {"aotgemm_linear": IDENTITY, "aotgemm_linear_swiglu": SWIGLU, "aotgemm_linear_residual": RESIDUAL_ADD}


def _val(n):
    return n.meta.get("val") if isinstance(n, Node) else None


def _fake(target, *args):
    """The output's fake value: `target` run on the args' fake values, in their fake mode."""
    vals = [_val(a) if isinstance(a, Node) else a for a in args]
    mode = next(v.fake_mode for v in pytree.tree_leaves(vals) if isinstance(v, torch.Tensor))
    with mode:
        return target(*vals)


def _call(graph: Graph, target, *args) -> Node:
    node = graph.call_function(target, args)
    node.meta["val"] = _fake(target, *args)
    return node


def _reference(graph: Graph, epilogue: str, x: Node, w: Node, extra: Node | None) -> Node:
    """The op's meaning in ATen, added to `graph` (x, w, extra: nodes of that graph). For identity, `extra` is a bias."""
    lin = _call(graph, aten.linear.default, x, w, *((extra,) if epilogue == IDENTITY and extra is not None else ()))
    if epilogue == SWIGLU:
        half = int(_val(w).shape[0]) // 2
        parts = _call(graph, aten.split.Tensor, lin, half, -1)
        g, u = _call(graph, operator.getitem, parts, 0), _call(graph, operator.getitem, parts, 1)
        return _call(graph, aten.mul.Tensor, _call(graph, aten.silu.default, g), u)
    if epilogue == RESIDUAL_ADD:
        return _call(graph, aten.add.Tensor, lin, extra)
    return lin


def _bias_user(node: Node) -> Node | None:
    """The add of a 1-D bias that is the op's only user (rewrite.route_gemms' form of a biased GEMM), else None."""
    users = list(node.users)
    if len(users) != 1 or users[0].target != aten.add.Tensor or users[0].kwargs.get("alpha", 1) != 1:
        return None
    add = users[0]
    if len(add.args) != 2 or add.args[0] is not node or not isinstance(add.args[1], Node):
        return None
    b = _val(add.args[1])
    return add if isinstance(b, torch.Tensor) and b.dim() == 1 and b.dtype == _val(node).dtype else None


def _static_m(x: Node) -> int | None:
    """M of x [..., K] when every leading dim is static, else None."""
    m = 1
    for size in _val(x).shape[:-1]:
        if isinstance(size, torch.SymInt) and not size.node.is_constant():
            return None
        m *= int(size)
    return m


def _m_node(graph: Graph, x: Node) -> Node | int:
    """M of x [..., K] (the product of its leading dims): an int when static, else a SymInt node."""
    m: Node | int = 1
    for d, size in enumerate(_val(x).shape[:-1]):
        if isinstance(size, int) or (isinstance(size, torch.SymInt) and size.node.is_constant()):
            factor: Node | int = int(size)
        else:
            factor = graph.call_function(aten.sym_size.int, (x, d))
            factor.meta["val"] = size
        if isinstance(m, int) and isinstance(factor, int):
            m *= factor
        elif isinstance(m, int) and m == 1:
            m = factor
        else:
            prod = graph.call_function(operator.mul, (m, factor))
            prod.meta["val"] = _value(m) * _value(factor)
            m = prod
    return m


def _value(a):
    return _val(a) if isinstance(a, Node) else a


def _in_ranges(m: int, ranges) -> bool:
    return any(lo <= m and (hi is None or m <= hi) for lo, hi in ranges)


def _sym(graph: Graph, fn, a: Node, b) -> Node:
    node = graph.call_function(fn, (a, b))
    node.meta["val"] = fn(_value(a), _value(b))
    return node


@dataclass
class _Call:
    """One routed call: what either branch needs to rebuild it from its operands (x, w[, bias or residual])."""

    target: object  # the aotgemm op
    epilogue: str
    bias: bool  # the third operand is a bias added after the op (identity), else the op's own operand, if any
    out: torch.Tensor  # the fake value of the op's result (with the bias added)
    name: str

    def routed(self, g: Graph, a: list[Node]) -> Node:
        out = g.call_function(self.target, tuple(a[:2]) if self.bias else tuple(a))
        out.meta["val"] = self.out
        return _call(g, aten.add.Tensor, out, a[2]) if self.bias else out

    def reference(self, g: Graph, a: list[Node]) -> Node:
        return _reference(g, self.epilogue, a[0], a[1], a[2] if len(a) > 2 else None)


def _cond(g: Graph, holder: torch.nn.Module, call: _Call, operands: list[Node], pred: Node, branches) -> Node:
    """torch.cond(pred, *branches, operands) in g, its branch graphs registered on `holder` (g's module)."""
    attrs = []
    for which, build in zip(("then", "else"), branches):
        sub, inner = Graph(), torch.nn.Module()
        phs = []
        for o in operands:
            ph = sub.placeholder(o.name)
            ph.meta["val"] = _val(o)
            phs.append(ph)
        sub.output((build(sub, inner, phs),))
        name = f"m_guard_{call.name}_{which}"
        i = 0
        while hasattr(holder, f"{name}_{i}"):
            i += 1
        holder.register_module(f"{name}_{i}", GraphModule(inner, sub))
        attrs.append(g.get_attr(f"{name}_{i}"))
    cond = g.call_function(torch.ops.higher_order.cond, (pred, *attrs, tuple(operands)))
    cond.meta["val"] = (call.out,)
    result = g.call_function(operator.getitem, (cond, 0))
    result.meta["val"] = call.out
    return result


def _emit(g: Graph, holder: torch.nn.Module, call: _Call, operands: list[Node], ranges: tuple[MRange, ...],
          low: int) -> Node:
    """The call in g, given M >= low: the op where M lies in `ranges` (all >= low), its reference elsewhere.
    Each test is one comparison of M with a constant (Inductor's C++ wrapper prints a predicate as a size
    expression, which cannot be a sympy And/Or), so a range with gaps becomes nested conds."""
    if not ranges:
        return call.reference(g, operands)
    lo, hi = ranges[0]
    if lo == low and hi is None:
        return call.routed(g, operands)
    m = _m_node(g, operands[0])
    if lo > low:  # below lo: the reference; from lo on: the rest of the decision
        pred = _sym(g, operator.ge, m, lo)
        return _cond(g, holder, call, operands, pred, (
            lambda sg, h, a: _emit(sg, h, call, a, ranges, lo), lambda sg, h, a: call.reference(sg, a)))
    pred = _sym(g, operator.le, m, hi)  # lo == low: the op up to hi; above hi, the other ranges
    return _cond(g, holder, call, operands, pred, (
        lambda sg, h, a: call.routed(sg, a), lambda sg, h, a: _emit(sg, h, call, a, ranges[1:], hi + 1)))


def guard_routed(ep: torch.export.ExportedProgram,
                 served: Callable[[str, str, int, int], tuple[MRange, ...]]) -> list[tuple[str, str, int, int]]:
    """Rewrite, in place, every aotgemm op call of `ep` whose problem `served` (dtype, epilogue, n, k) -> M ranges
    (meta.served_m) does not serve at every M: a torch.cond on the symbolic M, or, for a static M, the op or its
    reference. Returns the (dtype, epilogue, n, k) of each call replaced by its reference (no longer routed)."""
    gm = ep.graph_module
    graph = gm.graph
    targets = {aotgemm_op(name): ep_name for name, ep_name in OP_EPILOGUES.items()}
    unrouted: list[tuple[str, str, int, int]] = []
    for node in list(graph.nodes):
        epilogue = targets.get(node.target) if node.op == "call_function" else None
        if epilogue is None:
            continue
        x, w, *rest = node.args
        n, k = (int(d) for d in _val(w).shape)
        key = (supported_dtype(_val(x).dtype), epilogue, n, k)
        ranges = served(*key)
        if ranges == ((1, None),):
            continue  # a kernel at every M
        bias_add = _bias_user(node) if epilogue == IDENTITY else None
        bias = bias_add.args[1] if bias_add is not None else None
        extra = rest[0] if rest else bias
        last = bias_add if bias_add is not None else node
        m = _static_m(x)
        if m is not None and _in_ranges(m, ranges):
            continue  # a static M the bundle serves: the op stays
        with graph.inserting_before(node):
            if m is not None or not ranges:  # a static M it does not serve, or no M at all: not routed
                result = _reference(graph, epilogue, x, w, extra)
                unrouted.append(key)
            else:
                call = _Call(node.target, epilogue, bias is not None, _val(last), node.name)
                result = _emit(graph, gm, call, [x, w] + ([extra] if extra is not None else []), ranges, 1)
        result.meta.setdefault("stack_trace", last.meta.get("stack_trace"))
        last.replace_all_uses_with(result)
        if bias_add is not None:
            graph.erase_node(bias_add)
        graph.erase_node(node)
    graph.lint()
    gm.recompile()
    return unrouted
