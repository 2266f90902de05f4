"""Fuzzing the bundle reader: whatever the bytes, it returns the bundle or raises a BundleError.

Three targets, all deterministic (derandomize=True, no example database):

- raw bytes: flips, truncations, insertions, deletions and splices of the
  whole file. Every check is behind a SHA-256, so any change must be
  refused; the file reader and the in-memory reader must agree on the class.
- index bytes: the same mutations on the index alone, then a header with
  the right length and checksum, so the msgpack decoder and the schema see
  the damage.
- index structure: a random node of the decoded index replaced by a random
  msgpack value (or a key dropped or added), re-encoded with a valid header.
- stored blob: the same byte mutations on one zstd frame, with its stored
  size and SHA-256 fixed up in the index, so the decompressor sees them.

Never any other exception (KeyError, TypeError, MemoryError, UnicodeDecodeError, ...).
"""

from __future__ import annotations

import copy
import hashlib
import shutil
import tempfile
from pathlib import Path

import bundle_samples as S
import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aotgemm.bundle import open_bundle
from aotgemm.bundle.format import BundleIndex
from aotgemm.bundle.io import decode_blob, read_index_bytes
from aotgemm.errors import BundleError

DATA = S.sample_bytes()
INDEX_LO, INDEX_HI = S.sample_layout()["index"]
INDEX_BYTES = DATA[INDEX_LO:INDEX_HI]
STORED = S.sample_stored_data()
ORIGINAL = S.sample_full_index()
BLOBS = S.sample_blobs()

FUZZ = settings(max_examples=300, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_TMP: Path | None = None  # made on first use: importing this module (collection, -k) must leave nothing in /tmp


def _tmp() -> Path:
    global _TMP
    if _TMP is None:
        _TMP = Path(tempfile.mkdtemp(prefix="aotgemm-fuzz-"))
    return _TMP


# --- mutations ------------------------------------------------------------------------------
_pos = st.integers(0, 1 << 16)
_run = st.binary(min_size=1, max_size=64)
MUTATION = st.one_of(
    st.tuples(st.just("flip"), _pos, st.integers(1, 255)),
    st.tuples(st.just("truncate"), _pos),
    st.tuples(st.just("insert"), _pos, _run),
    st.tuples(st.just("delete"), _pos, st.integers(1, 64)),
    st.tuples(st.just("overwrite"), _pos, _run),
    st.tuples(st.just("copy"), _pos, _pos, st.integers(1, 64)),  # a run of the file itself, elsewhere
)
MUTATIONS = st.lists(MUTATION, min_size=1, max_size=4)


def mutate(data: bytes, mutations) -> bytes:
    b = bytearray(data)
    for m in mutations:
        n = len(b)
        op, pos = m[0], (m[1] % (n + 1))
        if op == "flip" and n:
            b[pos % n] ^= m[2]
        elif op == "truncate":
            del b[pos:]
        elif op == "insert":
            b[pos:pos] = m[2]
        elif op == "delete":
            del b[pos:pos + m[2]]
        elif op == "overwrite":
            b[pos:pos + len(m[2])] = m[2]
        elif op == "copy" and n:
            src = m[2] % n
            b[pos:pos] = b[src:src + m[3]]
    return bytes(b)


def read_file(data: bytes):
    """`open_bundle(verify_blobs=True)` on `data` written to a file; returns (index, blobs) or the error."""
    path = _tmp() / "fuzz.agb"
    path.write_bytes(data)
    try:
        b = open_bundle(path, verify_blobs=True)
        return b.index, {x.name: b.blob(x.name) for x in b.index.blobs}
    except BundleError as e:
        return e
    # anything else propagates and fails the test


def read_memory(data: bytes):
    """The same checks on bytes in memory: `read_index_bytes`, then `decode_blob` per blob."""
    try:
        index, offsets = read_index_bytes(data, "<fuzz>")
        base = len(data) - sum(x.stored_size for x in index.blobs)
        blobs = {x.name: decode_blob(x, data[base + offsets[x.name]:base + offsets[x.name] + x.stored_size], "<fuzz>")
                 for x in index.blobs}
        return index, blobs
    except BundleError as e:
        return e


def test_sample_reads_back():
    assert read_file(DATA) == (ORIGINAL, BLOBS)
    assert read_memory(DATA) == (ORIGINAL, BLOBS)


# --- target 1: raw bytes ------------------------------------------------------------------
@FUZZ
@given(MUTATIONS)
def test_fuzz_raw_bytes(mutations):
    data = mutate(DATA, mutations)
    got = read_file(data)
    if data == DATA:
        assert got == (ORIGINAL, BLOBS)
        return
    assert isinstance(got, BundleError), f"a changed file was accepted: {mutations}"
    again = read_memory(data)
    assert type(again) is type(got), (got, again)


# --- target 2: index bytes behind a valid header ------------------------------------------
def _check_accepted(got, data: bytes) -> None:
    """A mutated bundle that reads must be self-consistent: canonical round trip, blobs as listed."""
    index, blobs = got
    assert BundleIndex.from_obj(index.to_obj()) == index
    assert {x.name for x in index.blobs} == set(blobs)
    for x in index.blobs:
        assert len(blobs[x.name]) == x.size


@FUZZ
@given(MUTATIONS)
def test_fuzz_index_bytes_with_valid_checksum(mutations):
    index_bytes = mutate(INDEX_BYTES, mutations)
    data = S.craft_bundle(None, STORED, index_bytes=index_bytes)
    got = read_file(data)
    if not isinstance(got, BundleError):
        _check_accepted(got, data)
    again = read_memory(data)
    assert type(again) is type(got), (got, again)


# --- target 3: index structure --------------------------------------------------------------
_SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from([0, 1, -1, 2**31, 2**32, 2**40, 2**63, 2**64 - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.binary(max_size=20),
    st.sampled_from(["", "cublas", "../evil.so", "bfloat16", "linear", "tuned", "zstd", "sm_90a",
                     S.H100_LIB, S.B200_LIB, "gemm_sm90_64x128_c1x1", "a" * 64]),
)
VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)


def _nodes(obj, path=()):
    """Every (container path, key) in the object, so that any node can be replaced."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield path, k
            yield from _nodes(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield path, i
            yield from _nodes(v, path + (i,))


SAMPLE_OBJ = S.sample_obj()
NODES = list(_nodes(SAMPLE_OBJ))
EDIT = st.tuples(st.sampled_from(["replace", "delete", "add"]), st.integers(0, len(NODES) - 1), VALUES,
                 st.text(max_size=8))


@FUZZ
@given(st.lists(EDIT, min_size=1, max_size=3))
def test_fuzz_index_structure(edits):
    obj = copy.deepcopy(SAMPLE_OBJ)
    for op, i, value, new_key in edits:
        path, key = NODES[i]
        parent = obj
        try:
            for p in path:
                parent = parent[p]
            if op == "replace":
                parent[key] = value
            elif op == "delete":
                del parent[key]
            elif isinstance(parent, dict):
                parent[new_key or "x"] = value
            else:
                parent.insert(key, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this node
    data = S.craft_bundle(obj, STORED)
    got = read_file(data)
    if obj == SAMPLE_OBJ:
        assert got == (ORIGINAL, BLOBS)
    elif not isinstance(got, BundleError):
        _check_accepted(got, data)
    again = read_memory(data)
    assert type(again) is type(got), (got, again)


# --- target 4: stored blob bytes behind valid checksums ---------------------------------------
@FUZZ
@given(MUTATIONS, st.sampled_from([None, 0, 1, 2**20, 2**31]))
def test_fuzz_stored_blob_with_valid_checksum(mutations, declared_size):
    """Damage the H100 library's zstd frame, fix its stored size and SHA-256 in the index: decode must cope."""
    lo, hi = S.sample_layout()[S.H100_LIB]
    stored = mutate(DATA[lo:hi], mutations)
    obj = copy.deepcopy(SAMPLE_OBJ)
    blob = obj["blobs"][1]
    assert blob["name"] == S.H100_LIB
    blob["stored_size"] = len(stored)
    blob["sha256"] = hashlib.sha256(stored).hexdigest()
    if declared_size is not None:
        blob["size"] = declared_size
    b200_lo, b200_hi = S.sample_layout()[S.B200_LIB]
    data = S.craft_bundle(obj, DATA[b200_lo:b200_hi] + stored)
    got = read_file(data)
    if not isinstance(got, BundleError):
        assert got[1] == BLOBS  # only the real content passes the content checksum
    again = read_memory(data)
    assert type(again) is type(got), (got, again)


def test_fuzz_structure_reaches_the_schema():
    """The structural fuzzer is only worth its time if edits get past msgpack to the schema checks."""
    obj = copy.deepcopy(SAMPLE_OBJ)
    obj["targets"][0]["dispatch"][0]["n"] = b"\xff"
    got = read_file(S.craft_bundle(obj, STORED))
    assert isinstance(got, BundleError) and "index.targets[0].dispatch[0].n" in str(got)
    assert msgpack.unpackb(INDEX_BYTES, raw=False) == SAMPLE_OBJ


def teardown_module(module):
    if _TMP is not None:
        shutil.rmtree(_TMP, ignore_errors=True)


def test_importing_this_module_leaves_nothing_in_tmp(tmp_path):
    """Collecting it (`pytest -k other`, `-m gpu`) made /tmp/aotgemm-fuzz-* and no test ran to remove it."""
    import os
    import subprocess
    import sys

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    here = Path(__file__).resolve().parent
    env = {**os.environ, "TMPDIR": str(tmp),
           "PYTHONPATH": os.pathsep.join([str(here.parent), str(here), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", "import test_fuzz_bundle"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert list(tmp.iterdir()) == []
