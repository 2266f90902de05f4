"""Rank candidates per (layer, M bucket) with nvMatmulHeuristics' analytic model.

Both rankers sit behind cutlass.operators' `Heuristic` contract: they order
(and may prune) the operators they are given, and never invent one.

- Blackwell: cutlass.operators' own `nvmatmul` heuristic (sm100 only).
- Hopper: ours. nvMMH's own favourite Hopper configs are mostly not in the
  registry's Sm90 set (64x32 tiles, odd clusters), so instead of matching
  its suggestions we ask it to *estimate* each registry kernel as the config
  it really is: CTA tile, cluster, one warpgroup per 64 rows with four warps
  along N, and the pipeline depth the kernel derives from shared memory.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from ..gpus import GpuModel
from .candidates import Candidate, cluster_size, design_of, fake_gemm_args
from .spec import GemmGroup

_SMEM_BYTES_SM90 = 227 * 1024
_PRECISION = {"bfloat16": "TST", "float16": "HSH"}  # A/B, accumulator, output (nvMMH letters)


def _heuristic_base():
    from cutlass.operators import Heuristic

    return Heuristic


def _sm90_stages(tile_m: int, tile_n: int, tile_k: int, elem_bytes: int = 2) -> int:
    stage = (tile_m + tile_n) * tile_k * elem_bytes
    epilogue = tile_m * tile_n * elem_bytes // 4
    return max(2, min(8, (_SMEM_BYTES_SM90 - epilogue) // stage))


def make_hopper_heuristic(gpu: GpuModel, dtype: str):
    """A cutlass.operators Heuristic that ranks Sm90 operators by nvMMH's runtime estimate."""
    import nvMatmulHeuristics as nvmmh

    Heuristic = _heuristic_base()
    layout = nvmmh.NvMatmulHeuristicsMatmulLayout.TN_ROW_MAJOR  # x row-major, W^T column-major, out row-major
    target = nvmmh.NvMatmulHeuristicsTarget.CUTLASS3
    precision = _PRECISION[dtype]

    class HopperNvMatmulHeuristic(Heuristic):
        def __init__(self) -> None:
            self._lib = nvmmh.NvMatmulHeuristicsInterfaceEx(
                backend=target, flags=nvmmh.NvMatmulHeuristicsFlags.PERF_MODEL_BASED_AUTO_TUNING,
                gpu=nvmmh.NvMatmulHeuristicsNvidiaGpu[gpu.name])
            self._lib.loadInternalDiscoverySet(layout, precision)

        def estimate_seconds(self, design: dict, m: int, n: int, k: int) -> float:
            tm, tn, tk = (int(x) for x in design["tile"][:3])
            cm, cn = (int(x) for x in design["cluster"][:2])
            lib = self._lib
            problem = lib.makeNvMatmulHeuristicsProblem(m, n, k, layout)
            cfg = lib.nvmmhKernelConfiguration()
            cfg.cta[:] = (tm, tn, tk)
            cfg.warp[:] = (64, max(8, tn // 4), tk)
            cfg.instr[:] = (64, 8, 16)
            cfg.splitK = 1
            cfg.loadStages = _sm90_stages(tm, tn, tk)
            cfg.gridSwizzle = 1
            cfg.ctaOrder = 0
            cfg.cluster[:] = (cm, cn)
            t = lib.nvMatmulHeuristicsEstimateRuntime(
                lib.handle, precision.encode(), ctypes.c_int(target), ctypes.byref(problem),
                ctypes.byref(cfg), lib.hardware_descriptor)
            return t if t > 0 else float("inf")  # 0 means nvMMH found the config invalid

        def rank(self, args, operators, *, target_sm=None, limit=None):
            p = args.problem_size
            scored = []
            for i, op in enumerate(operators):
                if type(op).__name__ != "Sm90StaticPersistentGemmOperator":
                    continue  # the model describes Sm90 kernels only; others are pruned
                d = design_of(op)
                # ties (common across cluster shapes) go to the smaller cluster, then registry order
                scored.append((self.estimate_seconds(d, p.M, p.N, p.K), cluster_size(d), i, op))
            scored.sort(key=lambda s: s[:3])
            ranked = [s[3] for s in scored if s[0] != float("inf")]
            return ranked[:limit] if limit else ranked

    return HopperNvMatmulHeuristic()


def make_heuristic(gpu: GpuModel, dtype: str):
    if gpu.arch == "sm_90a":
        return make_hopper_heuristic(gpu, dtype)
    if gpu.arch == "sm_100a":
        from cutlass.operators import get_heuristic

        return get_heuristic("nvmatmul")(gpu=gpu.name)
    raise ValueError(f"no ranking for architecture {gpu.arch}")


@dataclass(frozen=True)
class Ranking:
    """Best-first candidates for one (N, K, M bucket)."""

    n: int
    k: int
    m_bucket: int
    candidates: tuple[Candidate, ...]


def rank_candidates(gpu: GpuModel, group: GemmGroup, candidates: list[Candidate], n: int, k: int,
                    m: int, top_k: int, heuristic=None) -> Ranking:
    """The top-k candidates for out[m, n] = x[m, k] W^T. Falls back to the fallback class (e.g.
    Sm80 on Hopper) in registry order only when the model ranks nothing."""
    heuristic = heuristic or make_heuristic(gpu, group.dtype)
    by_op = {id(c.operator): c for c in candidates}
    args = fake_gemm_args(group, m, n, k)
    ops = [c.operator for c in candidates if c.operator.supports(args, target_sm=gpu.target_sm)]
    ranked = [by_op[id(op)] for op in heuristic.rank(args, ops, target_sm=gpu.target_sm, limit=None)]
    if not ranked:
        ranked = [by_op[id(op)] for op in ops if by_op[id(op)].is_fallback_class]
    return Ranking(n, k, m, tuple(ranked[:top_k]))
