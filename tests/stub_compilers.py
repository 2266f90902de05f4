"""Stand-in compile functions for the compile pool's tests ("module:function" names).

They run inside spawned worker processes, so they take their instructions
from the environment.
"""

from __future__ import annotations

import fcntl
import os
import time


def _log(symbol: str) -> None:
    path = os.environ.get("AOTGEMM_TEST_COMPILE_LOG")
    if path:
        with open(path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(symbol + "\n")


def fake_object(spec, symbol: str, object_path: str) -> None:
    """Writes bytes that depend only on the symbol, after a short 'compile'."""
    _log(symbol)
    time.sleep(float(os.environ.get("AOTGEMM_TEST_COMPILE_SECONDS", "0.05")))
    with open(object_path, "wb") as f:
        f.write(b"OBJ:" + symbol.encode())


def crash_or_fake(spec, symbol: str, object_path: str) -> None:
    if symbol == os.environ.get("AOTGEMM_TEST_CRASH_SYMBOL"):
        os.abort()
    if symbol == os.environ.get("AOTGEMM_TEST_HANG_SYMBOL"):
        time.sleep(3600)
    if symbol == os.environ.get("AOTGEMM_TEST_RAISE_SYMBOL"):
        raise RuntimeError("planted compile error")
    fake_object(spec, symbol, object_path)


def crash_or_real(spec, symbol: str, object_path: str) -> None:
    """The real CuTe DSL compile, except that one chosen design aborts its worker."""
    d = spec.design_dict
    if "tile" in d and f"{spec.gpu}:{d['tile'][0]}x{d['tile'][1]}:{d['cluster'][0]}x{d['cluster'][1]}" == os.environ.get(
            "AOTGEMM_TEST_CRASH_DESIGN"):
        os.abort()
    from aotgemm.compiler.sources import compile_spec

    compile_spec(spec, symbol, object_path)


def scratch_then_sleep(spec, symbol: str, object_path: str) -> None:
    """Like a real compile: leaves temporary files of its own, then works for a long time (until killed)."""
    import tempfile

    d = tempfile.mkdtemp(prefix="aotgemm-stub-")
    with open(os.path.join(d, "part.ll"), "w") as f:
        f.write(symbol)
    with open(object_path + ".partial", "w") as f:
        f.write(symbol)
    path = os.environ["AOTGEMM_TEST_COMPILE_LOG"]
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(f"{os.getpid()} {symbol}\n")
    time.sleep(float(os.environ.get("AOTGEMM_TEST_COMPILE_SECONDS", "600")))
