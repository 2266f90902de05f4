"""The bundle file: format (docs/bundle-format.md), writer and validating reader."""

from .format import CUBLAS, FORMAT_VERSION, Blob, BundleIndex, DispatchEntry, Kernel, Layer, Target, bucket_for
from .io import BundleFile, atomic_write_bytes, encode_bundle, open_bundle, write_bundle

__all__ = [
    "CUBLAS", "FORMAT_VERSION", "Blob", "BundleIndex", "DispatchEntry", "Kernel", "Layer", "Target", "bucket_for",
    "BundleFile", "atomic_write_bytes", "encode_bundle", "open_bundle", "write_bundle",
]
