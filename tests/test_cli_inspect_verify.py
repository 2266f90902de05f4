"""`aotgemm inspect` and `aotgemm verify`, run in-process through click's CliRunner."""

from __future__ import annotations

import io
import json
import struct
from dataclasses import replace

import bundle_samples as S
import msgpack
import pytest
from click.testing import CliRunner

from aotgemm.bundle import open_bundle, write_bundle
from aotgemm.bundle.format import FORMAT_VERSION, HEADER, _plain
from aotgemm.cli import main
from aotgemm.inspect import bundle_json, human_size, kernel_short, render_bundle, speedup

DATA = S.sample_bytes()
LAYOUT = S.sample_layout()

# rich reads these; keep the output plain and 120 columns wide whatever the caller's shell says
CLEAN_ENV = {k: None for k in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
                               "NO_COLOR", "AOTGEMM_BUNDLE")}


def run(*args, env=None):
    result = CliRunner(env={**CLEAN_ENV, **(env or {})}).invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def bundle(tmp_path):
    return S.write_sample_bundle(tmp_path / "model.agb")


# --- verify -------------------------------------------------------------------------------
def test_verify_ok(bundle):
    r = run("verify", bundle)
    assert r.exit_code == 0
    assert r.stdout == f"{bundle}: OK: format v{FORMAT_VERSION}, 2 target(s), 6 kernel(s), 2 blob(s)\n"
    assert r.stderr == ""


def test_verify_uses_aotgemm_bundle(bundle):
    r = run("verify", env={"AOTGEMM_BUNDLE": str(bundle)})
    assert r.exit_code == 0
    assert r.stdout.startswith(f"{bundle}: OK: ")


def test_verify_without_a_bundle():
    r = run("verify")
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr == "aotgemm: error: no bundle given and AOTGEMM_BUNDLE is not set\n"


def _one_error_line(r, *phrases):
    assert r.exit_code == 1
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert r.stderr.endswith("\n")
    assert lines[0].startswith("aotgemm: error: ")
    for p in phrases:
        assert p in lines[0], (p, lines[0])
    return lines[0]


def _flip_offsets():
    """A handful of offsets from each region, with what `verify` must say about a flip there."""
    (ilo, ihi) = LAYOUT["index"]
    cases = [
        (0, "not an aotgemm bundle (bad magic)"),
        (7, "not an aotgemm bundle (bad magic)"),
        (8, f"the header's format version field reads {FORMAT_VERSION ^ 0xFF}, which no aotgemm writes "
            f"(this one reads version {FORMAT_VERSION}): the file is damaged; rebuild or re-download it"),
        (9, f"the header's format version field reads {FORMAT_VERSION ^ 0xFF00}, which no aotgemm writes"),
        (12, f"header flags are 0xff; format version {FORMAT_VERSION} requires 0"),
        (16, "index checksum does not match"),   # low byte of the length: shorter or longer, never right
        (23, "header declares a"),               # high byte: a huge index
        (24, "index checksum does not match"),
        (55, "index checksum does not match"),
        (ilo, "index checksum does not match"),
        ((ilo + ihi) // 2, "index checksum does not match"),
        (ihi - 1, "index checksum does not match"),
    ]
    for name in (S.B200_LIB, S.H100_LIB):
        lo, hi = LAYOUT[name]
        for off in (lo, (lo + hi) // 2, hi - 1):
            cases.append((off, f"blob {name!r}: SHA-256 of the stored bytes does not match the index"))
    return cases


@pytest.mark.parametrize("offset, phrase", _flip_offsets())
def test_verify_names_a_flipped_byte(tmp_path, offset, phrase):
    data = bytearray(DATA)
    data[offset] ^= 0xFF
    path = tmp_path / "flip.agb"
    path.write_bytes(data)
    line = _one_error_line(run("verify", path), phrase)
    assert line.startswith(f"aotgemm: error: {path}: ")


def _index_length_flip_is_what_the_case_says():
    # (16, ...) relies on the sample's index being shorter than 64 KiB: xor 0xff on the low byte keeps it small
    length = struct.unpack_from("<Q", DATA, 16)[0]
    assert length < 65536 and 56 + (length ^ 0xFF) != 56 + length


def test_flip_cases_are_sound():
    _index_length_flip_is_what_the_case_says()


@pytest.mark.parametrize("cut, phrase", [
    (0, "file is 0 bytes, shorter than the 56-byte header"),
    (40, "file is 40 bytes, shorter than the 56-byte header"),
    (LAYOUT["index"][0] + 100, "the index runs past the end of the file; the file is truncated"),
    (LAYOUT[S.H100_LIB][0] + 10, "the file is truncated (incomplete download or copy?)"),
])
def test_verify_truncated(tmp_path, cut, phrase):
    path = tmp_path / "cut.agb"
    path.write_bytes(DATA[:cut])
    _one_error_line(run("verify", path), str(path), phrase)


def test_verify_trailing_data(tmp_path):
    path = tmp_path / "long.agb"
    path.write_bytes(DATA + b"\n")
    _one_error_line(run("verify", path), "1 bytes follow the last blob; the file is corrupted")


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + bytes(100), b"PK\x03\x04" + bytes(100), b"hello\n" * 20])
def test_verify_foreign_file(tmp_path, content):
    path = tmp_path / "foreign.bin"
    path.write_bytes(content)
    line = _one_error_line(run("verify", path))
    assert line == f"aotgemm: error: {path}: not an aotgemm bundle (bad magic); was it produced by `aotgemm build`?"


def test_verify_directory_and_missing_file(tmp_path):
    _one_error_line(run("verify", tmp_path), "is a directory, not a bundle file")
    line = _one_error_line(run("verify", tmp_path / "nope.agb"))
    assert line == f"aotgemm: error: {tmp_path / 'nope.agb'}: no such bundle file"


def test_verify_future_version(tmp_path):
    future = FORMAT_VERSION + 1
    obj = S.sample_obj()
    obj["format_version"] = future
    path = tmp_path / "future.agb"
    path.write_bytes(S.craft_bundle(obj, S.sample_stored_data(), version=future))
    _one_error_line(run("verify", path),
                    f"bundle format version {future}; this aotgemm reads version {FORMAT_VERSION} (upgrade aotgemm")


def test_verify_flipped_version_byte_is_damage_not_the_future(tmp_path):
    """A new user saw "version 257 ... upgrade aotgemm" for a flipped byte of version 1."""
    path = tmp_path / "flip.agb"
    flipped = FORMAT_VERSION ^ 0x100
    path.write_bytes(DATA[:8] + struct.pack("<I", flipped) + DATA[12:])
    _one_error_line(run("verify", path), f"format version field reads {flipped}, which no aotgemm writes",
                    "the file is damaged; rebuild or re-download it")
    plausible = FORMAT_VERSION + 1  # a flip can land on a plausible future version too: the index says otherwise
    path.write_bytes(DATA[:8] + struct.pack("<I", plausible) + DATA[12:])
    _one_error_line(run("verify", path), f"the header says format version {plausible} but the index, whose checksum "
                                         f"is intact, says {FORMAT_VERSION}: the header is damaged")


def test_verify_malformed_index(tmp_path):
    obj = S.sample_obj()
    obj["targets"][0]["dispatch"][0]["kernel"] = "gemm_nope"
    path = tmp_path / "bad.agb"
    path.write_bytes(S.craft_bundle(obj, S.sample_stored_data()))
    _one_error_line(run("verify", path), "index.targets[0].dispatch[0].kernel: 'gemm_nope' is not a kernel of this target")


def test_verify_unsafe_name_with_newline_stays_one_line(tmp_path):
    obj = S.sample_obj()
    obj["blobs"][0]["name"] = "evil\n.so"
    path = tmp_path / "bad.agb"
    path.write_bytes(S.craft_bundle(obj, S.sample_stored_data()))
    _one_error_line(run("verify", path), "index.blobs[0].name: 'evil\\n.so' is not a safe file name")


def test_verify_and_inspect_check_every_blob(tmp_path):
    """inspect used to read the index only and exit 0 on a bundle whose blob was damaged."""
    data = bytearray(DATA)
    data[LAYOUT[S.H100_LIB][1] - 1] ^= 1
    path = tmp_path / "m.agb"
    path.write_bytes(data)
    phrase = f"blob {S.H100_LIB!r}: SHA-256 of the stored bytes does not match"
    _one_error_line(run("verify", path), phrase)
    _one_error_line(run("inspect", path), phrase)
    _one_error_line(run("inspect", "--json", path), phrase)


def test_inspect_no_verify_says_so_loudly(tmp_path):
    data = bytearray(DATA)
    data[LAYOUT[S.H100_LIB][1] - 1] ^= 1
    path = tmp_path / "m.agb"
    path.write_bytes(data)
    for args in (("inspect", "--no-verify", path), ("inspect", "--json", "--no-verify", path)):
        r = run(*args)
        assert r.exit_code == 0
        assert r.stderr == (f"aotgemm: warning: {path}: blobs NOT verified (--no-verify); "
                            "`aotgemm verify` checks them\n")
        assert r.stdout


# --- inspect ------------------------------------------------------------------------------
def _cells(line: str, sep: str = "│") -> list[str]:
    return [c.strip() for c in line.strip(sep).split(sep)]


def _grid(out: str, gpu: str) -> dict[str, dict[str, tuple[str, str]]]:
    """From the grid(s) printed for `gpu`: "name N×K" -> column header -> (kernel line, speedup line)."""
    lines = out.splitlines()
    i = lines.index(f"{gpu} dispatch (bfloat16, linear): kernel per layer and M bucket")
    grid, headers, group = {}, None, []
    for line in lines[i + 1:]:
        if line.startswith("cell: "):
            break
        if line.startswith("┃"):
            headers = _cells(line, "┃")
            assert headers[0] == "layer"
        elif line.startswith("│"):
            group.append(_cells(line))
        elif line.startswith(("├", "└")):
            assert len(group) == 2, group  # every row is two lines: kernel, speedup
            label = f"{group[0][0]} {group[1][0]}"
            for h, first, second in zip(headers[1:], group[0][1:], group[1][1:], strict=True):
                grid.setdefault(label, {})[h] = (first, second)
            group = []
    assert group == []
    return grid


def _expected_grid(target, buckets=S.M_BUCKETS) -> dict[str, dict[str, tuple[str, str]]]:
    kernels = {k.symbol: k for k in target.kernels}
    entries = {(d.n, d.k, d.m_bucket): d for d in target.dispatch}
    grid = {}
    for layer in S.LAYERS:
        row = {}
        for m in buckets:
            e = entries.get((layer.n, layer.k, m))
            if e is None:
                row[f"M≤{m}"] = ("-", "")
                continue
            name = "cublas" if e.kernel == "cublas" else kernel_short(kernels[e.kernel])
            row[f"M≤{m}"] = (name, "" if e.kernel_us is None else f"{e.cublas_us / e.kernel_us:.2f}x")
        grid[f"{layer.name} {layer.n}×{layer.k}"] = row
    return grid


def test_inspect_prints_the_grid(bundle):
    r = run("inspect", bundle)
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    out = r.stdout
    assert "\x1b[" not in out  # no colour codes when not on a terminal
    assert max(len(line) for line in out.splitlines()) <= 120
    assert out.startswith(f"model llama-sample-8b\nformat v{FORMAT_VERSION}, written by aotgemm 0.1.0, "
                          f"{len(DATA)} bytes ({human_size(len(DATA))})\n4 layer(s), M buckets: 1, 16, 128, 1024\n")
    index = open_bundle(bundle).index
    for gpu in ("H100_SXM", "B200"):
        grid = _grid(out, gpu)
        assert grid == _expected_grid(index.target(gpu))
        assert [list(row) for row in grid.values()] == [["M≤1", "M≤16", "M≤128", "M≤1024"]] * 4


def test_inspect_grid_contents_by_hand(bundle):
    """The same grid, spelled out: a check on the check above."""
    out = run("inspect", bundle).stdout
    h100 = {label: [cell for cell, _ in row.values()] for label, row in _grid(out, "H100_SXM").items()}
    co = "cutlass_operators"
    assert h100 == {
        "qkv_proj 6144×4096": [f"{co} 64x128 c1x1", f"{co} 64x128 c1x1", f"{co} 128x256 c2x1", f"{co} 128x256 c2x1"],
        "o_proj 4096×4096": ["cublas", f"{co} 64x128 c1x1", f"{co} 128x128 c1x2", f"{co} 128x256 c2x1"],
        "gate_up_proj 28672×4096": ["aotgemm swapab_rf m<=16", "aotgemm swapab_rf m<=16", f"{co} 128x256 c2x1",
                                    f"{co} 128x256 c2x1"],
        "down_proj 4096×14336": [f"{co} 64x128 c1x1", f"{co} 64x128 c1x1", "cublas", "-"],
    }
    speedups = [s for _, s in _grid(out, "H100_SXM")["qkv_proj 6144×4096"].values()]
    assert speedups == ["1.16x", "1.25x", "1.20x", "1.05x"]
    b200 = _grid(out, "B200")["gate_up_proj 28672×4096"]
    assert list(b200.values()) == [("cublas", ""), (f"{co} 128x64 c1x1", ""), (f"{co} 256x128 c2x1", ""),
                                   (f"{co} 256x128 c2x1", "")]


def test_inspect_many_buckets_splits_the_grid_within_120_columns(tmp_path):
    index = S.sample_index()
    buckets = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
    write_bundle(tmp_path / "m.agb", replace(index, m_buckets=buckets), S.sample_blobs())
    out = run("inspect", tmp_path / "m.agb").stdout
    assert max(len(line) for line in out.splitlines()) <= 120
    for gpu in ("H100_SXM", "B200"):
        grid = _grid(out, gpu)  # parts merged
        assert grid == _expected_grid(index.target(gpu), buckets)
        assert list(grid["o_proj 4096×4096"]) == [f"M≤{m}" for m in buckets]
    assert out.count("┃ layer ") >= 4  # at least two parts per target


def test_inspect_long_names_fold_within_120_columns(tmp_path):
    index = S.sample_index(model="m" * 300)
    layers = (replace(index.layers[0], name="l" * 90), *index.layers[1:])
    write_bundle(tmp_path / "m.agb", replace(index, layers=layers), S.sample_blobs())
    out = run("inspect", tmp_path / "m.agb").stdout
    assert max(len(line) for line in out.splitlines()) <= 120
    assert "l" * 38 in out and "l" * 41 not in out  # the layer column folds at 40


def test_inspect_targets_and_kernels_tables(bundle):
    from rich.console import Console

    assert run("inspect", bundle).exit_code == 0
    buf = io.StringIO()
    render_bundle(open_bundle(bundle), console=Console(file=buf, width=400))  # wide enough that no cell folds
    out = buf.getvalue()
    row = next(line for line in out.splitlines() if line.startswith("│ B200 ") and "sm_100a" in line)
    assert [c.strip() for c in row.strip("│").split("│")] == [
        "B200", "sm_100a", "148", "2", "B200.kernels.so", "227 B / 416 B", "nvidia-cutlass-dsl 4.8.1",
        "cutlass_operators: nvidia-cutlass-operators 0.3.0", "dsl-runtime", "untuned"]
    assert "NVIDIA H100 80GB" in out and "static-runtime" in out
    for t in open_bundle(bundle).index.targets:
        for k in t.kernels:
            row = next(line for line in out.splitlines() if f"│ {k.symbol} " in line)
            cells = [c.strip() for c in row.strip("│").split("│")]
            d = k.design_dict
            assert cells == [t.gpu, k.symbol, k.source, k.family,
                             "x".join(map(str, d["tile"])) if "tile" in d else "-",
                             "x".join(map(str, d["cluster"])) if "cluster" in d else "-",
                             str(k.max_m or "any"), "bfloat16", "identity"]


def test_inspect_json_equals_the_index(bundle):
    r = run("inspect", "--json", bundle)
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    file_info = doc.pop("file")
    # the index exactly as stored in the file
    raw = bundle.read_bytes()
    length = HEADER.unpack(raw[:56])[3]
    assert doc == msgpack.unpackb(raw[56:56 + length], raw=False)
    assert doc == open_bundle(bundle).index.to_obj()
    assert file_info == {
        "path": str(bundle), "size": len(raw), "data_offset": 56 + length,
        "blobs": {name: {"offset": LAYOUT[name][0], "stored_size": LAYOUT[name][1] - LAYOUT[name][0],
                         "size": len(content)}
                  for name, content in S.sample_blobs().items()},
    }
    decode = next(k for k in doc["targets"][1]["kernels"] if k["symbol"] == "decode_28672x4096_m16")
    assert decode["design"] == {"extra": {}, "k": 4096, "n": 28672, "pairs": [["a", 1]], "split_k": 4}


def test_inspect_refuses_a_broken_bundle(tmp_path):
    path = tmp_path / "cut.agb"
    path.write_bytes(DATA[:100])
    _one_error_line(run("inspect", path), "the index runs past the end of the file")
    _one_error_line(run("inspect", "--json", path), "the index runs past the end of the file")


def test_inspect_prints_bundle_strings_as_text_not_markup(tmp_path):
    index = S.sample_index(model="[bold red]evil[/] model")
    layers = (replace(index.layers[0], name="[link=http://x]q[/link]"), *index.layers[1:])
    write_bundle(tmp_path / "m.agb", replace(index, layers=layers), S.sample_blobs())
    out = run("inspect", tmp_path / "m.agb").stdout
    assert out.startswith("model [bold red]evil[/] model\n")
    assert "│ [link=http://x]q[/link] │" in out


def test_inspect_target_without_dispatch(tmp_path):
    index = S.sample_index()
    b200 = replace(index.targets[0], dispatch=())
    write_bundle(tmp_path / "m.agb", replace(index, targets=(b200, index.targets[1])), S.sample_blobs())
    out = run("inspect", tmp_path / "m.agb").stdout
    assert "B200: no dispatch entries (every GEMM goes to cuBLAS)" in out
    assert "H100_SXM dispatch (bfloat16, linear)" in out


# --- helpers ------------------------------------------------------------------------------
def _sample_kernel(symbol):
    return next(k for t in S.sample_index().targets for k in t.kernels if k.symbol == symbol)


def _kernel(design):
    return replace(_sample_kernel("gemm_sm90_128x128_c1x2"), design=_plain(design, "d"))


@pytest.mark.parametrize("design, short", [
    ({"tile": [128, 256], "cluster": [2, 1]}, "cutlass_operators 128x256 c2x1"),
    ({"tile": [128, 256, 64], "cluster": [1, 1, 1], "stages": 3}, "cutlass_operators 128x256x64 c1x1x1"),
    ({"tile": [64, 64]}, "cutlass_operators 64x64"),
    ({"cluster": [2, 1]}, "cutlass_operators c2x1"),
    ({"tile": "128x128"}, "cutlass_operators 128x128"),
    ({"stages": 4}, "cutlass_operators Sm90StaticPersistentGemmOperator"),
    ({}, "cutlass_operators Sm90StaticPersistentGemmOperator"),
])
def test_kernel_short(design, short):
    assert kernel_short(_kernel(design)) == short


def test_kernel_short_of_a_decode_kernel():
    """No tile or cluster: the family (without "decode_") and the largest M it serves."""
    assert kernel_short(_sample_kernel("decode_28672x4096_m16")) == "aotgemm swapab_rf m<=16"


def test_speedup():
    e = S.sample_full_index().targets[1].dispatch[0]
    assert speedup(replace(e, kernel_us=10.0, cublas_us=15.0)) == 1.5
    assert speedup(replace(e, kernel_us=None, cublas_us=15.0)) is None
    assert speedup(replace(e, kernel_us=10.0, cublas_us=None)) is None
    assert speedup(replace(e, kernel_us=0.0, cublas_us=1.0)) is None


def test_render_bundle_to_a_given_console(bundle):
    from rich.console import Console

    buf = io.StringIO()
    render_bundle(open_bundle(bundle), console=Console(file=buf, width=200))
    text = buf.getvalue()
    assert "llama-sample-8b" in text and "│ gate_up_proj │" in text and "│ 28672×4096   │" in text


def test_bundle_json_is_json_serialisable(bundle):
    doc = bundle_json(open_bundle(bundle))
    assert json.loads(json.dumps(doc)) == doc


def test_inspect_shows_where_a_split_bucket_begins(tmp_path):
    """An entry the tuner split (min_m) shows its kernel with `M>=min_m`: cuBLAS serves the bucket below it."""
    from aotgemm.inspect import dispatch_grid

    index = S.sample_index()
    h100 = index.target("H100_SXM")
    split = tuple(replace(d, min_m=100) if (d.n, d.k, d.m_bucket) == (4096, 4096, 128) else d for d in h100.dispatch)
    h100 = replace(h100, dispatch=split)
    grid = dispatch_grid(h100, index.layers, index.m_buckets, "bfloat16", "linear")
    o_proj = grid[[x.name for x in index.layers].index("o_proj")]
    assert o_proj == ["cublas", "cutlass_operators 64x128 c1x1", "cutlass_operators 128x128 c1x2 M>=100",
                      "cutlass_operators 128x256 c2x1"]
