"""Fold a GEMM's epilogue into one aotgemm op, in an exported graph, where the bundle has a kernel for it.

Runs before the plain GEMM routing of rewrite.py, on the same ExportedProgram.
Patterns (gemm(x, W) is any form rewrite._match recognises, without a bias):

    act(gemm(x, Wg)) * gemm(x, Wu)           -> aotgemm_linear_<gated>(x, Wgu)   Wgu = cat([Wg, Wu]): a new
                                                constant made here; Wg and Wu are dropped when nothing
                                                else uses them
    g, u = chunk(gemm(x, Wgu), 2, -1)        -> aotgemm_linear_<gated>(x, Wgu)   (or split(.., N/2, -1))
    act(g) * u
    r + gemm(x, W)  /  gemm(x, W) + r        -> aotgemm_linear_residual(x, W, r)   r of the GEMM's shape
    (also with dropout(gemm(x, W)) where the dropout is inert: p = 0 or not training, as Phi-3's in eval)

act is a gated epilogue's activation as the graph calls it (Epilogue.gate: silu -> swiglu,
gelu(.., approximate="tanh") -> geglu), and <gated> that epilogue's name.

A pattern is folded only when (dtype, epilogue, N, K) is in `fusable`
(meta.epilogue_coverage: a bundle kernel for that epilogue problem on the
package's target) and every intermediate value has no other user, and only at
the M the bundle's kernels serve: elsewhere a torch.cond on M runs the
computation as it was (guard.py), which Inductor compiles as it would have
(the epilogue fused into its own pointwise kernel after cuBLAS). The shim's
unfused fallback would be slower there: torch's silu and mul are two passes
over the [M, N] result where Inductor runs one kernel (6.5% of a Llama-3.1-8B
decoder layer at M=2048 on the H200), and the residual's fallback copies r into
the output before cuBLAS's beta-add GEMM (0.95-0.96x of plain AOTInductor on
that layer at M=2048; bench/results/h200-2026-11-30/session3 and session4).
The residual add is the exception to the guard (Epilogue.guard_on_m): it is
folded only where its kernels serve every M the graph admits, since under a
cond the add could no longer merge into the kernel after it.
"""

from __future__ import annotations

import operator

import torch
from torch.fx import Graph, Node

from ..epilogues import RESIDUAL_ADD, epilogue, fused_op, gated
from ..runtime.table import supported_dtype
from .guard import ALL, guarded, spec_for, traced_call
from .meta import Routed
from .op import op as aotgemm_op
from .rewrite import _match, _transposed_weight, _val

aten = torch.ops.aten
_MUL = (aten.mul.Tensor,)
_ADD = (aten.add.Tensor,)


def _only_user(n: Node, user: Node) -> bool:
    return isinstance(n, Node) and list(n.users) == [user]


def _plain_gemm(n) -> tuple[Node, Node] | None:
    """(x, W) when n is a bias-free GEMM of x [.., K] and a 2-D W [N, K] of a kernel dtype, else None."""
    if not isinstance(n, Node):
        return None
    m = _match(n)
    if m is None or m[2] is not None:
        return None
    x, w, _ = m
    xv, wv = _val(x), _val(w)
    if xv is None or wv is None or wv.dim() != 2 or xv.dim() < 1 or xv.dtype != wv.dtype:
        return None
    if not all(isinstance(d, int) for d in wv.shape) or supported_dtype(xv.dtype) is None or xv.shape[-1] != wv.shape[1]:
        return None
    return x, w


def _key(x: Node, w: Node, epilogue: str, n: int | None = None) -> tuple[str, str, int, int]:
    wv = _val(w)
    return supported_dtype(_val(x).dtype), epilogue, int(n if n is not None else wv.shape[0]), int(wv.shape[1])


def _folds(fusable, key: tuple) -> bool:
    """Whether the rewrite may fold problem `key`: a kernel serves it at some M (the fold is guarded on M)."""
    return key in fusable


def _erase(graph: Graph, *nodes: Node) -> None:
    """Erase `nodes` (in order) and the transposes of W they leave unused."""
    for n in nodes:
        feeds = [a for a in n.args if isinstance(a, Node)]
        graph.erase_node(n)
        for a in feeds:
            if not a.users and a.op == "call_function" and _transposed_weight(a) is not None:
                graph.erase_node(a)


class _Constants:
    """Reads and adds the ExportedProgram's lifted weights (parameters, buffers, constants)."""

    def __init__(self, ep: torch.export.ExportedProgram):
        self.ep = ep
        self.specs = {s.arg.name: s for s in ep.graph_signature.input_specs if hasattr(s.arg, "name")}
        self.added = 0

    def tensor(self, node: Node) -> torch.Tensor | None:
        from torch.export.graph_signature import InputKind

        spec = self.specs.get(node.name) if node.op == "placeholder" else None
        if spec is None or spec.kind not in (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR):
            return None
        t = self.ep.state_dict.get(spec.target)
        if t is None:
            t = self.ep.constants.get(spec.target)
        return t if isinstance(t, torch.Tensor) else None

    def add(self, graph: Graph, value: torch.Tensor, fake: torch.Tensor, hint: str) -> Node:
        """A new parameter placeholder holding `value`, after the existing parameters."""
        from torch.export.graph_signature import InputKind, InputSpec, TensorArgument

        specs = self.ep.graph_signature.input_specs
        target = f"aotgemm_{hint}_{self.added}"
        while target in self.ep.state_dict:
            self.added += 1
            target = f"aotgemm_{hint}_{self.added}"
        self.added += 1
        at = sum(1 for s in specs if s.kind == InputKind.PARAMETER)  # parameters come first
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        with graph.inserting_before(placeholders[at] if at < len(placeholders) else None):
            node = graph.placeholder(target)
        node.meta["val"] = fake
        specs.insert(at, InputSpec(InputKind.PARAMETER, TensorArgument(node.name), target, None))
        self.ep.state_dict[target] = torch.nn.Parameter(value, requires_grad=False)
        self.specs[node.name] = specs[at]
        return node

    def drop_unused(self, graph: Graph, node: Node) -> None:
        """Remove a weight placeholder nothing uses any more, and its tensor unless another input shares it."""
        if node.op != "placeholder" or node.users or node.name not in self.specs:
            return
        spec = self.specs.pop(node.name)
        specs = self.ep.graph_signature.input_specs
        specs.remove(spec)
        graph.erase_node(node)
        if not any(s.target == spec.target for s in specs):
            self.ep.state_dict.pop(spec.target, None)
            self.ep.constants.pop(spec.target, None)


def _gate_of(n) -> str | None:
    """The gated epilogue whose activation node `n` computes, or None."""
    if not (isinstance(n, Node) and n.op == "call_function"):
        return None
    return next((name for name in gated() if epilogue(name).gate.matches(n.target, n.kwargs)), None)


def _gated_two_weights(mul: Node, fusable, consts: _Constants):
    """act(gemm(x, Wg)) * gemm(x, Wu): (x, Wg, Wu, the gated epilogue, the nodes to erase) or None."""
    for a, b in (mul.args[:2], mul.args[1::-1]):
        name = _gate_of(a)
        if name is None or not _only_user(a, mul):
            continue
        g, u = _plain_gemm(a.args[0]), _plain_gemm(b)
        if g is None or u is None or g[0] is not u[0] or not _only_user(a.args[0], a) or not _only_user(b, mul):
            continue
        (x, wg), (_, wu) = g, u
        if _val(wg).shape != _val(wu).shape or consts.tensor(wg) is None or consts.tensor(wu) is None:
            continue
        if _folds(fusable, _key(x, wg, name, 2 * _val(wg).shape[0])):
            return x, wg, wu, name, (mul, a, a.args[0], b)
    return None


def _gated_chunked(mul: Node, fusable):
    """g, u = chunk(gemm(x, W), 2, -1); act(g) * u: (x, W, the gated epilogue, the nodes to erase) or None."""
    for a, b in (mul.args[:2], mul.args[1::-1]):
        name = _gate_of(a)
        if name is None or not _only_user(a, mul) or not isinstance(b, Node):
            continue
        g = a.args[0]
        if not (isinstance(g, Node) and g.op == "call_function" and g.target is operator.getitem):
            continue
        if not (b.op == "call_function" and b.target is g.target and b.args[0] is g.args[0]
                and (g.args[1], b.args[1]) == (0, 1) and _only_user(g, a) and _only_user(b, mul)):
            continue
        split = g.args[0]
        if not (isinstance(split, Node) and split.target in (aten.split.Tensor, aten.chunk.default)):
            continue
        gemm = _plain_gemm(split.args[0])
        if gemm is None or not _only_user(split.args[0], split) or set(split.users) != {g, b}:
            continue
        x, w = gemm
        n = int(_val(w).shape[0])
        nd = _val(split.args[0]).dim()
        dim = split.args[2] if len(split.args) > 2 else split.kwargs.get("dim", 0)
        halves = split.args[1] == (2 if split.target == aten.chunk.default else n // 2)
        if n % 2 or not halves or dim % nd != nd - 1:  # two halves along the last dim only
            continue
        if _folds(fusable, _key(x, w, name)):
            return x, w, name, (mul, a, g, b, split, split.args[0])
    return None


def _inert_dropout(n) -> Node | None:
    """The input of `n` where n is a dropout that changes nothing (p = 0, or not training: Phi-3's
    resid_attn_dropout / resid_mlp_dropout in an exported eval graph), else None."""
    if not (isinstance(n, Node) and n.op == "call_function" and n.target is aten.dropout.default):
        return None
    p = n.args[1] if len(n.args) > 1 else n.kwargs.get("p")
    train = n.args[2] if len(n.args) > 2 else n.kwargs.get("train")
    return n.args[0] if (p == 0 or train is False) and isinstance(n.args[0], Node) else None


def _residual(add: Node, fusable):
    """r + gemm(x, W) (either order, alpha 1; the GEMM's output maybe through an inert dropout): (x, W, r, the
    nodes to erase) or None."""
    if add.kwargs.get("alpha", 1) != 1 or len(add.args) != 2:
        return None
    for out, r in (add.args[::-1], add.args):
        gemm, dropout = out, None
        inner = _inert_dropout(out)
        if inner is not None and _only_user(out, add):
            gemm, dropout = inner, out
        m = _plain_gemm(gemm)
        if m is None or not _only_user(gemm, dropout or add) or not isinstance(r, Node):
            continue
        gv, rv = _val(gemm), _val(r)
        if rv is None or rv.shape != gv.shape or rv.dtype != gv.dtype or rv.device != gv.device:
            continue
        if _folds(fusable, _key(*m, RESIDUAL_ADD)):
            return m[0], m[1], r, (add, dropout, gemm) if dropout is not None else (add, gemm)
    return None


def _gated_as_was(name: str):
    """act(gate) * up from one GEMM on [gate; up], split in halves: the computation a folded gated epilogue
    `name` replaced (for the two-weight form, on the halves of the concatenated weight), for Inductor to compile
    at the M no kernel serves (it fuses the activation and mul into one kernel reading the halves)."""
    act, act_kwargs = epilogue(name).gate.aten_call()

    def as_was(g: Graph, ins: list[Node]) -> Node:
        y = traced_call(g, aten.linear.default, (ins[0], ins[1]))
        half = int(_val(ins[1]).shape[0]) // 2
        parts = traced_call(g, aten.split.Tensor, (y, half, -1))
        gate = traced_call(g, operator.getitem, (parts, 0))
        up = traced_call(g, operator.getitem, (parts, 1))
        return traced_call(g, aten.mul.Tensor, (traced_call(g, act, (gate,), act_kwargs), up))

    return as_was


def _residual_as_was(g: Graph, ins: list[Node]) -> Node:
    return traced_call(g, aten.add.Tensor, (traced_call(g, aten.linear.default, (ins[0], ins[1])), ins[2]))


def may_fold(name: str, spec) -> bool:
    """Whether epilogue `name`, served at the M of predicate spec `spec` (guard.predicate_spec; not None), is
    folded: everywhere it is served, except an epilogue that may not sit under a cond on M (Epilogue.guard_on_m),
    folded only where its kernels serve every M x's rows can take (spec ALL)."""
    return spec == ALL or epilogue(name).guard_on_m


def _spec(fusable, key: tuple, x: Node):
    """guard.spec_for, None where the problem may not be folded (may_fold)."""
    spec = spec_for(fusable, key, x)
    return spec if spec is not None and may_fold(key[1], spec) else None


def _fold(ep, old: Node, op, spec, operands: list[Node], as_was) -> bool:
    """Replace `old` by `op` on `operands` where a kernel serves the rows of x (operands[0]), `as_was` elsewhere
    (guard.guarded with `spec`, from _spec); False when no M of the graph is served."""
    new = guarded(ep.graph_module, old, operands[0], operands, spec, lambda g, ins: traced_call(g, op, tuple(ins)),
                  as_was)
    if new is None:
        return False
    old.replace_all_uses_with(new)
    return True


def fold_epilogues(ep: torch.export.ExportedProgram, fusable) -> list[Routed]:
    """Rewrite, in place, every epilogue pattern of `ep` whose problem is in `fusable`: a set (folded at every
    M) or a mapping to the M ranges its kernels serve (meta.epilogue_coverage; folded under a torch.cond)."""
    if not fusable:
        return []
    graph = ep.graph_module.graph
    consts = _Constants(ep)
    residual = aotgemm_op("aotgemm_linear_residual")
    routed: list[Routed] = []
    for node in list(graph.nodes):
        if node.op != "call_function" or node.graph is not graph:
            continue
        if node.target in _MUL:
            m2 = _gated_two_weights(node, fusable, consts)
            if m2 is not None:
                x, wg, wu, name, dead = m2
                fv = _val(wg)
                with fv.fake_mode:
                    fake = torch.cat([fv, _val(wu)])
                # the concatenated weight only once folding is certain (a new parameter of the program)
                spec = _spec(fusable, _key(x, wg, name, 2 * fv.shape[0]), x)
                if spec is None:
                    continue
                value = torch.cat([consts.tensor(wg).detach(), consts.tensor(wu).detach()])
                w = consts.add(graph, value, fake, "gate_up")
                if not _fold(ep, node, aotgemm_op(fused_op(name)), spec, [x, w], _gated_as_was(name)):
                    continue
                _erase(graph, *dead)
                consts.drop_unused(graph, wg)
                consts.drop_unused(graph, wu)
                routed.append(Routed(node.name, *_rk(x, w, name)))
                continue
            m1 = _gated_chunked(node, fusable)
            if m1 is not None:
                x, w, name, dead = m1
                if _fold(ep, node, aotgemm_op(fused_op(name)), _spec(fusable, _key(x, w, name), x), [x, w],
                         _gated_as_was(name)):
                    _erase(graph, *dead)
                    routed.append(Routed(node.name, *_rk(x, w, name)))
        elif node.target in _ADD:
            m3 = _residual(node, fusable)
            if m3 is not None:
                x, w, r, dead = m3
                if _fold(ep, node, residual, _spec(fusable, _key(x, w, RESIDUAL_ADD), x), [x, w, r], _residual_as_was):
                    _erase(graph, *dead)
                    routed.append(Routed(node.name, *_rk(x, w, RESIDUAL_ADD)))
    graph.lint()
    return routed


def _rk(x: Node, w: Node, epilogue: str) -> tuple[str, int, int, str]:
    wv = _val(w)
    return supported_dtype(_val(x).dtype), int(wv.shape[0]), int(wv.shape[1]), epilogue
