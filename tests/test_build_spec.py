"""Cache keys: every field of the spec and of the toolchain changes the key."""

import dataclasses

import pytest

from aotgemm.compiler.spec import GemmGroup, KernelSpec, symbol_for
from aotgemm.compiler.toolchain import Toolchain

SPEC = KernelSpec("Sm90StaticPersistentGemmOperator", '{"cluster":[1,1,1],"tile":[128,128,64]}',
                  GemmGroup("bfloat16", "linear", 8), "sm_90a", "H100_SXM", 132)
TOOLS = Toolchain("4.8.1", "cu13-4.8.1", "0.3.0", "0.1.0.27", "0.1.15", 13)


def test_key_is_stable_and_hex():
    assert SPEC.key(TOOLS) == SPEC.key(TOOLS)
    assert len(SPEC.key(TOOLS)) == 64 and int(SPEC.key(TOOLS), 16) >= 0
    assert symbol_for(SPEC.key(TOOLS)).isidentifier()


SPEC_CHANGES = {
    "operator": "Sm80TensorOpGemmOperator",
    "design": '{"cluster":[2,1,1],"tile":[128,128,64]}',
    "group": GemmGroup("float16", "linear", 8),
    "arch": "sm_100a",
    "gpu": "H200_SXM",
    "max_active_clusters": 66,
}


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(KernelSpec)])
def test_every_spec_field_changes_the_key(field):
    assert field in SPEC_CHANGES, f"add a changed value for new field {field!r}"
    other = dataclasses.replace(SPEC, **{field: SPEC_CHANGES[field]})
    assert other.key(TOOLS) != SPEC.key(TOOLS)


@pytest.mark.parametrize("field", ["dtype", "layout", "alignment"])
def test_every_group_field_changes_the_key(field):
    group = dataclasses.replace(SPEC.group, **{field: {"dtype": "float16", "layout": "other", "alignment": 16}[field]})
    assert dataclasses.replace(SPEC, group=group).key(TOOLS) != SPEC.key(TOOLS)


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Toolchain)])
def test_every_toolchain_field_changes_the_key(field):
    value = getattr(TOOLS, field)
    changed = value + 1 if isinstance(value, int) else value + ".post1"
    assert SPEC.key(dataclasses.replace(TOOLS, **{field: changed})) != SPEC.key(TOOLS)
