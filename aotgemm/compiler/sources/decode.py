"""Kernel source `aotgemm`: the project's own decode GEMMs (small M), from decode_kernels.

Each kernel is specialised on one weight shape (N and K are compile-time
constants) and serves M up to its design's `max_m`; larger M is never routed
to it (the bundle records max_m and the runtime checks it). The design dicts
and the compile entry point live in decode_kernels, the only module that
imports the CuTe DSL for these kernels; this module only wraps them in the
KernelSource interface, so enumerating and ranking need no DSL.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ...epilogues import IDENTITY
from ...gpus import GpuModel, gpu_model
from ...problem import GemmProblem
from ..spec import KernelSpec, canonical_json
from .base import OK, KernelSource, Status

# The files whose code is compiled into the kernels (their text is the kernels' version), and
# the one that chooses designs per shape (it decides enumeration, not machine code).
_KERNEL_FILES = ("decode_kernels.py", "decode_simt.py")
_DESIGN_FILES = ("decode_designs.py",)
ARCHS = ("sm_90a", "sm_100a")
# dtype -> {epilogue the kernels fuse: the design's "scale" field (None: bf16, no scale)}.
# fp8 (W8A8): the scale epilogues of issue 14 (aotgemm.epilogues' scale_tensor: scale_a [1],
# scale_b [1]; scale_row: scale_b [N]), by their registry names.
EPILOGUES = {"bfloat16": {IDENTITY: None},
             "float8_e4m3fn": {"scale_tensor": "tensor", "scale_row": "row"}}
DTYPES = tuple(EPILOGUES)


def _code_hash() -> str:
    """The kernels are this package's own code: their source text is their version."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _KERNEL_FILES:
        h.update(name.encode() + b"\0" + (here / name).read_bytes())
    return h.hexdigest()[:16]


class DecodeSource(KernelSource):
    name = "aotgemm"
    requires = {"cutlass": "nvidia-cutlass-dsl[cu13]"}

    def versions(self) -> str:
        return f"decode_kernels {_code_hash()}"

    def code_files(self) -> tuple[str, ...]:
        here = Path(__file__).resolve().parent
        return (__file__, *(str(here / f) for f in _DESIGN_FILES + _KERNEL_FILES))

    def enumerate(self, problem: GemmProblem, gpu: GpuModel) -> list[KernelSpec]:
        scales = EPILOGUES.get(problem.dtype, {})
        if problem.epilogue not in scales or gpu.arch not in ARCHS:
            return []
        from .decode_kernels import designs_for

        specs = []
        scale = scales[problem.epilogue]
        extra = () if scale is None else (problem.dtype, scale)  # bf16: the designs (and keys) of before
        for d in designs_for(problem.n, problem.k, gpu.arch, *extra):
            specs.append(KernelSpec(self.name, f"decode_{d.get('kind', 'kernel')}", canonical_json(d),
                                    problem.dtype, problem.layout, problem.epilogue, problem.alignment,
                                    gpu.arch, gpu.name, max_m=int(d["max_m"]),
                                    # N, K and x's layout are compile-time constants: x rows must be K apart
                                    x_row_stride=problem.k))
        return specs

    def supports(self, spec: KernelSpec, problem: GemmProblem, m: int) -> Status:
        if not spec.serves(problem):
            return Status(False, f"built for {spec.dtype}/{spec.layout}/{spec.epilogue}")
        d = spec.design_dict
        if (d.get("n"), d.get("k")) != (problem.n, problem.k):
            return Status(False, f"specialised on N={d.get('n')} K={d.get('k')}")
        if m > spec.max_m:
            return Status(False, f"serves M <= {spec.max_m}")
        return OK

    def rank(self, problem: GemmProblem, gpu: GpuModel, m: int, specs: list[KernelSpec]) -> list[KernelSpec]:
        # designs_for lists designs best-first for their M range; among those that serve M,
        # the one with the smallest max_m wastes the fewest padded token columns.
        usable = [(s.max_m, i, s) for i, s in enumerate(specs) if self.supports(s, problem, m)]
        return [s for _, _, s in sorted(usable)]

    def compile(self, spec: KernelSpec, symbol: str, object_path: str) -> None:
        from .decode_kernels import compile_decode

        compile_decode(spec.design_dict, symbol, object_path, gpu_model(spec.gpu).target_sm)
