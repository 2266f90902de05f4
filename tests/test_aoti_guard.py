"""The M guard of the AOTInductor rewrite (aotgemm/aoti/guard.py): a routed GEMM or folded epilogue goes to
the bundle only at the M its kernels serve (meta.served_ranges), under a torch.cond whose other branch is
the computation as it was. CPU only, no compile: the predicate is checked by running the exported graph
(ep.module()) and counting the op's calls; tests/test_aoti_cpu.py runs a compiled package with it."""

from __future__ import annotations

import math
import random

import pytest
import torch
from torch.export import Dim

import aotgemm.runtime as rt
from aotgemm.aoti import guard, meta, testing
from aotgemm.aoti.rewrite import route_exported_program
from aotgemm.bundle import open_bundle

INF = math.inf
BIG = 1 << 16


@pytest.mark.parametrize("ranges, max_m, spec", [
    (((0, INF),), BIG, guard.ALL),
    (((0, 16),), BIG, ("le", 16)),
    (((0, 16),), 16, guard.ALL),  # the graph admits no larger M
    (((16, INF),), BIG, ("gt", 16)),
    (((16, 128),), BIG, ("between", 16, 128)),
    (((0, 1), (16, INF)), BIG, ("outside", 1, 16)),
    # more than two boundaries: a max over the ranges (None: no upper boundary)
    (((0, 8), (32, 64), (1024, INF)), BIG, ("any", ((0, 8), (32, 64), (1024, None)))),
    (((0, 8), (32, 64)), BIG, ("any", ((0, 8), (32, 64)))),
    (((8, 16), (32, 64)), BIG, ("any", ((8, 16), (32, 64)))),
    (((0, 8), (32, 64)), 40, ("outside", 8, 32)),  # the second range reaches the largest M the graph admits
    (((32, 64),), 16, None),  # nothing the graph admits is served
    ((), BIG, None),
])
def test_predicate_spec(ranges, max_m, spec):
    assert guard.predicate_spec(ranges, max_m) == spec


def _in(ranges, m):
    return any(lo < m <= hi for lo, hi in ranges)


def test_the_predicate_routes_exactly_the_served_m():
    """Over random served sets of one to three ranges: the spec routes exactly the served M in [1, max_m]."""
    rnd = random.Random(0)
    for _ in range(300):
        cuts = sorted(rnd.sample(range(1, 300), rnd.randint(1, 6)))
        ranges = []
        lo = 0 if rnd.random() < 0.5 else None
        for c in cuts:
            if lo is None:
                lo = c
            else:
                ranges.append((lo, c))
                lo = None
        if lo is not None:
            ranges.append((lo, INF))
        max_m = rnd.choice([64, 256, BIG])
        spec = guard.predicate_spec(ranges, max_m)
        served = {m for m in range(1, 400) if m <= max_m and _in(ranges, m)}
        routed = {m for m in range(1, 400) if m <= max_m and guard.serves(spec, m)}
        assert routed == served, (ranges, max_m, spec)


def test_served_ranges_follow_buckets_kernels_and_max_m(tmp_path):
    path = tmp_path / "b.agb"
    # buckets 1, 16, 128, 1024; "a": cuBLAS at 16; "b": no entry at 1024; "c": kernels serve M <= 1024
    testing.make_bundle(path, [("a", 256, 128), ("b", 512, 128)],
                        cublas={("bfloat16", 256, 128, 16)}, skip={("bfloat16", 512, 128, 1024)})
    r = meta.served_ranges(open_bundle(path))
    assert r[("bfloat16", "identity", 256, 128)] == ((0, 1), (16, INF))  # the largest bucket serves all above it
    assert r[("bfloat16", "identity", 512, 128)] == ((0, 128),)
    path2 = tmp_path / "c.agb"
    testing.make_bundle(path2, [("c", 256, 128)], max_m=1024)  # the largest bucket, but no M above it
    assert meta.served_ranges(open_bundle(path2))[("bfloat16", "identity", 256, 128)] == ((0, 1024),)
    assert meta.coverage(open_bundle(path2)) == {("bfloat16", 256, 128): ((0, 1024),)}
    path3 = tmp_path / "d.agb"  # the tuner split bucket 128: its kernel serves M >= 100 there, cuBLAS 17..99
    testing.make_bundle(path3, [("d", 256, 128)], min_m={("bfloat16", 256, 128, 128): 100})
    assert meta.served_ranges(open_bundle(path3))[("bfloat16", "identity", 256, 128)] == ((0, 16), (99, INF))


class Lin(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(128, 256, bias=True, dtype=torch.bfloat16)

    def forward(self, x):
        return self.l(x) * 2


@pytest.mark.parametrize("ranges", [((0, 16),), ((16, INF),), ((16, 128),), ((0, 1), (16, INF)),
                                    ((0, 1), (16, 128), (999, INF)), ((1, 2), (16, 17), (128, 1000))])
def test_routed_only_at_served_m(ranges):
    """The exported graph calls aotgemm_linear exactly at the M in `ranges` (the op's calls are counted by
    the runtime: misses, with no bundle loaded) and Inductor's linear elsewhere, with the same result."""
    torch.manual_seed(0)
    model = Lin().eval()
    ep = torch.export.export(model, (torch.randn(4, 128, dtype=torch.bfloat16),),
                             dynamic_shapes=({0: Dim("m", min=1, max=4096)},))
    routed = route_exported_program(ep, {("bfloat16", 256, 128): ranges})
    assert len(routed) == 1 and "higher_order.cond" in ep.graph_module.code
    run = ep.module()
    for m in (1, 2, 16, 17, 128, 129, 1000):
        x = torch.randn(m, 128, dtype=torch.bfloat16)
        rt.reset_stats()
        y = run(x)
        calls = rt.stats().total_hits + rt.stats().total_misses
        assert calls == int(_in(ranges, m)), (ranges, m)
        torch.testing.assert_close(y, model(x), atol=1e-2, rtol=1e-2)
    rt.reset_stats()


def test_a_set_routes_at_every_m_without_a_cond():
    ep = torch.export.export(Lin().eval(), (torch.randn(4, 128, dtype=torch.bfloat16),),
                             dynamic_shapes=({0: Dim("m", min=1, max=4096)},))
    assert len(route_exported_program(ep, {("bfloat16", 256, 128)})) == 1
    assert "higher_order.cond" not in ep.graph_module.code and "aotgemm_linear" in ep.graph_module.code


def test_static_m_is_decided_at_rewrite_time():
    for m, routed in ((8, 1), (40, 0)):
        ep = torch.export.export(Lin().eval(), (torch.randn(m, 128, dtype=torch.bfloat16),))
        assert len(route_exported_program(ep, {("bfloat16", 256, 128): ((0, 16),)})) == routed
        assert "higher_order.cond" not in ep.graph_module.code
