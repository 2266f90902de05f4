"""libtvm_ffi.so of the installed apache-tvm-ffi, found and loaded without importing the tvm_ffi package.

Importing the package costs 30-100 ms (runtime/ffi.py says why that matters); what the kernel libraries and the
AOTInductor shim need is its shared library, loaded once into the process with RTLD_GLOBAL before them. Both
the runtime (runtime/ffi.py) and the shim's loader (aoti/native.py) load it here, so neither imports the other
(importing aotgemm.runtime registers its torch op, which an AOTInductor process must not need).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading
from pathlib import Path

from .errors import KernelLibraryError

_lib: ctypes.CDLL | None = None
_lock = threading.Lock()


def library_path() -> Path:
    """libtvm_ffi.so of the installed apache-tvm-ffi, found without importing the package."""
    spec = importlib.util.find_spec("tvm_ffi")
    if spec is None or not spec.submodule_search_locations:
        raise KernelLibraryError("apache-tvm-ffi is needed to load kernel libraries (pip install apache-tvm-ffi)")
    for root in spec.submodule_search_locations:
        path = Path(root) / "lib" / "libtvm_ffi.so"
        if path.is_file():
            return path
    raise KernelLibraryError(f"apache-tvm-ffi at {list(spec.submodule_search_locations)} ships no lib/libtvm_ffi.so "
                             "(reinstall apache-tvm-ffi)")


def load() -> ctypes.CDLL:
    """libtvm_ffi.so, loaded once with RTLD_GLOBAL (tvm_ffi's own import loads the same file, so both share one
    copy). A library that needs it (DT_NEEDED libtvm_ffi.so) and is loaded after this finds it by its soname,
    whatever its RUNPATH says."""
    global _lib
    with _lock:
        if _lib is None:
            path = library_path()
            try:
                _lib = ctypes.CDLL(os.fspath(path), mode=ctypes.RTLD_GLOBAL)
            except OSError as e:
                raise KernelLibraryError(f"cannot load {path}: {e}") from None
        return _lib
