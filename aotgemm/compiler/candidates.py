"""Kernel candidates from NVIDIA's registry (cutlass.operators), GPU-free.

Operands are FakeTensors, so enumeration and compilation need no GPU. The
one thing the registry asks a GPU for at compile time, the number of
clusters that fit, comes from aotgemm.gpus instead (see `patched_cluster_counts`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from dataclasses import dataclass
from typing import Any, Iterator

from ..gpus import GpuModel, gpu_model
from .spec import GemmGroup, KernelSpec

# Registry classes we build for, per architecture. Hopper: the static-persistent
# TMA/WGMMA kernels, and Sm80 tensor-op kernels as a fallback class when no Sm90
# kernel supports a GEMM. Blackwell: the sm100 persistent families.
OPERATOR_CLASSES = {
    "sm_90a": ("Sm90StaticPersistentGemmOperator", "Sm80TensorOpGemmOperator"),
    "sm_100a": ("PersistentDenseGemmOperator", "PersistentDenseGemmEFCOperator",
                "PersistentDenseGemmPreferredClusterOperator"),
}
FALLBACK_CLASSES = {"Sm80TensorOpGemmOperator"}
_REPRESENTATIVE_M = 128


def _torch_dtype(name: str):
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def fake_gemm_args(group: GemmGroup, m: int, n: int, k: int):
    """GemmArguments for out[m, n] = x[m, k] @ W[n, k]^T on FakeTensors (no GPU, no memory)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    import cutlass.operators as ops

    if group.layout != "linear":
        raise ValueError(f"unsupported layout {group.layout!r}")
    dt = _torch_dtype(group.dtype)
    with FakeTensorMode():
        x = torch.empty(m, k, dtype=dt, device="cuda")
        w = torch.empty(n, k, dtype=dt, device="cuda")
        out = torch.empty(m, n, dtype=dt, device="cuda")
        return ops.GemmArguments(x, w.t(), out, accumulator_type=torch.float32)


def _plain(v: Any) -> Any:
    if isinstance(v, type):
        return v.__name__
    if dataclasses.is_dataclass(v):
        fields = {f.name: _plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        return {"kind": type(v).__name__, **fields} if fields else type(v).__name__
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, str)):
        return v
    return str(v)


def design_of(operator) -> dict:
    """The operator's design metadata as a plain dict with stable keys (tile, cluster, ...)."""
    d = {f.name: _plain(getattr(operator.metadata.design, f.name))
         for f in dataclasses.fields(operator.metadata.design)}
    d["tile"] = d.pop("tile_shape")
    d["cluster"] = d.pop("cluster_shape")
    return d


def _design_json(operator) -> str:
    return json.dumps(design_of(operator), sort_keys=True, separators=(",", ":"))


def cluster_size(design: dict) -> int:
    c = design.get("cluster") or [1, 1]
    return int(c[0]) * int(c[1])


@dataclass(frozen=True)
class Candidate:
    spec: KernelSpec
    operator: Any = dataclasses.field(compare=False, hash=False, repr=False)

    @property
    def is_fallback_class(self) -> bool:
        return self.spec.operator in FALLBACK_CLASSES


def enumerate_candidates(group: GemmGroup, gpu: GpuModel, n: int = 4096, k: int = 4096) -> list[Candidate]:
    """Every registry kernel of our classes that supports `group` on `gpu`, in registry order."""
    import cutlass.operators as ops

    args = fake_gemm_args(group, _REPRESENTATIVE_M, n, k)
    allowed = OPERATOR_CLASSES.get(gpu.arch, ())
    out, seen = [], set()
    for op in ops.get_operators(args, target_sm=gpu.target_sm):
        cls = type(op).__name__
        if cls not in allowed:
            continue
        design = _design_json(op)
        spec = KernelSpec(cls, design, group, gpu.arch, gpu.name,
                          gpu.clusters_for(cluster_size(json.loads(design))))
        if spec in seen:
            continue
        seen.add(spec)
        out.append(Candidate(spec, op))
    return out


def operator_for(spec: KernelSpec):
    """Find the registry operator a spec names (used in compile workers, which get specs, not objects)."""
    for cand in enumerate_candidates(spec.group, gpu_model(spec.gpu)):
        if cand.spec == spec:
            return cand.operator
    raise LookupError(f"no registry operator matches {spec.operator} {spec.design} for {spec.gpu}")


@contextlib.contextmanager
def patched_cluster_counts(gpu: GpuModel) -> Iterator[None]:
    """Make the registry read cluster counts from our GPU table instead of asking a GPU.

    Providers import `get_max_active_clusters` by name, so the name is replaced
    in every provider module that holds it. With a GPU present this also keeps a
    build reproducible across hosts: the table, not the local card, decides.
    """
    import cutlass.operators.providers.cutedsl.integration_utils.mma as mma_utils

    def from_table(cluster_shape) -> int:
        return gpu.clusters_for(int(cluster_shape[0]) * int(cluster_shape[1]))

    import importlib
    import pkgutil

    import cutlass.operators.providers.cutedsl.gemm as gemm_pkg

    for info in pkgutil.iter_modules(gemm_pkg.__path__):
        importlib.import_module(f"{gemm_pkg.__name__}.{info.name}")
    targets = [mma_utils] + [m for name, m in list(sys.modules.items())
                             if name.startswith(gemm_pkg.__name__ + ".") and hasattr(m, "get_max_active_clusters")]
    saved = [(m, m.get_max_active_clusters) for m in targets]
    try:
        for m in targets:
            m.get_max_active_clusters = from_table
        yield
    finally:
        for m, f in saved:
            m.get_max_active_clusters = f


def compile_to_object(spec: KernelSpec, symbol: str, object_path: str) -> None:
    """Compile one kernel for its architecture and export it as a TVM-FFI object file."""
    gpu = gpu_model(spec.gpu)
    op = operator_for(spec)
    args = fake_gemm_args(spec.group, _REPRESENTATIVE_M, 4096, 4096)
    with patched_cluster_counts(gpu):
        artifact = op.compile(args, target_sm=gpu.target_sm)
    artifact.compiled_obj.export_to_c(object_path, function_name=symbol)
