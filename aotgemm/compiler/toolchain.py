"""What compiled a kernel: versions that change the binary, read without importing them."""

from __future__ import annotations

import importlib.metadata as md
from dataclasses import asdict, dataclass

# Bump when aotgemm changes how it compiles or exports a kernel (patched
# cluster counts, export options, ...): every cached object becomes a miss.
COMPILE_RECIPE = 1


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class Toolchain:
    cutlass_dsl: str | None
    cutlass_dsl_libs: str | None  # "cu13-4.8.1": the compiler backend that emits the code
    cutlass_operators: str | None
    nvmmh: str | None
    tvm_ffi: str | None
    cuda_runtime_major: int
    recipe: int = COMPILE_RECIPE

    def as_dict(self) -> dict:
        return asdict(self)


def detect() -> Toolchain:
    # The DSL ships its compiler backend per CUDA major; cu13 wins when both are installed,
    # which is also what `cutlass` picks at import.
    libs, cuda_major = None, 13
    for major in (13, 12):
        v = _version(f"nvidia-cutlass-dsl-libs-cu{major}")
        if v:
            libs, cuda_major = f"cu{major}-{v}", major
            break
    return Toolchain(
        cutlass_dsl=_version("nvidia-cutlass-dsl"),
        cutlass_dsl_libs=libs,
        cutlass_operators=_version("nvidia-cutlass-operators"),
        nvmmh=_version("nvidia-matmul-heuristics"),
        tvm_ffi=_version("apache-tvm-ffi"),
        cuda_runtime_major=cuda_major,
    )
