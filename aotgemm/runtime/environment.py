"""Can this machine run a bundle? Say exactly what does not match.

`check_environment(index)` compares the facts of this machine (GPU model,
CUDA driver, torch's CUDA runtime, apache-tvm-ffi, the CuTe DSL runtime
library) with what the bundle's target for this GPU recorded in
`target.environment` (docs/bundle-format.md, "Environment").

The machine facts are gathered by `MachineFacts.detect()` without the CuTe
DSL and without importing tvm_ffi; tests inject their own `MachineFacts`.
Nothing here raises for a missing GPU: "no GPU" is a problem like the others,
so `aotgemm verify --env` prints one clean line on a CPU machine. A `device`
argument that names no CUDA device raises InvalidDevice.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field

from ..bundle.format import BundleIndex, Target
from ..errors import InvalidDevice
from ..gpus import GPU_MODELS, GpuModel, identify

TVM_FFI_DIST = "apache-tvm-ffi"


def format_driver(version: int) -> str:
    """13000 -> "13.0", 12080 -> "12.8" (the cuDriverGetVersion encoding)."""
    return f"{version // 1000}.{(version % 1000) // 10}"


def _major_minor(version: str | None) -> tuple[int, int] | None:
    m = re.match(r"\s*v?(\d+)\.(\d+)", str(version or ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


def _cuda_major(version: str | None) -> int | None:
    m = re.match(r"\s*(\d+)", str(version or ""))
    return int(m.group(1)) if m else None


def driver_version_from_libcuda() -> tuple[int | None, str]:
    """(cuDriverGetVersion(), "") or (None, why). Needs no CUDA context and no DSL."""
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        return None, f"libcuda.so.1 cannot be loaded: {e}"
    v = ctypes.c_int(0)
    try:
        rc = lib.cuDriverGetVersion(ctypes.byref(v))
    except AttributeError:
        return None, "libcuda.so.1 has no cuDriverGetVersion"
    if rc != 0:
        return None, f"cuDriverGetVersion returned error {rc}"
    return v.value, ""


@dataclass(frozen=True)
class MachineFacts:
    """What this machine has, as far as running a bundle goes.

    `gpu_name is None` means no usable GPU; `no_gpu_reason` says why.
    """

    gpu_name: str | None = None
    sm_count: int | None = None
    capability: tuple[int, int] | None = None
    driver_version: int | None = None  # cuDriverGetVersion encoding, e.g. 13000
    driver_error: str = ""  # why driver_version is None
    torch_version: str = ""
    torch_cuda: str | None = None  # torch.version.cuda, e.g. "13.0"; None on CPU builds
    tvm_ffi_version: str | None = None  # installed apache-tvm-ffi, None when missing
    dsl_runtime_lib: str | None = None  # an existing libcute_dsl_runtime.so, or None
    dsl_runtime_error: str = ""  # why dsl_runtime_lib is None
    no_gpu_reason: str = ""
    device_index: int | None = None

    @classmethod
    def detect(cls, device=None) -> MachineFacts:
        """Gather the facts for `device` (an index, "cuda:N", a torch.device; default: the current one)."""
        import importlib.metadata as md

        import torch

        from .library import find_dsl_runtime

        wanted = device_index_arg(device)  # a bad argument is the caller's error, GPU or not
        try:
            tvm_ffi_version = md.version(TVM_FFI_DIST)
        except md.PackageNotFoundError:
            tvm_ffi_version = None
        torch_cuda = torch.version.cuda
        dsl_lib, dsl_err = find_dsl_runtime(_cuda_major(torch_cuda))
        common = dict(torch_version=torch.__version__, torch_cuda=torch_cuda, tvm_ffi_version=tvm_ffi_version,
                      dsl_runtime_lib=dsl_lib, dsl_runtime_error=dsl_err)
        if torch_cuda is None:
            return cls(no_gpu_reason=f"torch {torch.__version__} is a CPU-only build (torch.version.cuda is None)",
                       **common)
        try:
            available = torch.cuda.is_available()
        except Exception as e:  # a broken driver install
            return cls(no_gpu_reason=f"torch.cuda.is_available() failed: {e}", **common)
        if not available:
            return cls(no_gpu_reason="torch.cuda.is_available() is False (no CUDA device is visible to this process)",
                       **common)
        count = torch.cuda.device_count()
        index = wanted if wanted is not None else torch.cuda.current_device()
        if not 0 <= index < count:
            return cls(no_gpu_reason=f"device cuda:{index} does not exist (this process sees {count} CUDA device(s))",
                       **common)
        props = torch.cuda.get_device_properties(index)
        driver, driver_err = driver_version_from_libcuda()
        return cls(gpu_name=props.name, sm_count=props.multi_processor_count, capability=(props.major, props.minor),
                   driver_version=driver, driver_error=driver_err, device_index=index, **common)


def device_index_arg(device) -> int | None:
    """The CUDA device index the `device` argument names; None for "the current one" (None, "cuda").

    Checks the argument only (no CUDA call): anything but a CUDA device raises
    InvalidDevice. Whether the device exists is a fact of the machine, reported
    by `MachineFacts.detect` as "no GPU".
    """
    import torch

    if device is None:
        return None
    if isinstance(device, int) and not isinstance(device, bool):
        if device < 0:
            raise InvalidDevice(f"device={device}: a CUDA device index is >= 0; pass e.g. 0, 'cuda:0', "
                                "or None for the current device")
        return device
    try:
        d = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as e:
        raise InvalidDevice(f"device={device!r} is not a device ({e}); pass e.g. 0, 'cuda:0', "
                            "or None for the current device") from None
    if d.type != "cuda":
        raise InvalidDevice(f"device={device!r}: aotgemm serves CUDA devices only; pass e.g. 0, 'cuda:0', "
                            "or None for the current device")
    return d.index


@dataclass(frozen=True)
class EnvironmentReport:
    usable: bool
    target: Target | None
    gpu: GpuModel | None
    problems: tuple[str, ...]
    facts: MachineFacts | None = field(default=None, compare=False)

    def describe(self) -> str:
        if self.usable:
            f, t, g = self.facts, self.target, self.gpu
            env = t.env
            parts = [
                f"environment: usable: {f.gpu_name!r} is {g.name} ({g.arch}, {f.sm_count} SMs); "
                f"target {t.gpu}: {len(t.kernels)} kernel(s), {len(t.dispatch)} dispatch entries, "
                f"link mode {env.get('link_mode')}",
                f"CUDA driver {format_driver(f.driver_version) if f.driver_version else 'unknown'}, "
                f"torch {f.torch_version} (CUDA {f.torch_cuda}), apache-tvm-ffi {f.tvm_ffi_version}",
            ]
            return "\n  ".join(parts)
        n = len(self.problems)
        return (f"environment: NOT usable ({n} problem{'s' if n != 1 else ''}):\n"
                + "\n".join(f"  - {p}" for p in self.problems))


def _targets_text(index: BundleIndex) -> str:
    if not index.targets:
        return "it has none"
    return "it has: " + ", ".join(f"{t.gpu} ({t.arch}, {t.sm_count} SMs)" for t in index.targets)


def check_environment(index: BundleIndex, device=None, *, facts: MachineFacts | None = None) -> EnvironmentReport:
    """Whether this machine (or `facts`) can run `index`'s target for its GPU, and if not, why."""
    if facts is None:
        facts = MachineFacts.detect(device)

    def report(problems, target=None, gpu=None) -> EnvironmentReport:
        return EnvironmentReport(not problems, target, gpu, tuple(problems), facts)

    if facts.gpu_name is None:
        return report([f"no GPU: {facts.no_gpu_reason or 'no CUDA device'}"])
    cap = facts.capability or (0, 0)
    gpu = identify(facts.gpu_name, facts.sm_count or 0, cap)
    if gpu is None:
        return report([f"GPU not in aotgemm's table: {facts.gpu_name!r}, {facts.sm_count} SMs, "
                       f"compute capability {cap[0]}.{cap[1]}; known models: {', '.join(GPU_MODELS)} "
                       "(aotgemm/gpus.py)"])
    target = index.target(gpu.name)
    if target is None:
        return report([f"the bundle has no target for this GPU ({gpu.name}, {facts.gpu_name!r}); "
                       f"{_targets_text(index)}"], gpu=gpu)

    problems: list[str] = []
    env = target.env
    if target.arch != gpu.arch or target.sm_count != facts.sm_count:
        problems.append(f"the bundle's {target.gpu} target is for {target.arch} with {target.sm_count} SMs; "
                        f"this GPU is {gpu.arch} with {facts.sm_count} SMs")

    need = env.get("cuda_driver_min")
    if need is not None:
        if facts.driver_version is None:
            problems.append(f"CUDA driver version unknown ({facts.driver_error or 'not detected'}); "
                            f"the library needs {format_driver(int(need))} ({need}) or newer")
        elif facts.driver_version < int(need):
            problems.append(f"CUDA driver {format_driver(facts.driver_version)} ({facts.driver_version}) is older "
                            f"than the {format_driver(int(need))} ({need}) the library needs (cuda_driver_min); "
                            "upgrade the NVIDIA driver")

    rt_major = env.get("cuda_runtime_major")
    if rt_major is not None:
        have = _cuda_major(facts.torch_cuda)
        if have != int(rt_major):
            problems.append(f"torch's CUDA runtime is {facts.torch_cuda} (major {have}) but the library links "
                            f"against CUDA {rt_major} (cuda_runtime_major); install a torch build for CUDA {rt_major}")

    recorded = env.get("tvm_ffi")
    want = _major_minor(recorded)
    if want is not None:
        pin = f"pip install 'apache-tvm-ffi=={want[0]}.{want[1]}.*'"
        if facts.tvm_ffi_version is None:
            problems.append(f"apache-tvm-ffi is not installed; the library exports the ABI of {recorded} ({pin})")
        elif _major_minor(facts.tvm_ffi_version) != want:
            got = _major_minor(facts.tvm_ffi_version)
            got_s = f"{got[0]}.{got[1]}" if got else "?"
            problems.append(f"apache-tvm-ffi {facts.tvm_ffi_version} is installed but the library exports the ABI "
                            f"of {recorded}: major.minor {got_s} != {want[0]}.{want[1]} ({pin})")

    if env.get("link_mode") == "dsl-runtime" and facts.dsl_runtime_lib is None:
        major = rt_major if rt_major is not None else 13
        problems.append("link_mode 'dsl-runtime' needs libcute_dsl_runtime.so, which was not found "
                        f"({facts.dsl_runtime_error or 'not searched'}); pip install nvidia-cutlass-dsl-libs-cu{major} "
                        "or set AOTGEMM_DSL_RUNTIME_LIB to the file's path")
    return report(problems, target, gpu)
