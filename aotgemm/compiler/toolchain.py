"""What compiled a kernel: versions that change the binary, read without importing anything."""

from __future__ import annotations

import importlib.metadata as md
from dataclasses import dataclass


def dist_version(dist: str) -> str | None:
    """An installed distribution's version, read from its metadata (nothing is imported)."""
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


# Bump when aotgemm changes how it compiles or exports a kernel (patched
# cluster counts, export options, ...): every cached object becomes a miss.
COMPILE_RECIPE = 2


@dataclass(frozen=True)
class Toolchain:
    compiler: str | None  # "nvidia-cutlass-dsl 4.8.1": the CuTe DSL every source compiles through
    compiler_libs: str | None  # "cu13-4.8.1": the backend that emits the code
    tvm_ffi: str | None
    cuda_runtime_major: int
    sources: tuple[tuple[str, str], ...] = ()  # (source name, its versions), sorted
    recipe: int = COMPILE_RECIPE

    def for_source(self, source: str) -> dict:
        """The fields that go into the key of a kernel of `source`: everything but other sources' versions."""
        return {"compiler": self.compiler, "compiler_libs": self.compiler_libs, "tvm_ffi": self.tvm_ffi,
                "cuda_runtime_major": self.cuda_runtime_major, "recipe": self.recipe,
                "source": [source, dict(self.sources).get(source)]}

    def source_versions(self, source: str) -> str | None:
        return dict(self.sources).get(source)


def detect(sources=()) -> Toolchain:
    """The toolchain here; `sources` are the KernelSource objects whose versions to record."""
    # The DSL ships its compiler backend per CUDA major; cu13 wins when both are installed,
    # which is also what `cutlass` picks at import.
    libs, cuda_major = None, 13
    for major in (13, 12):
        v = dist_version(f"nvidia-cutlass-dsl-libs-cu{major}")
        if v:
            libs, cuda_major = f"cu{major}-{v}", major
            break
    dsl = dist_version("nvidia-cutlass-dsl")
    return Toolchain(
        compiler=f"nvidia-cutlass-dsl {dsl}" if dsl else None,
        compiler_libs=libs,
        tvm_ffi=dist_version("apache-tvm-ffi"),
        cuda_runtime_major=cuda_major,
        sources=tuple(sorted((s.name, s.versions()) for s in sources)),
    )
