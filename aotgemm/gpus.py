"""The GPU models aotgemm builds for, in one table.

Static-persistent CuTe DSL kernels bake in how many clusters fit on the GPU
(`HardwareInfo.get_max_active_clusters`). A build host without a GPU takes
that number from here, so a compiled kernel is specific to a GPU *model*, not
only to an architecture. The numbers only steer how many persistent clusters
are launched: a wrong one costs speed, never correctness (surplus clusters
wait for a free SM; too few leave SMs idle).

`max_active_clusters` rows marked `clusters_measured` were read from
`cutlass.utils.HardwareInfo` on that GPU; the others are estimates
(`sm_count // cluster_size`, exact for cluster sizes 1 and 2 on H100, and an
upper bound beyond: clusters cannot straddle GPCs).

Shared by the build side and the runtime: it must import nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import UnknownGpu


@dataclass(frozen=True)
class GpuModel:
    name: str  # our key, nvMatmulHeuristics' NvMatmulHeuristicsNvidiaGpu member name
    arch: str  # CuTe DSL target, e.g. "sm_90a"
    compute_capability: tuple[int, int]
    sm_count: int
    # Substrings of torch.cuda.get_device_name() that identify the model.
    device_names: tuple[str, ...]
    # Peak figures for "% of floor" reports (vendor datasheet, dense).
    mem_bandwidth_gbps: float
    bf16_dense_tflops: float
    # cluster size (blocks per cluster) -> clusters that fit at once
    max_active_clusters: dict[int, int] = field(default_factory=dict, hash=False, compare=False)
    clusters_measured: bool = False
    # Ceilings measured on a GPU of this model (device-to-device copy counting bytes read and
    # written; a large cuBLAS bf16 GEMM on random data), for "% of floor"; None: not measured
    # here, the datasheet figures above stand in.
    measured_copy_gbps: float | None = None
    measured_bf16_tflops: float | None = None
    # The fastest a kernel of ours streamed a weight on this model, bytes read only (a GEMM reads its weight
    # once and writes little; a copy also writes, so a GEMM can beat the copy floor): `aotgemm bench`'s
    # ceilings take it. None: not measured.
    measured_read_gbps: float | None = None

    @property
    def floor_bandwidth_gbps(self) -> float:
        return self.measured_copy_gbps or self.mem_bandwidth_gbps

    @property
    def read_over_copy(self) -> float:
        """How much faster than the floor's copy rate a weight can be read (measured_read_gbps), or 1."""
        return self.measured_read_gbps / self.floor_bandwidth_gbps if self.measured_read_gbps else 1.0

    @property
    def floor_tflops(self) -> float:
        return self.measured_bf16_tflops or self.bf16_dense_tflops

    @property
    def target_sm(self) -> str:
        """The form cutlass.operators takes: "90a", "100a"."""
        return self.arch.removeprefix("sm_")

    def clusters_for(self, cluster_size: int) -> int:
        if cluster_size in self.max_active_clusters:
            return self.max_active_clusters[cluster_size]
        return max(1, self.sm_count // cluster_size)


def _derived(sm_count: int, sizes=(1, 2, 4, 8, 16)) -> dict[int, int]:
    return {s: sm_count // s for s in sizes}


# Read on an NVIDIA H100 80GB HBM3 (driver 580.159.04) on 2026-11-25 with
# cutlass.utils.HardwareInfo().get_max_active_clusters(size) (tests/gpu/check_kernels.py
# --hardware-info; log in bench/results/2026-11-25-h100-check-kernels-static.log).
# Clusters must fit inside one GPC, so sizes >= 4 lose SMs: 30, not 132 // 4 = 33.
_H100_SXM_MEASURED = {1: 132, 2: 66, 4: 30, 8: 15, 16: 7}

GPU_MODELS: dict[str, GpuModel] = {
    m.name: m
    for m in (
        GpuModel(
            "H100_SXM", "sm_90a", (9, 0), 132, ("H100 80GB HBM3", "H100 SXM"),
            mem_bandwidth_gbps=3350, bf16_dense_tflops=989,
            max_active_clusters=_H100_SXM_MEASURED, clusters_measured=True,
        ),
        GpuModel(
            "H100_PCIE", "sm_90a", (9, 0), 114, ("H100 PCIe",),
            mem_bandwidth_gbps=2000, bf16_dense_tflops=756,
            max_active_clusters=_derived(114),
        ),
        GpuModel(
            "H100_NVL", "sm_90a", (9, 0), 132, ("H100 NVL",),
            mem_bandwidth_gbps=3900, bf16_dense_tflops=835,
            max_active_clusters=_derived(132),
        ),
        GpuModel(
            "H200_SXM", "sm_90a", (9, 0), 132, ("H200",),
            mem_bandwidth_gbps=4800, bf16_dense_tflops=989,
            # Read on an NVIDIA H200 (driver 580.159.04) on 2026-11-30 with bench/gpu_facts.cu
            # (cudaOccupancyMaxActiveClusters, one CTA per SM): the same GH100 configuration
            # as the H100 SXM, so the same counts. Copy rate (2 GiB, read + write) and bf16
            # rate (8192^3) from bench/gpu_facts.py, same run
            # (bench/results/h200-2026-11-30/gpu_facts.txt).
            max_active_clusters={1: 132, 2: 66, 4: 30, 8: 15, 16: 7}, clusters_measured=True,
            measured_copy_gbps=4253, measured_bf16_tflops=781,
            # Qwen3-4B's lm_head (151936 x 2560 bf16, 777.9 MB) at M = 1 by a CUDA-core kernel: 167.56 us,
            # 109.2% of the copy floor (bench/results/h200-2026-12-02/session21/callC, aotgemm bench)
            measured_read_gbps=4643,
        ),
        GpuModel(
            "B200", "sm_100a", (10, 0), 148, ("B200",),
            mem_bandwidth_gbps=8000, bf16_dense_tflops=2250,
            max_active_clusters=_derived(148),
        ),
    )
}


def gpu_model(name: str) -> GpuModel:
    try:
        return GPU_MODELS[name]
    except KeyError:
        raise UnknownGpu(
            f"unknown GPU model {name!r}; known models: {', '.join(GPU_MODELS)}"
        ) from None


def identify(device_name: str, sm_count: int, capability: tuple[int, int]) -> GpuModel | None:
    """The table's model for a device, or None when no row matches exactly.

    The SM count must match too: a bundle tuned for a 132-SM H100 SXM bakes
    in 132-SM cluster counts and must not be taken for a 114-SM PCIe card.
    """
    for model in GPU_MODELS.values():
        if (
            model.compute_capability == tuple(capability)
            and model.sm_count == sm_count
            and any(s in device_name for s in model.device_names)
        ):
            return model
    return None
