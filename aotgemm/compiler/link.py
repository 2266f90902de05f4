"""Link the kernel objects of one (architecture, GPU model) into one shared library.

Two link modes (docs/bundle-format.md, "Environment"):

- "dsl-runtime": the objects link against libcute_dsl_runtime.so, as the
  DSL's own AOT recipe does; the machine that loads the library then needs
  that 42 MB file, which ships only inside the compiler wheel.
- "static-runtime": the DSL's static runtime archive is linked in, with the
  two error helpers it lacks (native/dsl_runtime_helpers.c); the library then
  needs only libcudart (which torch has already loaded) and libtvm_ffi.

The same objects in the same order give the same bytes (checked in tests),
which is what makes a rebuild from the cache byte-identical.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .. import config
from ..errors import LinkError

NATIVE_DIR = Path(__file__).resolve().parent.parent / "native"


def _dist_file(dist: str, suffix: str) -> Path | None:
    try:
        files = md.files(dist) or []
    except md.PackageNotFoundError:
        return None
    for f in files:
        if str(f).endswith(suffix):
            return Path(f.locate()).resolve()
    return None


def dsl_lib_dir(cuda_major: int) -> Path:
    p = _dist_file(f"nvidia-cutlass-dsl-libs-cu{cuda_major}", f"cu{cuda_major}/lib/libcute_dsl_runtime.so")
    if p is None:
        raise LinkError(f"libcute_dsl_runtime.so not found: install nvidia-cutlass-dsl-libs-cu{cuda_major} "
                        "(pip install 'aotgemm[build]')")
    return p.parent


def tvm_ffi_lib_dir() -> Path:
    p = _dist_file("apache-tvm-ffi", "tvm_ffi/lib/libtvm_ffi.so")
    if p is None:
        raise LinkError("libtvm_ffi.so not found: install apache-tvm-ffi")
    return p.parent


def _run(cmd: list[str], cwd: str) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except OSError as e:  # the compiler vanished or is not executable after all
        raise LinkError(f"cannot run {cmd[0]}: {e.strerror or e}; set CXX to a working C++ compiler") from None
    if proc.returncode != 0:
        raise LinkError(f"link failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-4000:]}")


def link_library(objects: dict[str, Path], *, link_mode: str, cuda_major: int) -> bytes:
    """Link {symbol: object file} into one shared library and return its bytes."""
    if not objects:
        raise LinkError("no kernel objects to link")
    cxx = config.cxx()
    with tempfile.TemporaryDirectory(prefix="aotgemm-link-") as tmp:
        # Fixed names and order inside a fixed-layout directory: the output depends
        # only on the objects' bytes.
        names = []
        for i, symbol in enumerate(sorted(objects)):
            name = f"k{i:05d}.o"
            shutil.copyfile(objects[symbol], os.path.join(tmp, name))
            names.append(name)
        cmd = [cxx, "-shared", "-o", "kernels.so", *names]
        if link_mode == "dsl-runtime":
            cmd += [f"-L{dsl_lib_dir(cuda_major)}", "-lcute_dsl_runtime"]
        elif link_mode == "static-runtime":
            _run([cxx, "-x", "c", "-c", "-O2", "-fPIC", str(NATIVE_DIR / "dsl_runtime_helpers.c"),
                  "-o", "helpers.o"], tmp)
            # The library must name libcudart.so.<major> as a dependency without the
            # build host having CUDA: link against a stub carrying only that soname
            # (as CUDA's own stubs/ do). At run time the real one, already loaded
            # by torch, is found by soname.
            os.mkdir(os.path.join(tmp, "stub"))
            soname = f"libcudart.so.{cuda_major}"
            Path(tmp, "stub", "empty.c").write_text("void aotgemm_cudart_stub(void) {}\n")
            _run([cxx, "-x", "c", "-shared", "-fPIC", "-o", f"stub/{soname}", f"-Wl,-soname,{soname}",
                  "stub/empty.c"], tmp)
            cmd += ["helpers.o", str(dsl_lib_dir(cuda_major) / "libcuda_dialect_runtime_static.a"),
                    "-Lstub", "-Wl,--no-as-needed", f"-l:{soname}", "-Wl,--as-needed"]
        else:
            raise LinkError(f"unknown link mode {link_mode!r}")
        cmd += [f"-L{tvm_ffi_lib_dir()}", "-ltvm_ffi", "-Wl,-rpath,$ORIGIN", "-Wl,--build-id=sha1"]
        _run(cmd, tmp)
        return Path(tmp, "kernels.so").read_bytes()
