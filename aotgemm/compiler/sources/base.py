"""The one interface every kernel source implements (cutlass.operators, our decode family, quack...).

A source turns a `GemmProblem` on a GPU model into `KernelSpec`s, says which
of them can serve a problem at a given M (and why not), orders them
best-first for that M, and compiles one spec to a TVM-FFI object file that
exports the project's single call convention (aotgemm.problem).

Rules every source keeps:
- it is the only module that imports its library, and only inside its methods
  (enumerating specs for a dry run or a cache hit must not need it);
- `rank` orders and may prune the specs it is given; it never invents one;
- `shortlist` cuts a ranking to what a build keeps (its top k unless the source says why more);
- `supports` returns a `Status` carrying the reason, never raises;
- `compile` runs in a spawned worker with no GPU, and is given only the spec
  (a frozen, picklable value), never a live library object;
- `versions()` names every distribution whose version changes the machine
  code it emits: it goes into each kernel's cache key and into the bundle.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from ...gpus import GpuModel
from ...problem import GemmProblem
from ..spec import KernelSpec
from ..toolchain import dist_version


@dataclass(frozen=True)
class Status:
    """Truthy when a thing is possible; otherwise `reason` says why not."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


OK = Status(True)


class KernelSource(ABC):
    # The name kernels and bundles record ("cutlass_operators", "aotgemm", "quack").
    name: ClassVar[str]
    # Distributions whose versions change the emitted code (besides the DSL compiler itself,
    # which the toolchain records for every source).
    distributions: ClassVar[tuple[str, ...]] = ()
    # Distributions whose versions change how it ranks (not the code): they key the memoised ranking.
    ranking_distributions: ClassVar[tuple[str, ...]] = ()
    # Importable modules the source needs, with the pip requirement that provides each.
    requires: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        if not getattr(cls, "__abstractmethods__", None) and not isinstance(cls.__dict__.get("name"), str):
            raise TypeError(f"kernel source {cls.__name__} must set a class attribute `name`")

    def versions(self) -> str:
        """'dist version, ...' for `distributions` (sorted; '-' for one not installed)."""
        return ", ".join(f"{d} {dist_version(d) or '-'}" for d in sorted(self.distributions))

    def code_files(self) -> tuple[str, ...]:
        """aotgemm's own files whose code decides what `enumerate` and `rank` return (memo keys follow them)."""
        import sys

        return (sys.modules[type(self).__module__].__file__,)

    def available(self) -> Status:
        """Whether this source's library is installed here (checked without importing it)."""
        missing = []
        for module, requirement in self.requires.items():
            try:
                found = importlib.util.find_spec(module) is not None
            except (ModuleNotFoundError, ValueError):
                found = False
            if not found:
                missing.append(requirement)
        if missing:
            return Status(False, f"needs {', '.join(missing)} (pip install {' '.join(repr(r) for r in missing)})")
        return OK

    @abstractmethod
    def enumerate(self, problem: GemmProblem, gpu: GpuModel) -> list[KernelSpec]:
        """Every spec this source can build for `problem` on `gpu` (deterministic order)."""

    @abstractmethod
    def supports(self, spec: KernelSpec, problem: GemmProblem, m: int) -> Status:
        """Whether `spec` computes `problem` correctly at M rows, and if not, why."""

    @abstractmethod
    def rank(self, problem: GemmProblem, gpu: GpuModel, m: int, specs: list[KernelSpec]) -> list[KernelSpec]:
        """`specs` that serve `problem` at M, best-first by this source's model; may prune, never invents."""

    def shortlist(self, ranked: list[KernelSpec], top_k: int) -> list[KernelSpec]:
        """What a build keeps of `ranked` (one problem and M bucket): its first `top_k`."""
        return ranked[:top_k]

    @abstractmethod
    def compile(self, spec: KernelSpec, symbol: str, object_path: str) -> None:
        """Compile `spec` for its architecture; write a TVM-FFI object exporting `symbol` to `object_path`."""
