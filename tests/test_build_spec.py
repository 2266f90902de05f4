"""Cache keys: every field of the spec and of the toolchain changes the key; other sources' versions don't."""

import dataclasses

import pytest

from aotgemm.compiler.spec import KernelSpec, symbol_for
from aotgemm.compiler.toolchain import Toolchain

SPEC = KernelSpec("cutlass_operators", "Sm90StaticPersistentGemmOperator",
                  '{"cluster":[1,1,1],"max_active_clusters":132,"tile":[128,128,64]}',
                  "bfloat16", "linear", "identity", 8, "sm_90a", "H100_SXM")
TOOLS = Toolchain("nvidia-cutlass-dsl 4.8.1", "cu13-4.8.1", "0.1.15", 13,
                  sources=(("aotgemm", "decode_kernels 0123"), ("cutlass_operators", "nvidia-cutlass-operators 0.3.0")))


def test_key_is_stable_and_hex():
    assert SPEC.key(TOOLS) == SPEC.key(TOOLS)
    assert len(SPEC.key(TOOLS)) == 64 and int(SPEC.key(TOOLS), 16) >= 0
    assert symbol_for(SPEC.key(TOOLS)).isidentifier()


SPEC_CHANGES = {
    "source": "aotgemm",
    "family": "Sm80TensorOpGemmOperator",
    "design": '{"cluster":[2,1,1],"max_active_clusters":66,"tile":[128,128,64]}',
    "dtype": "float16",
    "layout": "other",
    "epilogue": "bias",
    "alignment": 16,
    "arch": "sm_100a",
    "gpu": "H200_SXM",
    "max_m": 16,
    "x_row_stride": 4096,
}


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(KernelSpec)])
def test_every_spec_field_changes_the_key(field):
    assert field in SPEC_CHANGES, f"add a changed value for new field {field!r}"
    other = dataclasses.replace(SPEC, **{field: SPEC_CHANGES[field]})
    assert other.key(TOOLS) != SPEC.key(TOOLS)


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Toolchain) if f.name != "sources"])
def test_every_toolchain_field_changes_the_key(field):
    value = getattr(TOOLS, field)
    changed = value + 1 if isinstance(value, int) else value + ".post1"
    assert SPEC.key(dataclasses.replace(TOOLS, **{field: changed})) != SPEC.key(TOOLS)


def test_own_source_version_changes_the_key_and_another_sources_does_not():
    own = dataclasses.replace(TOOLS, sources=(("aotgemm", "decode_kernels 0123"),
                                              ("cutlass_operators", "nvidia-cutlass-operators 0.3.1")))
    other = dataclasses.replace(TOOLS, sources=(("aotgemm", "decode_kernels 4567"),
                                                ("cutlass_operators", "nvidia-cutlass-operators 0.3.0")))
    assert SPEC.key(own) != SPEC.key(TOOLS)
    assert SPEC.key(other) == SPEC.key(TOOLS)
