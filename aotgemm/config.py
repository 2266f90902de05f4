"""The one place aotgemm reads environment variables (AOTGEMM_*).

Read at call time, not import time, so tests and servers can set them late.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import CompilerNotFound


def cache_dir() -> Path:
    """Root of aotgemm's persistent caches (compiled objects, extracted libraries)."""
    if v := os.environ.get("AOTGEMM_CACHE_DIR"):
        return Path(v)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "aotgemm"


def bundle_path() -> str | None:
    """AOTGEMM_BUNDLE: the bundle `aotgemm.runtime.load()` (no path) and `aotgemm verify` (no argument) use.

    Nothing loads it on import: a server calls `aotgemm.runtime.load()`.
    """
    return os.environ.get("AOTGEMM_BUNDLE") or None


def strict() -> bool:
    """AOTGEMM_STRICT=0 turns environment mismatches into a warning and a cuBLAS fallback."""
    return os.environ.get("AOTGEMM_STRICT", "1").strip().lower() not in ("0", "false", "no", "off")


def log_level() -> str:
    """AOTGEMM_LOG: debug, info, warning (default), error."""
    return os.environ.get("AOTGEMM_LOG", "warning").strip().upper()


def log_level_set() -> bool:
    """Whether AOTGEMM_LOG is set (then it overrides a level the application gave the logger)."""
    return bool(os.environ.get("AOTGEMM_LOG", "").strip())


def dsl_runtime_lib() -> str | None:
    """AOTGEMM_DSL_RUNTIME_LIB: path of libcute_dsl_runtime.so for 'dsl-runtime' bundles."""
    return os.environ.get("AOTGEMM_DSL_RUNTIME_LIB") or None


def cxx(override: str | None = None) -> str:
    """The C++ compiler aotgemm runs, as a path: `override`, else CXX, else g++ or c++ on PATH.

    Used to link kernel libraries (`aotgemm build`, the bake) and to build the
    AOTInductor shim and packages. A name is looked up on PATH; a path must be
    an executable file. A CXX that names nothing is an error, never silently
    replaced by another compiler: on the GPU host AOTInductor packages need
    CXX=/usr/bin/g++ (another g++ on PATH makes them crash at load).
    Raises CompilerNotFound, saying what to install or set.
    """
    if override:
        found = shutil.which(override)
        if not found:
            raise CompilerNotFound(f"C++ compiler {override!r} not found or not executable; "
                                   "pass an installed one (e.g. /usr/bin/g++)")
        return found
    if name := os.environ.get("CXX", "").strip():
        found = shutil.which(name)
        if not found:
            raise CompilerNotFound(f"CXX={name!r} is not an executable C++ compiler; set CXX to one "
                                   "(e.g. CXX=/usr/bin/g++) or unset it to use g++ from PATH")
        return found
    for name in ("g++", "c++"):
        if found := shutil.which(name):
            return found
    raise CompilerNotFound("no C++ compiler: neither g++ nor c++ is on PATH; install one "
                           "(apt-get install g++) or set CXX=/path/to/g++")
