"""Build, find and call libaotgemm_aoti (aotgemm/native/aotgemm_aoti.cpp).

The library is built once per (source, torch version, tvm_ffi version,
flags) with the machine's C++ compiler into a content-addressed directory,
config.cache_dir()/native/<hash>/libaotgemm_aoti.so, written to a temporary
name and renamed into place. Finding it again needs no compiler: the hash is
computed from files and versions only, so loading a package never starts a
compiler process.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .. import config
from ..errors import BundleNotFound, KernelLibraryError, NoGpu
from .errors import (
    AotiStateError,
    BundleIntegrityError,
    DriverTooOld,
    NativeBuildError,
    PackageError,
    WrongGpu,
)

NATIVE_DIR = Path(__file__).resolve().parent.parent / "native"
SOURCE = NATIVE_DIR / "aotgemm_aoti.cpp"
HEADER = NATIVE_DIR / "aotgemm_aoti.h"
LIB_NAME = "libaotgemm_aoti.so"
LINK_NAME = "aotgemm_aoti"  # what `-l` takes: aot_inductor.custom_op_libs
ABI_VERSION = 1

# Return codes of the C API (aotgemm_aoti.h)
OK, ERR_PACKAGE, ERR_BUNDLE_MISSING, ERR_BUNDLE_CORRUPT, ERR_WRONG_GPU, ERR_NO_GPU, ERR_DRIVER, ERR_LIBRARY, ERR_STATE = range(9)
FLAG_NONSTRICT = 1
FLAG_CPU_KERNELS = 2

_ERRORS = {
    ERR_PACKAGE: PackageError,
    ERR_BUNDLE_MISSING: BundleNotFound,
    ERR_BUNDLE_CORRUPT: BundleIntegrityError,
    ERR_WRONG_GPU: WrongGpu,
    ERR_NO_GPU: NoGpu,
    ERR_DRIVER: DriverTooOld,
    ERR_LIBRARY: KernelLibraryError,
    ERR_STATE: AotiStateError,
}

COUNTERS = ("calls", "hits", "misses", "miss_no_entry", "miss_cublas_entry", "miss_unsupported", "miss_no_kernels")


def raise_for_code(code: int, message: str) -> None:
    if code != OK:
        raise _ERRORS.get(code, AotiStateError)(message or f"libaotgemm_aoti returned error code {code}")


# --- paths and flags ---------------------------------------------------------
def _tvm_ffi_dirs() -> tuple[Path, Path]:
    """(include dir, lib dir) of the installed apache-tvm-ffi."""
    try:
        import tvm_ffi
    except ImportError as e:  # pragma: no cover - a runtime dependency
        raise NativeBuildError(f"apache-tvm-ffi is not installed ({e}); pip install apache-tvm-ffi") from None
    root = Path(tvm_ffi.__file__).resolve().parent
    include, lib = root / "include", root / "lib"
    if not (include / "tvm" / "ffi" / "function.h").is_file():
        raise NativeBuildError(f"apache-tvm-ffi at {root} ships no C++ headers (expected {include}/tvm/ffi)")
    if not (lib / "libtvm_ffi.so").is_file():
        raise NativeBuildError(f"apache-tvm-ffi at {root} ships no libtvm_ffi.so (expected in {lib})")
    return include, lib


def _torch_dirs() -> tuple[list[str], str]:
    import torch.utils.cpp_extension as ce

    return list(ce.include_paths()), ce.TORCH_LIB_PATH


def _versions() -> dict[str, str]:
    import torch

    try:
        from importlib.metadata import version

        tvm = version("apache-tvm-ffi")
    except Exception:  # pragma: no cover
        tvm = "unknown"
    return {"torch": torch.__version__, "tvm_ffi": tvm, "cxx11_abi": str(int(torch.compiled_with_cxx11_abi()))}


BASE_FLAGS = ("-O2", "-std=c++17", "-shared", "-fPIC", "-fvisibility=hidden", "-w", f"-Wl,-soname,{LIB_NAME}",
              "-ltorch_cpu", "-lc10", "-ltvm_ffi", "-ldl", "-lpthread")


def compile_flags() -> list[str]:
    """Everything but the compiler and the output path."""
    import torch

    includes, torch_lib = _torch_dirs()
    tvm_inc, tvm_lib = _tvm_ffi_dirs()
    flags = ["-O2", "-std=c++17", "-shared", "-fPIC", "-fvisibility=hidden", "-w",
             f"-D_GLIBCXX_USE_CXX11_ABI={int(torch.compiled_with_cxx11_abi())}"]
    flags += [f"-I{p}" for p in includes] + [f"-I{tvm_inc}", f"-I{NATIVE_DIR}"]
    flags += [f"-Wl,-soname,{LIB_NAME}",
              f"-L{torch_lib}", "-ltorch_cpu", "-lc10", f"-Wl,-rpath,{torch_lib}",
              f"-L{tvm_lib}", "-ltvm_ffi", f"-Wl,-rpath,{tvm_lib}", "-ldl", "-lpthread"]
    return flags


def cache_key() -> str:
    """Hash of the source, the versions it builds against and the fixed flags.

    Computed at every load, so it touches no compiler and imports nothing heavy
    (not torch.utils.cpp_extension): include and library folders follow from
    the torch and tvm_ffi versions, which are in the key.
    """
    h = hashlib.sha256()
    for p in (SOURCE, HEADER):
        h.update(p.read_bytes())
    for k, v in sorted(_versions().items()):
        h.update(f"{k}={v}\n".encode())
    h.update("\0".join(BASE_FLAGS).encode())
    return h.hexdigest()[:32]


def native_path(cache_dir: str | os.PathLike | None = None) -> Path:
    root = Path(cache_dir) if cache_dir else config.cache_dir()
    return root / "native" / cache_key() / LIB_NAME


def _compiler(cxx: str | None) -> str:
    cand = cxx or os.environ.get("CXX") or "g++"
    found = shutil.which(cand)
    if not found:
        raise NativeBuildError(
            f"cannot build {LIB_NAME}: no C++ compiler {cand!r} on PATH. Build it once on a machine with g++ "
            f"(python -c 'import aotgemm.aoti; aotgemm.aoti.build_native()'), or copy "
            f"{native_path()} from one with the same torch and tvm_ffi versions"
        )
    return found


_build_lock = threading.Lock()


def build_native(*, cxx: str | None = None, cache_dir: str | os.PathLike | None = None, force: bool = False) -> Path:
    """The path of libaotgemm_aoti.so for this torch, building it when absent (about 20 s)."""
    out = native_path(cache_dir)
    if out.is_file() and not force:
        return out
    with _build_lock:
        if out.is_file() and not force:
            return out
        compiler = _compiler(cxx)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{LIB_NAME}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        cmd = [compiler, str(SOURCE), "-o", tmp, *compile_flags()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise NativeBuildError(f"building {LIB_NAME} failed ({' '.join(cmd)}):\n{proc.stderr[-4000:]}")
            os.chmod(tmp, 0o755)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return out


# --- the loaded library --------------------------------------------------------
class _Device(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("sm_count", ctypes.c_int32), ("cc_major", ctypes.c_int32),
                ("cc_minor", ctypes.c_int32), ("driver_version", ctypes.c_int32)]


@dataclass(frozen=True)
class DeviceSpec:
    """A GPU description to check a package against instead of the device present."""

    name: str
    sm_count: int
    capability: tuple[int, int]
    driver_version: int = 0

    def to_c(self) -> _Device:
        return _Device(self.name.encode(), self.sm_count, self.capability[0], self.capability[1], self.driver_version)


_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    c = ctypes
    lib.aotgemm_aoti_abi_version.restype = c.c_int
    lib.aotgemm_aoti_check.argtypes = [c.c_char_p, c.c_char_p, c.c_int, c.POINTER(_Device), c.c_uint, c.c_char_p, c.c_size_t]
    lib.aotgemm_aoti_check.restype = c.c_int
    lib.aotgemm_aoti_init.argtypes = [c.c_char_p, c.c_char_p, c.c_int, c.POINTER(_Device), c.c_char_p, c.c_uint,
                                      c.c_char_p, c.c_size_t]
    lib.aotgemm_aoti_init.restype = c.c_int
    lib.aotgemm_aoti_initialized.restype = c.c_int
    lib.aotgemm_aoti_counter.argtypes = [c.c_char_p]
    lib.aotgemm_aoti_counter.restype = c.c_int64
    lib.aotgemm_aoti_reset_counters.restype = None
    lib.aotgemm_aoti_last_error.restype = c.c_char_p
    lib.aotgemm_aoti_lookup.argtypes = [c.c_char_p, c.c_int64, c.c_int64, c.c_int64]
    lib.aotgemm_aoti_lookup.restype = c.c_char_p
    lib.aotgemm_aoti_describe.argtypes = [c.c_char_p, c.c_size_t]
    lib.aotgemm_aoti_describe.restype = c.c_int
    lib.aotgemm_aoti_read_meta.argtypes = [c.c_char_p, c.c_char_p, c.c_size_t, c.c_char_p, c.c_size_t]
    lib.aotgemm_aoti_read_meta.restype = c.c_int
    return lib


def load_native(*, cxx: str | None = None, cache_dir: str | os.PathLike | None = None, build: bool = True) -> ctypes.CDLL:
    """Load libaotgemm_aoti into this process (RTLD_GLOBAL), building it first if needed and allowed.

    A package's model .so names the library (DT_NEEDED libaotgemm_aoti.so);
    once loaded here, the dynamic loader resolves that name to this copy.
    """
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        import torch  # noqa: F401  (libtorch_cpu and libc10 must be loaded first)

        path = build_native(cxx=cxx, cache_dir=cache_dir) if build else native_path(cache_dir)
        if not path.is_file():
            raise NativeBuildError(f"{path} is not built; call aotgemm.aoti.build_native() on a machine with g++")
        try:
            lib = ctypes.CDLL(str(path), mode=os.RTLD_NOW | os.RTLD_GLOBAL)
        except OSError as e:
            raise NativeBuildError(f"cannot load {path}: {e}") from None
        _declare(lib)
        if lib.aotgemm_aoti_abi_version() != ABI_VERSION:
            raise NativeBuildError(f"{path} has ABI version {lib.aotgemm_aoti_abi_version()}, expected {ABI_VERSION}")
        _lib = lib
        return lib


def loaded() -> ctypes.CDLL | None:
    return _lib


def _enc(s: str | os.PathLike | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def check(lib: ctypes.CDLL, package: str | os.PathLike, bundle: str | os.PathLike | None, device_index: int,
          device: DeviceSpec | None, flags: int) -> str:
    """aotgemm_aoti_check; raises the mapped error, returns the non-strict warning ("" if none)."""
    buf = ctypes.create_string_buffer(4096)
    dev = ctypes.pointer(device.to_c()) if device else None
    rc = lib.aotgemm_aoti_check(_enc(package), _enc(bundle), device_index, dev, flags, buf, len(buf))
    raise_for_code(rc, buf.value.decode(errors="replace"))
    return buf.value.decode(errors="replace")


def init(lib: ctypes.CDLL, package: str | os.PathLike, bundle: str | os.PathLike | None, device_index: int,
         device: DeviceSpec | None, cache_dir: str | os.PathLike | None, flags: int) -> str:
    buf = ctypes.create_string_buffer(4096)
    dev = ctypes.pointer(device.to_c()) if device else None
    rc = lib.aotgemm_aoti_init(_enc(package), _enc(bundle), device_index, dev, _enc(cache_dir), flags, buf, len(buf))
    raise_for_code(rc, buf.value.decode(errors="replace"))
    return buf.value.decode(errors="replace")


def counters(lib: ctypes.CDLL) -> dict[str, int]:
    return {name: int(lib.aotgemm_aoti_counter(name.encode())) for name in COUNTERS}


def describe(lib: ctypes.CDLL) -> str:
    buf = ctypes.create_string_buffer(8192)
    lib.aotgemm_aoti_describe(buf, len(buf))
    return buf.value.decode(errors="replace")


def read_meta(lib: ctypes.CDLL, package: str | os.PathLike) -> str:
    out = ctypes.create_string_buffer(1 << 22)
    err = ctypes.create_string_buffer(4096)
    rc = lib.aotgemm_aoti_read_meta(_enc(package), out, len(out), err, len(err))
    raise_for_code(rc, err.value.decode(errors="replace"))
    return out.value.decode()


if __name__ == "__main__":  # python -m aotgemm.aoti.native: build and print the path
    print(build_native(cxx=sys.argv[1] if len(sys.argv) > 1 else None))
