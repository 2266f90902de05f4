"""Route a call to the bundle only at the M where a bundle kernel serves it: torch.cond in the exported graph.

A routed GEMM (or folded epilogue) pays only where a bundle kernel serves it. At any other M the shim
would add host time before calling cuBLAS (about 0.7 µs a call), and for a folded epilogue run the
unfused form where Inductor has one fused kernel. So where the M the bundle serves (meta.served_ranges)
do not cover every M the graph admits, the rewrite emits

    torch.cond(pred(M), <the aotgemm op>, <the computation as it was>, operands)

with M the call's rows. AOTInductor compiles both branches and tests pred on the host, per call, from the
input's sizes: at an M no kernel serves, the package runs Inductor's own code.

pred is a single sympy relational: Inductor's C++ wrapper takes no Or/And as a cond predicate (torch
2.13: "'Or' object has no attribute 'expand'"). So the served set is written with boundaries at
half-integers that no M equals, with at most two as a product:

    from 1 to hi:                       M <= hi
    above lo:                           M > lo
    between lo and hi:                  (2M - 2lo - 1) * (2hi + 1 - 2M) > 0
    from 1 to hi1, and above lo2:       (2M - 2hi1 - 1) * (2M - 2lo2 - 1) > 0

(at most (2 * 65536)^2 for the packages' largest M: no overflow in int64), and with more as a max over the
ranges of each range's min distance inside it ("any"):

    max over ranges of min(2M - 2lo - 1, 2hi + 1 - 2M) > 0

torch.sym_max / torch.sym_min, printed std::max / std::min by the C++ wrapper; every term within
2 * 65536 + 1. A bucket split by the tuner (DispatchEntry.min_m) leaves the cuBLAS M below it out of the
served set, so a problem's set often has five or more ranges (Llama-3.1-8B's gate_up tuned on the H200,
session 14: ten); the product forms kept only the lowest, or the lowest and highest, of them.
"""

from __future__ import annotations

import math
import operator
from typing import Callable, Sequence

import torch
from torch._dispatch.python import enable_python_dispatcher
from torch.fx import Graph, GraphModule, Node

Ranges = Sequence[tuple[int, float]]  # meta.Ranges: (lo, hi) with lo < M <= hi
ALL = "all"


def predicate_spec(ranges: Ranges, max_m: float) -> tuple | str | None:
    """How to test "a kernel serves M" for M in [1, max_m]: ALL (always), None (never), one of
    ("le", hi), ("gt", lo), ("between", lo, hi), ("outside", hi1, lo2), or ("any", ((lo, hi or None), ...))
    where the set has more than two boundaries (None: no upper one) (see the module docstring)."""
    parts = [(lo, min(hi, max_m)) for lo, hi in ranges if lo < max_m and hi > lo]
    if not parts:
        return None
    top = lambda hi: hi >= max_m  # noqa: E731 - the range reaches the largest M the graph admits
    first, last = parts[0], parts[-1]
    if first[0] == 0 and top(first[1]):
        return ALL
    if len(parts) == 2 and first[0] == 0 and top(last[1]):
        return ("outside", int(first[1]), int(last[0]))
    if len(parts) > 1:
        return ("any", tuple((int(lo), None if top(hi) else int(hi)) for lo, hi in parts))
    lo, hi = first
    return ("le", int(hi)) if lo == 0 else ("gt", int(lo)) if top(hi) else ("between", int(lo), int(hi))


def serves(spec, m: int) -> bool:
    """`spec` evaluated at a static M (what the emitted predicate computes)."""
    if spec == ALL:
        return True
    if spec is None:
        return False
    kind = spec[0]
    if kind == "le":
        return m <= spec[1]
    if kind == "gt":
        return m > spec[1]
    if kind == "between":
        return spec[1] < m <= spec[2]
    if kind == "any":
        return any(lo < m and (hi is None or m <= hi) for lo, hi in spec[1])
    return m <= spec[1] or m > spec[2]


def max_rows(x: Node) -> float:
    """The most rows (all but the last dimension) x can have: its shape's upper bound under the exported
    graph's range constraints; math.inf when a dimension is unbounded or the bound cannot be read."""
    m = 1
    for d in x.meta["val"].shape[:-1]:
        if isinstance(d, int):
            m *= d
            continue
        try:
            node = d.node
            upper = node.shape_env.bound_sympy(node.expr).upper
            m *= int(upper) if upper.is_finite else math.inf
        except (AttributeError, TypeError, ValueError):
            return math.inf
    return m


def spec_for(served, key: tuple, x: Node):
    """The predicate spec of problem `key` fed by x: `served` is a set of problems (routed at every M: ALL) or
    a mapping to their M ranges (meta.served_ranges; predicate_spec over the rows x can have). None also
    when x's rows are static and not served."""
    spec = predicate_spec(served[key], max_rows(x)) if hasattr(served, "get") else ALL
    if spec is not None and all(isinstance(d, int) for d in x.meta["val"].shape[:-1]):
        return spec if serves(spec, math.prod(x.meta["val"].shape[:-1])) else None
    return spec


def traced_call(graph: Graph, target, args: tuple, kwargs: dict | None = None) -> Node:
    """graph.call_function with meta["val"]: the target run on the arguments' values (fake tensors, SymInts)."""
    kwargs = kwargs or {}
    vals = [a.meta["val"] if isinstance(a, Node) else a for a in args]
    kvals = {k: (v.meta["val"] if isinstance(v, Node) else v) for k, v in kwargs.items()}
    fake = next((v for v in [*vals, *kvals.values()] if isinstance(v, torch.Tensor)), None)
    node = graph.call_function(target, args, kwargs)
    if fake is not None and hasattr(fake, "fake_mode"):
        # the Python dispatcher decomposes composite ops (aten.linear) the way export traced them; called
        # straight, torch 2.11's C++ linear asks a symbolic-size tensor for numel() and raises
        with fake.fake_mode, enable_python_dispatcher():
            node.meta["val"] = target(*vals, **kvals)
    else:
        node.meta["val"] = target(*vals, **kvals)
    return node


def rows(graph: Graph, x: Node) -> Node | int:
    """x's rows (all but its last dimension) as a graph value: an int when static, else a SymInt node."""
    m: Node | int = 1
    for i, d in enumerate(x.meta["val"].shape[:-1]):
        if isinstance(d, int):
            term: Node | int = d
        else:
            term = traced_call(graph, torch.ops.aten.sym_size.int, (x, i))
        if isinstance(m, int) and isinstance(term, int):
            m *= term
        elif isinstance(m, int) and m == 1:
            m = term
        else:
            m = traced_call(graph, operator.mul, (m, term))
    return m


def _predicate(graph: Graph, m: Node, spec) -> Node:
    kind = spec[0]
    if kind == "le":
        return traced_call(graph, operator.le, (m, spec[1]))
    if kind == "gt":
        return traced_call(graph, operator.gt, (m, spec[1]))
    two_m = traced_call(graph, operator.mul, (m, 2))
    if kind == "any":  # max over the ranges of min(2M - 2lo - 1, 2hi + 1 - 2M) > 0
        best = None
        for lo, hi in spec[1]:
            above = traced_call(graph, operator.sub, (two_m, 2 * lo + 1)) if lo > 0 else None
            below = traced_call(graph, operator.sub, (2 * hi + 1, two_m)) if hi is not None else None
            term = (traced_call(graph, torch.sym_min, (above, below)) if above is not None and below is not None
                    else above if above is not None else below)
            best = term if best is None else traced_call(graph, torch.sym_max, (best, term))
        return traced_call(graph, operator.gt, (best, 0))
    if kind == "between":
        a = traced_call(graph, operator.sub, (two_m, 2 * spec[1] + 1))
        b = traced_call(graph, operator.sub, (2 * spec[2] + 1, two_m))
    else:  # outside
        a = traced_call(graph, operator.sub, (two_m, 2 * spec[1] + 1))
        b = traced_call(graph, operator.sub, (two_m, 2 * spec[2] + 1))
    return traced_call(graph, operator.gt, (traced_call(graph, operator.mul, (a, b)), 0))


def _branch(parent: GraphModule, name: str, operands: Sequence[Node], body: Callable[[Graph, list[Node]], Node]) -> None:
    """Register submodule `name` of `parent`: a graph of `operands` (placeholders) -> (body's node,)."""
    sub = Graph()
    inputs = []
    for i, o in enumerate(operands):
        p = sub.placeholder(f"arg{i}")
        p.meta["val"] = o.meta["val"]
        inputs.append(p)
    sub.output((body(sub, inputs),))
    parent.register_module(name, GraphModule(parent, sub))


def _keep_meta(new: Node, old: Node) -> Node:
    """new, with old's meta (source location, module stack) where new has none of its own."""
    for k, v in old.meta.items():
        new.meta.setdefault(k, v)
    return new


def guarded(parent: GraphModule, old: Node, x: Node, operands: Sequence[Node], spec,
            routed: Callable[[Graph, list[Node]], Node], original: Callable[[Graph, list[Node]], Node]) -> Node | None:
    """The value that replaces `old`: `routed` (the aotgemm op) where a kernel serves x's rows per `spec`,
    `original` (the computation as it was) elsewhere, both built on `operands` (Nodes, x among them).
    Inserted before `old`; None when no M of the graph is served. Unconditional where spec is ALL or
    M is static; else a torch.cond whose branches are new submodules of `parent`."""
    graph = old.graph
    shape = x.meta["val"].shape[:-1]
    static = all(isinstance(d, int) for d in shape)
    if spec is None or (static and not serves(spec, math.prod(shape))):
        return None
    with graph.inserting_before(old):
        if spec == ALL or static:
            return _keep_meta(routed(graph, list(operands)), old)
        index = 0
        while hasattr(parent, f"aotgemm_routed_{index}"):
            index += 1
        names = f"aotgemm_routed_{index}", f"aotgemm_original_{index}"
        _branch(parent, names[0], operands, routed)
        _branch(parent, names[1], operands, original)
        outs = [getattr(parent, n).graph.output_node().args[0][0].meta["val"] for n in names]
        if outs[0].shape != outs[1].shape or outs[0].dtype != outs[1].dtype or outs[0].stride() != outs[1].stride():
            # cond needs both branches to return the same tensor layout: route unconditionally instead
            for n in names:
                delattr(parent, n)
            return _keep_meta(routed(graph, list(operands)), old)
        pred = _predicate(graph, rows(graph, x), spec)
        cond = graph.call_function(torch.ops.higher_order.cond,
                                   (pred, graph.get_attr(names[0]), graph.get_attr(names[1]), tuple(operands)))
        cond.meta["val"] = (outs[0],)
        out = graph.call_function(operator.getitem, (cond, 0))
        out.meta.update(old.meta)
        out.meta["val"] = outs[0]
        return out
