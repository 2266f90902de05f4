"""The cutlass_operators source's lookups that ranking leans on: each spec finds its registry operator by
key, and a rank call decides support with one set of registry arguments for every spec."""

import dataclasses
import importlib.util

import pytest

from aotgemm.errors import CompileError
from aotgemm.gpus import gpu_model
from aotgemm.problem import GemmProblem

pytestmark = pytest.mark.skipif(importlib.util.find_spec("cutlass") is None,
                                reason="needs the [build] extra (CuTe DSL, cutlass.operators)")


def test_every_spec_finds_its_registry_operator_and_an_unknown_one_is_a_clear_error():
    from aotgemm.compiler.sources.cutlass_operators import _operator, _registry

    pairs = _registry("bfloat16", "H100_SXM", "identity")
    assert pairs and all(_operator(spec) is op for spec, op in pairs)
    spec = pairs[0][0]
    other = dataclasses.replace(spec, design=spec.design.replace('"tile"', '"tile_other"'))
    with pytest.raises(CompileError, match=f"no registry operator matches {spec.family}"):
        _operator(other)


@pytest.mark.parametrize("gpu", ["H100_SXM", "B200"])
def test_rank_keeps_only_what_supports_allows(gpu):
    from aotgemm.compiler.sources import get_source

    src, g = get_source("cutlass_operators"), gpu_model(gpu)
    p = GemmProblem("bfloat16", "linear", "identity", 4096, 14336)
    specs = src.enumerate(p, g)
    foreign = dataclasses.replace(specs[0], dtype="float16")  # built for another dtype: never ranked
    for m in (1, 8192):
        ranked = src.rank(p, g, m, [foreign, *specs])
        assert ranked and foreign not in ranked
        assert all(src.supports(s, p, m) for s in ranked)
        assert not src.supports(foreign, p, m)
