"""The package's flat description of its bundle: `<root>/aotgemm/meta.aotgemm-meta`.

Written by `aotgemm.aoti.compile` from the bundle's *validated* index (the one
source of truth) and read by libaotgemm_aoti, which needs no msgpack decoder:
every number the C side uses (dispatch, blob offsets and checksums, the GPU
identification from aotgemm/gpus.py) comes from here, and the C side checks
the bundle against it (index SHA-256, blob SHA-256s) before using anything.

Grammar: UTF-8 lines, fields separated by one TAB, no TAB or newline inside a
field. First line `aotgemm-aoti-meta<TAB>3` (VERSION, also AOTGEMM_META_VERSION in the
generated aotgemm/native/aotgemm_rule.h). Then, in this order:

    generator  <str>                       informational
    model      <str>                       the bundle's model name, informational
    bundle     <file name> <file size> <file sha256> <index sha256> <data offset>
    device     cuda|cpu                    where the package runs
    m_buckets  <int>...                    the index's buckets, ascending
    input      <i> <dtype> <dim,...>       example input i; -1 marks a dynamic dim
    routed     <node> <dtype> <n> <k> [<epilogue>]   one per GEMM routed to the bundle; the epilogue
                                           (absent: identity) of a fused-epilogue op, or the scale
                                           epilogue of an fp8 aotgemm_scaled_mm (informational)
    target     <gpu> <arch> <sm_count> <cc major> <cc minor>
      names    <device name substring>...  from aotgemm/gpus.py
      env      <key> <value>               one per environment key; "-" for nil
      library  <blob> <offset in file> <stored size> <size> <sha256> <content sha256>
      kernel   <symbol> <source> <dtype> <layout> <epilogue> <alignment> <max_m> <x_row_stride>
      dispatch <dtype> <layout> <epilogue> <n> <k> <m_bucket> <symbol|cublas> <min_m>
    end

A dispatch line is a GemmProblem key plus the bucket (aotgemm.problem): the
runtime's table key; then the entry's choice, and the smallest M its kernel
serves (DispatchEntry.min_m, 0: the whole bucket; version 3 added it). Only kernels and entries of layout "linear" are written
(the only layout of format v2, and the only one the shim serves).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..bundle import CUBLAS, BundleFile
from ..bundle.format import HEADER_SIZE
from .errors import PackageError
from ..gpus import gpu_model
from ..epilogues import BIAS, IDENTITY
from ..problem import LINEAR

MAGIC = "aotgemm-aoti-meta"
VERSION = 3
META_RECORD = "aotgemm/meta.aotgemm-meta"
BUNDLE_RECORD = "aotgemm/bundle.agb"
# The libaotgemm_aoti the package was compiled with (an extension the .pt2 loaders ignore).
NATIVE_RECORD = "aotgemm/libaotgemm_aoti.aotgemm-native"


def _field(v: object) -> str:
    s = "-" if v is None else str(v)
    if "\t" in s or "\n" in s or "\r" in s:
        raise PackageError(f"meta field {s!r} contains a TAB or newline")
    return s


def _line(*fields: object) -> str:
    return "\t".join(_field(f) for f in fields)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def index_sha256(bundle: BundleFile) -> str:
    with open(bundle.path, "rb") as f:
        head = f.read(HEADER_SIZE)
    return head[24:56].hex()


Ranges = tuple[tuple[int, float], ...]  # (lo, hi) pairs: lo < M <= hi, hi possibly math.inf; ascending, disjoint


def served_ranges(bundle: BundleFile, target: str | None = None) -> dict[tuple[str, str, int, int], Ranges]:
    """(dtype, epilogue, n, k) -> the ranges of M at which `target` (None: any) serves that problem with a
    bundle kernel, for every problem some bucket serves with one: where a routed call can hit, so where
    routing it pays (the rewrite guards each routed call with M in these ranges: aoti/guard.py).

    A bucket b with a kernel covers M from the bucket below it (exclusive), or from the entry's min_m, to b,
    or to the kernel's max_m when that is smaller; the largest bucket also covers every larger M (dispatch_rule.bucket_for), up to
    the kernel's max_m. The ranges of all the targets considered are merged."""
    buckets = tuple(bundle.index.m_buckets)
    spans: dict[tuple[str, str, int, int], list[tuple[int, float]]] = {}
    for t in bundle.index.targets:
        if target is not None and t.gpu != target:
            continue
        max_m = {k.symbol: k.max_m for k in t.kernels}
        for d in t.dispatch:
            if d.layout != LINEAR or d.kernel == CUBLAS or d.m_bucket not in buckets:
                continue
            i = buckets.index(d.m_bucket)
            lo, hi = (buckets[i - 1] if i else 0), (math.inf if i == len(buckets) - 1 else d.m_bucket)
            lo = max(lo, d.min_m - 1)
            if max_m.get(d.kernel):
                hi = min(hi, max_m[d.kernel])
            if hi > lo:
                spans.setdefault((d.dtype, d.epilogue, d.n, d.k), []).append((lo, hi))
    out = {}
    for key, parts in spans.items():
        merged: list[list] = []
        for lo, hi in sorted(parts):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        out[key] = tuple((int(lo), hi if hi == math.inf else int(hi)) for lo, hi in merged)
    return out


def coverage(bundle: BundleFile, target: str | None = None) -> dict[tuple[str, int, int], Ranges]:
    """(dtype, n, k) -> served M ranges of every GEMM that `target` (None: any target) serves with an
    identity-epilogue bundle kernel in some bucket: the plain GEMMs worth routing to the shim (aotgemm_linear;
    the rewrite keeps a bias as a separate add), at those M. A GEMM with no such kernel stays Inductor's own
    call, even where the bundle has fused-epilogue kernels of its shape (those serve only the folded ops)."""
    return {(dt, n, k): r for (dt, ep, n, k), r in served_ranges(bundle, target).items() if ep == IDENTITY}


def epilogue_coverage(bundle: BundleFile, target: str | None = None) -> dict[tuple[str, str, int, int], Ranges]:
    """(dtype, epilogue, n, k) -> served M ranges of every epilogue problem (not identity or bias) that
    `target` (None: any) serves with a bundle kernel in some bucket: the epilogue patterns the rewrite folds
    into one op, and the fp8 torch._scaled_mm calls it routes (their scales' form picks the scale epilogue:
    scale_tensor, scale_row, scale_rowwise), at those M."""
    return {key: r for key, r in served_ranges(bundle, target).items() if key[1] not in (IDENTITY, BIAS)}


@dataclass
class InputSpec:
    dtype: str
    shape: tuple[int, ...]  # -1: dynamic


@dataclass
class Routed:
    node: str
    dtype: str
    n: int
    k: int
    epilogue: str = IDENTITY


@dataclass
class MetaInfo:
    """What a package's meta says, parsed back (aotgemm.aoti.package_info)."""

    bundle_name: str
    bundle_size: int
    bundle_sha256: str
    index_sha256: str
    device: str
    m_buckets: tuple[int, ...]
    inputs: list[InputSpec] = field(default_factory=list)
    routed: list[Routed] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    # target -> [(dtype, layout, epilogue, n, k, m_bucket, kernel, min_m)]: DispatchEntry.key + (kernel, min_m)
    dispatch: dict[str, list[tuple[str, str, str, int, int, int, str, int]]] = field(default_factory=dict)


def render(bundle: BundleFile, *, device: str, inputs: Sequence[InputSpec], routed: Iterable[Routed],
           file_sha: str | None = None) -> str:
    """The meta text for `bundle` (validated by open_bundle)."""
    idx = bundle.index
    path = Path(bundle.path)
    lines = [
        _line(MAGIC, VERSION),
        _line("generator", f"aotgemm {__version__}"),
        _line("model", idx.model),
        _line("bundle", path.name, path.stat().st_size, file_sha or file_sha256(path), index_sha256(bundle),
              bundle.data_offset),
        _line("device", device),
        _line("m_buckets", *idx.m_buckets),
    ]
    for i, spec in enumerate(inputs):
        lines.append(_line("input", i, spec.dtype, ",".join(str(d) for d in spec.shape)))
    for r in routed:
        lines.append(_line("routed", r.node, r.dtype, r.n, r.k) if r.epilogue == IDENTITY else
                     _line("routed", r.node, r.dtype, r.n, r.k, r.epilogue))
    for t in idx.targets:
        model = gpu_model(t.gpu)  # UnknownGpu for a model gpus.py does not know
        lib = idx.blob(t.library)
        lines.append(_line("target", t.gpu, t.arch, t.sm_count, *model.compute_capability))
        lines.append(_line("names", *model.device_names))
        for key, val in t.environment:
            lines.append(_line("env", key, val))
        lines.append(_line("library", lib.name, bundle.data_offset + bundle.offsets[lib.name], lib.stored_size,
                           lib.size, lib.sha256, lib.content_sha256))
        for k in t.kernels:
            if k.layout == LINEAR:
                lines.append(_line("kernel", k.symbol, k.source, k.dtype, k.layout, k.epilogue, k.alignment, k.max_m,
                                   k.x_row_stride))
        for d in t.dispatch:
            if d.layout == LINEAR:
                lines.append(_line("dispatch", *d.key, d.kernel, d.min_m))
        lines.append("end")
    return "\n".join(lines) + "\n"


def parse(text: str) -> MetaInfo:
    """Parse the fields Python tools need (the C side has its own, stricter parser)."""
    rows = [ln.split("\t") for ln in text.splitlines() if ln]
    if not rows or rows[0][0] != MAGIC:
        raise PackageError("not an aotgemm meta file")
    if len(rows[0]) != 2 or rows[0][1] != str(VERSION):
        raise PackageError(f"meta version {rows[0][1:]}; this aotgemm reads version {VERSION} "
                           "(recompile the package with this aotgemm)")
    info = None
    inputs, routed, targets, dispatch, buckets, device = [], [], [], {}, (), ""
    current = None
    for r in rows[1:]:
        key = r[0]
        if key == "bundle":
            info = (r[1], int(r[2]), r[3], r[4])
        elif key == "device":
            device = r[1]
        elif key == "m_buckets":
            buckets = tuple(int(x) for x in r[1:])
        elif key == "input":
            inputs.append(InputSpec(r[2], tuple(int(x) for x in r[3].split(",") if x)))
        elif key == "routed":
            routed.append(Routed(r[1], r[2], int(r[3]), int(r[4]), r[5] if len(r) > 5 else IDENTITY))
        elif key == "target":
            current = r[1]
            targets.append(current)
            dispatch[current] = []
        elif key == "dispatch" and current:
            dispatch[current].append((r[1], r[2], r[3], int(r[4]), int(r[5]), int(r[6]), r[7], int(r[8])))
    if info is None:
        raise PackageError("meta has no bundle line")
    return MetaInfo(*info, device=device, m_buckets=buckets, inputs=inputs, routed=routed, targets=targets,
                    dispatch=dispatch)
