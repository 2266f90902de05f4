"""The M guard (aotgemm/aoti/guard.py): a routed op runs only at the M its bundle serves with a kernel
(aotgemm.aoti.meta.served_m); every other M runs Inductor's own code for the original subgraph.

- served_m: the rule, on bundles with cuBLAS entries, missing entries, max_m and several targets;
- the rewrite on exported graphs (no AOTInductor): a torch.cond on a dynamic M whose Inductor branch has
  no aotgemm op and computes the model; a static M decided at rewrite time;
- end to end on CPU (one AOTInductor compile, about 30 s on 2 cores): a package whose bundle has kernels
  only at small M, loaded in a fresh process with the CPU stand-in kernels: the shim's counters show
  hits (and nothing else) at the served M and no call at all at the others, outputs match eager.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import aotgemm.aoti as aoti
from aotgemm.aoti import testing
from aotgemm.aoti.guard import guard_routed
from aotgemm.aoti.meta import coverage, epilogue_coverage, served_m
from aotgemm.aoti.op import op as aotgemm_op
from aotgemm.aoti.rewrite import route_exported_program
from aotgemm.bundle import open_bundle

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BF = "bfloat16"
EPILOGUES = ("identity", "residual_add", "swiglu")
LAYERS = [("inp", 64, 64), ("gate_up", 256, 64), ("down", 64, 128)]
# kernels at small M only (TEST_BUCKETS = 1, 16, 128, 1024):
#   inp (identity 64x64):       buckets 1, 16            -> M in [1, 16]
#   gate_up (swiglu 256x64):    buckets 1, 16, 128       -> M in [1, 128]
#   down (residual_add 64x128): buckets 1, 128 (16: cuBLAS) -> M in [1, 1] and [17, 128]
CUBLAS = {(BF, "identity", 64, 64, 128), (BF, "identity", 64, 64, 1024), (BF, "swiglu", 256, 64, 1024),
          (BF, "residual_add", 64, 128, 16), (BF, "residual_add", 64, 128, 1024)}
SERVED = {("identity", 64, 64): ((1, 16),), ("swiglu", 256, 64): ((1, 128),),
          ("residual_add", 64, 128): ((1, 1), (17, 128))}


class Model(torch.nn.Module):
    """inp(x) (a biased Linear), then a SwiGLU MLP with two weights and the residual add."""

    def __init__(self):
        super().__init__()
        lin = lambda k, n, bias=False: torch.nn.Linear(k, n, bias=bias, dtype=torch.bfloat16)  # noqa: E731
        self.inp, self.g, self.u, self.d = lin(64, 64, True), lin(64, 128), lin(64, 128), lin(128, 64)

    def forward(self, x):
        h = self.inp(x)
        return h + self.d(F.silu(self.g(h)) * self.u(h))


def _bundle(path, lib=b"\x7fELF-not-a-library"):
    testing.make_bundle(path, LAYERS, library=lib, epilogues=EPILOGUES, cublas=CUBLAS)
    return path


# --- the rule -------------------------------------------------------------------------------------
def test_served_m_follows_the_bundle_entries(tmp_path):
    bf = open_bundle(_bundle(tmp_path / "b.agb"))
    for (ep, n, k), ranges in SERVED.items():
        assert served_m(bf, BF, ep, n, k) == ranges, (ep, n, k)
        assert served_m(bf, BF, ep, n, k, target="H100_SXM") == ranges
    assert served_m(bf, BF, "identity", 256, 64) == ((1, None),)  # every bucket a kernel
    assert served_m(bf, BF, "identity", 999, 64) == ()  # no entry at all
    assert served_m(bf, "float16", "identity", 64, 64) == ()
    assert served_m(bf, BF, "identity", 64, 64, target="H200_SXM") == ()  # not a target of the bundle


def test_served_m_caps_at_max_m_and_falls_back_to_identity_entries(tmp_path):
    path = tmp_path / "b.agb"
    # swiglu has no entry at bucket 128: the shim looks up the identity problem's entry there (a kernel);
    # the kernels serve M <= 2000, so the last bucket (1024, which also takes every larger M) stops there
    testing.make_bundle(path, [("gate_up", 256, 64)], library=b"x", epilogues=("identity", "swiglu"),
                        skip={(BF, "swiglu", 256, 64, 128)}, cublas={(BF, "identity", 256, 64, 16)}, max_m=2000)
    bf = open_bundle(path)
    assert served_m(bf, BF, "swiglu", 256, 64) == ((1, 2000),)  # 17..128 through the identity entry
    assert served_m(bf, BF, "identity", 256, 64) == ((1, 1), (17, 2000))


def test_served_m_of_several_targets(tmp_path):
    path = tmp_path / "b.agb"
    testing.make_bundle(path, [("inp", 64, 64)], library=b"x", gpus=("H100_SXM", "H200_SXM"),
                        cublas={(BF, 64, 64, 1024)})
    bf = open_bundle(path)
    assert served_m(bf, BF, "identity", 64, 64, target="H200_SXM") == ((1, 128),)
    assert served_m(bf, BF, "identity", 64, 64) == ((1, 128),)  # the union over targets


# --- the rewrite, without AOTInductor -------------------------------------------------------------------
def _routed_ep(tmp_path, dynamic: bool, rows: int = 3):
    from torch.export import Dim

    bf = open_bundle(_bundle(tmp_path / "b.agb"))
    torch.manual_seed(0)
    model = Model().eval()
    x = torch.randn(rows, 5, 64, dtype=torch.bfloat16)
    ep = torch.export.export(model, (x,), dynamic_shapes=({0: Dim("b", min=1, max=4096)},) if dynamic else None)
    routed = route_exported_program(ep, coverage(bf), epilogue_coverage(bf))
    assert sorted((r.epilogue, r.n, r.k) for r in routed) == sorted(SERVED)
    unrouted = guard_routed(ep, lambda *key: served_m(bf, *key))
    return model, ep, unrouted


def _ops(gm) -> list[str]:
    """The aotgemm ops called in gm and its subgraphs (name of the branch graph, op name)."""
    ops = {aotgemm_op(n) for n in ("aotgemm_linear", "aotgemm_linear_swiglu", "aotgemm_linear_residual")}
    return sorted(f"{name or 'main'}:{n.target._schema.name.split('::')[1]}" for name, mod in gm.named_modules()
                  if isinstance(mod, torch.fx.GraphModule) for n in mod.graph.nodes if n.target in ops)


def test_dynamic_m_gets_a_cond_whose_other_branch_is_inductors(tmp_path):
    model, ep, unrouted = _routed_ep(tmp_path, dynamic=True)
    assert unrouted == []
    gm = ep.graph_module
    conds = [n for n in gm.graph.nodes if n.target is torch.ops.higher_order.cond]
    assert len(conds) == 3
    # every aotgemm op sits in a "then" branch; none in the main graph or an Inductor ("else") branch. The
    # residual's ranges have a gap: M <= 1 -> op, else (M >= 17 -> (M <= 128 -> op, else ref), else ref)
    ops = _ops(gm)
    assert len(ops) == 4 and all("_then_" in o.split(":")[0].split(".")[-1] for o in ops), ops
    assert sum("aotgemm_linear_residual_default_else" in o for o in ops) == 1, ops
    preds = [c.args[0].meta["val"] for c in conds]
    assert all(isinstance(p, torch.SymBool) for p in preds), preds  # symbolic, decided at run time
    # the Inductor branches compute the model (eager run of the rewritten program at M outside every range)
    mod = ep.module()
    for b in (60, 80):  # M = 300, 400: every cond takes its Inductor branch
        x = testing.deterministic_input((b, 5, 64), torch.bfloat16)
        with torch.no_grad():
            got, ref = mod(x).float(), model(x).float()
        assert ((got - ref).norm() / ref.norm()).item() < 1e-2


@pytest.mark.parametrize("rows,kept", [(1, {"aotgemm_linear", "aotgemm_linear_swiglu"}),  # M = 5
                                       (4, {"aotgemm_linear_swiglu", "aotgemm_linear_residual"}),  # M = 20
                                       (60, set())])  # M = 300
def test_static_m_is_decided_at_rewrite_time(tmp_path, rows, kept):
    model, ep, unrouted = _routed_ep(tmp_path, dynamic=False, rows=rows)
    gm = ep.graph_module
    assert not any(n.target is torch.ops.higher_order.cond for n in gm.graph.nodes)
    assert {o.split(":")[1] for o in _ops(gm)} == kept
    assert len(unrouted) == 3 - len(kept)
    x = testing.deterministic_input((rows, 5, 64), torch.bfloat16)
    with torch.no_grad():
        got, ref = ep.module()(x).float(), model(x).float()
    assert ((got - ref).norm() / ref.norm()).item() < 1e-2


# --- end to end -------------------------------------------------------------------------------------
RUN = """
import json, sys, torch
import aotgemm.aoti as aoti
from aotgemm.aoti import testing
sys.path.insert(0, {tests!r})
from test_aoti_guard_cpu import Model
runner = aoti.load({package!r}, _device=testing.fake_device(), _cpu_kernels=True, cache_dir={cache!r})
model = Model().eval()
model.load_state_dict(torch.load({weights!r}))
out = {{}}
for b in {batches!r}:
    x = testing.deterministic_input((b, 5, 64), torch.bfloat16)
    aoti.reset_counters()
    y = runner(x)
    c = aoti.counters()
    with torch.no_grad():
        ref = model(x).float()
    out[b] = {{"shape": list(y.shape), "err": ((y.float() - ref).norm() / ref.norm()).item(),
               "calls": c["calls"], "hits": c["hits"], "misses": c["misses"]}}
# the shim's own decision (aotgemm_aoti_lookup: identity problems) at each M, for the rule's conformance test
out["lookup"] = {{f"{{n}},{{k}}": [m for m in range(1, 2100) if aoti.lookup("bfloat16", n, k, m) not in (None, "cublas")]
                 for n, k in {shapes!r}}}
print(json.dumps(out))
"""


def test_package_runs_the_shim_only_where_the_bundle_has_kernels(tmp_path):
    lib = testing.build_cpu_kernel_library(tmp_path / "kernels")
    bundle = _bundle(tmp_path / "b.agb", lib)
    torch.manual_seed(0)
    model = Model().eval()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    pkg = aoti.compile(model, (torch.randn(2, 5, 64, dtype=torch.bfloat16),), bundle, tmp_path / "g.pt2")
    assert sorted((r.epilogue, r.n, r.k) for r in aoti.package_info(pkg).routed) == sorted(SERVED)
    # M = 5 b. Per forward: inp served at M <= 16, swiglu at M <= 128, residual at M = 1 or 17..128.
    calls = {1: 2, 3: 2, 4: 2, 20: 2, 26: 0, 60: 0}  # M = 5, 15, 20, 100, 130, 300
    code = RUN.format(tests=str(HERE), package=str(pkg), cache=str(tmp_path / "cache"),
                      weights=str(tmp_path / "w.pt"), batches=list(calls), shapes=[(n, k) for _, n, k in LAYERS])
    env = {"PYTHONPATH": str(REPO), "PATH": "/nonexistent", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, cwd=str(REPO), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    for b, n in calls.items():
        got = r[str(b)]
        assert got["shape"] == [b, 5, 64] and got["err"] < 1e-2, (b, got)
        # the shim runs only where it hits; elsewhere it is not called at all
        assert (got["calls"], got["hits"], got["misses"]) == (n, n, 0), (b, got)
    # served_m is the shim's rule: the M it names are exactly those the shim's lookup gives a kernel
    bf = open_bundle(bundle)
    for _, n, k in LAYERS:
        want = [m for m in range(1, 2100) if any(lo <= m and (hi is None or m <= hi)
                                                 for lo, hi in served_m(bf, BF, "identity", n, k))]
        assert r["lookup"][f"{n},{k}"] == want, (n, k)
