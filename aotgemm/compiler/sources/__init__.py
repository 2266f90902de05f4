"""The kernel sources a build can draw on, by name (see base.KernelSource).

Sources are named here and imported only when used, so a build (or a test)
that uses one source never imports another's library. Adding a source is one
line here plus its module.
"""

from __future__ import annotations

import importlib

from ...errors import UnknownSource
from .base import KernelSource, Status

# name -> "module:class"
SOURCES = {
    "aotgemm": "aotgemm.compiler.sources.decode:DecodeSource",
    "cutlass_operators": "aotgemm.compiler.sources.cutlass_operators:CutlassOperatorsSource",
    "quack": "aotgemm.compiler.sources.quack:QuackSource",  # optional: aotgemm[quack]; not a default (quack.py)
}
# What `aotgemm build` uses unless told otherwise, in the order their kernels are
# preferred when nothing is measured (untuned builds): our decode kernels first
# where they apply (small M), the registry's everywhere.
DEFAULT_SOURCES = ("aotgemm", "cutlass_operators")

_instances: dict[str, KernelSource] = {}


def get_source(name: str) -> KernelSource:
    """The (one, per process) instance of source `name`."""
    if name not in SOURCES:
        raise UnknownSource(f"unknown kernel source {name!r}; known sources: {', '.join(sorted(SOURCES))}")
    if name not in _instances:
        module, _, cls = SOURCES[name].partition(":")
        _instances[name] = getattr(importlib.import_module(module), cls)()
    return _instances[name]


def compile_spec(spec, symbol: str, object_path: str) -> None:
    """The compile pool's default compiler: hand the spec to the source that made it."""
    get_source(spec.source).compile(spec, symbol, object_path)


__all__ = ["DEFAULT_SOURCES", "SOURCES", "KernelSource", "Status", "compile_spec", "get_source"]
