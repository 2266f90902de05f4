"""The one place aotgemm reads environment variables (AOTGEMM_*).

Read at call time, not import time, so tests and servers can set them late.
"""

from __future__ import annotations

import os
from pathlib import Path


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


def dsl_runtime_lib() -> str | None:
    """AOTGEMM_DSL_RUNTIME_LIB: path of libcute_dsl_runtime.so for 'dsl-runtime' bundles."""
    return os.environ.get("AOTGEMM_DSL_RUNTIME_LIB") or None
