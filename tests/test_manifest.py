"""The manifest format: parsing, every validation error (exact message), dumping, the shipped manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotgemm.errors import ManifestError
from aotgemm.gpus import GPU_MODELS
from aotgemm.manifest import (
    DEFAULT_M_BUCKETS,
    SUPPORTED_DTYPES,
    LayerSpec,
    Manifest,
    dump_manifest,
    load_manifest,
    parse_manifest,
    validate_manifest,
)

REPO = Path(__file__).resolve().parents[1]
SHIPPED_LLAMA = REPO / "manifests" / "llama-3.1-8b.toml"
WHERE = "test.toml"
KNOWN_GPUS = "H100_SXM, H100_PCIE, H100_NVL, H200_SXM, B200"

MODEL = '[model]\nname = "m"\n'
BUILD = '[build]\ngpus = ["H100_SXM"]\ndtypes = ["bfloat16"]\n'
LAYER = '[[layers]]\nname = "qkv"\nn = 6144\nk = 4096\n'


def manifest_text(model: str = MODEL, build: str = BUILD, layers: str = LAYER, extra: str = "") -> str:
    return "\n".join((extra, model, build, layers))


def error_of(text: str) -> str:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, WHERE)
    return str(info.value)


# --- what parses ---------------------------------------------------------------------------------
def test_minimal_manifest_takes_the_defaults():
    m = parse_manifest(manifest_text(), WHERE)
    assert m == Manifest(model="m", gpus=("H100_SXM",), dtypes=("bfloat16",),
                         layers=(LayerSpec("qkv", 6144, 4096, 1),),
                         m_buckets=DEFAULT_M_BUCKETS, tp=1, source=None)


def test_every_field_given():
    text = manifest_text(
        model='[model]\nname = "x-1.0_b"\ntp = 4\nsource = "org/x"\n',
        build='[build]\ngpus = ["B200", "H100_SXM"]\ndtypes = ["float16", "bfloat16"]\nm_buckets = [3, 64, 100]\n',
        layers=LAYER + 'count = 7\n[[layers]]\nname = "o"\nn = 8\nk = 16\n',
    )
    assert parse_manifest(text, WHERE) == Manifest(
        model="x-1.0_b", gpus=("B200", "H100_SXM"), dtypes=("float16", "bfloat16"),
        layers=(LayerSpec("qkv", 6144, 4096, 7), LayerSpec("o", 8, 16, 1)),
        m_buckets=(3, 64, 100), tp=4, source="org/x")


def test_every_gpu_of_the_table_is_accepted():
    build = f'[build]\ngpus = [{", ".join(map(repr, GPU_MODELS)).replace(chr(39), chr(34))}]\ndtypes = ["bfloat16"]\n'
    assert parse_manifest(manifest_text(build=build), WHERE).gpus == tuple(GPU_MODELS)


# --- every error, with its exact message ---------------------------------------------------------
ALIGN_K = ("layers[0].k: 4100 is not a multiple of 8; bfloat16 GEMMs need N and K to be multiples of 8 elements "
           "(16 bytes) because the kernels copy rows with TMA, which needs 16-byte aligned rows; "
           "pad the weight to 4104")

ERROR_CASES = {
    # TOML syntax
    "syntax": ('[model]\nname = \n', "not valid TOML: Invalid value (at line 2, column 8)"),
    "syntax-unterminated-string": ('[model]\nname = "m\n', "not valid TOML: Illegal character '\\n' (at line 2, column 10)"),
    "syntax-table-twice": (manifest_text(extra='[model]\nname = "a"\n'),
                           "not valid TOML: Cannot declare ('model',) twice (at line 4, column 7)"),
    # unknown keys, everywhere
    "unknown-top-level": (manifest_text(extra='modle = 1\n'),
                          "modle: unknown top-level key; allowed: model, build, layers (did you mean 'model'?)"),
    "unknown-top-level-table": (manifest_text(extra='[tuning]\nx = 1\n'),
                                "tuning: unknown top-level key; allowed: model, build, layers"),
    "unknown-in-model": (manifest_text(model=MODEL + 'nmae = "x"\n'),
                         "model.nmae: unknown key; allowed keys here: name, tp, source (did you mean 'name'?)"),
    "unknown-in-build": (manifest_text(build=BUILD + 'gpu = "B200"\n'),
                         "build.gpu: unknown key; allowed keys here: gpus, dtypes, m_buckets, scales (did you mean 'gpus'?)"),
    "unknown-in-layer": (manifest_text(layers=LAYER + 'bias = true\n'),
                         "layers[0].bias: unknown key; allowed keys here: name, n, k, count, epilogue, scales"),
    "unknown-epilogue": (manifest_text(layers=LAYER + 'epilogue = "siluu"\n'),
                         "layers[0].epilogue: unknown epilogue 'siluu'; known: bias, geglu, identity, residual_add, swiglu (did you mean 'swiglu'?)"),
    "epilogue-not-string": (manifest_text(layers=LAYER + 'epilogue = 1\n'),
                            "layers[0].epilogue: expected a string, got an integer (1)"),
    "unknown-in-second-layer": (manifest_text(layers=LAYER + '[[layers]]\nname = "o"\nn = 8\nk = 8\ncuont = 2\n'),
                                "layers[1].cuont: unknown key; allowed keys here: name, n, k, count, epilogue, scales "
                                "(did you mean 'count'?)"),
    # missing required keys
    "missing-model": (manifest_text(model=""), "model: required table [model] is missing"),
    "missing-build": (manifest_text(build=""), "build: required table [build] is missing"),
    "missing-model-name": (manifest_text(model="[model]\ntp = 1\n"), "model.name: required key is missing"),
    "missing-gpus": (manifest_text(build='[build]\ndtypes = ["bfloat16"]\n'), "build.gpus: required key is missing"),
    "missing-dtypes": (manifest_text(build='[build]\ngpus = ["B200"]\n'), "build.dtypes: required key is missing"),
    "missing-layers": (manifest_text(layers=""),
                       "layers: required key is missing; add at least one [[layers]] table"),
    "missing-layer-name": (manifest_text(layers='[[layers]]\nn = 8\nk = 8\n'), "layers[0].name: required key is missing"),
    "missing-layer-n": (manifest_text(layers='[[layers]]\nname = "a"\nk = 8\n'), "layers[0].n: required key is missing"),
    "missing-layer-k": (manifest_text(layers='[[layers]]\nname = "a"\nn = 8\n'), "layers[0].k: required key is missing"),
    # wrong types (a TOML boolean is not an integer, though Python's bool is an int)
    "model-not-table": (manifest_text(model='', extra='model = "m"\n'),
                        'model: expected a table ([model]), got a string ("m")'),
    "name-int": (manifest_text(model='[model]\nname = 7\n'), "model.name: expected a string, got an integer (7)"),
    "tp-bool": (manifest_text(model=MODEL + 'tp = true\n'), "model.tp: expected an integer, got a boolean (true)"),
    "tp-string": (manifest_text(model=MODEL + 'tp = "2"\n'), 'model.tp: expected an integer, got a string ("2")'),
    "source-int": (manifest_text(model=MODEL + 'source = 1\n'), "model.source: expected a string, got an integer (1)"),
    "gpus-string": (manifest_text(build='[build]\ngpus = "B200"\ndtypes = ["bfloat16"]\n'),
                    'build.gpus: expected an array of strings, got a string ("B200")'),
    "gpus-element-int": (manifest_text(build='[build]\ngpus = ["B200", 100]\ndtypes = ["bfloat16"]\n'),
                         "build.gpus[1]: expected a string, got an integer (100)"),
    "layers-not-array": (manifest_text(layers='[layers]\nname = "a"\n'),
                         'layers: expected an array of tables ([[layers]]), got a table'),
    "layer-not-table": ("layers = [1]\n" + MODEL + BUILD,
                        "layers[0]: expected a table ([[layers]]), got an integer (1)"),
    "n-bool": (manifest_text(layers='[[layers]]\nname = "a"\nn = true\nk = 8\n'),
               "layers[0].n: expected an integer, got a boolean (true)"),
    "k-float": (manifest_text(layers='[[layers]]\nname = "a"\nn = 8\nk = 4096.0\n'),
                "layers[0].k: expected an integer, got a float (4096.0)"),
    "n-string": (manifest_text(layers='[[layers]]\nname = "a"\nn = "8"\nk = 8\n'),
                 'layers[0].n: expected an integer, got a string ("8")'),
    "count-bool": (manifest_text(layers=LAYER + 'count = false\n'),
                   "layers[0].count: expected an integer, got a boolean (false)"),
    "layer-name-int": (manifest_text(layers='[[layers]]\nname = 1\nn = 8\nk = 8\n'),
                       "layers[0].name: expected a string, got an integer (1)"),
    "m-buckets-string": (manifest_text(build=BUILD + 'm_buckets = "1,2"\n'),
                         'build.m_buckets: expected an array of integers, got a string ("1,2")'),
    "m-buckets-element-bool": (manifest_text(build=BUILD + 'm_buckets = [1, true]\n'),
                               "build.m_buckets[1]: expected an integer, got a boolean (true)"),
    "date": (manifest_text(model=MODEL + 'tp = 2024-01-01\n'),
             "model.tp: expected an integer, got a date/time (2024-01-01)"),
    # non-positive numbers
    "n-zero": (manifest_text(layers='[[layers]]\nname = "a"\nn = 0\nk = 8\n'),
               "layers[0].n: must be a positive integer, got 0"),
    "k-negative": (manifest_text(layers='[[layers]]\nname = "a"\nn = 8\nk = -8\n'),
                   "layers[0].k: must be a positive integer, got -8"),
    "count-zero": (manifest_text(layers=LAYER + 'count = 0\n'), "layers[0].count: must be a positive integer, got 0"),
    "tp-zero": (manifest_text(model=MODEL + 'tp = 0\n'), "model.tp: must be a positive integer, got 0"),
    "n-too-large": (manifest_text(layers='[[layers]]\nname = "a"\nn = 4294967296\nk = 8\n'),
                    "layers[0].n: 4294967296 is too large; GEMM extents are 32-bit in the kernels (at most 2147483647)"),
    # 16-byte alignment of K and N
    "k-unaligned": (manifest_text(layers='[[layers]]\nname = "qkv"\nn = 6144\nk = 4100\n'), ALIGN_K),
    "n-unaligned-float16": (
        manifest_text(build='[build]\ngpus = ["B200"]\ndtypes = ["float16"]\n',
                      layers='[[layers]]\nname = "a"\nn = 6146\nk = 8\n'),
        "layers[0].n: 6146 is not a multiple of 8; float16 GEMMs need N and K to be multiples of 8 elements "
        "(16 bytes) because the kernels copy rows with TMA, which needs 16-byte aligned rows; pad the weight to 6152"),
    # GPUs and dtypes
    "unknown-gpu": (manifest_text(build='[build]\ngpus = ["B200", "H100"]\ndtypes = ["bfloat16"]\n'),
                    f"build.gpus[1]: unknown GPU model 'H100'; known models: {KNOWN_GPUS} (did you mean 'H100_SXM'?)"),
    "unknown-gpu-no-hint": (manifest_text(build='[build]\ngpus = ["MI300X"]\ndtypes = ["bfloat16"]\n'),
                            f"build.gpus[0]: unknown GPU model 'MI300X'; known models: {KNOWN_GPUS}"),
    "unsupported-dtype": (manifest_text(build='[build]\ngpus = ["B200"]\ndtypes = ["bfloat16", "float32"]\n'),
                          "build.dtypes[1]: unsupported dtype 'float32'; supported: bfloat16, float16, float8_e4m3fn"),
    "empty-gpus": (manifest_text(build='[build]\ngpus = []\ndtypes = ["bfloat16"]\n'),
                   f"build.gpus: empty; list at least one GPU model (known: {KNOWN_GPUS})"),
    "empty-dtypes": (manifest_text(build='[build]\ngpus = ["B200"]\ndtypes = []\n'),
                     "build.dtypes: empty; list at least one dtype (supported: bfloat16, float16, float8_e4m3fn)"),
    "duplicate-gpu": (manifest_text(build='[build]\ngpus = ["B200", "H100_SXM", "B200"]\ndtypes = ["bfloat16"]\n'),
                      "build.gpus[2]: 'B200' is listed twice (first at build.gpus[0]); list each GPU once"),
    "duplicate-dtype": (manifest_text(build='[build]\ngpus = ["B200"]\ndtypes = ["float16", "float16"]\n'),
                        "build.dtypes[1]: 'float16' is listed twice (first at build.dtypes[0]); list each dtype once"),
    # layers
    "empty-layers": (manifest_text(layers="", extra="layers = []\n"),
                     "layers: empty; add at least one [[layers]] table"),
    "duplicate-layer": (manifest_text(layers=LAYER + '[[layers]]\nname = "o"\nn = 8\nk = 8\n' + LAYER),
                        "layers[2].name: duplicate layer name 'qkv' (first at layers[0]); layer names must be unique "
                        "(a GEMM that runs several times per forward pass is one layer with a count)"),
    "layer-name-space": (manifest_text(layers='[[layers]]\nname = "q proj"\nn = 8\nk = 8\n'),
                         "layers[0].name: 'q proj' is not a valid layer name; use only letters, digits, '_', '.' and '-'"),
    "layer-name-slash": (manifest_text(layers='[[layers]]\nname = "../x"\nn = 8\nk = 8\n'),
                         "layers[0].name: '../x' is not a valid layer name; use only letters, digits, '_', '.' and '-'"),
    "layer-name-empty": (manifest_text(layers='[[layers]]\nname = ""\nn = 8\nk = 8\n'),
                         "layers[0].name: '' is not a valid layer name; use only letters, digits, '_', '.' and '-'"),
    "model-name-slash": (manifest_text(model='[model]\nname = "meta/llama"\n'),
                         "model.name: 'meta/llama' is not a valid model name; use only letters, digits, '_', '.' and '-'"),
    # M buckets
    "m-buckets-empty": (manifest_text(build=BUILD + 'm_buckets = []\n'),
                        "build.m_buckets: empty; list at least one M bucket, or leave the key out for the default "
                        "(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)"),
    "m-buckets-descending": (manifest_text(build=BUILD + 'm_buckets = [1, 16, 4]\n'),
                             "build.m_buckets[2]: 4 comes after 16; list buckets in ascending order"),
    "m-buckets-duplicate": (manifest_text(build=BUILD + 'm_buckets = [1, 8, 16, 8]\n'),
                            "build.m_buckets[3]: 8 is listed twice (first at build.m_buckets[1]); buckets must be distinct"),
    "m-buckets-adjacent-duplicate": (manifest_text(build=BUILD + 'm_buckets = [1, 1]\n'),
                                     "build.m_buckets[1]: 1 is listed twice (first at build.m_buckets[0]); "
                                     "buckets must be distinct"),
    "m-buckets-zero": (manifest_text(build=BUILD + 'm_buckets = [0, 1]\n'),
                       "build.m_buckets[0]: must be a positive integer, got 0"),
    "m-buckets-negative": (manifest_text(build=BUILD + 'm_buckets = [1, -2]\n'),
                           "build.m_buckets[1]: must be a positive integer, got -2"),
}


@pytest.mark.parametrize("text, message", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_error_message(text, message):
    assert error_of(text) == f"{WHERE}: {message}"


def test_first_error_in_document_order_wins():
    # Both the GPU and the layer are wrong; the [build] table is checked first.
    text = manifest_text(build='[build]\ngpus = ["X"]\ndtypes = ["bfloat16"]\n',
                         layers='[[layers]]\nname = "a"\nn = 0\nk = 8\n')
    assert error_of(text).startswith(f"{WHERE}: build.gpus[0]: unknown GPU model 'X'")


def test_load_manifest_names_a_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert str(info.value) == f"{path}: cannot read manifest: No such file or directory"


def test_load_manifest_rejects_non_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    data = manifest_text(model='[model]\nname = "caf\xe9"\n').encode("latin-1")
    assert data.index(b"\xe9") == 20
    path.write_bytes(data)
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert str(info.value) == f"{path}: not UTF-8 text (byte 20); TOML files must be UTF-8"


def test_load_manifest_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(manifest_text(layers='[[layers]]\nname = "a"\nn = 8\nk = 12\n'))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert str(info.value).startswith(f"{path}: layers[0].k: 12 is not a multiple of 8;")


# --- manifests built in code --------------------------------------------------------------------
def test_validate_manifest_normalises_to_tuples():
    m = Manifest(model="m", gpus=["B200"], dtypes=["bfloat16"], layers=[LayerSpec("a", 8, 8)],  # type: ignore[arg-type]
                 m_buckets=[1, 2])  # type: ignore[arg-type]
    assert validate_manifest(m, "code") == Manifest("m", ("B200",), ("bfloat16",), (LayerSpec("a", 8, 8),), (1, 2))


def test_validate_manifest_applies_the_file_rules():
    m = Manifest(model="m", gpus=("B200",), dtypes=("bfloat16",), layers=(LayerSpec("a", 8, 8, count=True),))
    with pytest.raises(ManifestError) as info:
        validate_manifest(m, "code")
    assert str(info.value) == "code: layers[0].count: expected an integer, got a boolean (true)"


# --- dumping ------------------------------------------------------------------------------------
def test_dump_is_exactly_this():
    m = Manifest(model="m", gpus=("B200",), dtypes=("bfloat16",),
                 layers=(LayerSpec("qkv", 6144, 4096, 32), LayerSpec("o", 8, 16)),
                 m_buckets=(1, 16), tp=2, source='C:\\models\\"x"')
    assert dump_manifest(m) == (
        "# aotgemm GEMM shape manifest (format: docs/manifest-format.md).\n"
        "# Each layer is out[M, n] = x[M, k] @ W[n, k]^T (nn.Linear), run `count` times per forward pass.\n"
        "\n"
        "[model]\n"
        'name = "m"\n'
        "tp = 2\n"
        'source = "C:\\\\models\\\\\\"x\\""\n'
        "\n"
        "[build]\n"
        'gpus = ["B200"]\n'
        'dtypes = ["bfloat16"]\n'
        "m_buckets = [1, 16]\n"
        "\n"
        "[[layers]]\n"
        'name = "qkv"\n'
        "n = 6144\n"
        "k = 4096\n"
        "count = 32\n"
        "\n"
        "[[layers]]\n"
        'name = "o"\n'
        "n = 8\n"
        "k = 16\n"
        "count = 1\n"
    )
    assert parse_manifest(dump_manifest(m), "dumped") == m


def test_dump_omits_an_absent_source():
    m = Manifest(model="m", gpus=("B200",), dtypes=("bfloat16",), layers=(LayerSpec("a", 8, 8),))
    text = dump_manifest(m)
    assert "source" not in text
    assert parse_manifest(text, "dumped") == m


names = st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True)
extents = st.integers(1, (2**31 - 1) // 16).map(lambda x: x * 16)  # multiples of 16 (fp8's) up to the 32-bit limit
scale_kinds = st.sampled_from(["tensor", "row"])


@st.composite
def manifests(draw) -> Manifest:
    layer_names = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    dtypes = tuple(draw(st.lists(st.sampled_from(SUPPORTED_DTYPES), min_size=1, unique=True)))
    fp8 = "float8_e4m3fn" in dtypes
    build_scales = draw(st.none() | scale_kinds) if fp8 else None
    def layer_scales():  # noqa: E306
        if not fp8:
            return None
        return draw(scale_kinds if build_scales is None else st.just(build_scales) | scale_kinds)
    return Manifest(
        model=draw(names),
        gpus=tuple(draw(st.lists(st.sampled_from(list(GPU_MODELS)), min_size=1, unique=True))),
        dtypes=dtypes,
        layers=tuple(LayerSpec(n, draw(extents), draw(extents), draw(st.integers(1, 1000)), scales=layer_scales())
                     for n in layer_names),
        scales=build_scales,
        m_buckets=tuple(sorted(draw(st.sets(st.integers(1, 2**31 - 1), min_size=1, max_size=20)))),
        tp=draw(st.integers(1, 1024)),
        # Any text at all: quotes, backslashes, control characters, DEL, non-ASCII, astral planes.
        source=draw(st.none() | st.text()),
    )


@settings(max_examples=300, deadline=None)
@given(manifests())
def test_dump_then_parse_round_trips(m):
    text = dump_manifest(m)
    assert parse_manifest(text, "dumped") == m
    assert dump_manifest(parse_manifest(text, "dumped")) == text


# --- the shipped manifest -----------------------------------------------------------------------
LLAMA_3_1_8B_LAYERS = (
    LayerSpec("qkv", 6144, 4096, 32),
    LayerSpec("o", 4096, 4096, 32),
    LayerSpec("gate_up", 28672, 4096, 32),
    LayerSpec("down", 4096, 14336, 32),
    LayerSpec("lm_head", 128256, 4096, 1),
)


def test_shipped_llama_manifest():
    m = load_manifest(SHIPPED_LLAMA)
    assert m == Manifest(model="llama-3.1-8b", gpus=("H100_SXM", "H200_SXM", "B200"), dtypes=("bfloat16",),
                         layers=LLAMA_3_1_8B_LAYERS, m_buckets=DEFAULT_M_BUCKETS, tp=1,
                         source="meta-llama/Llama-3.1-8B")


def test_shipped_llama_manifest_round_trips():
    m = load_manifest(SHIPPED_LLAMA)
    assert parse_manifest(dump_manifest(m), "dumped") == m


def test_shipped_manifests_all_load():
    paths = sorted((REPO / "manifests").glob("*.toml"))
    assert SHIPPED_LLAMA in paths
    for path in paths:
        load_manifest(path)
