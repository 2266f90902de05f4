"""Kernel source `aotgemm`: the project's own decode GEMMs (small M), from decode_kernels.

Each kernel is specialised on one weight shape (N and K are compile-time
constants), one input dtype (bf16, or fp8 e4m3 W8A8) and one epilogue (bf16:
identity, bias, residual_add, swiglu, geglu; fp8: the scale epilogue scale_tensor,
scale_row or scale_rowwise that dequantises; fused in the output stage,
decode_epilogue.EPILOGUES)
and serves M up to its design's `max_m`; larger M is never routed
to it (the bundle records max_m and the runtime checks it). The design dicts
and the compile entry point live in decode_kernels, the only module that
imports the CuTe DSL for these kernels; this module only wraps them in the
KernelSource interface, so enumerating and ranking need no DSL.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ...gpus import GpuModel, gpu_model
from ...problem import GemmProblem
from ..spec import KernelSpec, canonical_json
from .base import OK, KernelSource, Status

# The files whose code is compiled into the kernels (their text is the kernels' version), and
# the ones that choose designs per shape, its rules and its measured tables (they decide enumeration, not machine
# code; a build's memo of enumerations is keyed on them).
KERNEL_FILES = ("decode_kernels.py", "decode_simt.py", "decode_tma.py", "decode_epilogue.py", "decode_design_dicts.py",
                "decode_ptx.py")
_DESIGN_FILES = ("decode_designs.py", "decode_design_tables.py")
ARCHS = ("sm_90a", "sm_100a")
# the input dtypes served (decode_epilogue.EPILOGUES lists the epilogues of each)
DTYPES = ("bfloat16", "float8_e4m3fn")


def _code_hash() -> str:
    """The kernels are this package's own code: their source text is their version."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in KERNEL_FILES:
        h.update(name.encode() + b"\0" + (here / name).read_bytes())
    return h.hexdigest()[:16]


class DecodeSource(KernelSource):
    name = "aotgemm"
    requires = {"cutlass": "nvidia-cutlass-dsl[cu13]"}

    def versions(self) -> str:
        return f"decode_kernels {_code_hash()}"

    def code_files(self) -> tuple[str, ...]:
        here = Path(__file__).resolve().parent
        return (__file__, *(str(here / f) for f in _DESIGN_FILES + KERNEL_FILES))

    def enumerate(self, problem: GemmProblem, gpu: GpuModel) -> list[KernelSpec]:
        from .decode_epilogue import EPILOGUES
        from .decode_kernels import designs_for

        if problem.epilogue not in EPILOGUES.get(problem.dtype, ()) or gpu.arch not in ARCHS:
            return []
        specs = []
        # designs on the whole weight (a gated epilogue: N counts the gate and the up rows); bf16 identity
        # designs carry neither key, so their dicts (and cache keys) are those of before
        for d in designs_for(problem.n, problem.k, gpu.arch, problem.epilogue, problem.dtype):
            specs.append(KernelSpec(self.name, f"decode_{d.get('kind', 'kernel')}", canonical_json(d),
                                    problem.dtype, problem.layout, problem.epilogue, problem.alignment,
                                    gpu.arch, gpu.name, max_m=int(d["max_m"]),
                                    # N and K are compile-time constants, x's row stride is not
                                    x_row_stride=0))
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
        # the one with the smallest max_m wastes the fewest padded token columns. But that holds
        # within one kind of kernel only: a kind's designs for a larger M go after every kind's
        # smallest that serves M, so that at M = 2..8 the TMA kernels (max_m 16 at the least)
        # reach a build's top k beside the cp.async ones (max_m 8), instead of the cp.async
        # max_m 16 designs, which only pad more than their max_m 8 siblings.
        usable = [(i, s) for i, s in enumerate(specs) if self.supports(s, problem, m)]
        smallest = {}
        for _, s in usable:
            smallest[s.family] = min(smallest.get(s.family, s.max_m), s.max_m)
        order = sorted((s.max_m > smallest[s.family], s.max_m, i) for i, s in usable)
        return [specs[i] for _, _, i in order]

    def shortlist(self, ranked: list[KernelSpec], top_k: int) -> list[KernelSpec]:
        # `rank` orders by padding (max_m) only, and that cannot order the kinds of kernel against
        # each other (on the H200 they trade places by shape). So the cut keeps, up to half again the
        # top k (`--top-k 1` keeps one):
        # - first, each kind's first design that the top k lacks. At M = 2 the two CUDA-core max_m 2
        #   designs and three cp.async max_m 8 ones fill the top five; the TMA max_m 16 ones served M = 2
        #   on most weights before (H200, session 17);
        # - then the designs that pad no more than one kept. With the top five at M = 4..8 holding the TMA
        #   max_m 16 designs, the two cp.async max_m 16 ones stay too. Without them, Qwen3-4B's down
        #   (2560 x 9728) lost its cp.async max_m 16 kernel at M = 4 and 8: 1.02x back to back against
        #   1.19-1.21x before (H200, session 12).
        # At the default top k the designs added are those the next bucket keeps anyway: a build
        # compiles as many kernels as before, and tunes a few more.
        kept = ranked[:top_k]
        kinds = {s.family for s in kept}
        widest = max((s.max_m for s in kept), default=0)
        extra = []
        for s in ranked[top_k:]:
            if s.family not in kinds:
                kinds.add(s.family)
                extra.append(s)
        extra += [s for s in ranked[top_k:] if s.max_m <= widest and s not in extra]
        return kept + extra[:top_k // 2]

    def compile(self, spec: KernelSpec, symbol: str, object_path: str) -> None:
        from .decode_kernels import compile_decode

        compile_decode(spec.design_dict, symbol, object_path, gpu_model(spec.gpu).target_sm)
