"""The compile pool with stubbed compilers: no DSL, no GPU."""

import multiprocessing as mp
from pathlib import Path

from aotgemm.compiler.cache import ObjectCache
from aotgemm.compiler.compile import CompileTask, compile_all
from aotgemm.compiler.spec import KernelSpec, symbol_for
from aotgemm.compiler.toolchain import Toolchain

TOOLS = Toolchain("nvidia-cutlass-dsl 4.8.1", "cu13-4.8.1", "0.1.15", 13, sources=(("stub", "1"),))


def tasks(n):
    out = []
    for i in range(n):
        spec = KernelSpec("stub", "Op", f'{{"i":{i}}}', "bfloat16", "linear", "identity", 8, "sm_90a", "H100_SXM")
        key = spec.key(TOOLS)
        out.append(CompileTask(spec, key, symbol_for(key)))
    return out


def test_crash_hang_and_error_are_reported_and_the_rest_compile(tmp_path, monkeypatch):
    ts = tasks(6)
    monkeypatch.setenv("AOTGEMM_TEST_CRASH_SYMBOL", ts[1].symbol)
    monkeypatch.setenv("AOTGEMM_TEST_HANG_SYMBOL", ts[3].symbol)
    monkeypatch.setenv("AOTGEMM_TEST_RAISE_SYMBOL", ts[4].symbol)
    results = compile_all(ts, ObjectCache(tmp_path), jobs=2, timeout=5.0, compiler="tests.stub_compilers:crash_or_fake")
    by_symbol = {r.task.symbol: r for r in results}
    assert [r.task for r in results] == ts
    assert "signal SIGABRT" in by_symbol[ts[1].symbol].error
    assert "timed out after 5 s" in by_symbol[ts[3].symbol].error
    assert "planted compile error" in by_symbol[ts[4].symbol].error
    for t in (ts[0], ts[2], ts[5]):
        r = by_symbol[t.symbol]
        assert r.ok and not r.cached and Path(r.object_path).read_bytes() == b"OBJ:" + t.symbol.encode()


def test_rebuild_compiles_nothing(tmp_path, monkeypatch):
    log = tmp_path / "log"
    monkeypatch.setenv("AOTGEMM_TEST_COMPILE_LOG", str(log))
    ts = tasks(4)
    first = compile_all(ts, ObjectCache(tmp_path / "c"), jobs=2, compiler="tests.stub_compilers:fake_object")
    second = compile_all(ts, ObjectCache(tmp_path / "c"), jobs=2, compiler="tests.stub_compilers:fake_object")
    assert all(r.ok and not r.cached for r in first)
    assert all(r.ok and r.cached for r in second)
    assert sorted(log.read_text().split()) == sorted(t.symbol for t in ts)


def test_corrupt_cache_entry_is_a_miss_and_quarantined(tmp_path, monkeypatch):
    cache = ObjectCache(tmp_path)
    ts = tasks(1)
    (r,) = compile_all(ts, cache, jobs=1, compiler="tests.stub_compilers:fake_object")
    Path(r.object_path).write_bytes(b"garbage")
    assert cache.get(ts[0].key) is None
    assert any((tmp_path / "quarantine").iterdir())
    (r2,) = compile_all(ts, cache, jobs=1, compiler="tests.stub_compilers:fake_object")
    assert r2.ok and not r2.cached and Path(r2.object_path).read_bytes() == b"OBJ:" + ts[0].symbol.encode()


def _build(cache_root, log, n):
    import os

    os.environ["AOTGEMM_TEST_COMPILE_LOG"] = log
    os.environ["AOTGEMM_TEST_COMPILE_SECONDS"] = "0.3"
    rs = compile_all(tasks(n), ObjectCache(Path(cache_root)), jobs=2, compiler="tests.stub_compilers:fake_object")
    assert all(r.ok for r in rs)


def test_concurrent_builds_sharing_a_cache_compile_each_kernel_once(tmp_path):
    log = tmp_path / "log"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_build, args=(str(tmp_path / "c"), str(log), 6)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    compiled = log.read_text().split()
    assert sorted(compiled) == sorted(t.symbol for t in tasks(6)), "each kernel compiled exactly once"
    cache = ObjectCache(tmp_path / "c")
    for t in tasks(6):
        assert Path(cache.get(t.key)).read_bytes() == b"OBJ:" + t.symbol.encode()


_INTERRUPTED_BUILD = """
import signal, sys
from pathlib import Path
# Ctrl-C's disposition as under a terminal: a job started in the background by a non-interactive shell
# (a CI runner may be one) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler.
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path[:0] = [{repo!r}, {tests!r}]
from test_compile_pool import tasks
from aotgemm.compiler.cache import ObjectCache
from aotgemm.compiler.compile import compile_all
try:
    compile_all(tasks(5), ObjectCache(Path({cache!r})), jobs=2, compiler="tests.stub_compilers:scratch_then_sleep")
except KeyboardInterrupt:
    print("parent: interrupted", flush=True)
    sys.exit(130)
print("parent: finished", flush=True)
"""


def test_ctrl_c_kills_the_workers_quietly_and_leaves_no_temporary_files(tmp_path):
    """Ctrl-C signals the whole process group: the workers ignore it, the parent kills them and cleans up.

    Before: each busy worker printed a KeyboardInterrupt traceback, the parent waited for it, and the
    temporary files of a worker it killed stayed in /tmp.
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    repo = Path(__file__).resolve().parent.parent
    tmp, log = tmp_path / "tmp", tmp_path / "log"
    tmp.mkdir()
    code = _INTERRUPTED_BUILD.format(repo=str(repo), tests=str(repo / "tests"), cache=str(tmp_path / "cache"))
    env = {**os.environ, "TMPDIR": str(tmp), "AOTGEMM_TEST_COMPILE_LOG": str(log), "PYTHONPATH": str(repo)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # its own process group, as under a terminal
    try:
        deadline = time.monotonic() + 120
        while not (log.exists() and len(log.read_text().splitlines()) == 2):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        assert any(tmp.iterdir())  # the workers' files are there...
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        out, err = proc.communicate(timeout=60)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, (out, err)
    assert out == "parent: interrupted\n"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert elapsed < 20  # killed, not waited for (each would "compile" for 600 s)
    assert list(tmp.iterdir()) == []  # ...and gone, the stub's own mkdtemp included
    for line in log.read_text().splitlines():
        pid = int(line.split()[0])
        for _ in range(100):  # reparented to init once the parent exited; reaped there
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"worker {pid} survived the interrupt")


def test_a_finished_pool_leaves_no_temporary_files(tmp_path, monkeypatch):
    """Crashed and timed-out workers are killed mid-compile: their files go with the build's scratch directory."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr("tempfile.tempdir", None)
    ts = tasks(4)
    monkeypatch.setenv("AOTGEMM_TEST_CRASH_SYMBOL", ts[1].symbol)
    monkeypatch.setenv("AOTGEMM_TEST_HANG_SYMBOL", ts[2].symbol)
    results = compile_all(ts, ObjectCache(tmp_path / "c"), jobs=2, timeout=3.0,
                          compiler="tests.stub_compilers:crash_or_fake")
    assert [r.ok for r in results] == [True, False, False, True]
    assert list(tmp.iterdir()) == []
