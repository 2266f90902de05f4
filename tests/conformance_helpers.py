"""What the dispatch conformance tests share (test_dispatch_conformance, _epilogues, test_fp8_conformance):
the Python side on a CPU dispatch table, the shim drivers' tensor handles, and the run of a driver in a
child process with each call's counters turned into the reason it counted.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


@contextlib.contextmanager
def cpu_dispatch(bundle: Path, kernel_for, *, name: str, device_type: str = "cpu", fallback: bool = False):
    """The bundle's H100_SXM table, its kernels kernel_for(KernelEntry) (Python functions), active in
    aotgemm.runtime for the block; unloaded, with the stats reset, after it."""
    import aotgemm.runtime as rt
    from aotgemm.bundle import open_bundle
    from aotgemm.runtime.ops import set_active
    from aotgemm.runtime.table import Dispatch, build_table

    bf = open_bundle(bundle)
    target = bf.index.target("H100_SXM")
    table = {} if fallback else build_table(target, {k.symbol: kernel_for(k) for k in target.kernels})
    set_active(Dispatch(bf.index.m_buckets, table, device_type=device_type, fallback=fallback, name=name))
    try:
        yield rt
    finally:
        rt.unload()
        rt.reset_stats()


def reason_of(stats) -> str:
    """The one call's reason in aotgemm.runtime.stats(): "HIT" or a Reason's name."""
    from aotgemm.dispatch_rule import Reason

    return "HIT" if stats.total_hits == 1 else Reason.from_text(next(iter(stats.by_reason()))).name


# --- in the shim drivers (child processes) ---------------------------------------------------
def cpu_shim(package: str, cache: str):
    """libaotgemm_aoti initialised for `package` on a fake H100 with the CPU test kernels."""
    from aotgemm.aoti import native, testing

    lib = native.load_native()
    native.init(lib, package, None, 0, testing.fake_device(), cache, native.FLAG_CPU_KERNELS)
    return lib


def _capsule_api():
    api = ctypes.pythonapi
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    api.PyCapsule_New.restype = ctypes.py_object
    return api


def handle(t):
    """A new AtenTensorHandle (owned by the caller) for tensor t."""
    import torch

    return _capsule_api().PyCapsule_GetPointer(torch._C._aoti.unsafe_alloc_void_ptr_from_tensor(t), None)


def steal(h):
    """The tensor of handle h; the handle is freed."""
    import torch

    return torch._C._aoti.alloc_tensor_by_stealing_from_void_ptr(_capsule_api().PyCapsule_New(h, None, None))


# --- in the test process ---------------------------------------------------------------------
def run_driver(code: str) -> dict:
    """Run a shim driver (Python source printing one JSON object last) in a child process; its output."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)])}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=600, cwd=str(REPO))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_same_reasons(expected: dict, py: dict, cc: dict, cases) -> dict:
    """Each case's expected reason, the Python op's and the C++ shim's must be one; {case: the three}."""
    table = {name: (expected[name], py[name]["reason"], cc[name]["reason"]) for name in cases}
    differ = {name: v for name, v in table.items() if len(set(v)) != 1}
    assert not differ, "expected / Python / C++ differ:\n" + "\n".join(f"  {n}: {v}" for n, v in differ.items())
    return table


def set_reasons(got: dict) -> dict:
    """Each case's {"moved": counters that changed} must be exactly "calls" plus one reason's counter (and
    "misses" for a miss); sets its "reason" (a Reason's name, "HIT" for a hit)."""
    from aotgemm.dispatch_rule import Reason

    for name, r in got.items():
        reason_counters = [k for k in r["moved"] if k not in ("calls", "misses")]
        assert "calls" in r["moved"] and len(reason_counters) == 1, (name, r["moved"])
        counter = reason_counters[0]
        assert ("misses" in r["moved"]) == (counter != "hits"), (name, r["moved"])
        r["reason"] = next(x.name for x in Reason if x.counter == counter)
    return got
