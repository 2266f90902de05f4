"""fp8 (e4m3) W8A8 plumbing on the CPU: the dtype, the scale epilogues, the manifest's `scales`, the bundle
round trip, `aotgemm inspect`, and the stock path / reference / random operands the tuner and bench use."""

from __future__ import annotations

import dataclasses

import bundle_samples as S
import pytest
import torch
from click.testing import CliRunner

from aotgemm import timing
from aotgemm.bundle import open_bundle, write_bundle
from aotgemm.bundle.format import HEADER, DispatchEntry, Kernel, Layer, _plain
from aotgemm.bundle.io import encode_bundle, read_index_bytes
from aotgemm.cli import main
from aotgemm.epilogues import SCALE_ROW, SCALE_TENSOR, epilogue, for_scales, scale_kinds
from aotgemm.errors import MalformedIndex, ManifestError, UnsupportedProblem
from aotgemm.manifest import LayerSpec, dump_manifest, parse_manifest
from aotgemm.problem import DTYPE_BYTES, FLOAT8_E4M3, GemmProblem, alignment_for, output_dtype

FP8 = FLOAT8_E4M3
WHERE = "test.toml"
MODEL = '[model]\nname = "m"\n'
LAYER = '[[layers]]\nname = "qkv"\nn = 6144\nk = 4096\n'


def build(dtypes='["float8_e4m3fn"]', extra='scales = "tensor"\n') -> str:
    return f'[build]\ngpus = ["H200_SXM"]\ndtypes = {dtypes}\n{extra}'


def error_of(text: str) -> str:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, WHERE)
    msg = str(info.value)
    assert "\n" not in msg
    return msg.removeprefix(f"{WHERE}: ")


# --- dtype and problem ------------------------------------------------------------------------------
def test_fp8_dtype_table():
    assert DTYPE_BYTES[FP8] == 1 and alignment_for(FP8) == 16
    assert output_dtype(FP8) == "bfloat16"
    assert output_dtype("bfloat16") == "bfloat16" and output_dtype("float16") == "float16"


@pytest.mark.parametrize("scales, name", [("tensor", SCALE_TENSOR), ("row", SCALE_ROW)])
def test_fp8_problem_and_call_convention(scales, name):
    p = GemmProblem(FP8, "linear", for_scales(scales).name, 4096, 4096)
    assert p.epilogue == name and p.out_dtype == "bfloat16" and p.n_out == 4096
    assert p.operands == ("x", "wt", "out", "scale_a", "scale_b", "stream")
    ep = epilogue(name)
    assert ep.operand_dtype("scale_a", p.out_dtype) == "float32"
    assert ep.operand_dtype("scale_b", p.out_dtype) == "float32"
    assert epilogue("bias").operand_dtype("bias", "float16") == "float16"  # bias: the output dtype


@pytest.mark.parametrize("dtype, epi", [(FP8, "identity"), (FP8, "bias"), ("bfloat16", SCALE_TENSOR),
                                        ("float16", SCALE_ROW)])
def test_scale_epilogues_go_with_fp8_only(dtype, epi):
    with pytest.raises(UnsupportedProblem) as e:
        GemmProblem(dtype, "linear", epi, 64, 64)
    assert "\n" not in str(e.value) and "need a scale epilogue" in str(e.value)


def test_scale_kinds():
    assert scale_kinds() == ("mx", "row", "rowwise", "tensor")
    with pytest.raises(UnsupportedProblem, match="unknown scales 'channel'"):
        for_scales("channel")


# --- manifest -----------------------------------------------------------------------------------------
def test_manifest_fp8_build_scales_and_per_layer_override():
    layers = LAYER + '[[layers]]\nname = "o"\nn = 4096\nk = 4096\nscales = "row"\n'
    m = parse_manifest("\n".join((MODEL, build('["bfloat16", "float8_e4m3fn"]'), layers)), WHERE)
    assert m.scales == "tensor"
    assert [x.scales for x in m.layers] == ["tensor", "row"]
    assert m.layers[0].problem(FP8).epilogue == SCALE_TENSOR
    assert m.layers[1].problem(FP8).epilogue == SCALE_ROW
    assert m.layers[1].problem("bfloat16").epilogue == "identity"  # the bf16 problem of the same layer
    assert parse_manifest(dump_manifest(m), "dumped") == m
    assert 'scales = "row"' in dump_manifest(m) and dump_manifest(m).count("scales") == 2


MANIFEST_ERRORS = {
    "scales-missing": ("\n".join((MODEL, build(extra=""), LAYER)),
                       'layers[0].scales: float8_e4m3fn layers need scales: set build.scales (or this layer\'s '
                       'scales) to "tensor", "row", "rowwise" or "mx"'),
    "scales-unknown": ("\n".join((MODEL, build(extra='scales = "channel"\n'), LAYER)),
                       'build.scales: unknown scales \'channel\'; use "tensor" (one float32 scale for x and one for W), '
                       '"row" (one for x, one per output channel of W), "rowwise" (one per token of x, one per '
                       'output channel of W) or "mx" (MXFP8: one e8m0 scale per 32 elements along K of x and of W; Blackwell only)'),
    "scales-typo-hint": ("\n".join((MODEL, build(extra='scales = "rows"\n'), LAYER)),
                         'build.scales: unknown scales \'rows\'; use "tensor" (one float32 scale for x and one for W), '
                         '"row" (one for x, one per output channel of W), "rowwise" (one per token of x, one per '
                         'output channel of W) or "mx" (MXFP8: one e8m0 scale per 32 elements along K of x and of W; Blackwell only) (did you mean \'row\'?)'),
    "scales-not-a-string": ("\n".join((MODEL, build(extra='scales = 1\n'), LAYER)),
                            "build.scales: expected a string, got an integer (1)"),
    "scales-without-fp8": ("\n".join((MODEL, build('["bfloat16"]'), LAYER)),
                           "build.scales: applies only to float8_e4m3fn builds; remove it, or add 'float8_e4m3fn' "
                           "to build.dtypes"),
    "layer-scales-without-fp8": ("\n".join((MODEL, build('["bfloat16"]', ""), LAYER + 'scales = "row"\n')),
                                 "layers[0].scales: applies only to float8_e4m3fn builds; remove it, or add "
                                 "'float8_e4m3fn' to build.dtypes"),
    "fp8-with-bias": ("\n".join((MODEL, build(), LAYER + 'epilogue = "bias"\n')),
                      "layers[0].epilogue: float8_e4m3fn layers take only their scale epilogue (from scales), not "
                      "'bias'; remove the epilogue, or build this model without float8_e4m3fn"),
    "scale-epilogue-named": ("\n".join((MODEL, build(), LAYER + 'epilogue = "scale_row"\n')),
                             "layers[0].epilogue: 'scale_row' is what scales = \"row\" selects for fp8 layers; set "
                             "scales instead"),
    "fp8-alignment": ("\n".join((MODEL, build(), '[[layers]]\nname = "a"\nn = 6144\nk = 4104\n')),
                      "layers[0].k: 4104 is not a multiple of 16; float8_e4m3fn GEMMs need N and K to be multiples "
                      "of 16 elements (16 bytes) because the kernels copy rows with TMA, which needs 16-byte aligned "
                      "rows; pad the weight to 4112"),
}


@pytest.mark.parametrize("text, message", MANIFEST_ERRORS.values(), ids=MANIFEST_ERRORS.keys())
def test_bad_fp8_manifest_is_one_line(text, message):
    assert error_of(text) == message


# --- bundle round trip and inspect --------------------------------------------------------------
def _fp8_index():
    """The sample index plus an fp8 layer set: per-tensor qkv, per-row o, one fp8 kernel and entries."""
    idx = S.sample_index()
    layers = tuple(dataclasses.replace(x, scales="row" if x.name == "o_proj" else "tensor") for x in idx.layers)
    h100 = next(t for t in idx.targets if t.gpu == "H100_SXM")
    k = Kernel("decode_fp8_4096x4096_m16", "aotgemm", "decode_swapab_rf", _plain({"n": 4096, "k": 4096}, "d"), FP8,
               "linear", SCALE_ROW, 16, 16, "ab" * 32, 4096)
    o = next(x for x in layers if x.name == "o_proj")
    qkv = next(x for x in layers if x.name == "qkv_proj")
    entries = (DispatchEntry(FP8, "linear", SCALE_ROW, o.n, o.k, 1, k.symbol, "tuned", 3.0, 5.0, (k.symbol,)),
               DispatchEntry(FP8, "linear", SCALE_ROW, o.n, o.k, 16, "cublas", "tuned", None, 6.0, (k.symbol,)),
               DispatchEntry(FP8, "linear", SCALE_TENSOR, qkv.n, qkv.k, 1, "cublas", "heuristic"))
    h100 = dataclasses.replace(h100, kernels=tuple(sorted(h100.kernels + (k,), key=lambda x: x.symbol)),
                               dispatch=tuple(sorted(h100.dispatch + entries, key=lambda d: d.key)))
    return dataclasses.replace(idx, layers=layers,
                               targets=tuple(h100 if t.gpu == "H100_SXM" else t for t in idx.targets))


def test_fp8_bundle_round_trip(tmp_path):
    idx = _fp8_index()
    written = write_bundle(tmp_path / "fp8.agb", idx, S.sample_blobs())
    b = open_bundle(tmp_path / "fp8.agb", verify_blobs=True)
    assert b.index == written
    assert encode_bundle(idx, S.sample_blobs()) == (tmp_path / "fp8.agb").read_bytes()  # deterministic
    assert [x.scales for x in b.index.layers] == [x.scales for x in idx.layers]
    h100 = b.index.target("H100_SXM")
    o = next(x for x in b.index.layers if x.name == "o_proj")
    e = next(d for d in h100.dispatch if d.key == o.problem(FP8).key + (1,))
    assert e.kernel == "decode_fp8_4096x4096_m16" and e.problem.out_dtype == "bfloat16"


def test_bf16_bundle_layers_write_no_scales_key():
    assert "scales" not in Layer("a", 16, 16, 1).to_obj()
    assert Layer("a", 16, 16, 1, scales="row").to_obj()["scales"] == "row"


@pytest.mark.parametrize("field", ["kernels", "dispatch"])
def test_bundle_refuses_fp8_without_a_scale_epilogue(field):
    obj, data = _fp8_obj()
    h100 = next(t for t in obj["targets"] if t["gpu"] == "H100_SXM")
    item = next(x for x in h100[field] if x["dtype"] == FP8)
    item["epilogue"] = "identity"
    if field == "kernels":  # keep the entries consistent with the kernel: only the pairing is wrong
        for d in h100["dispatch"]:
            if d["kernel"] == item["symbol"]:
                d["epilogue"] = "identity"
    with pytest.raises(MalformedIndex, match="need a scale epilogue"):
        read_index_bytes(S.craft_bundle(obj, data))


def _fp8_obj() -> tuple[dict, bytes]:
    """The fp8 sample's index as plain maps (blobs filled in), and its stored blob data."""
    raw = encode_bundle(_fp8_index(), S.sample_blobs())
    index, _ = read_index_bytes(raw)
    return index.to_obj(), raw[HEADER.size + HEADER.unpack(raw[:HEADER.size])[3]:]


def test_bundle_refuses_unknown_layer_scales():
    obj, data = _fp8_obj()
    obj["layers"][0]["scales"] = "block"
    with pytest.raises(MalformedIndex, match=r"index.layers\[0\].scales: 'block' is not one of \['mx', 'row', 'rowwise', 'tensor'\]"):
        read_index_bytes(S.craft_bundle(obj, data))


def test_inspect_shows_fp8_dtype_and_scales(tmp_path):
    write_bundle(tmp_path / "fp8.agb", _fp8_index(), S.sample_blobs())
    r = CliRunner(env={"COLUMNS": None}).invoke(main, ["inspect", str(tmp_path / "fp8.agb")])
    assert r.exit_code == 0, r.output
    assert "dtypes: bfloat16, float8_e4m3fn -> bfloat16, scales row/tensor" in r.stdout
    assert "H100_SXM dispatch (float8_e4m3fn -> bfloat16, scales row/tensor, linear)" in r.stdout
    assert "scale_row" in r.stdout  # the kernel's epilogue column
    assert "1.67x" in r.stdout  # the fp8 kernel's tuned speedup (5.0 / 3.0) in o_proj's M<=1 cell


# --- operands, reference and stock path (what timing gives the tuner and bench) ------------------
@pytest.mark.parametrize("epi", [SCALE_TENSOR, SCALE_ROW])
def test_random_fp8_operands(epi):
    p = GemmProblem(FP8, "linear", epi, 64, 128)
    g = torch.Generator().manual_seed(0)
    x, w, extras = timing.random_operands(p, 5, g, device="cpu")
    assert x.dtype == w.dtype == torch.float8_e4m3fn and x.shape == (5, 128) and w.shape == (64, 128)
    assert x.float().abs().sum() > 0 and w.float().abs().sum() > 0
    assert extras["scale_a"].shape == (1,) and extras["scale_b"].shape == ((64,) if epi == SCALE_ROW else (1,))
    for s in extras.values():
        assert s.dtype == torch.float32 and bool((s >= 0.5).all() and (s < 1.5).all())
    assert timing.operand_bytes(p, 5) == 5 * 128 + 64 * 128 + 5 * 64 * 2


@pytest.mark.parametrize("epi", [SCALE_TENSOR, SCALE_ROW])
def test_stock_path_is_scaled_mm_and_matches_the_dequantized_reference(epi):
    p = GemmProblem(FP8, "linear", epi, 64, 128)
    g = torch.Generator().manual_seed(1)
    x, w, extras = timing.random_operands(p, 7, g, device="cpu")
    out = torch.full((7, 64), float("nan"), dtype=torch.bfloat16)
    epilogue(epi).stock(x, w, out, **extras)
    ref = epilogue(epi).reference(x, w, **extras)
    expect = (x.float() @ w.float().t()) * extras["scale_a"] * extras["scale_b"]
    assert torch.equal(ref, expect)
    assert ((out.float() - ref).norm() / ref.norm()).item() < timing.TOLERANCE
    if epi == SCALE_ROW:  # the row-wise form really applies a scale per output column
        assert not torch.allclose(ref, (x.float() @ w.float().t()) * extras["scale_a"] * extras["scale_b"][0])


def test_floor_counts_one_byte_per_fp8_element():
    bw = 4000.0
    fp8 = timing.floor_us(1, 4096, 4096, bw, 1e9, 1, out_bytes=2)
    assert fp8 == pytest.approx((4096 + 4096 * 4096 + 2 * 4096) / (bw * 1e3))
    assert timing.floor_us(1, 4096, 4096, bw, 1e9) == pytest.approx(2 * (4096 + 4096 * 4096 + 4096) / (bw * 1e3))
    # floor_for: 1 byte per x and W element, a bf16 output, the float32 scales read, twice the bf16 peak
    row = timing.floor_for(GemmProblem(FP8, "linear", SCALE_ROW, 4096, 4096), 8, bw, 700.0)
    assert row == pytest.approx((8 * 4096 + 4096 * 4096 + 2 * 8 * 4096 + 4 * (1 + 4096)) / (bw * 1e3))
    big = timing.floor_for(GemmProblem(FP8, "linear", SCALE_TENSOR, 4096, 4096), 8192, bw, 700.0)
    assert big == pytest.approx(2.0 * 8192 * 4096 * 4096 / (1400.0 * 1e6))  # compute-bound at fp8's peak
    assert timing.baseline_name(GemmProblem(FP8, "linear", SCALE_ROW, 64, 64)) == timing.SCALED_MM_BASELINE


def test_layer_spec_problem_needs_scales_for_fp8():
    with pytest.raises(UnsupportedProblem, match="needs scales"):
        LayerSpec("a", 16, 16).problem(FP8)


# --- plan: fp8 buckets no source serves keep _scaled_mm -------------------------------------------
from aotgemm.compiler.sources.base import OK, KernelSource, Status  # noqa: E402
from aotgemm.compiler.spec import KernelSpec  # noqa: E402


class SmallMFp8Source(KernelSource):
    """A stand-in source: one fp8 kernel per problem, serving M <= 16 (as small-M decode kernels do)."""

    name = "smallm"

    def enumerate(self, problem, gpu):
        if problem.dtype != FP8:
            return []
        return [KernelSpec(self.name, "stub", "{}", problem.dtype, problem.layout, problem.epilogue,
                           problem.alignment, gpu.arch, gpu.name, max_m=16)]

    def supports(self, spec, problem, m):
        return OK if spec.serves(problem) and m <= spec.max_m else Status(False, "M > 16")

    def rank(self, problem, gpu, m, specs):
        return [s for s in specs if self.supports(s, problem, m)]

    def compile(self, spec, symbol, object_path):
        raise AssertionError("not compiled in this test")


def test_plan_keeps_the_stock_path_where_no_fp8_kernel_serves(monkeypatch):
    from aotgemm.compiler import sources
    from aotgemm.compiler.memo import Memo
    from aotgemm.compiler.plan import plan_target
    from aotgemm.errors import NoCandidates
    from aotgemm.gpus import gpu_model

    monkeypatch.setitem(sources.SOURCES, "smallm", f"{__name__}:SmallMFp8Source")
    m = parse_manifest("\n".join((MODEL, build(extra='scales = "row"\nm_buckets = [1, 16, 128]\n'), LAYER)), WHERE)
    plan = plan_target(m, gpu_model("H200_SXM"), ("smallm",), 2, Memo(None))
    got = {(c.problem.epilogue, c.m_bucket): len(c.ranked) for c in plan.choices}
    assert got == {(SCALE_ROW, 1): 1, (SCALE_ROW, 16): 1, (SCALE_ROW, 128): 0}  # 128: _scaled_mm
    bf16 = parse_manifest("\n".join((MODEL, build('["bfloat16"]', ""), LAYER)), WHERE)
    with pytest.raises(NoCandidates, match="no sm_90a kernel of the sources smallm supports layer 'qkv'"):
        plan_target(bf16, gpu_model("H200_SXM"), ("smallm",), 2, Memo(None))


@pytest.mark.parametrize("stem", ["llama-3.1-8b", "llama-3.1-70b-tp8", "qwen2.5-32b-tp4", "qwen3-4b-tp1"])
def test_shipped_fp8_manifests_are_their_models_layers_in_fp8(stem):
    from pathlib import Path

    from aotgemm.manifest import load_manifest

    repo = Path(__file__).resolve().parents[1]
    fp8, bf16 = load_manifest(repo / "manifests" / f"{stem}-fp8.toml"), load_manifest(repo / "manifests" / f"{stem}.toml")
    assert fp8.dtypes == (FP8,) and fp8.scales == "tensor" and fp8.m_buckets == bf16.m_buckets
    # every layer but the lm_head, which fp8 recipes keep in bf16
    assert [(x.name, x.n, x.k, x.count) for x in fp8.layers] == [(x.name, x.n, x.k, x.count) for x in bf16.layers
                                                                 if x.name != "lm_head"]
    assert {x.problem(FP8).epilogue for x in fp8.layers} == {SCALE_TENSOR}
    # the per-token form of the same layers
    rowwise = load_manifest(repo / "manifests" / f"{stem}-fp8-rowwise.toml")
    assert rowwise.scales == "rowwise" and rowwise.m_buckets == fp8.m_buckets and rowwise.model == f"{fp8.model}-rowwise"
    assert (rowwise.gpus, rowwise.dtypes, rowwise.tp, rowwise.source) == (fp8.gpus, fp8.dtypes, fp8.tp, fp8.source)
    assert [(x.name, x.n, x.k, x.count) for x in rowwise.layers] == [(x.name, x.n, x.k, x.count) for x in fp8.layers]
    assert {x.problem(FP8).epilogue for x in rowwise.layers} == {"scale_rowwise"}


def test_rowwise_scale_a_copy_lives_as_long_as_scale_a():
    import gc

    from aotgemm import epilogues

    x, w = torch.randn(6, 32).to(torch.float8_e4m3fn), torch.randn(16, 32).to(torch.float8_e4m3fn)
    sa, sb = torch.tensor([0.75]), torch.rand(16) + 0.5
    before = len(epilogues._ROWWISE_A)
    y1 = epilogues.scaled_mm(x, w, sa, sb)
    y2 = epilogues.scaled_mm(x, w, sa, sb)  # the same [M, 1] copy, not a new one
    assert len(epilogues._ROWWISE_A) == before + 1 and torch.equal(y1, y2)
    expect = torch._scaled_mm(x, w.t(), torch.full((6, 1), 0.75), sb.reshape(1, 16), out_dtype=torch.bfloat16)
    assert torch.equal(y1, expect)
    del sa
    gc.collect()
    assert len(epilogues._ROWWISE_A) == before
