"""Kernel source `cutlass_operators`: NVIDIA's registry of CuTe DSL GEMMs, ranked by nvMatmulHeuristics.

The only module that imports cutlass.operators and nvMatmulHeuristics.
Everything runs GPU-free: operands are FakeTensors, and the one number the
registry asks a GPU for at compile time, how many clusters fit, comes from
aotgemm.gpus (`_patched_cluster_counts`), which is also baked into the spec's
design so that it is part of the kernel's cache key.

Fused epilogues (sm_100a only): the registry's EFC class (`PersistentDenseGemmEFCOperator`) fuses an
epilogue it parses from a small Python function; `bias` and `residual_add` are written as such functions
(`_EFC_EPILOGUES`) and built compile-only for B200. Hopper has no registry class that takes an epilogue,
and swiglu pairs output column j with j + N/2, which no elementwise EFC function expresses. An EFC kernel's
own entry takes (a, b, stream, *epilogue operands, D); `_efc_launcher` wraps it in the bundle's one call
convention, fn(x, wt, out, *operands, stream), identity EFC kernels included.

MXFP8 (`scale_mx`, sm_100a only): the registry's block-scaled class (`PersistentDenseBlockScaledGemmOperator`,
e4m3 x and W, one e8m0 scale per 32 elements of K in the Swizzle32x4x4 layout, bf16 out), enumerated on
`ScaledOperand` arguments and compiled behind `_mx_launcher`, fn(x, wt, out, block_scale_a, block_scale_b,
stream), the scales flat 1-D. nvMatmulHeuristics refuses scaled operands, so these are ranked by a fixed
rule (`_mx_rank`), not a model.

Ranking:
- Blackwell: cutlass.operators' own `nvmatmul` heuristic (sm100 only); MXFP8: `_mx_rank`.
- Hopper: ours. nvMMH's favourite Hopper configs are mostly not in the
  registry's Sm90 set (64x32 tiles, odd clusters), so instead of matching its
  suggestions we ask it to *estimate* each registry kernel as the config it
  really is: CTA tile, cluster, one warpgroup per 64 rows with four warps
  along N, and the pipeline depth the kernel derives from shared memory.
  When it ranks nothing, the fallback class (Sm80 tensor-op kernels) is kept
  in registry order.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import importlib
import pkgutil
import sys
from typing import Any, Callable, Iterator

from ...epilogues import BIAS, IDENTITY, RESIDUAL_ADD, SCALE_MX, epilogue, mx_scale_count
from ...gpus import GpuModel, gpu_model
from ...errors import CompileError
from ...problem import FLOAT8_E8M0, GemmProblem, alignment_for, output_dtype, torch_dtype
from ..spec import KernelSpec, canonical_json
from .base import OK, KernelSource, Status

# Registry classes we build for, per architecture. Hopper: the static-persistent
# TMA/WGMMA kernels, and Sm80 tensor-op kernels as a fallback class when no Sm90
# kernel supports a GEMM. Blackwell: the sm100 persistent families.
OPERATOR_CLASSES = {
    "sm_90a": ("Sm90StaticPersistentGemmOperator", "Sm80TensorOpGemmOperator"),
    "sm_100a": ("PersistentDenseGemmOperator", "PersistentDenseGemmEFCOperator",
                "PersistentDenseGemmPreferredClusterOperator"),
}
FALLBACK_CLASSES = {"Sm80TensorOpGemmOperator"}
EFC_CLASS = "PersistentDenseGemmEFCOperator"
# The epilogues the EFC class fuses, as the functions it parses: parameters named and ordered as the
# epilogue's operands (aotgemm.epilogues), so the kernel's operands come in the registry's order, then D.
_EFC_EPILOGUES = {
    BIAS: "def epi(accum, bias):\n    D = accum + bias\n    return D\n",
    RESIDUAL_ADD: "def epi(accum, residual):\n    D = accum + residual\n    return D\n",
}
# Recorded in an EFC kernel's design, so its cache key changed when the wrapper came in: EFC objects built
# before took (x, wt, stream, out) and must not be reused.
_EFC_CALL = "x,wt,out,operands,stream"
# The block-scaled (MXFP8) class, per architecture, and its kernels' call, recorded in their design (cache key):
# the launcher below, not the class's own entry (a, b, sfa, sfb, out, (M, N, K, L) as a TVM-FFI Array, stream).
BLOCK_SCALED_CLASSES = {"sm_100a": "PersistentDenseBlockScaledGemmOperator"}
_MX_CALL = "x,wt,out,block_scale_a,block_scale_b,stream;scales flat e8m0 32B-aligned"
# The registry's kernels read the flat scales through 32-byte aligned pointers (its make_ptr); the launcher is
# compiled for that alignment, and its TVM-FFI wrapper rejects a less aligned scale tensor at call time.
_MX_SCALE_ALIGN_BYTES = 32
# The registry's kernels keep M, N and K dynamic; these only pick what to enumerate and compile.
_REPRESENTATIVE = (128, 4096, 4096)
_SMEM_BYTES_SM90 = 227 * 1024
_PRECISION = {"bfloat16": "TST", "float16": "HSH"}  # A/B, accumulator, output (nvMMH letters)


def _fake_gemm_args(dtype: str, m: int, n: int, k: int, epilogue_name: str = IDENTITY):
    """GemmArguments for out[m, n] = epilogue(x[m, k] @ W[n, k]^T) on FakeTensors (no GPU, no memory); an
    epilogue other than identity as its EFC function (_EFC_EPILOGUES), its operands of the registry's shapes."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    import cutlass.operators as ops

    if epilogue_name == SCALE_MX:
        return _fake_mx_args(dtype, m, n, k)
    dt = torch_dtype(dtype)
    with FakeTensorMode():
        x = torch.empty(m, k, dtype=dt, device="cuda")
        w = torch.empty(n, k, dtype=dt, device="cuda")
        out = torch.empty(m, n, dtype=dt, device="cuda")
        epi = None
        if epilogue_name != IDENTITY:
            dims = {"m": m, "n": n}
            ep = epilogue(epilogue_name)
            operands = {name: torch.empty(*(dims[d] for d in ep.operand_shapes[name]), dtype=dt, device="cuda")
                        for name in ep.operands}
            epi = ops.EpilogueArguments(_EFC_EPILOGUES[epilogue_name], D=out, **operands)
        return ops.GemmArguments(x, w.t(), out, accumulator_type=torch.float32, epilogue=epi)


def _fake_mx_args(dtype: str, m: int, n: int, k: int):
    """GemmArguments of an MXFP8 GEMM out[m, n] (bf16) = (x * block_scale_a) @ (W * block_scale_b)^T on
    FakeTensors: x and W `dtype` (e4m3) as ScaledOperands with e8m0 scales per 32 elements of K, swizzled, flat
    (epilogues.mx_scale_count elements): the registry checks their count, and the strides of any other shape."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    import cutlass.operators as ops
    from cutlass.operators.arguments import ScaledOperand, ScaleMode, ScaleSwizzleMode

    def scales(rows: int):
        # flat, as the kernels take them (`_mx_launcher`): shaped [rows, K/32] the registry would also demand
        # a row stride divisible by 32 and refuse K = 1280, 1536, 6912 ... (K/32 = 40, 48, 216)
        return torch.empty(mx_scale_count(rows, k), dtype=torch_dtype(FLOAT8_E8M0), device="cuda")

    def scaled(t, sf):
        return ScaledOperand(t, sf, ScaleMode.Blockwise1x32, ScaleSwizzleMode.Swizzle32x4x4)

    dt = torch_dtype(dtype)
    with FakeTensorMode():
        x = torch.empty(m, k, dtype=dt, device="cuda")
        w = torch.empty(n, k, dtype=dt, device="cuda")
        out = torch.empty(m, n, dtype=torch_dtype(output_dtype(dtype)), device="cuda")
        return ops.GemmArguments(scaled(x, scales(m)), scaled(w.t(), scales(n)), out,
                                 accumulator_type=torch.float32)


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


def cluster_size(design: dict) -> int:
    c = design.get("cluster") or [1, 1]
    return int(c[0]) * int(c[1])


def _sm90_stages(tile_m: int, tile_n: int, tile_k: int, elem_bytes: int = 2) -> int:
    stage = (tile_m + tile_n) * tile_k * elem_bytes
    epilogue = tile_m * tile_n * elem_bytes // 4
    return max(2, min(8, (_SMEM_BYTES_SM90 - epilogue) // stage))


def fuses(epilogue_name: str, arch: str) -> bool:
    """Whether the registry builds kernels with this epilogue fused on `arch` (identity: any arch we build for)."""
    if arch not in OPERATOR_CLASSES:
        return False
    if epilogue_name == SCALE_MX:
        return arch in BLOCK_SCALED_CLASSES
    return epilogue_name == IDENTITY or (EFC_CLASS in OPERATOR_CLASSES[arch] and epilogue_name in _EFC_EPILOGUES)


@functools.lru_cache(maxsize=None)
def _registry(dtype: str, gpu_name: str, epilogue_name: str = IDENTITY) -> tuple[tuple[KernelSpec, Any], ...]:
    """(spec, operator) for every registry kernel of our classes for `dtype` and `epilogue_name` on `gpu`,
    registry order (a fused epilogue: the EFC class's kernels only).

    Cached per process: a compile worker enumerates once, then finds each spec it is handed here.
    """
    import cutlass.operators as ops

    gpu = gpu_model(gpu_name)
    if epilogue_name == IDENTITY:
        allowed = OPERATOR_CLASSES.get(gpu.arch, ())
    elif epilogue_name == SCALE_MX:
        allowed = tuple(c for a, c in BLOCK_SCALED_CLASSES.items() if a == gpu.arch)
    else:
        allowed = (EFC_CLASS,)
    args = _fake_gemm_args(dtype, *_REPRESENTATIVE, epilogue_name)
    out, seen = [], set()
    for op in ops.get_operators(args, target_sm=gpu.target_sm):
        cls = type(op).__name__
        if cls not in allowed:
            continue
        design = design_of(op)
        design["max_active_clusters"] = gpu.clusters_for(cluster_size(design))
        if cls == EFC_CLASS:
            design["call"] = _EFC_CALL
        elif cls in BLOCK_SCALED_CLASSES.values():
            design["call"] = _MX_CALL
        spec = KernelSpec(CutlassOperatorsSource.name, cls, canonical_json(design), dtype, "linear", epilogue_name,
                          alignment_for(dtype), gpu.arch, gpu.name)
        if spec not in seen:
            seen.add(spec)
            out.append((spec, op))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _operators_by_spec(dtype: str, gpu_name: str, epilogue_name: str) -> dict[KernelSpec, Any]:
    return dict(_registry(dtype, gpu_name, epilogue_name))


def _operator(spec: KernelSpec):
    # a dict, not a scan of the registry: ranking looks up every spec at every M bucket (B200: 888 specs per
    # problem), and comparing specs one by one took most of a rank call
    op = _operators_by_spec(spec.dtype, spec.gpu, spec.epilogue).get(spec)
    if op is not None:
        return op
    raise CompileError(f"no registry operator matches {spec.family} {spec.design} for {spec.gpu} "
                      "(the installed nvidia-cutlass-operators enumerates other kernels)")


@contextlib.contextmanager
def _patched_cluster_counts(gpu: GpuModel) -> Iterator[None]:
    """Make the registry read cluster counts from our GPU table instead of asking a GPU.

    Providers import `get_max_active_clusters` by name, so the name is replaced
    in every provider module that holds it. With a GPU present this also keeps a
    build reproducible across hosts: the table, not the local card, decides.
    """
    import cutlass.operators.providers.cutedsl.gemm as gemm_pkg
    import cutlass.operators.providers.cutedsl.integration_utils.mma as mma_utils

    def from_table(cluster_shape) -> int:
        return gpu.clusters_for(int(cluster_shape[0]) * int(cluster_shape[1]))

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


def _efc_launcher(impl, max_active_clusters: int, n_operands: int):
    """The bundle's call convention, fn(x, wt, out, *operands, stream), over an EFC kernel `impl` whose
    entry takes (a, b, max_active_clusters, stream, *operands, D): a plain function for cute.jit."""
    if n_operands == 0:
        def launch(x, wt, out, stream):
            impl(x, wt, max_active_clusters, stream, out)
    elif n_operands == 1:
        def launch(x, wt, out, operand, stream):
            impl(x, wt, max_active_clusters, stream, operand, out)
    else:
        raise CompileError(f"no EFC launcher for {n_operands} epilogue operands")
    return launch


def _compile_efc(spec: KernelSpec, op, args):
    """Compile an EFC registry kernel behind `_efc_launcher` (what the class's own compile does, entry
    aside): its epilogue's parameters (operands, then D) as compile-time tensors, then cute.compile."""
    import cutlass.cute as cute
    from cutlass.operators.utils.tensor import TensorWrapper

    def ct(t):
        t = getattr(t, "tensor", t)  # an Operand wraps its TensorWrapper
        return t.compile_time_tensor if isinstance(t, TensorWrapper) else t

    params = [ct(p) for p in (args.epilogue.parameters if args.epilogue is not None else [args.out.tensor])]
    impl = op.impl
    impl.efc.compile(*params)
    launch = _efc_launcher(impl, spec.design_dict["max_active_clusters"], len(params) - 1)
    stream = cute.runtime.make_fake_stream()
    return cute.compile[cute.GPUArch(spec.arch), cute.EnableTVMFFI(True)](
        cute.jit(launch), ct(args.A.tensor), ct(args.B.tensor), params[-1], *params[:-1], stream)


def _mx_launcher(impl, layouts, max_active_clusters: int):
    """The bundle's call convention, fn(x, wt, out, block_scale_a, block_scale_b, stream), over the block-scaled
    kernel `impl`, whose entry takes pointers, the operands' layouts and (M, N, K, L): a plain function for
    cute.jit (M, N, K are read from the tensors at run time, so one kernel serves every M)."""
    import cutlass

    def launch(x, wt, out, block_scale_a, block_scale_b, stream):
        m, k = x.shape
        n = out.shape[1]
        impl(x.iterator, wt.iterator, block_scale_a.iterator, block_scale_b.iterator, out.iterator, layouts,
             (m, n, k, cutlass.Int32(1)), max_active_clusters, stream, lambda v: v)

    return launch


def _compile_mx(spec: KernelSpec, op, args):
    """Compile a block-scaled registry kernel behind `_mx_launcher`: x, W^T and out as the class's compile-time
    tensors, the scales as flat 1-D e8m0 tensors of _MX_SCALE_ALIGN_BYTES alignment, then cute.compile."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    import cutlass.cute as cute
    from cutlass.operators.utils.tensor import TensorWrapper

    def ct(t):
        t = getattr(t, "tensor", t)
        return t.compile_time_tensor if isinstance(t, TensorWrapper) else t

    (a_major, _), (b_major, _), (out_layout, _) = type(op)._major_modes(args)
    launch = _mx_launcher(op.impl, (a_major, b_major, out_layout), spec.design_dict["max_active_clusters"])
    with FakeTensorMode():  # the length is a run-time value; only rank, dtype and alignment are compiled in
        flat = [TensorWrapper(torch.empty(512, dtype=torch_dtype(FLOAT8_E8M0), device="cuda"),
                              alignment_bytes=_MX_SCALE_ALIGN_BYTES) for _ in range(2)]
    stream = cute.runtime.make_fake_stream()
    return cute.compile[cute.GPUArch(spec.arch), cute.EnableTVMFFI(True)](
        cute.jit(launch), ct(args.A.quantized), ct(args.B.quantized), ct(args.out), ct(flat[0]), ct(flat[1]),
        stream)


def _mx_rank(specs: list[KernelSpec], m: int) -> list[KernelSpec]:
    """MXFP8 kernels best-first by a fixed rule, for want of a model (nvMatmulHeuristics refuses scaled
    operands): at M <= 128 the smallest tile first (every tile is 128 or 256 rows, so a small M wastes the
    least in the smallest, and more tiles along N spread it over more SMs), then the smallest cluster; above,
    the largest tile first (fewest reloads of x and W), then the smallest cluster. Registry order breaks ties.
    Only a measurement (`aotgemm tune` on a B200) ranks them for real."""
    def key(indexed: tuple[int, KernelSpec]):
        i, s = indexed
        d = s.design_dict
        area = int(d["tile"][0]) * int(d["tile"][1])
        return (area if m <= 128 else -area, cluster_size(d), i)

    return [s for _, s in sorted(enumerate(specs), key=key)]


class _HopperEstimator:
    """nvMMH's runtime estimate of a registry Sm90 design, as the config it really is."""

    def __init__(self, gpu: GpuModel, dtype: str) -> None:
        import nvMatmulHeuristics as nvmmh

        self.layout = nvmmh.NvMatmulHeuristicsMatmulLayout.TN_ROW_MAJOR  # x row-major, W^T col-major, out row-major
        self.target = nvmmh.NvMatmulHeuristicsTarget.CUTLASS3
        self.precision = _PRECISION[dtype]
        self.lib = nvmmh.NvMatmulHeuristicsInterfaceEx(
            backend=self.target, flags=nvmmh.NvMatmulHeuristicsFlags.PERF_MODEL_BASED_AUTO_TUNING,
            gpu=nvmmh.NvMatmulHeuristicsNvidiaGpu[gpu.name])
        self.lib.loadInternalDiscoverySet(self.layout, self.precision)

    def seconds(self, design: dict, m: int, n: int, k: int) -> float:
        tm, tn, tk = (int(x) for x in design["tile"][:3])
        cm, cn = (int(x) for x in design["cluster"][:2])
        lib = self.lib
        problem = lib.makeNvMatmulHeuristicsProblem(m, n, k, self.layout)
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
            lib.handle, self.precision.encode(), ctypes.c_int(self.target), ctypes.byref(problem),
            ctypes.byref(cfg), lib.hardware_descriptor)
        return t if t > 0 else float("inf")  # 0 means nvMMH found the config invalid


class CutlassOperatorsSource(KernelSource):
    name = "cutlass_operators"
    distributions = ("nvidia-cutlass-operators",)
    ranking_distributions = ("nvidia-matmul-heuristics",)
    requires = {"cutlass": "nvidia-cutlass-dsl[cu13]", "cutlass.operators": "nvidia-cutlass-operators",
                "nvMatmulHeuristics": "nvidia-matmul-heuristics"}

    def __init__(self) -> None:
        self._estimators: dict[tuple[str, str], Any] = {}

    def enumerate(self, problem: GemmProblem, gpu: GpuModel) -> list[KernelSpec]:
        if not fuses(problem.epilogue, gpu.arch):
            # Fused epilogues: bias and residual_add on sm_100a (the EFC class); MXFP8 (scale_mx) on sm_100a
            # (the block-scaled class). Other fp8 problems (scale epilogues) get none: no Sm90 class takes
            # device-tensor scales, and on sm_100a the EFC class rejects one-element scales
            # (docs/kernel-sources.md, "fp8").
            return []
        return [s for s, _ in _registry(problem.dtype, gpu.name, problem.epilogue)]

    def supports(self, spec: KernelSpec, problem: GemmProblem, m: int) -> Status:
        return self._supports(spec, problem, lambda: _fake_gemm_args(problem.dtype, m, problem.n, problem.k,
                                                                     problem.epilogue))

    def _supports(self, spec: KernelSpec, problem: GemmProblem, args: Callable[[], Any]) -> Status:
        """`supports`, with the registry's arguments for the problem at M made by `args` (when needed)."""
        if not spec.serves(problem):
            return Status(False, f"built for {spec.dtype}/{spec.layout}/{spec.epilogue}")
        try:
            op = _operator(spec)
        except CompileError as e:
            return Status(False, str(e))
        target_sm = gpu_model(spec.gpu).target_sm
        return OK if op.supports(args(), target_sm=target_sm) else Status(False, "the registry says unsupported")

    def rank(self, problem: GemmProblem, gpu: GpuModel, m: int, specs: list[KernelSpec]) -> list[KernelSpec]:
        # the registry's arguments for this problem at M, made once for every spec (they took most of a
        # rank call when each spec made its own)
        args = functools.cache(lambda: _fake_gemm_args(problem.dtype, m, problem.n, problem.k, problem.epilogue))
        usable = [s for s in specs if self._supports(s, problem, args)]
        if problem.epilogue == SCALE_MX:
            ranked = _mx_rank(usable, m)
        elif gpu.arch == "sm_90a":
            key = (gpu.name, problem.dtype)
            est = self._estimators.get(key) or self._estimators.setdefault(key, _HopperEstimator(gpu, problem.dtype))
            scored = []
            for i, s in enumerate(usable):
                if s.family != "Sm90StaticPersistentGemmOperator":
                    continue  # the model describes Sm90 kernels only; others are pruned
                d = s.design_dict
                # ties (common across cluster shapes) go to the smaller cluster, then registry order
                scored.append((est.seconds(d, m, problem.n, problem.k), cluster_size(d), i, s))
            scored.sort(key=lambda x: x[:3])
            ranked = [x[3] for x in scored if x[0] != float("inf")]
        elif gpu.arch == "sm_100a":
            from cutlass.operators import get_heuristic

            by_op = {id(_operator(s)): s for s in usable}
            heuristic = get_heuristic("nvmatmul")(gpu=gpu.name)
            ops = heuristic.rank(args(), [_operator(s) for s in usable], target_sm=gpu.target_sm, limit=None)
            ranked = [by_op[id(op)] for op in ops]
        else:
            ranked = []
        return ranked or [s for s in usable if s.family in FALLBACK_CLASSES]

    def compile(self, spec: KernelSpec, symbol: str, object_path: str) -> None:
        gpu = gpu_model(spec.gpu)
        op = _operator(spec)
        args = _fake_gemm_args(spec.dtype, *_REPRESENTATIVE, spec.epilogue)
        with _patched_cluster_counts(gpu):
            if spec.family == EFC_CLASS:  # its own entry's argument order is not the bundle's
                compiled = _compile_efc(spec, op, args)
            elif spec.family in BLOCK_SCALED_CLASSES.values():  # nor is the block-scaled class's
                compiled = _compile_mx(spec, op, args)
            else:
                compiled = op.compile(args, target_sm=gpu.target_sm).compiled_obj
        compiled.export_to_c(object_path, function_name=symbol)
