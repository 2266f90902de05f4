"""Compile kernels in parallel worker processes, through the object cache.

Each worker is a spawned process that imports the DSL once and compiles the
tasks it is handed. A task that crashes its worker (segfault, abort) or runs
past the timeout is reported as failed and its worker replaced; the others
go on. Workers take the cache lock per key, so concurrent builds sharing a
cache compile each kernel once.

The compile function is named by "module:function" so that tests can stand
in a stub (crashing, hanging or counting) without a DSL.

Ctrl-C is the parent's business: workers ignore SIGINT (from birth: it is
blocked while they start), the parent kills them at once and re-raises
KeyboardInterrupt. Every temporary file of a build, the compiler's own
included (workers point TMPDIR there), lives in one scratch directory that the
parent removes, however its workers ended.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Callable

from .cache import ObjectCache
from .spec import KernelSpec

DEFAULT_COMPILER = "aotgemm.compiler.sources:compile_spec"


@dataclass(frozen=True)
class CompileTask:
    spec: KernelSpec
    key: str
    symbol: str


@dataclass(frozen=True)
class CompileResult:
    task: CompileTask
    object_path: Path | None
    cached: bool  # served from the cache (by us or by a concurrent build)
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.object_path is not None


def _resolve(name: str) -> Callable:
    module, _, func = name.partition(":")
    return getattr(importlib.import_module(module), func)


def _compile_one(compiler: Callable, cache: ObjectCache, task: CompileTask) -> tuple[str, bool, str | None]:
    """Runs in a worker: cache hit, or lock, re-check, compile, store."""
    if (hit := cache.get(task.key)) is not None:
        return str(hit), True, None
    with cache.lock(task.key):
        if (hit := cache.get(task.key)) is not None:
            return str(hit), True, None
        with tempfile.TemporaryDirectory(prefix="obj-") as tmp:  # under the build's scratch directory
            obj = os.path.join(tmp, f"{task.symbol}.o")
            compiler(task.spec, task.symbol, obj)
            data = Path(obj).read_bytes()
        path = cache.put(task.key, data, {"symbol": task.symbol, "source": task.spec.source, "family": task.spec.family,
                                          "design": task.spec.design_dict, "arch": task.spec.arch,
                                          "gpu": task.spec.gpu})
        return str(path), False, None


def _worker_main(conn: Connection, compiler_name: str, cache_root: str, scratch: str) -> None:
    # Ctrl-C reaches the whole process group; the parent answers it (and kills us).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    # Temporary files of this process and of the tools it runs go where the parent cleans up.
    os.environ["TMPDIR"] = scratch
    tempfile.tempdir = scratch
    compiler = _resolve(compiler_name)
    cache = ObjectCache(Path(cache_root))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        t0 = time.perf_counter()
        try:
            path, cached, err = _compile_one(compiler, cache, task)
        except Exception as e:  # reported per task; the build goes on
            path, cached, err = None, False, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=6)}"
        conn.send((path, cached, time.perf_counter() - t0, err))


@contextlib.contextmanager
def _sigint_blocked():
    """Block SIGINT in this thread; a child started meanwhile inherits the mask (across exec) until it ignores it."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)  # a Ctrl-C that came meanwhile is delivered now


class _Worker:
    def __init__(self, ctx, compiler_name: str, cache_root: Path, scratch: str) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, compiler_name, str(cache_root), scratch),
                                daemon=True)
        with _sigint_blocked():
            self.proc.start()
        child.close()
        self.task: CompileTask | None = None
        self.started = 0.0

    def give(self, task: CompileTask) -> None:
        self.task, self.started = task, time.perf_counter()
        self.conn.send(task)

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
        self.conn.close()


def _describe_exit(proc) -> str:
    # the pipe reads EOF as soon as the worker dies, possibly before the process is reaped (exitcode still None):
    # wait for its status, so that a crash reads as its signal (CI saw "exited with status None" for a SIGABRT)
    proc.join(5)
    code = proc.exitcode
    if code is not None and code < 0:
        import signal

        return f"compile worker died from signal {signal.Signals(-code).name}"
    return f"compile worker exited with status {code}"


def compile_all(tasks: list[CompileTask], cache: ObjectCache, *, jobs: int | None = None,
                timeout: float = 600.0, compiler: str = DEFAULT_COMPILER,
                on_result: Callable[[CompileResult], None] | None = None) -> list[CompileResult]:
    """Compile every task (through the cache); results in task order. Never raises for one kernel."""
    results: dict[int, CompileResult] = {}
    pending = []
    # Cache hits need no worker: check them here so a warm rebuild starts no DSL at all.
    for i, t in enumerate(tasks):
        hit = cache.get(t.key)
        if hit is not None:
            results[i] = CompileResult(t, hit, True, 0.0)
            if on_result:
                on_result(results[i])
        else:
            pending.append((i, t))
    if pending:
        jobs = max(1, min(jobs or os.cpu_count() or 1, len(pending)))
        ctx = mp.get_context("spawn")
        scratch = tempfile.mkdtemp(prefix="aotgemm-obj-")
        workers: list[_Worker] = []
        index_of = {id(t): i for i, t in pending}
        queue = list(pending)
        finished = False
        try:
            workers.extend(_Worker(ctx, compiler, cache.root, scratch) for _ in range(jobs))
            for w in workers:
                if queue:
                    w.give(queue.pop(0)[1])
            while any(w.task for w in workers):
                busy = [w for w in workers if w.task]
                deadline = min(w.started + timeout for w in busy)
                ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy],
                             timeout=max(0.0, deadline - time.perf_counter()))
                for w in list(busy):
                    task = w.task
                    result = None
                    if w.conn in ready or w.conn.poll():
                        try:
                            path, cached, secs, err = w.conn.recv()
                            result = CompileResult(task, Path(path) if path else None, cached, secs, err)
                        except (EOFError, OSError):
                            result = CompileResult(task, None, False, time.perf_counter() - w.started,
                                                   _describe_exit(w.proc))
                    elif w.proc.sentinel in ready or not w.proc.is_alive():
                        result = CompileResult(task, None, False, time.perf_counter() - w.started,
                                               _describe_exit(w.proc))
                    elif time.perf_counter() - w.started > timeout:
                        result = CompileResult(task, None, False, timeout,
                                               f"compile timed out after {timeout:.0f} s")
                    if result is None:
                        continue
                    if not result.ok:
                        # The worker may be dead or stuck: replace it, the rest go on.
                        w.kill()
                        workers[workers.index(w)] = w = _Worker(ctx, compiler, cache.root, scratch)
                    results[index_of[id(task)]] = result
                    if on_result:
                        on_result(result)
                    w.task = None
                    if queue:
                        w.give(queue.pop(0)[1])
            finished = True
        finally:
            # Done: let idle workers exit. Interrupted (Ctrl-C) or failed: kill them now, busy or not.
            for w in workers:
                if finished:
                    w.stop()
                else:
                    w.kill()
            shutil.rmtree(scratch, ignore_errors=True)
    return [results[i] for i in range(len(tasks))]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit("aotgemm.compiler.compile is a library module")
