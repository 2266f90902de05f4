"""`aotgemm build`: manifest -> candidates -> ranking -> compile -> link -> (tune) -> bundle.

Each stage hands the next a value: GemmGroup -> Candidate -> Ranking ->
CompileResult -> library bytes -> dispatch entries -> bundle.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__, config
from ..bundle import CUBLAS, BundleIndex, DispatchEntry, Kernel, Layer, Target, write_bundle
from ..bundle.format import design_value
from ..errors import NoCandidates
from ..gpus import GpuModel, gpu_model
from ..manifest import Manifest
from . import require_build_extra
from .cache import ObjectCache
from .compile import DEFAULT_COMPILER, CompileResult, CompileTask, compile_all, cpu_count
from .spec import GemmGroup, symbol_for
from .toolchain import Toolchain, detect

log = logging.getLogger("aotgemm.compiler")

ALIGNMENT = {"bfloat16": 8, "float16": 8}  # elements in a 16-byte access
LAYOUT = "linear"


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


@dataclass
class TargetReport:
    gpu: str
    candidates: int = 0
    kernels: int = 0
    compiled: int = 0
    cache_hits: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (kernel, error)
    tuned: bool = False
    tune_seconds: float = 0.0
    library_bytes: int = 0
    tune_log: object | None = None  # tune.TuneLog of a tuned target


@dataclass
class BuildReport:
    output: Path
    targets: list[TargetReport]
    rank_seconds: float = 0.0
    compile_seconds: float = 0.0
    link_seconds: float = 0.0
    tune_seconds: float = 0.0
    total_seconds: float = 0.0
    bundle_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def compiled(self) -> int:
        return sum(t.compiled for t in self.targets)

    @property
    def cache_hits(self) -> int:
        return sum(t.cache_hits for t in self.targets)

    def summary(self) -> str:
        lines = [f"wrote {self.output} ({self.bundle_bytes / 1024:.0f} KiB)"]
        for t in self.targets:
            lines.append(
                f"  {t.gpu}: {t.kernels} kernels from {t.candidates} candidates; compiled {t.compiled}, "
                f"cache hits {t.cache_hits}, failed {len(t.failures)}; library {t.library_bytes / 1024:.0f} KiB; "
                + ("tuned on this GPU" if t.tuned else "dispatch by heuristic (untuned)"))
            for name, err in t.failures:
                lines.append(f"    FAILED {name}: {err.splitlines()[0] if err else ''}")
        lines.append(f"  time: rank {self.rank_seconds:.1f} s, compile {self.compile_seconds:.1f} s, "
                     f"link {self.link_seconds:.1f} s, tune {self.tune_seconds:.1f} s, "
                     f"total {self.total_seconds:.1f} s")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _progress(total: int, label: str):
    """A progress bar on a terminal, plain log lines otherwise."""
    if total and sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        prog = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        transient=False)
        task = prog.add_task(label, total=total)
        prog.start()

        def step(r: CompileResult) -> None:
            prog.advance(task)
            if not r.ok:
                prog.console.print(f"[red]failed[/red] {r.task.spec.short_name()}: {(r.error or '').splitlines()[0]}")

        return step, prog.stop
    done = [0]

    def step(r: CompileResult) -> None:
        done[0] += 1
        state = "cached" if r.cached else ("ok" if r.ok else "FAILED")
        print(f"[{label}] {done[0]}/{total} {state} {r.task.spec.short_name()} ({r.seconds:.1f} s)"
              + (f": {(r.error or '').splitlines()[0]}" if not r.ok else ""), file=sys.stderr, flush=True)

    return step, lambda: None


def _environment(toolchain: Toolchain, link_mode: str, tuned: dict | None) -> tuple:
    env = {
        "cuda_driver_min": toolchain.cuda_runtime_major * 1000,
        "cuda_runtime_major": toolchain.cuda_runtime_major,
        "cutlass_dsl": toolchain.cutlass_dsl,
        "cutlass_operators": toolchain.cutlass_operators,
        "tvm_ffi": toolchain.tvm_ffi,
        "link_mode": link_mode,
        "torch_tuned_with": (tuned or {}).get("torch"),
        "tuned_on": (tuned or {}).get("device"),
    }
    return tuple(sorted(env.items()))


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


def run_build(manifest: Manifest, opts: BuildOptions) -> BuildReport:
    require_build_extra()
    from .candidates import enumerate_candidates
    from .link import link_library
    from .rank import make_heuristic, rank_candidates

    t_start = time.perf_counter()
    toolchain = detect()
    cache = ObjectCache((opts.cache_dir or config.cache_dir()) / "objects-v1")
    report = BuildReport(output=opts.output, targets=[])
    gpus = [gpu_model(g) for g in opts.gpus]
    here = local_gpu_model() if opts.tune else None
    if opts.tune and here is None:
        msg = ("no supported GPU here: tuning skipped; every dispatch choice is the analytic model's top pick "
               "(run `aotgemm build` on a GPU of the target model to tune)")
        print(f"aotgemm: WARNING: {msg}", file=sys.stderr)
        report.notes.append(msg)
    elif opts.tune and here.name not in {g.name for g in gpus}:
        msg = (f"the GPU here is a {here.name}, not one of the targets ({', '.join(g.name for g in gpus)}): "
               "tuning skipped; dispatch is the analytic model's top pick (tune on a GPU of the target model)")
        print(f"aotgemm: WARNING: {msg}", file=sys.stderr)
        report.notes.append(msg)

    targets, libraries = [], {}
    for gpu in sorted(gpus, key=lambda g: g.name):
        tr = TargetReport(gpu.name)
        report.targets.append(tr)
        t0 = time.perf_counter()
        rankings = {}  # (dtype, n, k, bucket) -> Ranking
        tasks: dict[str, CompileTask] = {}
        key_of: dict = {}  # KernelSpec -> cache key, computed once
        for dtype in manifest.dtypes:
            group = GemmGroup(dtype, LAYOUT, ALIGNMENT[dtype])
            cands = enumerate_candidates(group, gpu)
            tr.candidates += len(cands)
            heuristic = make_heuristic(gpu, dtype)
            for layer in manifest.layers:
                for m in manifest.m_buckets:
                    r = rank_candidates(gpu, group, cands, layer.n, layer.k, m, opts.top_k, heuristic)
                    if not r.candidates:
                        raise NoCandidates(
                            f"no {gpu.arch} kernel in the registry supports layer {layer.name!r} "
                            f"({dtype}, N={layer.n}, K={layer.k}, M={m}) for {gpu.name}: N and K must be "
                            f"multiples of {group.alignment} (16-byte alignment) and the dtype one the "
                            "registry builds")
                    rankings[(dtype, layer.n, layer.k, m)] = r
                    for c in r.candidates:
                        key = key_of.setdefault(c.spec, c.spec.key(toolchain))
                        tasks.setdefault(key, CompileTask(c.spec, key, symbol_for(key)))
        report.rank_seconds += time.perf_counter() - t0

        t0 = time.perf_counter()
        ordered = [tasks[k] for k in sorted(tasks)]
        step, stop = _progress(len(ordered), f"compile {gpu.name}")
        try:
            results = compile_all(ordered, cache, jobs=opts.jobs or cpu_count(), timeout=opts.compile_timeout,
                                  compiler=opts.compiler, on_result=step)
        finally:
            stop()
        report.compile_seconds += time.perf_counter() - t0
        ok = {r.task.key: r for r in results if r.ok}
        tr.compiled = sum(1 for r in results if r.ok and not r.cached)
        tr.cache_hits = sum(1 for r in results if r.cached)
        tr.failures = [(r.task.spec.short_name(), r.error or "") for r in results if not r.ok]
        if not ok:
            raise NoCandidates(f"every kernel for {gpu.name} failed to compile; first error: "
                               f"{tr.failures[0][1] if tr.failures else '?'}")

        t0 = time.perf_counter()
        library = link_library({ok[k].task.symbol: ok[k].object_path for k in ok}, link_mode=opts.link_mode,
                               cuda_major=toolchain.cuda_runtime_major)
        report.link_seconds += time.perf_counter() - t0
        tr.library_bytes = len(library)
        lib_name = f"kernels-{gpu.name}-{gpu.arch}.so"
        kernels = tuple(sorted(
            (Kernel(symbol=r.task.symbol, operator=r.task.spec.operator, design=design_value(r.task.spec.design_dict),
                    dtype=r.task.spec.group.dtype, layout=r.task.spec.group.layout,
                    alignment=r.task.spec.group.alignment, cache_key=r.task.key) for r in ok.values()),
            key=lambda k: k.symbol))
        tr.kernels = len(kernels)

        # Heuristic dispatch: the best-ranked kernel that compiled.
        dispatch = {}
        for (dtype, n, k, m), r in rankings.items():
            best = next((ok[key_of[c.spec]].task.symbol for c in r.candidates if key_of[c.spec] in ok), CUBLAS)
            dispatch[(dtype, n, k, m)] = DispatchEntry(dtype, LAYOUT, n, k, m, best, "heuristic")
        tuned_info = None
        if here is not None and here.name == gpu.name:
            from .tune import tune_dispatch

            t0 = time.perf_counter()
            dispatch, tuned_info, tr.tune_log = tune_dispatch(library, kernels, manifest, fallback=dispatch,
                                                              link_mode=opts.link_mode)
            tr.tune_seconds = time.perf_counter() - t0
            report.tune_seconds += tr.tune_seconds
            tr.tuned = True
        targets.append(Target(gpu=gpu.name, arch=gpu.arch, sm_count=gpu.sm_count, library=lib_name,
                              environment=_environment(toolchain, opts.link_mode, tuned_info),
                              kernels=kernels, dispatch=tuple(sorted(dispatch.values(), key=lambda d: d.key))))
        libraries[lib_name] = library

    index = BundleIndex(generator=f"aotgemm {__version__}", model=manifest.model,
                        layers=tuple(Layer(x.name, x.n, x.k, x.count) for x in manifest.layers),
                        m_buckets=tuple(manifest.m_buckets), targets=tuple(targets))
    write_bundle(opts.output, index, libraries)
    for log in (t.tune_log for t in report.targets if t.tune_log is not None):  # one tuned target at most
        import dataclasses
        import json

        from ..bundle.io import atomic_write_bytes

        log_doc = {"rows": [dataclasses.asdict(r) for r in log.rows], "excluded": log.excluded,
                   "seconds": log.seconds}
        atomic_write_bytes(opts.output.with_suffix(".tune.json"), json.dumps(log_doc, indent=1).encode())
    report.bundle_bytes = opts.output.stat().st_size
    report.total_seconds = time.perf_counter() - t_start
    return report
