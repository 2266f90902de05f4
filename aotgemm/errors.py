"""One error type for the project, one subclass per thing that can go wrong.

Every message says what is wrong and what to do about it. Tests assert the
exact class, so callers can tell failures apart without parsing strings.
"""

from __future__ import annotations


class AotGemmError(Exception):
    """Base class of every error aotgemm raises on purpose."""


# --- manifests -------------------------------------------------------------
class ManifestError(AotGemmError):
    """A manifest file is malformed or asks for something unsupported."""


# --- bundles ---------------------------------------------------------------
class BundleError(AotGemmError):
    """A bundle file cannot be used. Subclasses say why."""


class BundleNotFound(BundleError):
    pass


class NotABundle(BundleError):
    """The file does not start with the aotgemm magic (a foreign file)."""


class UnsupportedFormatVersion(BundleError):
    """The bundle was written by a newer (or unknown) format version."""


class DamagedHeader(BundleError):
    """The header's format version is one no aotgemm writes (0, or far above this reader's), or disagrees with
    the intact index's: the file is damaged, not from the future."""


class TruncatedBundle(BundleError):
    """The file ends before the sizes recorded in it say it should."""


class TrailingData(BundleError):
    """The file has bytes after the last blob (concatenated or corrupted)."""


class IndexTooLarge(BundleError):
    """The header declares an index larger than the reader accepts."""


class IndexChecksumMismatch(BundleError):
    pass


class MalformedIndex(BundleError):
    """The index decodes but does not follow the format (field, type, range)."""


class UnsafeName(BundleError):
    """A name in the index could escape a directory or is otherwise unsafe."""


class BlobChecksumMismatch(BundleError):
    pass


class NoSuchBlob(BundleError):
    """A blob asked for by name is not in the bundle."""


class BlobTooLarge(BundleError):
    pass


class BlobDecompressError(BundleError):
    pass


# --- environment -----------------------------------------------------------
class EnvironmentMismatch(AotGemmError):
    """The bundle was not built for this machine (GPU, driver, libraries)."""


class NoGpu(EnvironmentMismatch):
    pass


class InvalidDevice(AotGemmError):
    """A `device` argument names no CUDA device ("cpu", a negative index, not a device at all)."""


# --- build side ------------------------------------------------------------
class BuildExtraMissing(AotGemmError):
    """The [build] extra (CuTe DSL, cutlass.operators, nvMatmulHeuristics) is not installed."""


class UnknownGpu(AotGemmError):
    pass


class NoCandidates(AotGemmError):
    """No kernel in the registry supports a GEMM of the manifest."""


class CompileError(AotGemmError):
    pass


class LinkError(AotGemmError):
    pass


class CompilerNotFound(AotGemmError):
    """No usable C++ compiler (CXX names none, or neither g++ nor c++ is on PATH): see config.cxx."""


# --- runtime ---------------------------------------------------------------
class KernelLibraryError(AotGemmError):
    """The bundle's kernel library could not be extracted or loaded."""


class UnsupportedInput(AotGemmError):
    """A tensor handed to an aotgemm op has a dtype, shape or layout it cannot serve."""


# --- problems ----------------------------------------------------------------
class UnsupportedProblem(AotGemmError):
    """A GEMM problem names a dtype, layout or epilogue aotgemm does not have."""


class UnknownSource(AotGemmError):
    """A build names a kernel source aotgemm does not have."""
