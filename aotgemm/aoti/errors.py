"""Errors of the AOTInductor integration, on top of aotgemm/errors.py.

Each return code of libaotgemm_aoti maps to exactly one class here (see
`aotgemm.aoti.native.raise_for_code`), so Python callers can tell a missing
bundle from a corrupt one or a wrong GPU without parsing messages.
"""

from __future__ import annotations

from ..errors import AotGemmError, BundleError, EnvironmentMismatch


class AotiError(AotGemmError):
    """Base class of the AOTInductor integration's own errors."""


class PackageError(AotiError):
    """The .pt2 file cannot be read, or was not made by aotgemm.aoti.compile."""


class BundleIntegrityError(BundleError):
    """The bundle is not the one the package was built with, or it is damaged."""


class WrongGpu(EnvironmentMismatch):
    """The package's bundle has no kernels for this GPU model."""


class DriverTooOld(EnvironmentMismatch):
    """The CUDA driver is older than the kernel library needs."""


class AotiStateError(AotiError):
    """Bad arguments, or the process already serves another bundle."""


class NativeBuildError(AotiError):
    """libaotgemm_aoti could not be built (no compiler, missing headers) or loaded."""


class UnsupportedModel(AotiError):
    """The model or its example inputs cannot be compiled by aotgemm.aoti.compile."""
