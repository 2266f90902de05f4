"""Stage 1 of a build: for one GPU model, which kernels to compile for each (problem, M bucket).

Every source enumerates specs for each problem, and ranks those that serve
each bucket best-first; the plan keeps each source's shortlist of that
ranking (its top k, `KernelSource.shortlist`), sources in the build's
preference order. Both steps are memoised (aotgemm.compiler.memo):
a warm rebuild imports no kernel library at all.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import NoCandidates
from ..gpus import GpuModel
from ..manifest import Manifest
from ..problem import GemmProblem
from .memo import Memo, code_fingerprint
from .sources import KernelSource, get_source
from .spec import KernelSpec
from .toolchain import dist_version


@dataclass(frozen=True)
class Choice:
    """The kept candidates for one problem and M bucket, best-first (preferred source first)."""

    problem: GemmProblem
    m_bucket: int
    ranked: tuple[KernelSpec, ...]


@dataclass(frozen=True)
class TargetPlan:
    gpu: GpuModel
    choices: tuple[Choice, ...]
    candidates: int  # specs enumerated, all sources and problems (distinct)

    @property
    def specs(self) -> tuple[KernelSpec, ...]:
        """Every spec some choice keeps, once each, in a stable order."""
        seen: dict[KernelSpec, None] = {}
        for c in self.choices:
            for s in c.ranked:
                seen.setdefault(s)
        return tuple(seen)


def problems_of(manifest: Manifest) -> tuple[GemmProblem, ...]:
    """The manifest's GEMM problems, one per (dtype, layer shape), in manifest order."""
    out: dict[GemmProblem, None] = {}
    for dtype in manifest.dtypes:
        for layer in manifest.layers:
            out.setdefault(layer.problem(dtype))
    return tuple(out)


def check_archs(manifest: Manifest, gpus: list[GpuModel]) -> None:
    """Raise NoCandidates, before anything is ranked or compiled, for a problem whose epilogue has kernels on
    some architectures only (Epilogue.archs: MXFP8 on sm_100a) built for a GPU of another."""
    from ..epilogues import epilogue
    from ..gpus import GPU_MODELS

    for gpu in gpus:
        for problem in problems_of(manifest):
            ep = epilogue(problem.epilogue)
            if ep.archs and gpu.arch not in ep.archs:
                able = [g for g in GPU_MODELS if GPU_MODELS[g].arch in ep.archs]
                what = 'MXFP8 (scales = "mx")' if ep.scales == "mx" else f"epilogue {ep.name!r}"
                raise NoCandidates(
                    f"{what} needs a Blackwell ({'/'.join(ep.archs)}) target, but {gpu.name} is {gpu.arch}, "
                    f"which no kernel source builds it for: build with --gpu {' or '.join(able)} only, or give "
                    f"the {gpu.name} build other scales (\"tensor\", \"row\" or \"rowwise\")")


def _gpu_row(gpu: GpuModel) -> dict:
    return {"name": gpu.name, "arch": gpu.arch, "sm_count": gpu.sm_count,
            "clusters": sorted(gpu.max_active_clusters.items())}


def _source_key(source: KernelSource) -> dict:
    ranking = ", ".join(f"{d} {dist_version(d)}" for d in source.ranking_distributions)
    return {"source": source.name, "versions": source.versions(), "ranking": ranking,
            "code": code_fingerprint(*source.code_files())}


def _enumerate(source: KernelSource, problem: GemmProblem, gpu: GpuModel, memo: Memo) -> list[KernelSpec]:
    key = {"what": "enumerate", **_source_key(source), "problem": list(problem.key), "gpu": _gpu_row(gpu)}
    docs = memo.get_or(key, lambda: [dataclasses.asdict(s) for s in source.enumerate(problem, gpu)])
    return [KernelSpec(**d) for d in docs]


def _rank(source: KernelSource, problem: GemmProblem, gpu: GpuModel, m: int, specs: list[KernelSpec],
          memo: Memo) -> list[KernelSpec]:
    if not specs:
        return []
    key = {"what": "rank", **_source_key(source), "problem": list(problem.key), "gpu": _gpu_row(gpu), "m": m,
           "specs": [dataclasses.asdict(s) for s in specs]}
    order = memo.get_or(key, lambda: [specs.index(s) for s in source.rank(problem, gpu, m, specs)])
    return [specs[i] for i in order]


def plan_target(manifest: Manifest, gpu: GpuModel, source_names: tuple[str, ...], top_k: int,
                memo: Memo) -> TargetPlan:
    """Rank every source's kernels for every problem and bucket of `manifest` on `gpu`."""
    sources = [get_source(n) for n in source_names]
    layer_names: dict[GemmProblem, list[str]] = {}
    for dtype in manifest.dtypes:
        for layer in manifest.layers:
            layer_names.setdefault(layer.problem(dtype), []).append(repr(layer.name))
    choices, enumerated = [], set()
    for problem in problems_of(manifest):
        specs = {s.name: _enumerate(s, problem, gpu, memo) for s in sources}
        for v in specs.values():
            enumerated.update(v)
        mine = []
        for m in manifest.m_buckets:
            ranked: list[KernelSpec] = []
            for s in sources:
                ranked += s.shortlist(_rank(s, problem, gpu, m, specs[s.name], memo), top_k)
            mine.append(Choice(problem, m, tuple(ranked)))
        # A bucket no kernel serves (a fused epilogue above the decode kernels' max_m) runs
        # cuBLAS and the epilogue as torch ops; a problem no kernel serves at any M is an error.
        if not any(c.ranked for c in mine):
            raise NoCandidates(
                f"no {gpu.arch} kernel of the sources {', '.join(source_names)} supports layer "
                f"{', '.join(layer_names[problem])} ({problem.describe()}, M={manifest.m_buckets[0]}) for "
                f"{gpu.name}: N and K must be multiples of {problem.alignment} (16-byte alignment) and the "
                "dtype and epilogue ones a source builds")
        choices += mine
    return TargetPlan(gpu, tuple(choices), len(enumerated))
