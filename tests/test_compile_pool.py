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
