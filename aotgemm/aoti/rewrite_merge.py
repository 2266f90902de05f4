"""Merge the GEMMs that read one x into one GEMM on their stacked weights, in an exported graph, where the
bundle holds the stacked shape.

transformers' attention projects its input three times (q_proj, k_proj, v_proj); the engines, and the `qkv`
layer `aotgemm manifest from-hf` lists, project it once on [Wq; Wk; Wv]. A bundle built from such a manifest
holds (dtype, Nq + Nk + Nv, K) and none of the three shapes, so without this pass a transformers model's
attention GEMMs all stay Inductor's. Where the stacked shape is covered (an identity kernel at some M), the
GEMMs become one `aten.linear(x, W, b)` on a new constant W = cat([W1; W2; ...]) (b likewise), whose output is
split along its last dimension into the values the GEMMs had; route_gemms then routes that one GEMM like any
other, under a torch.cond on M where its kernels serve only some M (whose other branch, the merged GEMM as
Inductor's own call, is one cuBLAS GEMM where there were three). The patch() counterpart in eager mode is
runtime/fuse_transformers.py's fuse_projections, by the same rule.

Merged: all the GEMM users of one x (any form rewrite._match recognises), when there are at least two, their
weights (and biases, all or none of them having one) are lifted constants of x's dtype and K, and the stacked
shape is covered. The original constants are dropped when nothing else uses them.
"""

from __future__ import annotations

import operator

import torch
from torch.fx import Node

from ..problem import SCALED_DTYPES
from ..runtime.table import supported_dtype
from .guard import traced_call
from .rewrite import _match, _static, _val
from .rewrite_epilogues import _Constants, _erase

aten = torch.ops.aten


def _operands(gemms: list[Node], consts: _Constants):
    """(x's kernel dtype, K, [(W, b or None)]) when every GEMM can be stacked with the others, else None."""
    x = _match(gemms[0])[0]
    xv = _val(x)
    dtype = supported_dtype(xv.dtype) if xv is not None else None
    if dtype is None or dtype in SCALED_DTYPES:
        return None
    parts, k = [], xv.shape[-1]
    for g in gemms:
        _, w, b = _match(g)
        wv = _val(w)
        if wv is None or wv.dim() != 2 or not _static(*wv.shape) or wv.dtype != xv.dtype or wv.shape[1] != k:
            return None
        if consts.tensor(w) is None or (b is not None and (not isinstance(b, Node) or consts.tensor(b) is None)):
            return None
        parts.append((w, b))
    if len({b is None for _, b in parts}) != 1:
        return None
    return dtype, int(k), parts


def _stacked(graph, consts: _Constants, nodes: list[Node], hint: str) -> Node:
    """A new constant: the tensors of `nodes` concatenated along their first dimension."""
    fakes = [_val(n) for n in nodes]
    with fakes[0].fake_mode:
        fake = torch.cat(fakes)
    return consts.add(graph, torch.cat([consts.tensor(n).detach() for n in nodes]), fake, hint)


def merge_shared_input_gemms(ep: torch.export.ExportedProgram, covered) -> int:
    """Rewrite, in place, each set of GEMMs reading one x whose stacked (dtype, sum of N, K) is in `covered`
    (meta.served_ranges' identity problems: a set or a mapping) into one GEMM and a split; the number merged."""
    if not covered:
        return 0
    graph = ep.graph_module.graph
    consts = _Constants(ep)
    by_x: dict[Node, list[Node]] = {}
    for node in graph.nodes:
        m = _match(node)
        if m is not None and isinstance(m[0], Node):
            by_x.setdefault(m[0], []).append(node)
    merged = 0
    for x, gemms in by_x.items():
        found = _operands(gemms, consts) if len(gemms) > 1 else None
        if found is None:
            continue
        dtype, k, parts = found
        sizes = [int(_val(w).shape[0]) for w, _ in parts]
        if (dtype, sum(sizes), k) not in covered:
            continue
        w = _stacked(graph, consts, [w for w, _ in parts], "stacked_weight")
        b = None if parts[0][1] is None else _stacked(graph, consts, [b for _, b in parts], "stacked_bias")
        with graph.inserting_before(gemms[0]):  # graph order: the first of them, after x
            y = traced_call(graph, aten.linear.default, (x, w, b))
            pieces = traced_call(graph, aten.split_with_sizes.default, (y, sizes, -1))
            for i, g in enumerate(gemms):
                g.replace_all_uses_with(traced_call(graph, operator.getitem, (pieces, i)))
        _erase(graph, *gemms)
        for wi, bi in parts:
            consts.drop_unused(graph, wi)
            if bi is not None:
                consts.drop_unused(graph, bi)
        merged += 1
    graph.lint()
    return merged
