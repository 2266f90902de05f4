"""`aotgemm build`: manifest -> plan -> compile -> link -> dispatch -> (tune) -> bundle.

Each stage hands the next a value:
    Manifest -> TargetPlan (plan.py: every source's ranked specs per problem and bucket)
    -> CompiledTarget (objects from the cache or the compile pool)
    -> library bytes (link.py) -> Target (kernels + heuristic dispatch)
    -> Target tuned on this GPU (tune.py), when it is the target's model
    -> bundle file (bundle/io.py, written atomically).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__, config
from ..bundle import CUBLAS, BundleIndex, DispatchEntry, Kernel, Layer, Target, write_bundle
from ..bundle.format import design_value
from ..bundle.io import atomic_write_bytes
from ..errors import CompileError
from ..gpus import GpuModel, gpu_model
from ..manifest import Manifest
from . import require_build_extra
from .cache import ObjectCache
from .compile import DEFAULT_COMPILER, CompileResult, CompileTask, compile_all, cpu_count
from .memo import Memo
from .plan import TargetPlan, check_archs, plan_target
from .report import BuildReport, TargetReport, progress
from .sources import DEFAULT_SOURCES, get_source
from .spec import KernelSpec, symbol_for
from .toolchain import Toolchain, detect


@dataclass(frozen=True)
class BuildOptions:
    output: Path
    gpus: tuple[str, ...]
    tune: bool = True
    top_k: int = 5
    jobs: int | None = None
    cache_dir: Path | None = None
    compile_timeout: float = 600.0
    link_mode: str = "static-runtime"
    compiler: str = DEFAULT_COMPILER  # "module:function"; tests stand in stubs
    sources: tuple[str, ...] = DEFAULT_SOURCES


@dataclass(frozen=True)
class CompiledTarget:
    plan: TargetPlan
    objects: dict[KernelSpec, CompileResult] = field(hash=False)  # the specs that compiled


def local_gpu_model() -> GpuModel | None:
    """The table's model of GPU 0 here, or None (no GPU, or not one we know)."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    from ..gpus import identify

    p = torch.cuda.get_device_properties(0)
    return identify(p.name, p.multi_processor_count, (p.major, p.minor))


def tuning_gpu(opts: BuildOptions, gpus: list[GpuModel], report: BuildReport) -> GpuModel | None:
    """The target this build tunes on this machine's GPU, or None (with a loud note saying why)."""
    if not opts.tune:
        return None
    here = local_gpu_model()
    if here is not None and here.name in {g.name for g in gpus}:
        return here
    if here is None:
        msg = ("no supported GPU here: tuning skipped; every dispatch choice is the analytic model's top pick "
               "(run `aotgemm build` on a GPU of the target model, or `aotgemm tune` there later)")
    else:
        msg = (f"the GPU here is a {here.name}, not one of the targets ({', '.join(g.name for g in gpus)}): "
               "tuning skipped; dispatch is the analytic model's top pick (tune on a GPU of the target model)")
    print(f"aotgemm: WARNING: {msg}", file=sys.stderr)
    report.notes.append(msg)
    return None


def compile_target(plan: TargetPlan, toolchain: Toolchain, cache: ObjectCache, opts: BuildOptions,
                   tr: TargetReport) -> CompiledTarget:
    """Compile every spec the plan keeps (through the cache); failures are reported, not fatal."""
    tasks = {}
    for spec in plan.specs:
        key = spec.key(toolchain)
        tasks[key] = CompileTask(spec, key, symbol_for(key))
    ordered = [tasks[k] for k in sorted(tasks)]
    step, stop = progress(len(ordered), f"compile {plan.gpu.name}")
    try:
        results = compile_all(ordered, cache, jobs=opts.jobs or cpu_count(), timeout=opts.compile_timeout,
                              compiler=opts.compiler, on_result=step)
    finally:
        stop()
    tr.compiled = sum(1 for r in results if r.ok and not r.cached)
    tr.cache_hits = sum(1 for r in results if r.cached)
    tr.failures = failures = [(r.task.spec.short_name(), r.error or "") for r in results if not r.ok]
    objects = {r.task.spec: r for r in results if r.ok}
    if not objects:
        raise CompileError(f"every kernel for {plan.gpu.name} failed to compile; first error: "
                           f"{failures[0][1] if failures else '?'}")
    return CompiledTarget(plan, objects)


def kernels_of(compiled: CompiledTarget) -> tuple[Kernel, ...]:
    return tuple(sorted(
        (Kernel(symbol=r.task.symbol, source=s.source, family=s.family, design=design_value(s.design_dict),
                dtype=s.dtype, layout=s.layout, epilogue=s.epilogue, alignment=s.alignment, max_m=s.max_m,
                cache_key=r.task.key, x_row_stride=s.x_row_stride) for s, r in compiled.objects.items()),
        key=lambda k: k.symbol))


def heuristic_dispatch(compiled: CompiledTarget) -> tuple[DispatchEntry, ...]:
    """Per (problem, bucket): the best-ranked kernel that compiled, and the ranked rest for a later tune."""
    entries = []
    for c in compiled.plan.choices:
        ranked = tuple(compiled.objects[s].task.symbol for s in c.ranked if s in compiled.objects)
        p = c.problem
        entries.append(DispatchEntry(p.dtype, p.layout, p.epilogue, p.n, p.k, c.m_bucket,
                                     ranked[0] if ranked else CUBLAS, "heuristic", ranked=ranked))
    return tuple(sorted(entries, key=lambda d: d.key))


def environment(toolchain: Toolchain, link_mode: str, tuned: dict | None = None) -> tuple:
    tuned = tuned or {}
    env = {
        "cuda_driver_min": toolchain.cuda_runtime_major * 1000,
        "cuda_runtime_major": toolchain.cuda_runtime_major,
        "compiler": toolchain.compiler,
        "tvm_ffi": toolchain.tvm_ffi,
        "link_mode": link_mode,
        "torch_tuned_with": tuned.get("torch"),
        "tuned_on": tuned.get("device"),
        "tuned_driver": tuned.get("driver"),
        "tuned_at": tuned.get("date"),
    }
    return tuple(sorted(env.items()))


def build_target(manifest: Manifest, gpu: GpuModel, opts: BuildOptions, toolchain: Toolchain, cache: ObjectCache,
                 memo: Memo, tune_here: bool, report: BuildReport) -> tuple[Target, bytes]:
    from .link import link_library

    tr = TargetReport(gpu.name)
    report.targets.append(tr)
    t0 = time.perf_counter()
    plan = plan_target(manifest, gpu, opts.sources, opts.top_k, memo)
    tr.candidates = plan.candidates
    t1 = time.perf_counter()
    compiled = compile_target(plan, toolchain, cache, opts, tr)
    t2 = time.perf_counter()
    library = link_library({r.task.symbol: r.object_path for r in compiled.objects.values()},
                           link_mode=opts.link_mode, cuda_major=toolchain.cuda_runtime_major)
    t3 = time.perf_counter()
    report.rank_seconds += t1 - t0
    report.compile_seconds += t2 - t1
    report.link_seconds += t3 - t2
    kernels = kernels_of(compiled)
    tr.kernels, tr.library_bytes = len(kernels), len(library)
    for k in kernels:
        tr.by_source[k.source] = tr.by_source.get(k.source, 0) + 1
    used = sorted({k.source for k in kernels})
    target = Target(gpu=gpu.name, arch=gpu.arch, sm_count=gpu.sm_count, library=f"kernels-{gpu.name}-{gpu.arch}.so",
                    environment=environment(toolchain, opts.link_mode),
                    sources=tuple((s, toolchain.source_versions(s) or "-") for s in used),
                    kernels=kernels, dispatch=heuristic_dispatch(compiled))
    if tune_here:
        from ..tune import tune_target

        target, tr.tune_log = tune_target(target, library, manifest.layers)
        tr.tune_seconds = tr.tune_log.seconds
        report.tune_seconds += tr.tune_seconds
        tr.tuned = True
    return target, library


def run_build(manifest: Manifest, opts: BuildOptions) -> BuildReport:
    require_build_extra()
    t_start = time.perf_counter()
    gpus = sorted((gpu_model(g) for g in opts.gpus), key=lambda g: g.name)
    check_archs(manifest, gpus)  # before any target compiles: an MXFP8 build for Hopper fails at once
    for name in opts.sources:
        status = get_source(name).available()
        if not status:
            raise CompileError(f"kernel source {name!r} cannot run here: {status.reason}")
    toolchain = detect([get_source(n) for n in opts.sources])
    root = opts.cache_dir or config.cache_dir()
    cache, memo = ObjectCache(root / "objects-v1"), Memo(root / "memo-v1")
    report = BuildReport(output=opts.output, targets=[])
    here = tuning_gpu(opts, gpus, report)
    targets, libraries = [], {}
    for gpu in gpus:
        target, library = build_target(manifest, gpu, opts, toolchain, cache, memo,
                                       here is not None and here.name == gpu.name, report)
        targets.append(target)
        libraries[target.library] = library
    index = BundleIndex(generator=f"aotgemm {__version__}", model=manifest.model,
                        layers=tuple(Layer(x.name, x.n, x.k, x.count, x.epilogue, x.scales) for x in manifest.layers),
                        m_buckets=tuple(manifest.m_buckets), targets=tuple(targets))
    write_bundle(opts.output, index, libraries)
    for t in report.targets:
        if t.tune_log is not None:
            atomic_write_bytes(opts.output.with_suffix(".tune.json"), json.dumps(t.tune_log.to_doc(), indent=1).encode())
    report.memo_hits = memo.hits
    report.bundle_bytes = opts.output.stat().st_size
    report.total_seconds = time.perf_counter() - t_start
    return report
