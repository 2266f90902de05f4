"""GEMM shape manifests: what a model multiplies, and what to build for.

A manifest is a small TOML file (format: docs/manifest-format.md) listing the
GEMMs of one model, out[M, n] = x[M, k] @ W[n, k]^T as nn.Linear computes
them, and the GPUs, dtypes and M buckets to compile kernels for.

Every way of making a `Manifest` from outside data goes through one
validator, `manifest_from_document`: `parse_manifest` feeds it what tomllib
read, `validate_manifest` (used by `aotgemm.hf`) feeds it a manifest built in
code. So a manifest written by `manifest from-hf` obeys exactly the rules a
hand-written file does. Errors are `ManifestError`s reading
"<file>: <field>: <problem>; <what to do>".
"""

from __future__ import annotations

import datetime
import difflib
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import epilogues
from .errors import ManifestError
from .gpus import GPU_MODELS
from .problem import (DTYPE_BYTES, DTYPES as SUPPORTED_DTYPES, LINEAR, ROW_ALIGN_BYTES, SCALED_DTYPES, GemmProblem,
                      epilogue_for)

DEFAULT_M_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
# GEMM extents are passed to the kernels as 32-bit integers.
MAX_EXTENT = 2**31 - 1

# Names end up in file names (artifacts/<model>.agb) and bundle indexes:
# keep them to characters that are safe everywhere.
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class LayerSpec:
    """One GEMM of the model: out[M, n] = x[M, k] @ W[n, k]^T, run `count` times per forward."""

    name: str
    n: int
    k: int
    count: int = 1
    epilogue: str = epilogues.IDENTITY
    # fp8 builds: the layer's scales ("tensor" | "row" | "rowwise" | "mx"), the build's unless the layer names its
    # own; else None.
    scales: str | None = None

    def problem(self, dtype: str) -> GemmProblem:
        """This layer's problem in `dtype`; an fp8 one takes the scale epilogue of `scales` (epilogue_for)."""
        return GemmProblem(dtype, LINEAR, epilogue_for(dtype, self.epilogue, self.scales), self.n, self.k)


@dataclass(frozen=True)
class Manifest:
    model: str
    gpus: tuple[str, ...]
    dtypes: tuple[str, ...]
    layers: tuple[LayerSpec, ...]
    m_buckets: tuple[int, ...] = DEFAULT_M_BUCKETS
    tp: int = 1
    source: str | None = None  # where the shapes came from (HF repo id, config path), informational
    scales: str | None = None  # build.scales: the default scales of fp8 layers (epilogues.scale_kinds())


# The keys each table may hold, in the order dump_manifest writes them.
TOP_LEVEL_KEYS = ("model", "build", "layers")
MODEL_KEYS = ("name", "tp", "source")
BUILD_KEYS = ("gpus", "dtypes", "m_buckets", "scales")
LAYER_KEYS = ("name", "n", "k", "count", "epilogue", "scales")


# --- reading -------------------------------------------------------------------
def load_manifest(path: str | os.PathLike) -> Manifest:
    """Read and validate the manifest file at `path`."""
    where = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ManifestError(f"{where}: cannot read manifest: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ManifestError(f"{where}: not UTF-8 text (byte {e.start}); TOML files must be UTF-8") from None
    return parse_manifest(text, where)


def parse_manifest(text: str, where: str) -> Manifest:
    """Parse and validate manifest TOML `text`; `where` names it in error messages."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # tomllib's message ends with "(at line L, column C)".
        raise ManifestError(f"{where}: not valid TOML: {e}") from None
    return manifest_from_document(document, where)


def validate_manifest(m: Manifest, where: str) -> Manifest:
    """Check a manifest built in code by the rules a manifest file obeys.

    Returns the manifest normalised (tuples everywhere); raises ManifestError.
    """
    return manifest_from_document(_manifest_document(m), where)


def manifest_from_document(document: Mapping[str, Any], where: str) -> Manifest:
    """The one validator: build a Manifest from a TOML document (as tomllib returns it)."""
    _reject_unknown_keys(document, TOP_LEVEL_KEYS, "", where)

    model = _required_table(document, "model", where)
    _reject_unknown_keys(model, MODEL_KEYS, "model", where)
    name = _required(model, "name", "model", where)
    _check_type(name, str, "model.name", where)
    _check_name(name, "model.name", "model name", where)
    tp = model.get("tp", 1)
    _check_positive_int(tp, "model.tp", where)
    source = model.get("source")
    if source is not None:
        _check_type(source, str, "model.source", where)

    build = _required_table(document, "build", where)
    _reject_unknown_keys(build, BUILD_KEYS, "build", where)
    gpus = _string_list(_required(build, "gpus", "build", where), "build.gpus", where)
    if not gpus:
        raise _error(where, "build.gpus", f"empty; list at least one GPU model (known: {_known_gpus()})")
    for i, gpu in enumerate(gpus):
        if gpu not in GPU_MODELS:
            raise _error(where, f"build.gpus[{i}]",
                         f"unknown GPU model {gpu!r}; known models: {_known_gpus()}{_did_you_mean(gpu, GPU_MODELS)}")
    _reject_duplicates(gpus, "build.gpus", "GPU", where)
    dtypes = _string_list(_required(build, "dtypes", "build", where), "build.dtypes", where)
    if not dtypes:
        raise _error(where, "build.dtypes", f"empty; list at least one dtype (supported: {', '.join(SUPPORTED_DTYPES)})")
    for i, dtype in enumerate(dtypes):
        if dtype not in SUPPORTED_DTYPES:
            raise _error(where, f"build.dtypes[{i}]",
                         f"unsupported dtype {dtype!r}; supported: {', '.join(SUPPORTED_DTYPES)}")
    _reject_duplicates(dtypes, "build.dtypes", "dtype", where)
    m_buckets = _m_buckets(build.get("m_buckets", list(DEFAULT_M_BUCKETS)), where)
    scaled = [d for d in dtypes if d in SCALED_DTYPES]
    scales = build.get("scales")
    if scales is not None:
        _check_scales(scales, "build.scales", where)
        if not scaled:
            raise _error(where, "build.scales", f"applies only to {' and '.join(SCALED_DTYPES)} builds; remove it, "
                         f"or add {SCALED_DTYPES[0]!r} to build.dtypes")

    if "layers" not in document:
        raise _error(where, "layers", "required key is missing; add at least one [[layers]] table")
    raw_layers = document["layers"]
    if not isinstance(raw_layers, list):
        raise _error(where, "layers", f"expected an array of tables ([[layers]]), got {_describe(raw_layers)}")
    if not raw_layers:
        raise _error(where, "layers", "empty; add at least one [[layers]] table")
    alignment = max(ROW_ALIGN_BYTES // DTYPE_BYTES[d] for d in dtypes)
    layers = tuple(_layer(raw, f"layers[{i}]", alignment, dtypes, scales, where) for i, raw in enumerate(raw_layers))
    first_seen: dict[str, int] = {}
    for i, layer in enumerate(layers):
        if layer.name in first_seen:
            raise _error(where, f"layers[{i}].name",
                         f"duplicate layer name {layer.name!r} (first at layers[{first_seen[layer.name]}]); "
                         "layer names must be unique (a GEMM that runs several times per forward pass "
                         "is one layer with a count)")
        first_seen[layer.name] = i

    return Manifest(model=name, gpus=tuple(gpus), dtypes=tuple(dtypes), layers=layers,
                    m_buckets=m_buckets, tp=tp, source=source, scales=scales)


def _check_scales(value: Any, field: str, where: str) -> None:
    _check_type(value, str, field, where)
    if value not in epilogues.scale_kinds():
        raise _error(where, field, f"unknown scales {value!r}; use \"tensor\" (one float32 scale for x and one "
                     "for W), \"row\" (one for x, one per output channel of W), \"rowwise\" (one per token of x, "
                     "one per output channel of W) or \"mx\" (MXFP8: one e8m0 scale per 32 elements along K of x "
                     "and of W; Blackwell only)" + _did_you_mean(value, epilogues.scale_kinds()))


def _layer(raw: Any, path: str, alignment: int, dtypes: Sequence[str], build_scales: str | None,
           where: str) -> LayerSpec:
    if not isinstance(raw, dict):
        raise _error(where, path, f"expected a table ([[layers]]), got {_describe(raw)}")
    _reject_unknown_keys(raw, LAYER_KEYS, path, where)
    name = _required(raw, "name", path, where)
    _check_type(name, str, f"{path}.name", where)
    _check_name(name, f"{path}.name", "layer name", where)
    extents = {}
    for key in ("n", "k"):
        value = _required(raw, key, path, where)
        _check_extent(value, f"{path}.{key}", where)
        if value % alignment:
            padded = -(-value // alignment) * alignment
            raise _error(where, f"{path}.{key}",
                         f"{value} is not a multiple of {alignment}; {' and '.join(dtypes)} GEMMs need N and K "
                         f"to be multiples of {alignment} elements ({ROW_ALIGN_BYTES} bytes) because the kernels "
                         f"copy rows with TMA, which needs {ROW_ALIGN_BYTES}-byte aligned rows; "
                         f"pad the weight to {padded}")
        extents[key] = value
    count = raw.get("count", 1)
    _check_positive_int(count, f"{path}.count", where)
    epilogue = raw.get("epilogue", epilogues.IDENTITY)
    _check_type(epilogue, str, f"{path}.epilogue", where)
    layer_epilogues = tuple(e for e in epilogues.names() if epilogues.epilogue(e).scales is None)
    if epilogue not in layer_epilogues:
        if epilogue in epilogues.names():
            raise _error(where, f"{path}.epilogue", f"{epilogue!r} is what scales = "
                         f"\"{epilogues.epilogue(epilogue).scales}\" selects for fp8 layers; set scales instead")
        raise _error(where, f"{path}.epilogue", f"unknown epilogue {epilogue!r}; known: "
                     f"{', '.join(layer_epilogues)}{_did_you_mean(epilogue, layer_epilogues)}")
    scaled = [d for d in dtypes if d in SCALED_DTYPES]
    scales = raw.get("scales")
    if scales is not None:
        _check_scales(scales, f"{path}.scales", where)
        if not scaled:
            raise _error(where, f"{path}.scales", f"applies only to {' and '.join(SCALED_DTYPES)} builds; remove "
                         f"it, or add {SCALED_DTYPES[0]!r} to build.dtypes")
    scales = scales if scales is not None else build_scales
    if scaled and scales is None:
        raise _error(where, f"{path}.scales", f"{scaled[0]} layers need scales: set build.scales (or this "
                     "layer's scales) to \"tensor\", \"row\", \"rowwise\" or \"mx\"")
    if scaled and epilogue != epilogues.IDENTITY:
        raise _error(where, f"{path}.epilogue", f"{scaled[0]} layers take only their scale epilogue (from "
                     f"scales), not {epilogue!r}; remove the epilogue, or build this model without {scaled[0]}")
    if scaled and scales == "mx" and extents["k"] % epilogues.MX_BLOCK:
        raise _error(where, f"{path}.k", f"{extents['k']} is not a multiple of {epilogues.MX_BLOCK}; scales = \"mx\" "
                     f"gives one scale per {epilogues.MX_BLOCK} elements of K; pad the weight to "
                     f"{-(-extents['k'] // epilogues.MX_BLOCK) * epilogues.MX_BLOCK}, or use other scales")
    return LayerSpec(name=name, n=extents["n"], k=extents["k"], count=count, epilogue=epilogue,
                     scales=scales if scaled else None)


def _m_buckets(value: Any, where: str) -> tuple[int, ...]:
    field = "build.m_buckets"
    if not isinstance(value, list):
        raise _error(where, field, f"expected an array of integers, got {_describe(value)}")
    if not value:
        raise _error(where, field, "empty; list at least one M bucket, or leave the key out for the default "
                                   f"({', '.join(map(str, DEFAULT_M_BUCKETS))})")
    for i, m in enumerate(value):
        _check_extent(m, f"{field}[{i}]", where)
        if i and m <= value[i - 1]:
            if m in value[:i]:
                raise _error(where, f"{field}[{i}]",
                             f"{m} is listed twice (first at {field}[{value.index(m)}]); buckets must be distinct")
            raise _error(where, f"{field}[{i}]",
                         f"{m} comes after {value[i - 1]}; list buckets in ascending order")
    return tuple(value)


# --- checks, each raising one message ---------------------------------------------
def _error(where: str, field: str, problem: str) -> ManifestError:
    return ManifestError(f"{where}: {field}: {problem}")


def _reject_unknown_keys(table: Mapping[str, Any], allowed: Sequence[str], path: str, where: str) -> None:
    for key in table:
        if key in allowed:
            continue
        if path:
            field, problem = f"{path}.{key}", f"unknown key; allowed keys here: {', '.join(allowed)}"
        else:
            field, problem = key, f"unknown top-level key; allowed: {', '.join(allowed)}"
        raise _error(where, field, problem + _did_you_mean(key, allowed))


def _required(table: Mapping[str, Any], key: str, path: str, where: str) -> Any:
    if key not in table:
        raise _error(where, f"{path}.{key}", "required key is missing")
    return table[key]


def _required_table(document: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    if key not in document:
        raise _error(where, key, f"required table [{key}] is missing")
    table = document[key]
    if not isinstance(table, dict):
        raise _error(where, key, f"expected a table ([{key}]), got {_describe(table)}")
    return table


def _check_type(value: Any, expected: type, field: str, where: str) -> None:
    # bool is a subclass of int in Python but not an integer in TOML: `n = true` is a mistake.
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise _error(where, field, f"expected {_TYPE_NAMES[expected]}, got {_describe(value)}")


def _check_positive_int(value: Any, field: str, where: str) -> None:
    _check_type(value, int, field, where)
    if value < 1:
        raise _error(where, field, f"must be a positive integer, got {value}")


def _check_extent(value: Any, field: str, where: str) -> None:
    _check_positive_int(value, field, where)
    if value > MAX_EXTENT:
        raise _error(where, field, f"{value} is too large; GEMM extents are 32-bit in the kernels "
                                   f"(at most {MAX_EXTENT})")


def _check_name(name: str, field: str, what: str, where: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise _error(where, field, f"{name!r} is not a valid {what}; use only letters, digits, '_', '.' and '-'")


def _string_list(value: Any, field: str, where: str) -> list[str]:
    if not isinstance(value, list):
        raise _error(where, field, f"expected an array of strings, got {_describe(value)}")
    for i, item in enumerate(value):
        _check_type(item, str, f"{field}[{i}]", where)
    return value


def _reject_duplicates(values: Sequence[str], field: str, what: str, where: str) -> None:
    for i, value in enumerate(values):
        first = values.index(value)
        if first != i:
            raise _error(where, f"{field}[{i}]",
                         f"{value!r} is listed twice (first at {field}[{first}]); list each {what} once")


def _known_gpus() -> str:
    return ", ".join(GPU_MODELS)


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


_TYPE_NAMES = {str: "a string", int: "an integer"}


def _describe(value: Any) -> str:
    """The TOML type of `value`, and the value when it is short: 'a boolean (true)'."""
    if isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, int):
        kind = "an integer"
    elif isinstance(value, float):
        kind = "a float"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, list):
        kind = "an array"
    elif isinstance(value, dict):
        return "a table"
    elif isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        kind = "a date/time"
    else:
        kind = f"a {type(value).__name__}"
    shown = _toml_value(value) if isinstance(value, (bool, int, str, list)) else str(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind} ({shown})"


# --- writing ---------------------------------------------------------------------
def _manifest_document(m: Manifest) -> dict[str, Any]:
    """`m` as the TOML document that describes it (the inverse of manifest_from_document)."""
    model: dict[str, Any] = {"name": m.model, "tp": m.tp}
    if m.source is not None:
        model["source"] = m.source
    build: dict[str, Any] = {"gpus": list(m.gpus), "dtypes": list(m.dtypes), "m_buckets": list(m.m_buckets)}
    if m.scales is not None:
        build["scales"] = m.scales
    return {
        "model": model,
        "build": build,
        "layers": [{"name": l.name, "n": l.n, "k": l.k, "count": l.count,
                    **({"epilogue": l.epilogue} if l.epilogue != epilogues.IDENTITY else {}),
                    **({"scales": l.scales} if l.scales is not None and l.scales != m.scales else {})}
                   for l in m.layers],
    }


def dump_manifest(m: Manifest) -> str:
    """`m` as manifest TOML that parse_manifest reads back to an equal Manifest.

    Deterministic: every key is written, always in the same order, so the same
    manifest gives the same bytes (diffable, cacheable).
    """
    document = _manifest_document(m)
    lines = [
        "# aotgemm GEMM shape manifest (format: docs/manifest-format.md).",
        "# Each layer is out[M, n] = x[M, k] @ W[n, k]^T (nn.Linear), run `count` times per forward pass.",
        "",
    ]
    for table in ("model", "build"):
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in document[table].items()]
        lines.append("")
    for layer in document["layers"]:
        lines.append("[[layers]]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in layer.items()]
        lines.append("")
    return "\n".join(lines[:-1]) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


_TOML_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_string(s: str) -> str:
    """A TOML basic string. Not json.dumps: JSON escapes astral characters as
    surrogate pairs, which TOML forbids, and leaves DEL unescaped, which TOML also forbids."""
    out = []
    for ch in s:
        if ch in _TOML_SHORT_ESCAPES:
            out.append(_TOML_SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
