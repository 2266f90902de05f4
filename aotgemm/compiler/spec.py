"""What one compiled kernel is, as a frozen value with a content key.

Keys come from canonical JSON bytes of the spec plus the toolchain (the DSL
compiler, the tvm-ffi ABI, and the versions of the spec's own source), never
from names, repr or pickle (cutlass.operators' operator_name carries no
compatibility promise). A new version of one source leaves the other
sources' cached objects valid.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from ..problem import GemmProblem
from .toolchain import Toolchain


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class KernelSpec:
    """One kernel to compile: which source makes it, what design, for what GEMMs, for which GPU model."""

    source: str  # KernelSource.name
    family: str  # the source's own kind of kernel (registry class, "decode_cudacore", ...)
    design: str  # canonical JSON of the design (tile, cluster, split-K, ...; see the source)
    dtype: str
    layout: str
    epilogue: str
    alignment: int  # elements
    arch: str  # "sm_90a"
    gpu: str  # the GPU model whose numbers (SM count, cluster counts) are baked in
    max_m: int = 0  # the largest M it serves; 0: any
    x_row_stride: int = 0  # the one row stride of x it takes (compiled in); 0: any >= K

    @property
    def design_dict(self) -> dict:
        return json.loads(self.design)

    def serves(self, problem: GemmProblem) -> bool:
        """Whether this kernel's operand group is `problem`'s (a source's `supports` checks the rest)."""
        return (self.dtype, self.layout, self.epilogue, self.alignment) == (
            problem.dtype, problem.layout, problem.epilogue, problem.alignment)

    def canonical_bytes(self, toolchain: Toolchain) -> bytes:
        return canonical_json({"spec": asdict(self), "toolchain": toolchain.for_source(self.source)}).encode()

    def key(self, toolchain: Toolchain) -> str:
        return hashlib.sha256(self.canonical_bytes(toolchain)).hexdigest()

    def short_name(self) -> str:
        d = self.design_dict
        parts = [self.family.removesuffix("Operator")]
        if "tile" in d:
            parts.append("x".join(map(str, d["tile"][:2])))
        if "cluster" in d:
            parts.append("c" + "x".join(map(str, d["cluster"][:2])))
        for k in ("n", "k", "split_k"):
            if k in d:
                parts.append(f"{k}{d[k]}")
        return " ".join(parts)


def symbol_for(key: str) -> str:
    """The exported function name of a kernel: a C identifier derived from its key."""
    return f"aotgemm_{key[:24]}"
