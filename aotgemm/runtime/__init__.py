"""aotgemm's runtime: serve nn.Linear GEMMs from a bundle's precompiled kernels, without a compiler.

    import aotgemm.runtime as agr
    bundle = agr.load("llama.agb")     # check the machine, extract + load the library, activate
    bundle = agr.load()                # ... the bundle $AOTGEMM_BUNDLE names
    agr.patch(model)                   # nn.Linear layers the bundle holds -> torch.ops.aotgemm.aotgemm_linear,
                                       # SwiGLU / GeGLU MLPs -> aotgemm_linear_swiglu / _geglu
                                       # (+ aotgemm_linear_residual),
                                       # q/k/v projections -> one aotgemm_linear on [Wq; Wk; Wv],
                                       # Fp8Linear and torchao float8 linears -> aotgemm_scaled_mm
    ...
    agr.stats()                        # hits / misses (with reasons) by (dtype, N, K, M bucket)

Importing this package only defines things (and registers the op): nothing
is loaded until `load` is called, whatever the environment says. The
package imports neither the CuTe DSL (cutlass) nor nvMatmulHeuristics nor
aotgemm.compiler, and never the tvm_ffi Python package: a loaded
library's kernels are called through TVM-FFI's C ABI (runtime/ffi.py).
See docs/runtime.md.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import config
from ..bundle.format import CUBLAS, BundleIndex, Target
from ..bundle.io import open_bundle
from ..errors import BundleNotFound, EnvironmentMismatch, NoGpu
from .environment import EnvironmentReport, MachineFacts, check_environment
from .log import get_logger
from .ops import (
    Stats,
    get_active,
    reset_stats,
    set_active,
    stats,
)
from . import epilogue_ops  # noqa: F401  (registers the fused-epilogue ops)
from .patch import NOT_IN_BUNDLE, Fp8Linear, Unserved, patch_model, unpatch_model
from .patch import unserved as _unserved
from .table import Dispatch, Route, build_table  # noqa: F401  (build_table: re-exported)
from .table import served as _served
from .table import shapes as _shapes

__all__ = [
    "AotGemmFallbackWarning", "EnvironmentReport", "Fp8Linear", "LoadedBundle", "MachineFacts", "Stats", "active",
    "check_environment", "linear", "linear_geglu", "linear_residual", "linear_swiglu", "load", "patch",
    "reset_stats", "scaled_mm", "stats", "unload", "unpatch", "Unserved", "unserved",
]


class AotGemmFallbackWarning(RuntimeWarning):
    """A bundle cannot run here and AOTGEMM_STRICT=0 (strict=False): every GEMM goes to cuBLAS."""


@dataclass(eq=False)
class LoadedBundle:
    """A bundle made ready for this process (see `load`).

    `fallback` is True when the environment did not match and strict was off:
    then `target` may be None and every call is served by cuBLAS (counted as
    "environment mismatch"). `shapes` is the set of (dtype, N, K) the bundle
    holds; `served`, the (dtype, N, K, epilogue) problems it names a kernel
    for at some M bucket, which `patch` uses to choose modules.
    """

    path: Path
    index: BundleIndex
    environment: EnvironmentReport
    target: Target | None
    fallback: bool
    shapes: frozenset[tuple[str, int, int]]
    served: frozenset[tuple[str, int, int, str]]
    library_path: Path | None = None
    extracted: bool = False  # this call wrote the library into the cache
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    dispatch: Dispatch | None = field(default=None, repr=False)
    module: object = field(default=None, repr=False)  # the ffi.KernelLibrary (keeps the library mapped)

    def activate(self) -> None:
        """Make this the bundle that torch.ops.aotgemm.aotgemm_linear serves from."""
        _activate(self)

    @property
    def is_active(self) -> bool:
        return self.dispatch is not None and get_active() is self.dispatch

    def describe(self) -> str:
        if self.fallback:
            return (f"{self.path}: FALLBACK (every GEMM from cuBLAS): "
                    + "; ".join(self.environment.problems))
        t = self.target
        kernels = sum(1 for r in self.dispatch.table.values() if r.fn is not None)
        total_ms = 1e3 * sum(self.timings.values())
        return (f"{self.path}: target {t.gpu} ({t.arch}), {len(t.kernels)} kernel(s), "
                f"{len(t.dispatch)} dispatch entries ({kernels} served by kernels), "
                f"{len(self.shapes)} (dtype, N, K) shape(s); library {self.library_path} "
                f"({'extracted' if self.extracted else 'from cache'}); loaded in {total_ms:.1f} ms")


_active_bundle: LoadedBundle | None = None


def active() -> LoadedBundle | None:
    """The LoadedBundle the op serves from, or None."""
    b = _active_bundle
    return b if b is not None and b.is_active else None


def _activate(b: LoadedBundle) -> None:
    global _active_bundle
    set_active(b.dispatch)
    _active_bundle = b


def unload() -> None:
    """Deactivate the active bundle: every call goes to cuBLAS ("not loaded"). The library stays mapped."""
    global _active_bundle
    set_active(None)
    _active_bundle = None


def load(path=None, *, strict: bool | None = None, device=None, facts: MachineFacts | None = None,
         activate: bool = True, verify_library: bool = True) -> LoadedBundle:
    """Load bundle `path` for this process and (by default) make it the active one.

    path: the bundle file; None (the default) reads AOTGEMM_BUNDLE, and raises
    BundleNotFound when that is not set either. Importing aotgemm.runtime never
    loads anything: a server whose image sets AOTGEMM_BUNDLE calls `load()`.

    Checks the header, index and layout of the file; checks this machine
    against the target for its GPU (`check_environment`); verifies, extracts
    (to the content-addressed cache) and loads that target's library only;
    resolves every kernel its dispatch table names; builds the table.

    strict (default: AOTGEMM_STRICT, on): an environment mismatch raises
    EnvironmentMismatch (NoGpu without a GPU). With strict=False it warns
    once (AotGemmFallbackWarning) and returns a fallback LoadedBundle that
    serves everything from cuBLAS. A damaged bundle or an unloadable library
    raises in both modes.

    device: the CUDA device to check and serve (default: the current one).
    facts: machine facts to use instead of detecting them (tests, diagnostics).
    verify_library: also hash the library blob's stored bytes when the cache
    already holds the extracted library (a fresh extraction always verifies).
    """
    log = get_logger()
    if path is None:
        path = config.bundle_path()
        if path is None:
            raise BundleNotFound("load(): no bundle path given and AOTGEMM_BUNDLE is not set; "
                                 "pass the bundle's path, or set AOTGEMM_BUNDLE=/path/to/model.agb")
        log.info("AOTGEMM_BUNDLE=%s: loading", path)
    strict = config.strict() if strict is None else strict
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    bundle = open_bundle(path, verify_blobs=False)
    index = bundle.index
    t1 = time.perf_counter()
    timings["open"] = t1 - t0
    report = check_environment(index, device, facts=facts)
    t2 = time.perf_counter()
    timings["environment"] = t2 - t1

    if not report.usable:
        if strict:
            cls = NoGpu if report.facts is not None and report.facts.gpu_name is None else EnvironmentMismatch
            raise cls(f"{bundle.path}: this machine cannot use the bundle:\n{report.describe()}\n"
                      "(set AOTGEMM_STRICT=0 or pass strict=False to fall back to cuBLAS)")
        warnings.warn(f"aotgemm: {bundle.path}: the bundle cannot be used here, every GEMM falls back to cuBLAS: "
                      + "; ".join(report.problems), AotGemmFallbackWarning, stacklevel=2)
        dispatch = Dispatch(index.m_buckets, {}, fallback=True, name=str(bundle.path))
        b = LoadedBundle(bundle.path, index, report, report.target, True, _shapes(index.targets),
                         _served(index.targets),
                         timings=timings, dispatch=dispatch)
        log.info("%s", b.describe())
        if activate:
            _activate(b)
        return b

    from .library import extract_library, load_library, load_tvm_ffi_library, resolve

    target = report.target
    env = target.env
    ext = extract_library(bundle, target.library, verify_cached=verify_library)
    t3 = time.perf_counter()
    timings["extract"] = t3 - t2
    load_tvm_ffi_library()
    t3b = time.perf_counter()
    timings["libtvm_ffi"] = t3b - t3
    module = load_library(ext.path, env.get("link_mode"), cuda_major=env.get("cuda_runtime_major"))
    t4 = time.perf_counter()
    timings["dlopen"] = t4 - t3b
    used = sorted({e.kernel for e in target.dispatch if e.kernel != CUBLAS})
    functions = resolve(module, used, where=f"{ext.path} (bundle {bundle.path}, target {target.gpu})")
    table = build_table(target, functions)
    t5 = time.perf_counter()
    timings["resolve"] = t5 - t4
    dev_index = report.facts.device_index if report.facts is not None else None
    dispatch = Dispatch(index.m_buckets, table, device_type="cuda", device_index=dev_index, name=str(bundle.path))
    b = LoadedBundle(bundle.path, index, report, target, False, _shapes([target]), _served([target]), ext.path,
                     ext.extracted, timings, dispatch, module)
    if activate:
        _activate(b)
    log.info("%s", b.describe())
    return b


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """torch.ops.aotgemm.aotgemm_linear: nn.functional.linear served from the active bundle."""
    return torch.ops.aotgemm.aotgemm_linear(x, weight, bias)


def linear_swiglu(x: torch.Tensor, w_gate_up: torch.Tensor) -> torch.Tensor:
    """torch.ops.aotgemm.aotgemm_linear_swiglu: silu(x Wg^T) * (x Wu^T) for w_gate_up = [Wg; Wu]."""
    return torch.ops.aotgemm.aotgemm_linear_swiglu(x, w_gate_up)


def linear_geglu(x: torch.Tensor, w_gate_up: torch.Tensor) -> torch.Tensor:
    """torch.ops.aotgemm.aotgemm_linear_geglu: gelu(x Wg^T, approximate="tanh") * (x Wu^T) for w_gate_up =
    [Wg; Wu] (Gemma's MLP)."""
    return torch.ops.aotgemm.aotgemm_linear_geglu(x, w_gate_up)


def linear_residual(x: torch.Tensor, weight: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """torch.ops.aotgemm.aotgemm_linear_residual: x W^T + residual."""
    return torch.ops.aotgemm.aotgemm_linear_residual(x, weight, residual)


def scaled_mm(x: torch.Tensor, mat2: torch.Tensor, scale_a: torch.Tensor, scale_b: torch.Tensor) -> torch.Tensor:
    """torch.ops.aotgemm.aotgemm_scaled_mm: torch._scaled_mm(x, mat2, scale_a, scale_b, out_dtype=bf16) (fp8
    e4m3, mat2 = W.t()) served from the active bundle (aotgemm/runtime/scaled_mm.py)."""
    return torch.ops.aotgemm.aotgemm_scaled_mm(x, mat2, scale_a, scale_b)


def patch(model: torch.nn.Module, bundle: LoadedBundle | None = None) -> list[str]:
    """Route every nn.Linear whose (weight dtype, out_features, in_features) the bundle serves with a kernel at
    some M through the op, fuse transformers-style SwiGLU MLPs, q/k/v projections and the decoder layers'
    residual adds into the shapes and epilogues the manifests list (aotgemm/runtime/fuse_transformers.py),
    and route every Fp8Linear, and every torchao float8 inference linear
    (quantize_ with Float8DynamicActivationFloat8WeightConfig, per tensor or per row; which ones:
    aotgemm/runtime/torchao_fp8.py), of an fp8 shape the bundle serves through aotgemm_scaled_mm. A
    layer the bundle left to cuBLAS at every M stays as it is: routing it would only add host time.

    `bundle` (default: the active one) only chooses the modules; calls are
    served by whichever bundle is active when they run. Weights stay shared
    and state_dict keys are unchanged; a fused MLP's gate and up weights (an
    attention's q, k and v) become views of one concatenated buffer (what is
    fused and what it costs: aotgemm.runtime.fuse_transformers). Returns the
    changed modules' names.
    """
    bundle = bundle if bundle is not None else active()
    if bundle is None:
        get_logger().warning("patch(): no bundle is loaded (call aotgemm.runtime.load(path), or load() "
                             "with AOTGEMM_BUNDLE set); nothing patched")
        return []
    names = patch_model(model, bundle.shapes, served=bundle.served)
    left = _unserved(model, bundle.shapes, bundle.served)
    get_logger().info("patched %d module(s) for %s; %d GEMM layer(s) left to torch", len(names), bundle.path,
                      len(left))
    missing = [u for u in left if u.reason == NOT_IN_BUNDLE]
    if missing:
        u = missing[0]
        get_logger().warning(
            "patch(): %d GEMM layer(s) have shapes %s does not hold, e.g. %s (%s, N=%d, K=%d): was it built "
            "from this model's manifest? aotgemm.runtime.unserved(model) lists them", len(missing), bundle.path.name,
            u.name, u.dtype, u.n, u.k)
    return names


def unserved(model: torch.nn.Module, bundle: LoadedBundle | None = None) -> list[Unserved]:
    """The GEMM layers of `model` (patched or not) that no kernel of `bundle` (default: the active one) can
    serve, each with its (dtype, N, K) and why: not in the bundle, cuBLAS at every M, not a plain nn.Linear, or
    a dtype bundles do not serve (aotgemm.runtime.patch.UNSERVED_REASONS). Layers run inside a fused module's
    call (q/k/v, gate/up, o_proj and down_proj with their residuals) count as served."""
    bundle = bundle if bundle is not None else active()
    if bundle is None:
        return _unserved(model, frozenset(), frozenset())
    return _unserved(model, bundle.shapes, bundle.served)


def unpatch(model: torch.nn.Module) -> list[str]:
    """Undo `patch`: the modules get their original class (and forward) back. Returns their names."""
    return unpatch_model(model)

