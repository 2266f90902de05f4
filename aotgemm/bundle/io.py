"""Write and read bundle files (docs/bundle-format.md).

The reader does every check in one pass, in the order the spec lists, and
raises one error class per check. It bounds every size before allocating,
and never executes anything it reads.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import msgpack
import zstandard

from ..errors import (
    BlobChecksumMismatch,
    BlobDecompressError,
    BundleError,
    BundleNotFound,
    DamagedHeader,
    IndexChecksumMismatch,
    IndexTooLarge,
    MalformedIndex,
    NoSuchBlob,
    NotABundle,
    TrailingData,
    TruncatedBundle,
    UnsupportedFormatVersion,
)
from .format import (
    FORMAT_VERSION,
    HEADER,
    HEADER_SIZE,
    MAGIC,
    MAX_INDEX_BYTES,
    ZSTD_LEVEL,
    Blob,
    BundleIndex,
)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never part of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)  # mkstemp makes it 0600: readable by its owner only
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def encode_bundle(index: BundleIndex, blobs: dict[str, bytes]) -> bytes:
    """The bytes of a bundle: `index` with its `blobs` field filled in from `blobs` (name -> content).

    Blobs are stored in name order, compressed with zstd at a fixed level on
    one thread, so the same input always gives the same bytes.
    """
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=False, write_content_size=True, threads=0)
    entries, stored = [], []
    for name in sorted(blobs):
        content = blobs[name]
        packed = compressor.compress(content)
        entries.append(Blob(name=name, stored_size=len(packed), size=len(content),
                            sha256=_sha256(packed), content_sha256=_sha256(content)))
        stored.append(packed)
    full = replace(index, blobs=tuple(entries))
    # Round-trip through the validator: the writer never emits what the reader would refuse.
    obj = full.to_obj()
    BundleIndex.from_obj(obj)
    index_bytes = msgpack.packb(obj, use_bin_type=True)
    header = HEADER.pack(MAGIC, FORMAT_VERSION, 0, len(index_bytes), hashlib.sha256(index_bytes).digest())
    return b"".join([header, index_bytes, *stored])


def write_bundle(path: str | os.PathLike, index: BundleIndex, blobs: dict[str, bytes]) -> BundleIndex:
    data = encode_bundle(index, blobs)
    atomic_write_bytes(path, data)
    return read_index_bytes(data)[0]


@dataclass(frozen=True)
class BundleFile:
    """A bundle whose header, index and layout have been validated."""

    path: Path
    index: BundleIndex
    data_offset: int
    offsets: dict[str, int]  # blob name -> offset in the data section

    def stored_bytes(self, name: str) -> bytes:
        if name not in self.offsets:  # not index.blob's KeyError
            raise NoSuchBlob(f"{self.path}: no blob named {name!r}; the bundle holds "
                             f"{', '.join(repr(b.name) for b in self.index.blobs) or 'none'}")
        blob = self.index.blob(name)
        with open(self.path, "rb") as f:
            f.seek(self.data_offset + self.offsets[name])
            data = f.read(blob.stored_size)
        if len(data) != blob.stored_size:
            raise TruncatedBundle(f"{self.path}: blob {name!r} is cut short (the file changed while reading?)")
        return data

    def blob(self, name: str) -> bytes:
        """The decompressed content of blob `name`, with both checksums verified (NoSuchBlob if absent)."""
        stored = self.stored_bytes(name)
        return decode_blob(self.index.blob(name), stored, str(self.path))

    def verify(self) -> None:
        for b in self.index.blobs:
            self.blob(b.name)


_DECOMPRESS_CHUNK = 1 << 20


def decode_blob(blob: Blob, stored: bytes, where: str) -> bytes:
    if _sha256(stored) != blob.sha256:
        raise BlobChecksumMismatch(f"{where}: blob {blob.name!r}: SHA-256 of the stored bytes does not match the index "
                                   "(the file is corrupted: rebuild or re-download it)")
    try:
        # python-zstandard sizes its output buffer from the frame header when the
        # header has a content size: check that against the index first, so a
        # crafted frame cannot make us allocate more than the declared size.
        declared = zstandard.get_frame_parameters(stored).content_size
        if declared != zstandard.CONTENTSIZE_UNKNOWN and declared != blob.size:
            raise BlobDecompressError(f"{where}: blob {blob.name!r}: frame declares {declared} bytes, "
                                      f"the index {blob.size}")
        # Not `decompress(max_output_size=...)`: it allocates the declared size
        # up front, so a few crafted bytes claiming 2 GiB would cost 2 GiB.
        # Stream instead: memory grows with what the frame really yields.
        chunks, total = [], 0
        write_size = min(_DECOMPRESS_CHUNK, blob.size + 1)
        for chunk in zstandard.ZstdDecompressor().read_to_iter(stored, write_size=write_size):
            total += len(chunk)
            if total > blob.size:
                raise BlobDecompressError(f"{where}: blob {blob.name!r} decompresses to more than the "
                                          f"{blob.size} bytes the index declares")
            chunks.append(chunk)
        if total < blob.size:
            raise BlobDecompressError(f"{where}: blob {blob.name!r} decompresses to {total} bytes, fewer than the "
                                      f"{blob.size} the index declares (truncated frame?)")
        content = b"".join(chunks)
    except zstandard.ZstdError as e:
        raise BlobDecompressError(f"{where}: blob {blob.name!r} does not decompress: {e}") from None
    if len(content) != blob.size or _sha256(content) != blob.content_sha256:
        raise BlobChecksumMismatch(f"{where}: blob {blob.name!r}: decompressed content does not match the index")
    return content


# A format version above FORMAT_VERSION + this many is no aotgemm's: the field is damaged (a flipped
# byte of 1 reads 257 or 16777217). Versions grow by one per incompatible change, slowly.
VERSION_MARGIN = 16


def _index_version(head: bytes, read_index: Callable[[int], bytes | None]) -> int | None:
    """The format_version the index records, when the index can be read as this version lays it out.

    Evidence only, for a header whose version field disagrees with this reader:
    None unless the declared length is within bounds, the bytes are there and
    their SHA-256 matches the header's, and they decode to a map with an integer
    "format_version". Bounded like the real read; never raises.
    """
    _, _, _, index_length, index_sha = HEADER.unpack(head[:HEADER_SIZE])
    if index_length > MAX_INDEX_BYTES:
        return None
    index_bytes = read_index(index_length)
    if index_bytes is None or len(index_bytes) != index_length or hashlib.sha256(index_bytes).digest() != index_sha:
        return None
    n = len(index_bytes)
    try:
        obj = msgpack.unpackb(index_bytes, raw=False, strict_map_key=True, use_list=True, max_str_len=n,
                              max_bin_len=n, max_array_len=n, max_map_len=n, max_ext_len=0)
    except (ValueError, msgpack.UnpackException, msgpack.ExtraData):  # as _decode_index: no evidence then
        return None
    v = obj.get("format_version") if isinstance(obj, dict) else None
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _check_version(version: int, head: bytes, where: str, read_index: Callable[[int], bytes | None]) -> None:
    if version == FORMAT_VERSION:
        return
    if not 1 <= version <= FORMAT_VERSION + VERSION_MARGIN:
        raise DamagedHeader(
            f"{where}: the header's format version field reads {version}, which no aotgemm writes "
            f"(this one reads version {FORMAT_VERSION}): the file is damaged; rebuild or re-download it")
    recorded = _index_version(head, read_index)
    if recorded is not None and recorded != version:
        # An intact index that records another version: the header's version field is what broke.
        raise DamagedHeader(
            f"{where}: the header says format version {version} but the index, whose checksum is intact, "
            f"says {recorded}: the header is damaged; rebuild or re-download the bundle")
    raise UnsupportedFormatVersion(
        f"{where}: bundle format version {version}; this aotgemm reads version {FORMAT_VERSION}"
        + (" (upgrade aotgemm to read it)" if version > FORMAT_VERSION else
           " (an older format: rebuild the bundle with this aotgemm's `aotgemm build`)")
    )


def _parse_header(head: bytes, where: str, read_index: Callable[[int], bytes | None]) -> tuple[int, bytes]:
    if len(head) < len(MAGIC) and MAGIC.startswith(head):
        # Empty, or cut inside the magic: a bundle cut short is no foreign file.
        raise TruncatedBundle(f"{where}: file is {len(head)} bytes, shorter than the {HEADER_SIZE}-byte header")
    if head[: len(MAGIC)] != MAGIC:
        raise NotABundle(f"{where}: not an aotgemm bundle (bad magic); was it produced by `aotgemm build`?")
    if len(head) < HEADER_SIZE:
        raise TruncatedBundle(f"{where}: file is {len(head)} bytes, shorter than the {HEADER_SIZE}-byte header")
    _, version, flags, index_length, index_sha = HEADER.unpack(head[:HEADER_SIZE])
    _check_version(version, head, where, read_index)
    if flags != 0:
        raise MalformedIndex(f"{where}: header flags are {flags:#x}; format version {FORMAT_VERSION} requires 0")
    if index_length > MAX_INDEX_BYTES:
        raise IndexTooLarge(f"{where}: header declares a {index_length}-byte index; the limit is {MAX_INDEX_BYTES}")
    return index_length, index_sha


def _decode_index(index_bytes: bytes, index_sha: bytes, where: str) -> BundleIndex:
    if hashlib.sha256(index_bytes).digest() != index_sha:
        raise IndexChecksumMismatch(f"{where}: index checksum does not match (the file is corrupted)")
    n = len(index_bytes)
    try:
        obj = msgpack.unpackb(index_bytes, raw=False, strict_map_key=True, use_list=True,
                              max_str_len=n, max_bin_len=n, max_array_len=n, max_map_len=n,
                              max_ext_len=0)
    except (ValueError, msgpack.UnpackException, msgpack.ExtraData) as e:
        raise MalformedIndex(f"{where}: index is not valid msgpack: {e}") from None
    try:
        return BundleIndex.from_obj(obj)
    except BundleError as e:  # MalformedIndex, UnsafeName, BlobTooLarge: all say which file
        raise type(e)(f"{where}: {e}") from None


def _layout(index: BundleIndex, data_size: int, where: str) -> dict[str, int]:
    offsets, pos = {}, 0
    for b in index.blobs:
        offsets[b.name] = pos
        pos += b.stored_size
    if pos > data_size:
        raise TruncatedBundle(f"{where}: the index lists {pos} bytes of blobs but the file holds {data_size}; "
                              "the file is truncated (incomplete download or copy?)")
    if pos < data_size:
        raise TrailingData(f"{where}: {data_size - pos} bytes follow the last blob; the file is corrupted")
    return offsets


def read_index_bytes(data: bytes, where: str = "<bytes>") -> tuple[BundleIndex, dict[str, int]]:
    index_length, index_sha = _parse_header(data[:HEADER_SIZE], where,
                                            lambda n: data[HEADER_SIZE:HEADER_SIZE + n])
    if HEADER_SIZE + index_length > len(data):
        raise TruncatedBundle(f"{where}: the index runs past the end of the file; the file is truncated")
    index = _decode_index(data[HEADER_SIZE:HEADER_SIZE + index_length], index_sha, where)
    return index, _layout(index, len(data) - HEADER_SIZE - index_length, where)


def open_bundle(path: str | os.PathLike, *, verify_blobs: bool = False) -> BundleFile:
    """Validate a bundle's header, index and layout (and, if asked, every blob)."""
    path = Path(path)
    where = str(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise BundleNotFound(f"{where}: no such bundle file") from None
    except IsADirectoryError:
        raise NotABundle(f"{where}: is a directory, not a bundle file") from None
    except NotADirectoryError:
        raise BundleNotFound(f"{where}: no such bundle file (a parent is not a directory)") from None
    except OSError as e:
        raise BundleError(f"{where}: cannot open the bundle: {e.strerror or e}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        index_length, index_sha = _parse_header(
            f.read(HEADER_SIZE), where, lambda n: f.read(n) if HEADER_SIZE + n <= size else None)
        if HEADER_SIZE + index_length > size:
            raise TruncatedBundle(f"{where}: the index runs past the end of the file; the file is truncated")
        index = _decode_index(f.read(index_length), index_sha, where)
    data_offset = HEADER_SIZE + index_length
    bundle = BundleFile(path, index, data_offset, _layout(index, size - data_offset, where))
    if verify_blobs:
        bundle.verify()
    return bundle
