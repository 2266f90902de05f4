"""What one compiled kernel is, as a frozen value with a content key.

Keys come from canonical JSON bytes of the spec plus the toolchain, never
from names, repr or pickle (cutlass.operators' operator_name carries no
compatibility promise).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from .toolchain import Toolchain


@dataclass(frozen=True)
class GemmGroup:
    """GEMMs one compiled kernel can serve: kernels keep M, N and K dynamic."""

    dtype: str  # "bfloat16"
    layout: str  # "linear"
    alignment: int  # elements


@dataclass(frozen=True)
class KernelSpec:
    operator: str  # registry class name, e.g. "Sm90StaticPersistentGemmOperator"
    design: str  # canonical JSON of the design metadata (see candidates.design_of)
    group: GemmGroup
    arch: str  # "sm_90a"
    gpu: str  # GPU model whose cluster counts are baked in
    max_active_clusters: int  # the number baked in for this design's cluster size

    @property
    def design_dict(self) -> dict:
        return json.loads(self.design)

    def canonical_bytes(self, toolchain: Toolchain) -> bytes:
        doc = {"spec": asdict(self), "toolchain": toolchain.as_dict()}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    def key(self, toolchain: Toolchain) -> str:
        return hashlib.sha256(self.canonical_bytes(toolchain)).hexdigest()

    def short_name(self) -> str:
        d = self.design_dict
        tile = "x".join(map(str, d.get("tile", [])[:2]))
        cluster = "x".join(map(str, d.get("cluster", [])[:2]))
        return f"{self.operator.removesuffix('Operator')} {tile} c{cluster}"


def symbol_for(key: str) -> str:
    """The exported function name of a kernel: a C identifier derived from its key."""
    return f"aotgemm_{key[:24]}"
