"""Corrupt, truncated, foreign and hostile bundles: each refused with its own error class.

docs/bundle-format.md, "Reading": the reader bounds every size before it
allocates, and raises one error class per check.
"""

from __future__ import annotations

import gc
import hashlib
import os
import random
import struct
import tracemalloc
import zlib

import bundle_samples as S
import msgpack
import pytest
import zstandard

from aotgemm.bundle import encode_bundle, open_bundle
from aotgemm.bundle.format import FORMAT_VERSION, MAGIC, MAX_BLOB_BYTES, MAX_INDEX_BYTES
from aotgemm.bundle.io import VERSION_MARGIN, read_index_bytes
from aotgemm.errors import (
    BlobChecksumMismatch,
    BlobDecompressError,
    BlobTooLarge,
    BundleError,
    BundleNotFound,
    DamagedHeader,
    IndexChecksumMismatch,
    IndexTooLarge,
    MalformedIndex,
    NotABundle,
    TrailingData,
    TruncatedBundle,
    UnsafeName,
    UnsupportedFormatVersion,
)

DATA = S.sample_bytes()
LAYOUT = S.sample_layout()
INDEX_END = LAYOUT["index"][1]
BLOB_NAMES = [n for n in LAYOUT if n not in ("header", "index")]


def _region(offset: int) -> str:
    for name, (lo, hi) in LAYOUT.items():
        if lo <= offset < hi:
            return name
    raise AssertionError(offset)


def expected_flip_error(offset: int, flipped: bytes) -> tuple[type, str]:
    """The error class (and a phrase of its message) a flip at `offset` must give."""
    if offset < 8:
        return NotABundle, "not an aotgemm bundle (bad magic)"
    if offset < 12:
        # A flipped version byte is damage, not a file from the future: either the value is one no
        # aotgemm writes, or the intact index records the real version.
        version = struct.unpack_from("<I", flipped, 8)[0]
        if 1 <= version <= FORMAT_VERSION + VERSION_MARGIN:
            return DamagedHeader, f"the header says format version {version} but the index, whose checksum is intact"
        return DamagedHeader, f"the header's format version field reads {version}, which no aotgemm writes"
    if offset < 16:
        return MalformedIndex, "header flags are"
    if offset < 24:
        length = struct.unpack_from("<Q", flipped, 16)[0]
        if length > MAX_INDEX_BYTES:
            return IndexTooLarge, f"header declares a {length}-byte index; the limit is {MAX_INDEX_BYTES}"
        if 56 + length > len(flipped):
            return TruncatedBundle, "the index runs past the end of the file"
        return IndexChecksumMismatch, "index checksum does not match"
    if offset < INDEX_END:
        return IndexChecksumMismatch, "index checksum does not match"
    return BlobChecksumMismatch, f"blob {_region(offset)!r}: SHA-256 of the stored bytes does not match"


def test_sample_regions():
    assert LAYOUT["header"] == (0, 56)
    assert len(BLOB_NAMES) == 2
    assert sorted(BLOB_NAMES) == sorted(S.sample_blobs())
    assert max(hi for _, hi in LAYOUT.values()) == len(DATA)


@pytest.mark.parametrize("mask", [0xFF, 0x01])
def test_every_single_byte_flip_is_caught(tmp_path, mask):
    """Flip each byte of the sample bundle in turn; `open_bundle(verify_blobs=True)` must name the failure."""
    path = tmp_path / "flip.agb"
    path.write_bytes(DATA)
    open_bundle(path, verify_blobs=True)  # sound before
    seen = {}
    fd = os.open(path, os.O_RDWR)
    try:
        for offset in range(len(DATA)):
            byte = bytes([DATA[offset] ^ mask])
            flipped = DATA[:offset] + byte + DATA[offset + 1:]
            os.pwrite(fd, byte, offset)
            try:
                open_bundle(path, verify_blobs=True)
            except BundleError as e:
                cls, phrase = expected_flip_error(offset, flipped)
                assert type(e) is cls, (offset, e)
                msg = str(e)
                assert msg.startswith(f"{path}: ") and phrase in msg, (offset, msg)
                assert "\n" not in msg
                seen[cls] = seen.get(cls, 0) + 1
            else:
                raise AssertionError(f"flip of byte {offset} (xor {mask:#x}) went unnoticed")
            finally:
                os.pwrite(fd, DATA[offset:offset + 1], offset)
    finally:
        os.close(fd)
    assert path.read_bytes() == DATA
    assert sum(seen.values()) == len(DATA)
    expected = {NotABundle, DamagedHeader, MalformedIndex, IndexChecksumMismatch, BlobChecksumMismatch}
    expected |= {IndexTooLarge} if mask == 0xFF else {TruncatedBundle}
    assert expected <= set(seen)


def test_every_single_byte_flip_is_caught_in_memory():
    """The same flips through the in-memory reader: header and index checks, no blob decode."""
    for offset in range(INDEX_END):
        flipped = bytearray(DATA)
        flipped[offset] ^= 0xFF
        with pytest.raises(BundleError) as e:
            read_index_bytes(bytes(flipped))
        assert type(e.value) is expected_flip_error(offset, bytes(flipped))[0]


# --- truncation ---------------------------------------------------------------------------
def _cut_points():
    (ilo, ihi), blobs = LAYOUT["index"], [LAYOUT[n] for n in BLOB_NAMES]
    return {
        "empty": (0, "file is 0 bytes, shorter than the 56-byte header"),
        "inside the magic": (4, "file is 4 bytes, shorter than the 56-byte header"),
        "inside the header": (30, "file is 30 bytes, shorter than the 56-byte header"),
        "one byte short of the header": (55, "file is 55 bytes, shorter than the 56-byte header"),
        "at the end of the header": (56, "the index runs past the end of the file; the file is truncated"),
        "inside the index": ((ilo + ihi) // 2, "the index runs past the end of the file; the file is truncated"),
        "one byte short of the index": (ihi - 1, "the index runs past the end of the file"),
        "at the end of the index": (ihi, f"the index lists {len(DATA) - ihi} bytes of blobs but the file holds 0"),
        "inside the first blob": ((blobs[0][0] + blobs[0][1]) // 2, "the file is truncated"),
        "between the blobs": (blobs[1][0], f"the file holds {blobs[1][0] - ihi}"),
        "inside the last blob": ((blobs[1][0] + blobs[1][1]) // 2, "(incomplete download or copy?)"),
        "last byte missing": (len(DATA) - 1, f"but the file holds {len(DATA) - 1 - ihi}"),
    }


@pytest.mark.parametrize("case", list(_cut_points()))
def test_truncated_file(tmp_path, case):
    cut, phrase = _cut_points()[case]
    path = tmp_path / "cut.agb"
    path.write_bytes(DATA[:cut])
    with pytest.raises(TruncatedBundle) as e:
        open_bundle(path)
    assert type(e.value) is TruncatedBundle
    assert str(e.value).startswith(f"{path}: ")
    assert phrase in str(e.value)
    with pytest.raises(TruncatedBundle):  # the in-memory reader agrees
        read_index_bytes(DATA[:cut])


@pytest.mark.parametrize("extra", [b"\x00", b"junk" * 100, DATA])
def test_trailing_data(tmp_path, extra):
    path = tmp_path / "long.agb"
    path.write_bytes(DATA + extra)
    with pytest.raises(TrailingData, match=rf"^{path}: {len(extra)} bytes follow the last blob; the file is corrupted$"):
        open_bundle(path)


# --- foreign files ------------------------------------------------------------------------
def _png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 64


def _zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("model.agb", DATA)
    return buf.getvalue()


FOREIGN = {
    "png": _png(),
    "zip": _zip(),
    "elf": b"\x7fELF\x02\x01\x01" + bytes(200),
    "random bytes": random.Random(1234).randbytes(4096),
    "short random bytes": b"\x13\x37\x00\xff\x42",
    "text": b"hello, I am a text file\n",
    "zstd frame": zstandard.ZstdCompressor().compress(DATA),
    "almost the magic": b"\x89AOTGEMX" + DATA[8:],
    "magic with a different case": b"\x89aotgemm" + DATA[8:],
}


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_foreign_file_is_not_a_bundle(tmp_path, kind):
    path = tmp_path / f"foreign.{kind.replace(' ', '_')}"
    path.write_bytes(FOREIGN[kind])
    with pytest.raises(NotABundle) as e:
        open_bundle(path, verify_blobs=True)
    assert type(e.value) is NotABundle
    assert str(e.value) == f"{path}: not an aotgemm bundle (bad magic); was it produced by `aotgemm build`?"


def test_directory_is_not_a_bundle(tmp_path):
    with pytest.raises(NotABundle, match=rf"^{tmp_path}: is a directory, not a bundle file$"):
        open_bundle(tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(BundleNotFound, match=rf"^{tmp_path}/nope\.agb: no such bundle file$"):
        open_bundle(tmp_path / "nope.agb")


def test_path_through_a_file(tmp_path):
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(BundleNotFound, match=r"no such bundle file \(a parent is not a directory\)"):
        open_bundle(tmp_path / "file" / "m.agb")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path):
    path = S.write_sample_bundle(tmp_path / "m.agb")
    path.chmod(0)
    with pytest.raises(BundleError, match=r"cannot open the bundle: Permission denied"):
        open_bundle(path)


# --- versions and flags -------------------------------------------------------------------
def _with_header(version: int = FORMAT_VERSION, flags: int = 0) -> bytes:
    return DATA[:8] + struct.pack("<II", version, flags) + DATA[16:]


def _bundle_of_version(version: int) -> bytes:
    """What another aotgemm might write: its version in the header and in the (intact) index."""
    obj = S.sample_obj()
    obj["format_version"] = version
    return S.craft_bundle(obj, S.sample_stored_data(), version=version)


@pytest.mark.parametrize("ahead", [1, 6, VERSION_MARGIN])
def test_future_format_version(tmp_path, ahead):
    version = FORMAT_VERSION + ahead
    path = tmp_path / "future.agb"
    path.write_bytes(_bundle_of_version(version))
    with pytest.raises(UnsupportedFormatVersion) as e:
        open_bundle(path)
    assert str(e.value) == (f"{path}: bundle format version {version}; this aotgemm reads version {FORMAT_VERSION} "
                            "(upgrade aotgemm to read it)")


def test_older_version_is_refused_with_a_rebuild_hint(tmp_path):
    """v1 bundles (no kernel sources, no epilogues) are not read: the message says to rebuild.

    A real v1 file records version 1 in its index too (version 0, which no aotgemm wrote, is damage)."""
    path = tmp_path / "old.agb"
    path.write_bytes(_bundle_of_version(1))
    with pytest.raises(UnsupportedFormatVersion) as e:
        open_bundle(path)
    assert str(e.value) == (f"{path}: bundle format version 1; this aotgemm reads version {FORMAT_VERSION} "
                            "(an older format: rebuild the bundle with this aotgemm's `aotgemm build`)")


@pytest.mark.parametrize("version", [0, FORMAT_VERSION + VERSION_MARGIN + 1, 257, 2**24 + 1, 2**32 - 1])
def test_implausible_format_version_is_damage(tmp_path, version):
    """Version 257 was reported as "upgrade aotgemm to read it"; it is a flipped byte of 1."""
    path = tmp_path / "flipped.agb"
    path.write_bytes(_bundle_of_version(version))
    with pytest.raises(DamagedHeader) as e:
        open_bundle(path)
    assert str(e.value) == (f"{path}: the header's format version field reads {version}, which no aotgemm writes "
                            f"(this one reads version {FORMAT_VERSION}): the file is damaged; rebuild or re-download it")
    with pytest.raises(DamagedHeader):
        read_index_bytes(path.read_bytes())


@pytest.mark.parametrize("ahead", [1, 2, 8, VERSION_MARGIN])
def test_plausible_version_that_the_intact_index_contradicts_is_damage(tmp_path, ahead):
    """A flip that lands on a plausible future version (1 ^ 2 = 3): the intact index says which version it is."""
    version = FORMAT_VERSION + ahead
    path = tmp_path / "flipped.agb"
    path.write_bytes(_with_header(version=version))
    with pytest.raises(DamagedHeader) as e:
        open_bundle(path)
    assert str(e.value) == (f"{path}: the header says format version {version} but the index, whose checksum is "
                            f"intact, says {FORMAT_VERSION}: the header is damaged; rebuild or re-download the bundle")
    with pytest.raises(DamagedHeader):
        read_index_bytes(path.read_bytes())


def test_future_version_is_refused_before_anything_else_is_read(tmp_path):
    """A future file may lay out its index differently: nothing past the version decides, beyond evidence of damage."""
    path = tmp_path / "future.agb"
    path.write_bytes(MAGIC + struct.pack("<IIQ", FORMAT_VERSION + 1, 0xFFFF, 2**60) + b"?" * 100)
    with pytest.raises(UnsupportedFormatVersion):
        open_bundle(path)
    # The index bytes are there and hash right, but are not this version's index: no evidence either way.
    path.write_bytes(S.craft_bundle(None, version=FORMAT_VERSION + 1, index_bytes=b"\x93\x01\x02\x03"))
    with pytest.raises(UnsupportedFormatVersion):
        open_bundle(path)


def test_nonzero_flags(tmp_path):
    path = tmp_path / "flags.agb"
    path.write_bytes(_with_header(flags=4))
    with pytest.raises(MalformedIndex, match=r"header flags are 0x4; format version 2 requires 0$"):
        open_bundle(path)


# --- sizes that must not be allocated -----------------------------------------------------
def _peak_bytes_while(fn, exc: type) -> tuple[int, BaseException]:
    gc.collect()
    tracemalloc.start()
    try:
        with pytest.raises(exc) as e:
            fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, e.value


LIMIT = 4 * 1024 * 1024  # bytes a refusal may allocate


@pytest.mark.parametrize("index_length", [2**40, 2**64 - 1, MAX_INDEX_BYTES + 1])
def test_huge_index_length_is_refused_unallocated(tmp_path, index_length):
    path = tmp_path / "huge.agb"
    path.write_bytes(S.craft_bundle(S.sample_obj(), S.sample_stored_data(), index_length=index_length))
    peak, e = _peak_bytes_while(lambda: open_bundle(path), IndexTooLarge)
    assert peak < LIMIT
    assert str(e) == f"{path}: header declares a {index_length}-byte index; the limit is {MAX_INDEX_BYTES}"


def test_largest_index_length_beyond_the_file_is_truncation_unallocated(tmp_path):
    path = tmp_path / "huge.agb"
    path.write_bytes(S.craft_bundle(S.sample_obj(), S.sample_stored_data(), index_length=MAX_INDEX_BYTES))
    peak, e = _peak_bytes_while(lambda: open_bundle(path), TruncatedBundle)
    assert peak < LIMIT
    assert "the index runs past the end of the file" in str(e)


@pytest.mark.parametrize("size", [2**40, MAX_BLOB_BYTES + 1, 2**64 - 1])
def test_huge_blob_size_is_refused_unallocated(tmp_path, size):
    obj = S.sample_obj()
    obj["blobs"][1]["size"] = size
    path = tmp_path / "huge.agb"
    path.write_bytes(S.craft_bundle(obj, S.sample_stored_data()))
    peak, e = _peak_bytes_while(lambda: open_bundle(path, verify_blobs=True), BlobTooLarge)
    assert peak < LIMIT
    assert str(e) == (f"{path}: bundle index: index.blobs[1]: blob {S.H100_LIB!r} declares {size} bytes, "
                      f"more than the {MAX_BLOB_BYTES} a bundle may hold")


@pytest.mark.parametrize("stored_size", [2**40, MAX_BLOB_BYTES + 1])
def test_huge_stored_size_is_refused_unallocated(tmp_path, stored_size):
    obj = S.sample_obj()
    obj["blobs"][0]["stored_size"] = stored_size
    path = tmp_path / "huge.agb"
    path.write_bytes(S.craft_bundle(obj, S.sample_stored_data()))
    peak, e = _peak_bytes_while(lambda: open_bundle(path, verify_blobs=True), MalformedIndex)
    assert peak < LIMIT
    assert f"index.blobs[0].stored_size: {stored_size} is outside [0, {MAX_BLOB_BYTES}]" in str(e)


def test_largest_stored_size_beyond_the_file_is_truncation_unallocated(tmp_path):
    obj = S.sample_obj()
    obj["blobs"][0]["stored_size"] = MAX_BLOB_BYTES
    path = tmp_path / "huge.agb"
    path.write_bytes(S.craft_bundle(obj, S.sample_stored_data()))
    peak, e = _peak_bytes_while(lambda: open_bundle(path, verify_blobs=True), TruncatedBundle)
    assert peak < LIMIT
    assert "the index lists" in str(e) and "the file is truncated" in str(e)


@pytest.mark.parametrize("raw", [
    b"\xdb\xff\xff\xff\xff" + b"x" * 16,          # str32 of 4 GiB
    b"\xc6\xff\xff\xff\xff" + b"x" * 16,          # bin32 of 4 GiB
    b"\xdd\x7f\xff\xff\xff" + b"\xc0" * 16,       # array32 of 2**31 items
    b"\xdf\x7f\xff\xff\xff" + b"\xa1a\xc0" * 16,  # map32 of 2**31 pairs
])
def test_msgpack_lengths_are_bounded_by_the_index(tmp_path, raw):
    path = tmp_path / "huge.agb"
    path.write_bytes(S.craft_bundle(None, b"", index_bytes=raw))
    peak, e = _peak_bytes_while(lambda: open_bundle(path), MalformedIndex)
    assert peak < LIMIT
    assert "index is not valid msgpack" in str(e)


@pytest.mark.parametrize("raw, phrase", [
    (b"", "index is not valid msgpack"),
    (b"\xc1", "index is not valid msgpack"),                              # never-used type byte
    (msgpack.packb({}) + b"\x00", "index is not valid msgpack"),          # extra data
    (b"\x81\xa1\xff\x01", "index is not valid msgpack"),                  # str that is not UTF-8
    (b"\x81\x01\x02", "index is not valid msgpack"),                      # integer map key
    (msgpack.packb(msgpack.ExtType(5, b"abc")), "index is not valid msgpack"),
    (msgpack.packb(msgpack.Timestamp(0)), "index is not valid msgpack"),
    (b"\x91" * 5000 + b"\xc0", "index is not valid msgpack"),             # nested too deeply
    (msgpack.packb(None), "expected a map, got NoneType"),
])
def test_index_that_is_not_valid_msgpack(raw, phrase):
    with pytest.raises(MalformedIndex) as e:
        read_index_bytes(S.craft_bundle(None, b"", index_bytes=raw))
    assert type(e.value) is MalformedIndex
    assert phrase in str(e.value)


def test_index_checksum_mismatch_message(tmp_path):
    data = bytearray(DATA)
    data[100] ^= 1
    path = tmp_path / "m.agb"
    path.write_bytes(data)
    with pytest.raises(IndexChecksumMismatch, match=rf"^{path}: index checksum does not match \(the file is corrupted\)$"):
        open_bundle(path)


# --- names ----------------------------------------------------------------------------------
UNSAFE = ["../evil.so", "a/b", "/etc/passwd", "a\\b", ".hidden", "..", ".", "", "x" * 129, "y" * 200,
          "evil.so\n", "nul\x00.so", "caf\u00e9.so", "space .so", "~root", 7, None, b"bytes.so"]


@pytest.mark.parametrize("name", UNSAFE, ids=repr)
def test_unsafe_blob_name(name):
    obj = S.sample_obj()
    obj["blobs"][0]["name"] = name
    with pytest.raises(UnsafeName) as e:
        read_index_bytes(S.craft_bundle(obj, S.sample_stored_data()), "x.agb")
    assert str(e.value) == (f"x.agb: bundle index: index.blobs[0].name: {name!r} is not a safe file name "
                            "([A-Za-z0-9_.-], 1-128 characters, not starting with '.')")


@pytest.mark.parametrize("name", UNSAFE, ids=repr)
def test_unsafe_library_name(name):
    obj = S.sample_obj()
    obj["targets"][1]["library"] = name
    obj["blobs"][1]["name"] = name  # even if a blob carries the same name
    with pytest.raises(UnsafeName, match=r"^x\.agb: bundle index: index\.targets\[1\]\.library: .* is not a safe file name"):
        read_index_bytes(S.craft_bundle(obj, S.sample_stored_data()), "x.agb")


@pytest.mark.parametrize("name", ["a", "x" * 128, "lib-1.2_3.so", "H100_SXM.kernels.so", "a..b", "-"])
def test_safe_names_pass(name):
    obj = S.sample_obj()
    obj["targets"][1]["library"] = name
    obj["blobs"][1]["name"] = name  # blobs need not be listed in name order
    index, _ = read_index_bytes(S.craft_bundle(obj, S.sample_stored_data()))
    assert index.target("H100_SXM").library == name
    assert index.blobs[1].name == name


@pytest.mark.parametrize("name", ["../evil.so", "a/b", ".hidden", "", "z" * 200])
def test_writer_refuses_unsafe_names(name):
    with pytest.raises(UnsafeName):
        encode_bundle(S.sample_index(), {**S.sample_blobs(), name: b"payload"})


# --- hostile zstd frames --------------------------------------------------------------------
def _bundle_with_stored(tmp_path, stored: bytes, size: int, content: bytes | None = None):
    """The sample with blob #1 (H100 library) replaced by `stored` bytes declaring `size`."""
    obj = S.sample_obj()
    blob = obj["blobs"][1]
    assert blob["name"] == S.H100_LIB
    blob.update(stored_size=len(stored), size=size, sha256=hashlib.sha256(stored).hexdigest(),
                content_sha256=hashlib.sha256(content if content is not None else b"?").hexdigest())
    b200 = DATA[LAYOUT[S.B200_LIB][0]:LAYOUT[S.B200_LIB][1]]
    path = tmp_path / "frame.agb"
    path.write_bytes(S.craft_bundle(obj, b200 + stored))
    return path


def test_frame_declaring_more_than_the_index(tmp_path):
    content = bytes(64 * 1024 * 1024)
    stored = zstandard.ZstdCompressor(write_content_size=True).compress(content)
    path = _bundle_with_stored(tmp_path, stored, 10, content)
    del content
    b = open_bundle(path)  # the index alone is sound
    peak, e = _peak_bytes_while(b.verify, BlobDecompressError)
    assert peak < 1024 * 1024
    assert str(e) == f"{path}: blob {S.H100_LIB!r}: frame declares {64 * 1024 * 1024} bytes, the index 10"


def _rle_frame(declared: int, produces: int, single_segment: bool) -> bytes:
    """A hand-made zstd frame: header declaring `declared` bytes, one RLE block of `produces` bytes."""
    fhd = (2 << 6) | (int(single_segment) << 5)  # 4-byte content size field
    head = b"\x28\xb5\x2f\xfd" + bytes([fhd]) + (b"" if single_segment else b"\x00") + struct.pack("<I", declared)
    block = 1 | (1 << 1) | (produces << 3)  # last block, RLE, size
    return head + block.to_bytes(3, "little") + b"A"


@pytest.mark.parametrize("single_segment", [True, False])
def test_frame_claiming_the_largest_size_is_not_allocated(tmp_path, single_segment):
    """Index and frame agree on 2 GiB, the frame holds a few bytes: nothing near 2 GiB is allocated."""
    stored = _rle_frame(MAX_BLOB_BYTES - 1, 1000, single_segment)
    path = _bundle_with_stored(tmp_path, stored, MAX_BLOB_BYTES - 1)
    b = open_bundle(path)
    peak, e = _peak_bytes_while(b.verify, BlobDecompressError)
    assert peak < LIMIT
    assert str(e).startswith(f"{path}: blob {S.H100_LIB!r} does not decompress: ")


def test_frame_without_content_size_and_a_huge_declared_size(tmp_path):
    content = b"abc" * 1000
    stored = zstandard.ZstdCompressor(write_content_size=False).compress(content)
    assert zstandard.get_frame_parameters(stored).content_size == zstandard.CONTENTSIZE_UNKNOWN
    path = _bundle_with_stored(tmp_path, stored, MAX_BLOB_BYTES, content)
    b = open_bundle(path)
    peak, e = _peak_bytes_while(b.verify, BlobDecompressError)
    assert peak < LIMIT
    assert str(e) == (f"{path}: blob {S.H100_LIB!r} decompresses to 3000 bytes, fewer than the {MAX_BLOB_BYTES} "
                      "the index declares (truncated frame?)")


def test_frame_without_content_size_yielding_more_than_the_index(tmp_path):
    content = bytes(50 * 1024 * 1024)  # a bomb: 50 MiB from a few KB
    stored = zstandard.ZstdCompressor(write_content_size=False).compress(content)
    assert len(stored) < 64 * 1024
    path = _bundle_with_stored(tmp_path, stored, 1000, content)
    del content
    b = open_bundle(path)
    peak, e = _peak_bytes_while(b.verify, BlobDecompressError)
    assert peak < LIMIT
    assert str(e) == f"{path}: blob {S.H100_LIB!r} decompresses to more than the 1000 bytes the index declares"


def test_frame_without_content_size_is_accepted_when_it_matches(tmp_path):
    content = S.sample_blobs()[S.H100_LIB]
    stored = zstandard.ZstdCompressor(write_content_size=False).compress(content)
    path = _bundle_with_stored(tmp_path, stored, len(content), content)
    assert open_bundle(path, verify_blobs=True).blob(S.H100_LIB) == content


@pytest.mark.parametrize("stored, phrase", [
    (b"", "does not decompress"),
    (b"\x00\x01\x02\x03\x04\x05\x06\x07", "does not decompress"),
    (zstandard.ZstdCompressor().compress(b"hello world" * 10)[:-3], "fewer than the 110 the index declares"),
    (zstandard.ZstdCompressor().compress(b"hello world" * 10)[:8], "fewer than the 110 the index declares"),
])
def test_stored_bytes_that_are_no_zstd_frame(tmp_path, stored, phrase):
    path = _bundle_with_stored(tmp_path, stored, 110)
    with pytest.raises(BlobDecompressError) as e:
        open_bundle(path, verify_blobs=True)
    assert phrase in str(e.value)


def test_content_checksum_mismatch(tmp_path):
    content = S.sample_blobs()[S.H100_LIB]
    stored = zstandard.ZstdCompressor().compress(content)
    path = _bundle_with_stored(tmp_path, stored, len(content), content + b"!")
    with pytest.raises(BlobChecksumMismatch, match=r"decompressed content does not match the index$"):
        open_bundle(path, verify_blobs=True)
    assert open_bundle(path).stored_bytes(S.H100_LIB) == stored  # the stored checksum itself is fine
