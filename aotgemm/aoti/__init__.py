"""AOTInductor packages whose GEMMs call a bundle's kernels, with nothing compiled at startup.

    import aotgemm.aoti
    aotgemm.aoti.compile(model, (x,), "llama.agb", "model.pt2")   # build machine
    runner = aotgemm.aoti.load("model.pt2")                       # serving machine
    y = runner(x)

C++ programs load the same package with torch::inductor::AOTIModelPackageLoader
after calling aotgemm_aoti_init (examples/cpp). Design: docs/aoti.md.
Importing this package registers no op and starts no compiler.
"""

from .errors import (
    AotiError,
    AotiStateError,
    BundleIntegrityError,
    DriverTooOld,
    NativeBuildError,
    PackageError,
    UnsupportedModel,
    WrongGpu,
)
from .native import DeviceSpec, build_native, native_path
from .package import by_reason, check, compile, counters, describe, load, lookup, package_info, reset_counters

__all__ = [
    "compile", "load", "check", "counters", "by_reason", "reset_counters", "lookup", "describe", "package_info",
    "build_native", "native_path", "DeviceSpec",
    "AotiError", "AotiStateError", "BundleIntegrityError", "DriverTooOld", "NativeBuildError", "PackageError",
    "UnsupportedModel", "WrongGpu",
]
