"""Bundle format v2 in code: constants, the index dataclasses, and the schema.

docs/bundle-format.md is the spec; this module is its executable form. The
index travels as plain msgpack maps; `BundleIndex.from_obj` is the only way
in (it checks every field), `to_obj` the only way out (canonical order).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

from ..epilogues import names as epilogue_names, scale_kinds
from ..errors import BlobTooLarge, MalformedIndex, UnsafeName, UnsupportedProblem
from ..problem import DTYPES, LAYOUTS, LINEAR, GemmProblem, bucket_for, epilogue_for  # noqa: F401  (bucket_for: re-exported)

MAGIC = b"\x89AOTGEMM"
FORMAT_VERSION = 2
# Versions a reader of this version can say something useful about: v1 bundles are
# refused with "rebuild" (docs/bundle-format.md, "Versions").
OLDEST_KNOWN_VERSION = 1
HEADER = struct.Struct("<8sII Q 32s")  # magic, version, flags, index_length, index_sha256
HEADER_SIZE = HEADER.size  # 56
MAX_INDEX_BYTES = 16 * 1024 * 1024
MAX_BLOB_BYTES = 2 * 1024 * 1024 * 1024
MAX_BLOBS = 4096
CODEC = "zstd"
ZSTD_LEVEL = 19
CUBLAS = "cublas"
DECIDED_BY = ("tuned", "heuristic")
LINK_MODES = ("static-runtime", "dsl-runtime")

_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")
_SYMBOL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")

_SOURCE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_RANKED = 64

ENVIRONMENT_KEYS = (
    "cuda_driver_min",
    "cuda_runtime_major",
    "compiler",  # "nvidia-cutlass-dsl 4.8.1": what generated the machine code, for every source
    "tvm_ffi",
    "link_mode",
    "torch_tuned_with",
    "tuned_on",
    "tuned_driver",
    "tuned_at",
)


# --- schema helpers ----------------------------------------------------------
def _fail(where: str, msg: str) -> MalformedIndex:
    return MalformedIndex(f"bundle index: {where}: {msg}")


def _map(obj: Any, where: str, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    if not isinstance(obj, dict):
        raise _fail(where, f"expected a map, got {type(obj).__name__}")
    unknown = set(obj) - set(keys) - set(optional)
    if unknown:
        raise _fail(where, f"unknown key(s) {sorted(map(str, unknown))}")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise _fail(where, f"missing key(s) {missing}")
    return obj


def _str(v: Any, where: str, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(v, str):
        raise _fail(where, f"expected a string, got {type(v).__name__}")
    if choices is not None and v not in choices:
        raise _fail(where, f"{v!r} is not one of {list(choices)}")
    return v


def _int(v: Any, where: str, lo: int = 0, hi: int = 2**63 - 1) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise _fail(where, f"expected an integer, got {type(v).__name__}")
    if not lo <= v <= hi:
        raise _fail(where, f"{v} is outside [{lo}, {hi}]")
    return v


def _opt_float(v: Any, where: str) -> float | None:
    if v is None:
        return None
    if not isinstance(v, float) or not (v >= 0.0) or v == float("inf"):
        raise _fail(where, f"expected a finite non-negative float or nil, got {v!r}")
    return v


def _list(v: Any, where: str, max_len: int = 1 << 20) -> list:
    if not isinstance(v, list):
        raise _fail(where, f"expected a list, got {type(v).__name__}")
    if len(v) > max_len:
        raise _fail(where, f"{len(v)} entries, more than {max_len}")
    return v


def safe_name(v: Any, where: str) -> str:
    if not isinstance(v, str) or not _NAME_RE.fullmatch(v) or v.startswith("."):
        raise UnsafeName(
            f"bundle index: {where}: {v!r} is not a safe file name "
            "([A-Za-z0-9_.-], 1-128 characters, not starting with '.')"
        )
    return v


def _hex64(v: Any, where: str) -> str:
    if not isinstance(v, str) or not _HEX64_RE.fullmatch(v):
        raise _fail(where, "expected 64 lowercase hex digits")
    return v


class _Map(tuple):
    """A design map in canonical form: its (key, value) pairs sorted by key.

    A tuple (it compares and hashes like the plain tuple of its pairs), but
    marked, so that `_unplain` tells it from a list of two-element lists and
    an empty map from an empty list.
    """

    __slots__ = ()


def _plain(v: Any, where: str, depth: int = 0) -> Any:
    """A design value: nested ints/strs/bools/lists/maps, no floats, bounded depth."""
    if depth > 4:
        raise _fail(where, "nested too deeply")
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, list):
        return tuple(_plain(x, where, depth + 1) for x in v)
    if isinstance(v, dict):
        return _Map(sorted((_str(k, where), _plain(x, where, depth + 1)) for k, x in v.items()))
    raise _fail(where, f"unsupported value type {type(v).__name__}")


def design_value(design: dict) -> tuple:
    """A kernel's design dict in the canonical form `Kernel.design` holds."""
    return _plain(design, "design")


def _unplain(v: Any, exact: bool = False) -> Any:
    # Values made by `_plain` are exact: a `_Map` is a map, any other tuple a list.
    # A design built by hand from plain tuples falls back to guessing that a
    # non-empty tuple of (str, value) pairs is a map.
    if isinstance(v, _Map):
        return {k: _unplain(x, True) for k, x in v}
    if isinstance(v, tuple):
        if not exact and v and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in v):
            return {k: _unplain(x) for k, x in v}
        return [_unplain(x, exact) for x in v]
    return v


def _sorted_unique(items: list, key, where: str) -> None:
    keys = [key(x) for x in items]
    if keys != sorted(keys):
        raise _fail(where, "entries are not in canonical (sorted) order")
    if len(set(keys)) != len(keys):
        raise _fail(where, "duplicate entries")


# --- the index ---------------------------------------------------------------
@dataclass(frozen=True)
class Layer:
    name: str
    n: int
    k: int
    count: int
    epilogue: str = "identity"
    # The manifest's scales for this layer's fp8 problems ("tensor" | "row"); None for a build without fp8.
    scales: str | None = None

    def problem(self, dtype: str) -> GemmProblem:
        """This layer's problem in `dtype` (an fp8 one takes the scale epilogue of `scales`)."""
        return GemmProblem(dtype, LINEAR, epilogue_for(dtype, self.epilogue, self.scales), self.n, self.k)

    @classmethod
    def from_obj(cls, o: Any, where: str) -> Layer:
        o = _map(o, where, ("name", "n", "k", "count", "epilogue"), optional=("scales",))
        scales = o.get("scales")
        return cls(_str(o["name"], where + ".name"), _int(o["n"], where + ".n", 1),
                   _int(o["k"], where + ".k", 1), _int(o["count"], where + ".count", 1),
                   _str(o["epilogue"], where + ".epilogue", epilogue_names()),
                   None if scales is None else _str(scales, where + ".scales", scale_kinds()))

    def to_obj(self) -> dict:
        o = {"count": self.count, "epilogue": self.epilogue, "k": self.k, "n": self.n, "name": self.name}
        if self.scales is not None:  # written only for fp8 builds: other bundles keep their bytes
            o["scales"] = self.scales
        return o


def _paired(obj, where: str):
    """`obj` (a Kernel or DispatchEntry) if its dtype and epilogue go together (fp8 with a scale epilogue,
    and only fp8 with one: GemmProblem's rule), else MalformedIndex."""
    try:
        GemmProblem(obj.dtype, obj.layout, obj.epilogue, 1, 1)
    except UnsupportedProblem as e:
        raise _fail(where, str(e)) from None
    return obj


def _source(v: Any, where: str) -> str:
    if not isinstance(v, str) or not _SOURCE_RE.fullmatch(v):
        raise _fail(where, f"{v!r} is not a kernel source name ([a-z][a-z0-9_]*)")
    return v


@dataclass(frozen=True)
class Kernel:
    symbol: str
    source: str  # the KernelSource that made it: "cutlass_operators", "aotgemm", "quack"
    family: str  # the source's own name for the kind of kernel (registry class, decode path...)
    design: tuple  # canonical nested tuples; see `design_dict`
    dtype: str
    layout: str
    epilogue: str
    alignment: int
    max_m: int  # the largest M it serves; 0: any M
    cache_key: str
    # The row stride of x it was compiled for (a kernel specialised on K takes exactly K);
    # 0: any row stride >= K that meets its alignment.
    x_row_stride: int = 0

    @property
    def design_dict(self) -> dict:
        return _unplain(self.design) if self.design else {}

    def serves(self, m: int) -> bool:
        return self.max_m == 0 or m <= self.max_m

    @classmethod
    def from_obj(cls, o: Any, where: str) -> Kernel:
        o = _map(o, where, ("symbol", "source", "family", "design", "dtype", "layout", "epilogue", "alignment",
                            "max_m", "cache_key", "x_row_stride"))
        sym = _str(o["symbol"], where + ".symbol")
        if not _SYMBOL_RE.fullmatch(sym) or sym == CUBLAS:
            raise UnsafeName(f"bundle index: {where}.symbol: {sym!r} is not a valid C identifier")
        if not isinstance(o["design"], dict):
            raise _fail(where + ".design", "expected a map")
        return _paired(cls(
            sym, _source(o["source"], where + ".source"), _str(o["family"], where + ".family"),
            _plain(o["design"], where + ".design"),
            _str(o["dtype"], where + ".dtype", DTYPES), _str(o["layout"], where + ".layout", LAYOUTS),
            _str(o["epilogue"], where + ".epilogue", epilogue_names()),
            _int(o["alignment"], where + ".alignment", 1, 1024), _int(o["max_m"], where + ".max_m", 0, 1 << 31),
            _hex64(o["cache_key"], where + ".cache_key"), _int(o["x_row_stride"], where + ".x_row_stride", 0, 1 << 31),
        ), where)

    def to_obj(self) -> dict:
        return {"alignment": self.alignment, "cache_key": self.cache_key, "design": self.design_dict,
                "dtype": self.dtype, "epilogue": self.epilogue, "family": self.family, "layout": self.layout,
                "max_m": self.max_m, "source": self.source, "symbol": self.symbol, "x_row_stride": self.x_row_stride}


@dataclass(frozen=True)
class DispatchEntry:
    """Which kernel serves one GEMM problem in one M bucket on one target."""

    dtype: str
    layout: str
    epilogue: str
    n: int
    k: int
    m_bucket: int
    kernel: str  # symbol or CUBLAS
    decided_by: str  # "tuned" | "heuristic"
    kernel_us: float | None = None
    cublas_us: float | None = None
    ranked: tuple[str, ...] = ()  # the kernels kept for this entry, best-first by the heuristic: what a re-tune chooses from
    # The smallest M the kernel serves in this bucket; cuBLAS serves the bucket's M below it. 0: the whole bucket.
    # The tuner sets it where a kernel wins at the bucket's M but not at its lower edge (tune._split_from): it
    # serves from the lowest M it was measured to win at, and the bucket is not lost to cuBLAS whole.
    min_m: int = 0

    @property
    def problem(self) -> GemmProblem:
        return GemmProblem(self.dtype, self.layout, self.epilogue, self.n, self.k)

    @property
    def key(self) -> tuple:
        """(dtype, layout, epilogue, n, k, m_bucket): the problem's key plus the bucket."""
        return (self.dtype, self.layout, self.epilogue, self.n, self.k, self.m_bucket)

    @classmethod
    def from_obj(cls, o: Any, where: str) -> DispatchEntry:
        o = _map(o, where, ("dtype", "layout", "epilogue", "n", "k", "m_bucket", "kernel", "decided_by",
                            "kernel_us", "cublas_us", "ranked"), optional=("min_m",))
        ranked = tuple(_str(x, f"{where}.ranked[{i}]")
                       for i, x in enumerate(_list(o["ranked"], where + ".ranked", MAX_RANKED)))
        if len(set(ranked)) != len(ranked) or CUBLAS in ranked:
            raise _fail(where + ".ranked", "must list distinct kernel symbols (not 'cublas')")
        return _paired(cls(
            _str(o["dtype"], where + ".dtype", DTYPES), _str(o["layout"], where + ".layout", LAYOUTS),
            _str(o["epilogue"], where + ".epilogue", epilogue_names()),
            _int(o["n"], where + ".n", 1), _int(o["k"], where + ".k", 1), _int(o["m_bucket"], where + ".m_bucket", 1),
            _str(o["kernel"], where + ".kernel"), _str(o["decided_by"], where + ".decided_by", DECIDED_BY),
            _opt_float(o["kernel_us"], where + ".kernel_us"), _opt_float(o["cublas_us"], where + ".cublas_us"),
            ranked, _int(o.get("min_m", 0), where + ".min_m", 0, 1 << 31),
        ), where)

    def to_obj(self) -> dict:
        o = {"cublas_us": self.cublas_us, "decided_by": self.decided_by, "dtype": self.dtype,
             "epilogue": self.epilogue, "k": self.k, "kernel": self.kernel, "kernel_us": self.kernel_us,
             "layout": self.layout, "m_bucket": self.m_bucket, "n": self.n, "ranked": list(self.ranked)}
        if self.min_m:  # written only when set: an index without splits is the same bytes as before the field
            o["min_m"] = self.min_m
        return o


@dataclass(frozen=True)
class Target:
    gpu: str
    arch: str
    sm_count: int
    library: str
    environment: tuple[tuple[str, Any], ...]  # sorted (key, value) pairs
    sources: tuple[tuple[str, str], ...]  # sorted (source name, its versions) of the sources with kernels here
    kernels: tuple[Kernel, ...]
    dispatch: tuple[DispatchEntry, ...]

    @property
    def env(self) -> dict[str, Any]:
        return dict(self.environment)

    def kernel_for(self, problem_key: tuple, m: int, buckets: tuple[int, ...]) -> Kernel | None:
        """The kernel this target's dispatch serves problem_key (dtype, layout, epilogue, n, k) with at M rows:
        its bucket's entry, where M is at least the entry's min_m and at most the kernel's max_m (what the
        runtime's Route.serves checks); None where cuBLAS serves it."""
        key = tuple(problem_key) + (bucket_for(m, buckets),)
        entry = next((e for e in self.dispatch if e.key == key), None)
        if entry is None or entry.kernel == CUBLAS or m < entry.min_m:
            return None
        kernel = next((k for k in self.kernels if k.symbol == entry.kernel), None)
        return kernel if kernel is not None and kernel.serves(m) else None

    @classmethod
    def from_obj(cls, o: Any, where: str) -> Target:
        o = _map(o, where, ("gpu", "arch", "sm_count", "library", "environment", "sources", "kernels", "dispatch"))
        env = _map(o["environment"], where + ".environment", ENVIRONMENT_KEYS)
        for key, val in env.items():
            if val is not None and not isinstance(val, (str, int)) or isinstance(val, bool):
                raise _fail(f"{where}.environment.{key}", "expected a string, integer or nil")
        if env["link_mode"] not in LINK_MODES:
            raise _fail(where + ".environment.link_mode", f"{env['link_mode']!r} is not one of {list(LINK_MODES)}")
        if not isinstance(o["sources"], dict):
            raise _fail(where + ".sources", "expected a map")
        sources = tuple(sorted((_source(name, f"{where}.sources"), _str(v, f"{where}.sources.{name}"))
                               for name, v in o["sources"].items()))
        kernels = [Kernel.from_obj(x, f"{where}.kernels[{i}]")
                   for i, x in enumerate(_list(o["kernels"], where + ".kernels", 100_000))]
        _sorted_unique(kernels, lambda x: x.symbol, where + ".kernels")
        named = {name for name, _ in sources}
        for i, k in enumerate(kernels):
            if k.source not in named:
                raise _fail(f"{where}.kernels[{i}].source", f"{k.source!r} is not one of this target's sources")
        dispatch = [DispatchEntry.from_obj(x, f"{where}.dispatch[{i}]")
                    for i, x in enumerate(_list(o["dispatch"], where + ".dispatch", 1_000_000))]
        _sorted_unique(dispatch, lambda x: x.key, where + ".dispatch")
        by_symbol = {k.symbol: k for k in kernels}
        for i, d in enumerate(dispatch):
            for ref, field_name in [(d.kernel, "kernel")] + [(r, f"ranked[{j}]") for j, r in enumerate(d.ranked)]:
                if ref == CUBLAS and field_name == "kernel":
                    continue
                k = by_symbol.get(ref)
                if k is None:
                    raise _fail(f"{where}.dispatch[{i}].{field_name}", f"{ref!r} is not a kernel of this target")
                if (k.dtype, k.layout, k.epilogue) != (d.dtype, d.layout, d.epilogue):
                    raise _fail(f"{where}.dispatch[{i}].{field_name}",
                                f"kernel {ref!r} is {k.dtype}/{k.layout}/{k.epilogue}, the entry "
                                f"{d.dtype}/{d.layout}/{d.epilogue}")
                if not k.serves(d.m_bucket):
                    raise _fail(f"{where}.dispatch[{i}].{field_name}",
                                f"kernel {ref!r} serves M <= {k.max_m}, not bucket {d.m_bucket}")
        arch = _str(o["arch"], where + ".arch")
        if not re.fullmatch(r"sm_\d{2,3}a?", arch):
            raise _fail(where + ".arch", f"{arch!r} is not an architecture like 'sm_90a'")
        return cls(_str(o["gpu"], where + ".gpu"), arch, _int(o["sm_count"], where + ".sm_count", 1, 10_000),
                   safe_name(o["library"], where + ".library"), tuple(sorted(env.items())), sources,
                   tuple(kernels), tuple(dispatch))

    def to_obj(self) -> dict:
        return {"arch": self.arch, "dispatch": [d.to_obj() for d in self.dispatch],
                "environment": dict(self.environment), "gpu": self.gpu,
                "kernels": [k.to_obj() for k in self.kernels], "library": self.library, "sm_count": self.sm_count,
                "sources": dict(self.sources)}


@dataclass(frozen=True)
class Blob:
    name: str
    stored_size: int
    size: int
    sha256: str
    content_sha256: str
    codec: str = CODEC

    @classmethod
    def from_obj(cls, o: Any, where: str) -> Blob:
        o = _map(o, where, ("name", "codec", "stored_size", "size", "sha256", "content_sha256"))
        name = safe_name(o["name"], where + ".name")
        size = _int(o["size"], where + ".size", 0, 2**64 - 1)  # any size above the limit is BlobTooLarge
        if size > MAX_BLOB_BYTES:
            raise BlobTooLarge(f"bundle index: {where}: blob {name!r} declares {size} bytes, "
                               f"more than the {MAX_BLOB_BYTES} a bundle may hold")
        return cls(name, _int(o["stored_size"], where + ".stored_size", 0, MAX_BLOB_BYTES), size,
                   _hex64(o["sha256"], where + ".sha256"), _hex64(o["content_sha256"], where + ".content_sha256"),
                   _str(o["codec"], where + ".codec", (CODEC,)))

    def to_obj(self) -> dict:
        return {"codec": self.codec, "content_sha256": self.content_sha256, "name": self.name,
                "sha256": self.sha256, "size": self.size, "stored_size": self.stored_size}


@dataclass(frozen=True)
class BundleIndex:
    generator: str
    model: str
    layers: tuple[Layer, ...]
    m_buckets: tuple[int, ...]
    targets: tuple[Target, ...]
    blobs: tuple[Blob, ...] = ()
    format_version: int = FORMAT_VERSION

    def target(self, gpu: str) -> Target | None:
        for t in self.targets:
            if t.gpu == gpu:
                return t
        return None

    def blob(self, name: str) -> Blob:
        for b in self.blobs:
            if b.name == name:
                return b
        raise KeyError(name)

    @classmethod
    def from_obj(cls, o: Any) -> BundleIndex:
        o = _map(o, "index", ("format_version", "generator", "model", "layers", "m_buckets", "targets", "blobs"))
        if _int(o["format_version"], "index.format_version") != FORMAT_VERSION:
            raise _fail("index.format_version", f"{o['format_version']!r} disagrees with the header's {FORMAT_VERSION}")
        layers = tuple(Layer.from_obj(x, f"index.layers[{i}]") for i, x in enumerate(_list(o["layers"], "index.layers", 10_000)))
        if len({x.name for x in layers}) != len(layers):
            raise _fail("index.layers", "duplicate layer names")
        buckets = tuple(_int(x, f"index.m_buckets[{i}]", 1, 1 << 31) for i, x in enumerate(_list(o["m_buckets"], "index.m_buckets", 1024)))
        if not buckets or list(buckets) != sorted(set(buckets)):
            raise _fail("index.m_buckets", "must be a non-empty ascending list of distinct integers")
        targets = [Target.from_obj(x, f"index.targets[{i}]") for i, x in enumerate(_list(o["targets"], "index.targets", 64))]
        _sorted_unique(targets, lambda t: t.gpu, "index.targets")
        blobs = [Blob.from_obj(x, f"index.blobs[{i}]") for i, x in enumerate(_list(o["blobs"], "index.blobs", MAX_BLOBS))]
        if len({b.name for b in blobs}) != len(blobs):
            raise _fail("index.blobs", "duplicate blob names")
        names = {b.name for b in blobs}
        for i, t in enumerate(targets):
            if t.library not in names:
                raise _fail(f"index.targets[{i}].library", f"{t.library!r} names no blob")
            for j, d in enumerate(t.dispatch):
                if d.m_bucket not in buckets:
                    raise _fail(f"index.targets[{i}].dispatch[{j}].m_bucket",
                                f"{d.m_bucket} is not one of m_buckets {list(buckets)}")
                if d.min_m:
                    lower = buckets[buckets.index(d.m_bucket) - 1] if d.m_bucket != buckets[0] else 0
                    if d.kernel == CUBLAS or not lower + 1 < d.min_m <= d.m_bucket:
                        raise _fail(f"index.targets[{i}].dispatch[{j}].min_m",
                                    f"{d.min_m} must lie in ({lower + 1}, {d.m_bucket}] (the bucket's M above its "
                                    "lower edge), and only on an entry that names a kernel")
        return cls(_str(o["generator"], "index.generator"), _str(o["model"], "index.model"), layers, buckets,
                   tuple(targets), tuple(blobs))

    def to_obj(self) -> dict:
        return {"blobs": [b.to_obj() for b in self.blobs], "format_version": self.format_version,
                "generator": self.generator, "layers": [x.to_obj() for x in self.layers],
                "m_buckets": list(self.m_buckets), "model": self.model,
                "targets": [t.to_obj() for t in sorted(self.targets, key=lambda t: t.gpu)]}
