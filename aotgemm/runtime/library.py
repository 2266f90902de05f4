"""Extract a target's kernel library from a bundle into the cache, load it, resolve its kernels.

Cache layout (see docs/runtime.md)::

    <config.cache_dir()>/lib/<content_sha256>/<blob name>       the shared object
    <config.cache_dir()>/lib/<content_sha256>/<blob name>.ok    written last: "this file is complete"
    <config.cache_dir()>/lib/<content_sha256>/.lock             flock'ed by the one process extracting

The directory is named by the SHA-256 of the decompressed library, which the
bundle index records and checksums, so two bundles holding the same library
share one file and a different library can never be mistaken for it.

The tvm_ffi Python package is never imported: kernels are called through
its C ABI (aotgemm.runtime.ffi), with libtvm_ffi.so loaded at load time.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from .. import config
from ..bundle.io import BundleFile, decode_blob
from ..errors import BlobChecksumMismatch, KernelLibraryError
from ..fsutil import MARKER_SUFFIX, InstallError, install_once, is_complete  # noqa: F401  (MARKER_SUFFIX: re-exported)

DSL_RUNTIME_SONAME = "libcute_dsl_runtime.so"
DSL_RUNTIME_DISTS = {13: "nvidia-cutlass-dsl-libs-cu13", 12: "nvidia-cutlass-dsl-libs-cu12"}


# --- the CuTe DSL runtime library ('dsl-runtime' link mode) -------------------
def find_dsl_runtime(cuda_major: int | None = None) -> tuple[str | None, str]:
    """(path of libcute_dsl_runtime.so, "") or (None, why not found).

    Looks at AOTGEMM_DSL_RUNTIME_LIB, then at the file lists of the installed
    nvidia-cutlass-dsl-libs-cu13 / -cu12 distributions (the one matching
    `cuda_major` first). Never imports cutlass.
    """
    explicit = config.dsl_runtime_lib()
    if explicit:
        if os.path.isfile(explicit):
            return explicit, ""
        return None, f"AOTGEMM_DSL_RUNTIME_LIB is set to {explicit!r}, which is not a file"
    import importlib.metadata as md

    majors = sorted(DSL_RUNTIME_DISTS, key=lambda m: (m != cuda_major, -m))
    installed = []
    for major in majors:
        dist_name = DSL_RUNTIME_DISTS[major]
        try:
            dist = md.distribution(dist_name)
        except md.PackageNotFoundError:
            continue
        installed.append(dist_name)
        for f in dist.files or ():
            if f.name == DSL_RUNTIME_SONAME and "stubs" not in f.parts:
                path = Path(dist.locate_file(f))
                if path.is_file():
                    return str(path), ""
    names = " nor ".join(DSL_RUNTIME_DISTS[m] for m in majors)
    if installed:
        return None, (f"AOTGEMM_DSL_RUNTIME_LIB is not set and {', '.join(installed)} holds no "
                      f"{DSL_RUNTIME_SONAME}")
    return None, f"AOTGEMM_DSL_RUNTIME_LIB is not set and neither {names} is installed"


_dsl_runtime_handle: ctypes.CDLL | None = None


def ensure_dsl_runtime(cuda_major: int | None = None) -> str:
    """Load libcute_dsl_runtime.so with RTLD_GLOBAL (once per process); its path."""
    global _dsl_runtime_handle
    path, why = find_dsl_runtime(cuda_major)
    if path is None:
        major = cuda_major or 13
        raise KernelLibraryError(
            f"this bundle's library was linked in 'dsl-runtime' mode and needs {DSL_RUNTIME_SONAME}: {why}; "
            f"pip install nvidia-cutlass-dsl-libs-cu{major} or set AOTGEMM_DSL_RUNTIME_LIB to the file's path")
    if _dsl_runtime_handle is None:
        try:
            _dsl_runtime_handle = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as e:
            raise KernelLibraryError(f"cannot load {path}: {e}") from None
    return path


# --- extraction into the content-addressed cache ------------------------------
@dataclass(frozen=True)
class Extracted:
    path: Path
    extracted: bool  # True when this call wrote the file; False when the cache had it


def library_dir(content_sha256: str, cache_root: Path | None = None) -> Path:
    return Path(cache_root if cache_root is not None else config.cache_dir()) / "lib" / content_sha256


def extract_library(bundle: BundleFile, name: str, *, cache_root: Path | None = None,
                    verify_cached: bool = True) -> Extracted:
    """Make blob `name` of `bundle` available as a file in the cache; safe for many processes at once.

    Fast path: the file exists with the right size and its ".ok" marker (written
    last) exists; with `verify_cached`, the blob's stored bytes in the bundle
    are still checked against the index (no decompression), so a damaged
    bundle is reported even when the cache is warm. Slow path: under an
    exclusive flock, check again, decompress and verify the blob, write it to a
    temporary file in the same directory, fsync, rename into place, then write
    the marker. Exactly one of N concurrent callers extracts; the others wait
    on the lock and find the file complete. Nobody sees a partial file under
    the final name.
    """
    blob = bundle.index.blob(name)
    d = library_dir(blob.content_sha256, cache_root)
    path = d / name
    if is_complete(path, blob.size):
        if verify_cached:
            stored = bundle.stored_bytes(name)
            import hashlib

            if hashlib.sha256(stored).hexdigest() != blob.sha256:
                raise BlobChecksumMismatch(
                    f"{bundle.path}: blob {name!r}: SHA-256 of the stored bytes does not match the index "
                    "(the file is corrupted: rebuild or re-download it)")
        return Extracted(path, False)
    try:
        wrote = install_once(d, name, blob.size,
                             lambda: decode_blob(blob, bundle.stored_bytes(name), str(bundle.path)),
                             blob.content_sha256 + "\n")
    except InstallError as e:
        if e.stage == "dir":
            raise KernelLibraryError(f"cannot create the library cache directory {d}: {e.error} "
                                     "(set AOTGEMM_CACHE_DIR to a writable directory)") from None
        raise KernelLibraryError(f"cannot write {path}: {e.error} (set AOTGEMM_CACHE_DIR to a writable "
                                 "directory with enough space)") from None
    return Extracted(path, wrote)


# --- loading -------------------------------------------------------------------
def load_tvm_ffi_library():
    """libtvm_ffi.so (ctypes, RTLD_GLOBAL), without importing the tvm_ffi Python package (see runtime.ffi)."""
    from .ffi import libtvm_ffi

    return libtvm_ffi()


def load_library(path: str | os.PathLike, link_mode: str, *, cuda_major: int | None = None) -> Any:
    """dlopen the kernel library after what its link mode needs; a runtime.ffi.KernelLibrary."""
    # libcudart (which 'static-runtime' libraries need, besides libcuda and libtvm_ffi) is loaded by
    # torch when CUDA is initialised; the kernels also run in torch's (primary) CUDA context.
    import torch

    from .ffi import KernelLibrary

    if torch.cuda.is_available():
        torch.cuda.init()
    if link_mode == "dsl-runtime":
        ensure_dsl_runtime(cuda_major)  # RTLD_GLOBAL, before the library that needs its symbols
    return KernelLibrary(path)


def resolve(module: Any, symbols: Iterable[str], where: str = "the kernel library") -> dict[str, Callable]:
    """symbol -> KernelFunction for each symbol (exported as __tvm_ffi_<symbol>); all or an error."""
    found: dict[str, Callable] = {}
    missing: list[str] = []
    for sym in symbols:
        try:
            fn = module.get_function(sym)
        except (AttributeError, KeyError, RuntimeError):
            fn = None
        if fn is None:
            missing.append(sym)
        else:
            found[sym] = fn
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise KernelLibraryError(f"{where} does not export {len(missing)} kernel(s) the bundle names: {shown} "
                                 "(the bundle is inconsistent: rebuild it)")
    return found
