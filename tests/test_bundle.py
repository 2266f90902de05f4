"""Bundle format v1: round trip, determinism, and the index schema (docs/bundle-format.md)."""

from __future__ import annotations

import copy
import hashlib
import os
import stat
from dataclasses import replace

import bundle_samples as S
import msgpack
import pytest

from aotgemm.bundle import BundleIndex, Kernel, bucket_for, encode_bundle, open_bundle, write_bundle
from aotgemm.bundle.format import HEADER, MAGIC, _plain
from aotgemm.bundle.io import read_index_bytes
from aotgemm.errors import MalformedIndex, UnsafeName


# --- round trip ---------------------------------------------------------------------------
def test_round_trip_index_and_blobs(tmp_path):
    index, blobs = S.sample_index(), S.sample_blobs()
    path = tmp_path / "m.agb"
    returned = write_bundle(path, index, blobs)
    b = open_bundle(path, verify_blobs=True)
    # identical index: the input plus the blobs field the writer filled in
    assert b.index == returned
    assert b.index == replace(index, blobs=b.index.blobs)
    assert b.index.to_obj() == replace(index, blobs=b.index.blobs).to_obj()
    assert [x.name for x in b.index.blobs] == sorted(blobs)
    # identical blob contents
    for name, content in blobs.items():
        assert b.blob(name) == content
        entry = b.index.blob(name)
        assert entry.size == len(content)
        assert entry.content_sha256 == hashlib.sha256(content).hexdigest()
        assert entry.sha256 == hashlib.sha256(b.stored_bytes(name)).hexdigest()
        assert entry.codec == "zstd"


def test_file_layout_matches_spec(tmp_path):
    data = S.sample_bytes()
    magic, version, flags, index_length, index_sha = HEADER.unpack(data[:56])
    assert HEADER.size == 56
    assert (magic, version, flags) == (MAGIC, 2, 0)
    assert magic == bytes.fromhex("89414F5447454D4D")
    assert index_sha == hashlib.sha256(data[56:56 + index_length]).digest()
    index, offsets = read_index_bytes(data)
    # blobs tile the data section in index order, the file ends at the last one
    pos = 56 + index_length
    for blob in index.blobs:
        assert offsets[blob.name] == pos - 56 - index_length
        assert hashlib.sha256(data[pos:pos + blob.stored_size]).hexdigest() == blob.sha256
        pos += blob.stored_size
    assert pos == len(data)
    # the index is one canonical msgpack map: keys sorted at every level
    obj = msgpack.unpackb(data[56:56 + index_length], raw=False)

    def check_sorted(o):
        if isinstance(o, dict):
            assert list(o) == sorted(o)
            for v in o.values():
                check_sorted(v)
        elif isinstance(o, list):
            for v in o:
                check_sorted(v)

    check_sorted(obj)
    assert obj == index.to_obj()
    assert len(data) < 9 * 1024  # "a few KB": the byte-flip tests flip every byte (v2 grew it from 7 to 8.6 KB)


def test_two_writes_are_byte_identical(tmp_path):
    write_bundle(tmp_path / "a.agb", S.sample_index(), S.sample_blobs())
    write_bundle(tmp_path / "b.agb", S.sample_index(), S.sample_blobs())
    a, b = (tmp_path / "a.agb").read_bytes(), (tmp_path / "b.agb").read_bytes()
    assert a == b
    assert a == encode_bundle(S.sample_index(), S.sample_blobs())


def test_encode_is_independent_of_blob_insertion_order():
    blobs = S.sample_blobs()
    forward = dict(sorted(blobs.items()))
    backward = dict(sorted(blobs.items(), reverse=True))
    assert list(forward) != list(backward)
    assert encode_bundle(S.sample_index(), forward) == encode_bundle(S.sample_index(), backward)


def test_encode_ignores_a_stale_blobs_field():
    stale = replace(S.sample_index(), blobs=S.sample_full_index().blobs[:1])
    assert encode_bundle(stale, S.sample_blobs()) == S.sample_bytes()


def test_different_content_gives_different_bytes():
    blobs = S.sample_blobs()
    blobs[S.H100_LIB] += b"\x00"
    assert encode_bundle(S.sample_index(), blobs) != S.sample_bytes()
    assert encode_bundle(S.sample_index(model="other"), S.sample_blobs()) != S.sample_bytes()


def test_write_is_atomic_and_world_readable(tmp_path):
    path = tmp_path / "sub" / "m.agb"
    S.write_sample_bundle(path)
    assert sorted(os.listdir(path.parent)) == ["m.agb"]  # no temporary left behind
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    # overwrite in place: still one file, the new content
    write_bundle(path, S.sample_index(model="second"), S.sample_blobs())
    assert sorted(os.listdir(path.parent)) == ["m.agb"]
    assert open_bundle(path).index.model == "second"


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    path = S.write_sample_bundle(tmp_path / "m.agb")
    before = path.read_bytes()
    with pytest.raises(UnsafeName):
        write_bundle(path, S.sample_index(), {**S.sample_blobs(), "../evil.so": b"x"})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.agb"]


def test_bundle_file_accessors(tmp_path):
    b = open_bundle(S.write_sample_bundle(tmp_path / "m.agb"))
    assert b.data_offset == S.sample_layout()["index"][1]
    assert b.index.target("H100_SXM").sm_count == 132
    assert b.index.target("B200").arch == "sm_100a"
    assert b.index.target("MI300X") is None
    with pytest.raises(KeyError):
        b.index.blob("nope.so")
    b.verify()


def test_asking_a_bundle_file_for_a_blob_it_lacks_names_what_it_holds(tmp_path):
    """BundleFile.blob and stored_bytes let index.blob's bare KeyError('nope.so') through."""
    from aotgemm.errors import NoSuchBlob

    path = S.write_sample_bundle(tmp_path / "m.agb")
    b = open_bundle(path)
    held = ", ".join(repr(x.name) for x in b.index.blobs)
    for get in (b.blob, b.stored_bytes):
        with pytest.raises(NoSuchBlob) as e:
            get("nope.so")
        assert str(e.value) == f"{path}: no blob named 'nope.so'; the bundle holds {held}"


def test_empty_blob_round_trips(tmp_path):
    index = S.sample_index()
    blobs = {**S.sample_blobs(), "empty.bin": b""}
    write_bundle(tmp_path / "m.agb", index, blobs)
    b = open_bundle(tmp_path / "m.agb", verify_blobs=True)
    assert b.blob("empty.bin") == b""
    assert b.index.blob("empty.bin").size == 0


@pytest.mark.parametrize("design", [
    {"tile": [128, 256], "cluster": [2, 1], "stages": 4},
    {"pairs": [["a", 1], ["b", 2]]},       # a list of two-element lists is not a map
    {"empty_map": {}, "empty_list": []},   # nor is {} the same as []
    {"nested": {"a": {"b": [1, True, None, "x"]}}},
    {},
])
def test_kernel_design_round_trips_exactly(tmp_path, design):
    index = S.sample_index()
    h100 = index.target("H100_SXM")
    k0 = h100.kernels[0]
    k = replace(k0, design=_plain(design, "design"))
    index = replace(index, targets=(index.targets[0], replace(h100, kernels=(k, *h100.kernels[1:]))))
    assert k.design_dict == design
    write_bundle(tmp_path / "m.agb", index, S.sample_blobs())
    back = open_bundle(tmp_path / "m.agb").index.target("H100_SXM").kernels[0]
    assert back.design_dict == design
    assert back == k


def test_hand_built_design_tuples_still_read_as_maps():
    k = replace(S.sample_index().targets[1].kernels[0], design=(("cluster", (2, 1)), ("tile", (128, 256))))
    assert k.design_dict == {"cluster": [2, 1], "tile": [128, 256]}
    assert Kernel.from_obj(k.to_obj(), "k") == k


@pytest.mark.parametrize("m, bucket", [(1, 1), (2, 16), (16, 16), (17, 128), (128, 128), (129, 1024),
                                       (1024, 1024), (1025, 1024), (10**9, 1024)])
def test_bucket_rule(m, bucket):
    assert bucket_for(m, S.M_BUCKETS) == bucket


# --- schema -------------------------------------------------------------------------------
def _read_obj(obj):
    """Read a crafted bundle: `obj` as its index, the sample's real blobs as data."""
    return read_index_bytes(S.craft_bundle(obj, S.sample_stored_data()), "x.agb")


def test_crafted_sample_reads_back():
    index, _ = _read_obj(S.sample_obj())
    assert index == S.sample_full_index()


def _set(path, value):
    def edit(o):
        *parents, last = path
        for p in parents:
            o = o[p]
        o[last] = value
    return edit


def _del(path):
    def edit(o):
        *parents, last = path
        for p in parents:
            o = o[p]
        del o[last]
    return edit


def _call(fn):
    def edit(o):
        fn(o)
    return edit


def _swap(path, i, j):
    def edit(o):
        for p in path:
            o = o[p]
        o[i], o[j] = o[j], o[i]
    return edit


def _dup(path, i):
    def edit(o):
        for p in path:
            o = o[p]
        o.insert(i + 1, copy.deepcopy(o[i]))
    return edit


# targets[0] is B200, targets[1] is H100_SXM (sorted by gpu)
SCHEMA_CASES = {
    # unknown keys
    "unknown top-level key": (_set(["extra"], 1), "x.agb: bundle index: index: unknown key(s) ['extra']"),
    "unknown target key": (_set(["targets", 0, "foo"], 1), "index.targets[0]: unknown key(s) ['foo']"),
    "unknown kernel key": (_set(["targets", 1, "kernels", 2, "flavor"], "x"),
                           "index.targets[1].kernels[2]: unknown key(s) ['flavor']"),
    "unknown environment key": (_set(["targets", 0, "environment", "hostname"], "gpu-box-7"),
                                "index.targets[0].environment: unknown key(s) ['hostname']"),
    "binary key": (_set([b"model"], "x"), "index: unknown key(s) [\"b'model'\"]"),
    # missing keys
    "missing top-level key": (_del(["m_buckets"]), "index: missing key(s) ['m_buckets']"),
    "missing kernel key": (_del(["targets", 1, "kernels", 0, "cache_key"]),
                           "index.targets[1].kernels[0]: missing key(s) ['cache_key']"),
    "missing entry key": (_del(["targets", 1, "dispatch", 3, "cublas_us"]),
                          "index.targets[1].dispatch[3]: missing key(s) ['cublas_us']"),
    "missing environment key": (_del(["targets", 1, "environment", "tuned_on"]),
                                "index.targets[1].environment: missing key(s) ['tuned_on']"),
    "missing blob key": (_del(["blobs", 1, "sha256"]), "index.blobs[1]: missing key(s) ['sha256']"),
    # wrong types
    "bool format_version": (_set(["format_version"], True), "index.format_version: expected an integer, got bool"),
    "float format_version": (_set(["format_version"], 1.0), "index.format_version: expected an integer, got float"),
    "index format_version 3": (_set(["format_version"], 3), "index.format_version: 3 disagrees with the header's 2"),
    "bool layer n": (_set(["layers", 0, "n"], True), "index.layers[0].n: expected an integer, got bool"),
    "float layer k": (_set(["layers", 1, "k"], 4096.0), "index.layers[1].k: expected an integer, got float"),
    "str layer count": (_set(["layers", 2, "count"], "32"), "index.layers[2].count: expected an integer, got str"),
    "zero layer count": (_set(["layers", 2, "count"], 0), "index.layers[2].count: 0 is outside [1, "),
    "bool m_bucket": (_set(["m_buckets", 0], True), "index.m_buckets[0]: expected an integer, got bool"),
    "bool sm_count": (_set(["targets", 1, "sm_count"], True), "index.targets[1].sm_count: expected an integer, got bool"),
    "bool blob size": (_set(["blobs", 0, "size"], True), "index.blobs[0].size: expected an integer, got bool"),
    "negative stored_size": (_set(["blobs", 0, "stored_size"], -1), "index.blobs[0].stored_size: -1 is outside [0, "),
    "bool alignment": (_set(["targets", 0, "kernels", 0, "alignment"], False),
                       "index.targets[0].kernels[0].alignment: expected an integer, got bool"),
    "bool entry n": (_set(["targets", 0, "dispatch", 0, "n"], True),
                     "index.targets[0].dispatch[0].n: expected an integer, got bool"),
    "int model": (_set(["model"], 7), "index.model: expected a string, got int"),
    "bytes generator": (_set(["generator"], b"aotgemm"), "index.generator: expected a string, got bytes"),
    "layers not a list": (_set(["layers"], {}), "index.layers: expected a list, got dict"),
    "target not a map": (_set(["targets", 0], []), "index.targets[0]: expected a map, got list"),
    "index not a map": (lambda o: None, None),  # placeholder, replaced below
    "int kernel_us": (_set(["targets", 1, "dispatch", 0, "kernel_us"], 9),
                      "index.targets[1].dispatch[0].kernel_us: expected a finite non-negative float or nil, got 9"),
    "nan cublas_us": (_set(["targets", 1, "dispatch", 0, "cublas_us"], float("nan")),
                      "index.targets[1].dispatch[0].cublas_us: expected a finite non-negative float or nil, got nan"),
    "inf kernel_us": (_set(["targets", 1, "dispatch", 0, "kernel_us"], float("inf")),
                      "index.targets[1].dispatch[0].kernel_us: expected a finite non-negative float or nil, got inf"),
    "negative kernel_us": (_set(["targets", 1, "dispatch", 0, "kernel_us"], -1.0),
                           "index.targets[1].dispatch[0].kernel_us: expected a finite non-negative float or nil"),
    "float environment value": (_set(["targets", 0, "environment", "cuda_driver_min"], 13.0),
                                "index.targets[0].environment.cuda_driver_min: expected a string, integer or nil"),
    "bool environment value": (_set(["targets", 0, "environment", "cuda_runtime_major"], True),
                               "index.targets[0].environment.cuda_runtime_major: expected a string, integer or nil"),
    "float in design": (_set(["targets", 0, "kernels", 1, "design", "stages"], 4.0),
                        "index.targets[0].kernels[1].design: unsupported value type float"),
    "design not a map": (_set(["targets", 0, "kernels", 1, "design"], [1]),
                         "index.targets[0].kernels[1].design: expected a map"),
    "design too deep": (_set(["targets", 0, "kernels", 1, "design", "x"], [[[[[[1]]]]]]),
                        "index.targets[0].kernels[1].design: nested too deeply"),
    # enumerations and formats
    "unknown dtype": (_set(["targets", 1, "kernels", 0, "dtype"], "float32"),
                      "index.targets[1].kernels[0].dtype: 'float32' is not one of ['bfloat16', 'float16', 'float8_e4m3fn']"),
    "unknown layout": (_set(["targets", 1, "dispatch", 0, "layout"], "transposed"),
                       "index.targets[1].dispatch[0].layout: 'transposed' is not one of ['linear']"),
    "unknown decided_by": (_set(["targets", 1, "dispatch", 0, "decided_by"], "guess"),
                           "index.targets[1].dispatch[0].decided_by: 'guess' is not one of ['tuned', 'heuristic']"),
    "unknown epilogue": (_set(["targets", 1, "dispatch", 0, "epilogue"], "gelu"),
                         "index.targets[1].dispatch[0].epilogue: 'gelu' is not one of ['bias', 'geglu', 'identity', 'residual_add', 'scale_mx', 'scale_row', 'scale_rowwise', 'scale_tensor', 'swiglu']"),
    "unknown layer epilogue": (_set(["layers", 0, "epilogue"], "gelu"),
                               "index.layers[0].epilogue: 'gelu' is not one of ['bias', 'geglu', 'identity', 'residual_add', 'scale_mx', 'scale_row', 'scale_rowwise', 'scale_tensor', 'swiglu']"),
    "bad source name": (_set(["targets", 1, "kernels", 0, "source"], "Cutlass Ops"),
                        "index.targets[1].kernels[0].source: 'Cutlass Ops' is not a kernel source name"),
    "kernel of an undeclared source": (_set(["targets", 0, "kernels", 0, "source"], "aotgemm"),
                                       "index.targets[0].kernels[0].source: 'aotgemm' is not one of this target's sources"),
    "negative max_m": (_set(["targets", 1, "kernels", 0, "max_m"], -1),
                       "index.targets[1].kernels[0].max_m: -1 is outside [0, "),
    "string x_row_stride": (_set(["targets", 1, "kernels", 0, "x_row_stride"], "K"),
                            "index.targets[1].kernels[0].x_row_stride: expected an integer, got str"),
    "ranked not a list": (_set(["targets", 1, "dispatch", 0, "ranked"], "x"),
                          "index.targets[1].dispatch[0].ranked: expected a list, got str"),
    "ranked names cublas": (_set(["targets", 1, "dispatch", 0, "ranked"], ["cublas"]),
                            "index.targets[1].dispatch[0].ranked: must list distinct kernel symbols"),
    "ranked names a missing kernel": (_set(["targets", 1, "dispatch", 0, "ranked"], ["gemm_nope"]),
                                      "index.targets[1].dispatch[0].ranked[0]: 'gemm_nope' is not a kernel"),
    "sources not a map": (_set(["targets", 1, "sources"], []), "index.targets[1].sources: expected a map"),
    "unknown codec": (_set(["blobs", 0, "codec"], "gzip"), "index.blobs[0].codec: 'gzip' is not one of ['zstd']"),
    "unknown link_mode": (_set(["targets", 0, "environment", "link_mode"], "dynamic"),
                          "index.targets[0].environment.link_mode: 'dynamic' is not one of"),
    "bad arch": (_set(["targets", 0, "arch"], "sm90"), "index.targets[0].arch: 'sm90' is not an architecture"),
    "upper-case cache_key": (_set(["targets", 0, "kernels", 0, "cache_key"], "AB" * 32),
                             "index.targets[0].kernels[0].cache_key: expected 64 lowercase hex digits"),
    "short sha256": (_set(["blobs", 1, "sha256"], "ab" * 31), "index.blobs[1].sha256: expected 64 lowercase hex digits"),
    # references
    "entry names a missing kernel": (_set(["targets", 1, "dispatch", 0, "kernel"], "gemm_nope"),
                                     "index.targets[1].dispatch[0].kernel: 'gemm_nope' is not a kernel of this target"),
    "entry names the other target's kernel": (
        _set(["targets", 0, "dispatch", 0, "kernel"], "gemm_sm90_64x128_c1x1"),
        "index.targets[0].dispatch[0].kernel: 'gemm_sm90_64x128_c1x1' is not a kernel of this target"),
    "library names no blob": (_set(["targets", 0, "library"], "missing.so"),
                              "index.targets[0].library: 'missing.so' names no blob"),
    "m_bucket not in m_buckets": (_set(["targets", 1, "dispatch", 1, "m_bucket"], 7),
                                  "index.targets[1].dispatch[1].m_bucket: 7 is not one of m_buckets [1, 16, 128, 1024]"),
    # a tuned split (min_m) lies above the bucket's lower edge, up to its M, on an entry that names a kernel
    "min_m at the lower edge": (_set(["targets", 1, "dispatch", 2, "min_m"], 17),
                                "index.targets[1].dispatch[2].min_m: 17 must lie in (17, 128]"),
    "min_m above the bucket": (_set(["targets", 1, "dispatch", 2, "min_m"], 129),
                               "index.targets[1].dispatch[2].min_m: 129 must lie in (17, 128]"),
    "min_m on a cuBLAS entry": (_set(["targets", 1, "dispatch", 6, "min_m"], 100),
                                "index.targets[1].dispatch[6].min_m: 100 must lie in (17, 128]"),
    "min_m not an integer": (_set(["targets", 1, "dispatch", 2, "min_m"], "64"),
                             "index.targets[1].dispatch[2].min_m: expected an integer, got str"),
    # order and uniqueness
    "unsorted dispatch": (_swap(["targets", 1, "dispatch"], 0, 1),
                          "index.targets[1].dispatch: entries are not in canonical (sorted) order"),
    "unsorted kernels": (_swap(["targets", 1, "kernels"], 0, 3),
                         "index.targets[1].kernels: entries are not in canonical (sorted) order"),
    "unsorted targets": (_swap(["targets"], 0, 1), "index.targets: entries are not in canonical (sorted) order"),
    "unsorted m_buckets": (_swap(["m_buckets"], 0, 1), "index.m_buckets: must be a non-empty ascending list"),
    "duplicate m_bucket": (_dup(["m_buckets"], 0), "index.m_buckets: must be a non-empty ascending list"),
    "no m_buckets": (_set(["m_buckets"], []), "index.m_buckets: must be a non-empty ascending list"),
    "duplicate dispatch entry": (_dup(["targets", 1, "dispatch"], 4), "index.targets[1].dispatch: duplicate entries"),
    "duplicate kernel": (_dup(["targets", 0, "kernels"], 0), "index.targets[0].kernels: duplicate entries"),
    "duplicate target": (_dup(["targets"], 1), "index.targets: duplicate entries"),
    "duplicate layer name": (_set(["layers", 3, "name"], "qkv_proj"), "index.layers: duplicate layer names"),
    "duplicate blob name": (_set(["blobs", 1, "name"], S.B200_LIB), "index.blobs: duplicate blob names"),
}
del SCHEMA_CASES["index not a map"]


@pytest.mark.parametrize("case", sorted(SCHEMA_CASES))
def test_schema_violation_is_malformed_index_naming_the_field(case):
    edit, message = SCHEMA_CASES[case]
    obj = S.sample_obj()
    edit(obj)
    with pytest.raises(MalformedIndex) as e:
        _read_obj(obj)
    assert type(e.value) is MalformedIndex
    assert message in str(e.value)
    assert str(e.value).startswith("x.agb: ")
    assert "\n" not in str(e.value)


def test_index_that_is_not_a_map():
    with pytest.raises(MalformedIndex, match=r"^x\.agb: bundle index: index: expected a map, got list$"):
        _read_obj([1, 2])


@pytest.mark.parametrize("symbol", ["cublas", "bad-name", "9lives", "", "a" * 129])
def test_kernel_symbol_must_be_a_c_identifier(symbol):
    obj = S.sample_obj()
    obj["targets"][0]["kernels"][0]["symbol"] = symbol
    with pytest.raises(UnsafeName, match=r"index\.targets\[0\]\.kernels\[0\]\.symbol: .* is not a valid C identifier"):
        _read_obj(obj)


def test_schema_errors_through_open_bundle(tmp_path):
    obj = S.sample_obj()
    obj["targets"][1]["dispatch"][0]["kernel"] = "gemm_nope"
    path = tmp_path / "bad.agb"
    path.write_bytes(S.craft_bundle(obj, S.sample_stored_data()))
    with pytest.raises(MalformedIndex) as e:
        open_bundle(path)
    assert str(e.value) == (f"{path}: bundle index: index.targets[1].dispatch[0].kernel: "
                            "'gemm_nope' is not a kernel of this target")


def test_writer_refuses_what_the_reader_would():
    index = S.sample_index()
    with pytest.raises(MalformedIndex, match=r"index\.targets\[0\]\.library: 'B200\.kernels\.so' names no blob"):
        encode_bundle(index, {S.H100_LIB: b"x"})
    bad = replace(index, m_buckets=(16, 1))
    with pytest.raises(MalformedIndex, match=r"index\.m_buckets"):
        encode_bundle(bad, S.sample_blobs())


def test_writer_sorts_targets_by_gpu():
    index = S.sample_index()
    flipped = replace(index, targets=index.targets[::-1])
    assert [t.gpu for t in flipped.targets] == ["H100_SXM", "B200"]
    assert encode_bundle(flipped, S.sample_blobs()) == S.sample_bytes()


def test_from_obj_is_the_inverse_of_to_obj():
    full = S.sample_full_index()
    assert BundleIndex.from_obj(full.to_obj()) == full
    assert BundleIndex.from_obj(copy.deepcopy(full.to_obj())).to_obj() == full.to_obj()


def test_a_tuned_split_round_trips_and_is_absent_when_unset(tmp_path):
    """DispatchEntry.min_m (the tuner's split of a bucket) is stored and read back; an entry without one writes no
    `min_m` key, so an index without splits is the same bytes as before the field existed."""
    index = S.sample_index()
    h100 = index.target("H100_SXM")
    assert all("min_m" not in d.to_obj() for d in h100.dispatch)
    split = tuple(replace(d, min_m=100) if (d.n, d.k, d.m_bucket) == (4096, 4096, 128) else d for d in h100.dispatch)
    index = replace(index, targets=tuple(replace(t, dispatch=split) if t.gpu == "H100_SXM" else t
                                         for t in index.targets))
    write_bundle(tmp_path / "s.agb", index, S.sample_blobs())
    back = open_bundle(tmp_path / "s.agb").index.target("H100_SXM")
    assert [(d.m_bucket, d.min_m) for d in back.dispatch if (d.n, d.k) == (4096, 4096)] == \
        [(1, 0), (16, 0), (128, 100), (1024, 0)]


def test_kernel_for_answers_as_the_runtime_routes():
    """Target.kernel_for: the bucket's entry, from its min_m, up to the kernel's max_m; None for cuBLAS, for a
    missing entry and below a split."""
    index = S.sample_index()
    h100 = index.target("H100_SXM")
    o, gate_up, down = (("bfloat16", "linear", "identity") + nk for nk in ((4096, 4096), (28672, 4096), (4096, 14336)))
    buckets = index.m_buckets
    assert h100.kernel_for(o, 1, buckets) is None  # a cuBLAS entry
    assert h100.kernel_for(o, 16, buckets).symbol == "gemm_sm90_64x128_c1x1"
    assert h100.kernel_for(gate_up, 16, buckets).symbol == "decode_28672x4096_m16"
    assert h100.kernel_for(down, 1000, buckets) is None  # no entry for its bucket
    split = tuple(replace(d, min_m=100) if (d.n, d.k, d.m_bucket) == (4096, 4096, 128) else d for d in h100.dispatch)
    h100 = replace(h100, dispatch=split)
    assert h100.kernel_for(o, 99, buckets) is None and h100.kernel_for(o, 100, buckets).symbol == \
        "gemm_sm90_128x128_c1x2"
    # a kernel whose max_m is below M serves nothing there (a decode kernel asked for a larger bucket's M)
    decode_everywhere = tuple(replace(d, kernel="decode_28672x4096_m16") if (d.n, d.k) == (28672, 4096) else d
                              for d in h100.dispatch)
    h100 = replace(h100, dispatch=decode_everywhere)
    assert h100.kernel_for(gate_up, 16, buckets) is not None and h100.kernel_for(gate_up, 17, buckets) is None
