"""CPU tests for aotgemm's own decode kernels: designs are valid, and a couple compile for
sm_90a and export their TVM-FFI symbol.  GPU correctness lives in bench/decode_probe.py."""

import re
import subprocess
from pathlib import Path

import pytest
import torch

dk = pytest.importorskip("aotgemm.compiler.sources.decode_kernels")
de = pytest.importorskip("aotgemm.compiler.sources.decode_epilogue")
from aotgemm.compiler.sources.decode_tma import (  # noqa: E402
    _EVICT_FIRST, out_vec, promote_group, ragged_n, x_box_plan, x_boxes)

LLAMA_SHAPES = [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336), (1280, 8192), (8192, 1024),
                (1536, 4096), (4096, 3584), (7168, 4096)]


@pytest.mark.parametrize("n,k", LLAMA_SHAPES)
def test_designs_for_covers_decode(n, k):
    designs = dk.designs_for(n, k, "sm_90a")
    assert designs, f"no design for {n}x{k}"
    # max_m 128 only where measured to win (test_max_m_128_designs_only_for_the_weights_measured_to_win_there)
    assert {d["max_m"] for d in designs} == {1, 2, 8, 16, 32, 64} | ({128} if (n, k) == (4096, 14336) else set())
    assert len(designs) <= 18
    for d in designs:
        assert (d["n"], d["k"]) == (n, k)
        assert d["kind"] != "swapab_rf" or (n, k) == (8192, 1024)  # test_rf_designs_only_where_measured
        assert d["kind"] in ("simt", "swapab_tma") or d["max_m"] == 8 * d["nt"]
        dk._validate(d)  # raises if the design cannot be built
        assert dk.smem_bytes(d) <= 227 * 1024


def test_rf_designs_only_where_measured():
    """The register-fed mma.sync designs are offered for the weights of K <= 1280 (and e4m3 6144x2560) that the
    H200 measured (session 19 calls D and F), at the max_m measured, for any epilogue they allow; none for
    sm_100a or other weights (they lost at K >= 4096)."""
    from aotgemm.compiler.sources.decode_designs import rf_designs_for

    def rf(n, k, arch="sm_90a", epilogue="identity", dtype="bfloat16"):
        return [(d["max_m"], d["mt"], d["wk"], d["unroll"]) for d in dk.designs_for(n, k, arch, epilogue, dtype)
                if d["kind"] == "swapab_rf"]

    assert rf(8192, 1024) == [(8, 1, 8, 2), (16, 1, 8, 1)]
    assert rf(5120, 1280) == [(16, 1, 8, 1)]
    assert rf(8192, 1024, epilogue="residual_add") == [(8, 1, 8, 2), (16, 1, 8, 1)]
    assert rf(4096, 4096) == [] and rf(8192, 1024, "sm_100a") == []
    for scale in ("scale_tensor", "scale_row", "scale_rowwise"):
        assert rf(8192, 1024, epilogue=scale, dtype=FP8) == [(8, 1, 8, 1), (16, 1, 8, 1)]
        assert rf(5120, 1280, epilogue=scale, dtype=FP8) == [(8, 1, 5, 4)]
        assert rf(6144, 2560, epilogue=scale, dtype=FP8) == [(8, 1, 8, 1)] and rf(6144, 2560) == []
        assert rf_designs_for(4096, 4096, "sm_90a", 8, scale, FP8) == []
    for d in dk.designs_for(8192, 1024, "sm_90a"):
        if d["kind"] == "swapab_rf":
            assert d["pdl"] and d["ck"] == 1 and d["wn"] == 1
            dk._validate(d)


def test_design_dicts_are_plain_json():
    import json

    for d in dk.designs_for(1280, 8192, "sm_90a"):
        assert json.loads(json.dumps(d)) == d
        assert d["kind"] in ("swapab_cp", "simt", "swapab_tma") and d["pdl"] is True
        assert dk.design_name(dict(d)) == dk.design_name(json.loads(json.dumps(d)))


def test_make_design_rejects_bad_splits():
    with pytest.raises(ValueError):
        dk.make_design(4096, 4096, nt=2, mt=2, wk=4, ck=3)       # cluster of 3
    with pytest.raises(ValueError):
        dk.make_design(1000, 4096, nt=2, mt=2, wk=4, ck=1)       # N not a multiple of 32
    with pytest.raises(ValueError):
        dk.make_design(4096, 1024, nt=2, mt=2, wk=8, ck=8, unroll=4)  # K too short for the pipeline


def _exports(obj_path, symbol):
    out = subprocess.run(["nm", str(obj_path)], capture_output=True, text=True, check=True).stdout
    return f"__tvm_ffi_{symbol}" in out


@pytest.mark.build
@pytest.mark.parametrize("design", [
    # cp.async pipeline, cluster split-K reduced through DSMEM, PDL
    dict(n=1280, k=8192, nt=1, mt=1, wk=2, ck=8, unroll=2, stages=3, pdl=True),
    # single CTA per tile (no cluster), two 8-token MMA tiles
    dict(n=4096, k=4096, nt=2, mt=2, wk=2, ck=1, unroll=2, stages=4),
    # the "pull" cluster epilogue (peers' partials read through DSMEM)
    dict(n=1536, k=4096, nt=1, mt=2, wk=2, ck=8, unroll=2, stages=4, epi="pull"),
    # register-fed, two register buffers: an even number of chunks per warp (2), and an odd one (5: the tail)
    dict(n=8192, k=1024, nt=1, mt=1, wk=8, ck=1, unroll=2, pdl=True, kind="swapab_rf"),
    dict(n=5120, k=1280, nt=2, mt=1, wk=8, ck=1, unroll=1, pdl=True, kind="swapab_rf"),
    # whole-row cp.async copies ("coal"), plain and with the SwiGLU pairing of gate and up rows
    dict(n=6144, k=4096, nt=1, mt=1, wk=2, ck=1, unroll=4, stages=4, pdl=True, coal=True),
    dict(n=28672, k=4096, nt=2, mt=2, wk=1, ck=1, unroll=2, stages=4, pdl=True, coal=True, epilogue="swiglu"),
])
def test_compile_sm90a_exports_symbol(tmp_path, design):
    pytest.importorskip("cutlass")
    d = dk.make_design(design.pop("n"), design.pop("k"), **design)
    obj = tmp_path / "k.o"
    dk.compile_decode(d, "aotgemm_decode_test", str(obj), "sm_90a")
    assert obj.stat().st_size > 1000
    assert _exports(obj, "aotgemm_decode_test")


@pytest.mark.build
def test_compile_simt_exports_symbol(tmp_path):
    pytest.importorskip("cutlass")
    d = dk.make_simt_design(4096, 4096, max_m=4, rows=4, warps=4, unroll=2, pdl=True)
    obj = tmp_path / "simt.o"
    dk.compile_decode(d, "aotgemm_decode_simt_test", str(obj), "sm_90a")
    assert _exports(obj, "aotgemm_decode_simt_test")


def test_simt_design_validation():
    d = dk.make_simt_design(1280, 8192, max_m=1, rows=4, warps=8, unroll=1)
    assert dk.design_name(d) == "simt_n1280k8192_m1_r4w8u1"
    with pytest.raises(ValueError):
        dk.make_simt_design(4096, 3584, max_m=4, rows=4, warps=4, unroll=2)  # K not a multiple of 2048
    with pytest.raises(ValueError):
        dk.make_simt_design(4096, 4096, max_m=8, rows=4, warps=4, unroll=1)  # simt serves max_m <= 4


@pytest.mark.parametrize("n,k,warps", [(5120, 1280, 5), (6144, 2560, 10), (5120, 6912, 9), (2560, 9728, 2),
                                       (3072, 2304, 9), (2048, 1792, 7)])
def test_every_k_of_whole_warp_loads_gets_m1_designs(n, k, warps):
    """A K that none of the fixed CUDA-core designs divides (K / 256 = 5, 10, 27, 38 in Qwen2.5-32B TP4 and
    Qwen3-4B) still gets two M = 1 designs, with the most warps (up to 10) that split its 256-element warp
    loads evenly: the shapes session 15 timed from its table, others from the divisor rule."""
    from aotgemm.compiler.sources.decode_designs import simt_designs_for

    for arch in ("sm_90a", "sm_100a"):
        designs = simt_designs_for(n, k, arch)
        assert len(designs) == 2 and all(d["max_m"] == 1 and d["pdl"] for d in designs), (arch, designs)
        assert max(d["warps"] for d in designs) == warps
    # a K that is no whole number of warp loads has none (the tensor-core kernels serve M = 1 there)
    assert simt_designs_for(1024, 640, "sm_90a") == []


@pytest.mark.parametrize("n,k", [(28672, 4096), (5120, 1280), (2560, 9728), (3072, 2304)])
def test_m2_designs(n, k):
    """Two CUDA-core max_m 2 designs per bf16 weight whose K is whole warp loads, for every epilogue that the
    weight allows (swiglu: an even row count), on both architectures (e4m3: test_e4m3_m2_designs_only_where_measured)."""
    from aotgemm.compiler.sources.decode_designs import simt_designs_for

    for arch in ("sm_90a", "sm_100a"):
        for epilogue in ("identity", "residual_add", "swiglu"):
            designs = simt_designs_for(n, k, arch, epilogue, max_m=2)
            assert len(designs) == 2 and all(d["kind"] == "simt" and d["max_m"] == 2 for d in designs)
            assert len({dk.design_name(d) for d in designs}) == 2
            for d in designs:
                dk._validate(d)
                assert epilogue != "swiglu" or d["rows"] % 2 == 0
    # the measured table first on the H200 (session 17, call A)
    assert [(d["rows"], d["warps"], d["unroll"]) for d in simt_designs_for(28672, 4096, "sm_90a", max_m=2)] == \
        [(2, 4, 2), (4, 8, 1)]
    assert simt_designs_for(1024, 640, "sm_90a", max_m=2) == []


def test_e4m3_m2_designs_only_where_measured():
    """e4m3 max_m 2 CUDA-core designs come from the H200 table only (session 17 call E: they beat the tensor-core
    kernels in a model on those 8 weights and lost on others), for every scale form, sm_90a only, and never
    for a max_m other than 1 and 2."""
    from aotgemm.compiler.sources.decode_design_tables import SIMT_M2_FP8_SM90
    from aotgemm.compiler.sources.decode_designs import simt_designs_for

    for scale in ("scale_tensor", "scale_row", "scale_rowwise"):
        designs = simt_designs_for(28672, 4096, "sm_90a", scale, FP8, max_m=2)
        assert [(d["rows"], d["warps"], d["unroll"]) for d in designs] == [(4, 4, 2), (4, 8, 1)]
        assert all(d["max_m"] == 2 and d["dtype"] == FP8 and d["epilogue"] == scale for d in designs)
        for n, k in SIMT_M2_FP8_SM90:
            assert len(simt_designs_for(n, k, "sm_90a", scale, FP8, max_m=2)) == 2, (n, k)
        # measured to lose there, and nothing measured for sm_100a
        assert simt_designs_for(4096, 14336, "sm_90a", scale, FP8, max_m=2) == []
        assert simt_designs_for(4096, 4096, "sm_100a", scale, FP8, max_m=2) == []
        assert simt_designs_for(4096, 4096, "sm_90a", scale, FP8, max_m=3) == []


def test_e4m3_m1_designs_follow_the_same_divisor_rule():
    """e4m3 warps read 512 elements per 16-byte load: K = 2560 (Qwen3-4B) splits over 5 warps (session 15, call F:
    correct, and the fastest at M = 1 with both scale epilogues). K = 1280 and 6912 are no whole number of those
    loads: they get 8-byte ones (decode_simt's `lb`), the measured ones on the H200 and the divisor rule's
    elsewhere; no weight whose K takes 16-byte loads gets them."""
    from aotgemm.compiler.sources.decode_designs import simt_designs_for

    for scale in ("scale_tensor", "scale_row"):
        designs = simt_designs_for(6144, 2560, "sm_90a", scale, FP8)
        assert [(d["rows"], d["warps"]) for d in designs] == [(2, 5), (4, 5)]
        assert all(d["dtype"] == FP8 and d["epilogue"] == scale and "lb" not in d for d in designs)
        for (n, k), measured in {(5120, 1280): [(4, 5, 1), (8, 5, 1)], (5120, 6912): [(2, 9, 3), (2, 3, 3)]}.items():
            sm90, sm100 = (simt_designs_for(n, k, arch, scale, FP8) for arch in ("sm_90a", "sm_100a"))
            assert [(d["rows"], d["warps"], d["unroll"]) for d in sm90] == measured
            # elsewhere the divisor rule: the most warps that split K's 8-byte loads, 2 and 4 rows
            assert [(d["rows"], d["warps"], d["unroll"]) for d in sm100] == [(2, 5 if k == 1280 else 9, 1),
                                                                          (4, 5 if k == 1280 else 9, 1)]
            assert all(d["lb"] == 8 and d["max_m"] == 1 and d["epilogue"] == scale for d in sm90 + sm100)
        assert simt_designs_for(5120, 1280, "sm_90a", scale, FP8, max_m=2) == []  # 8-byte max_m 2 lost there
    # bf16's 16-byte loads hold 8 elements: these K take them, and nothing changes
    assert all("lb" not in d for d in simt_designs_for(5120, 1280, "sm_90a"))


@pytest.mark.build
def test_compile_sm100a(tmp_path):
    """The kernels use only sm_80/sm_90 instructions (mma.sync, cp.async, clusters), so they
    should build for sm_100a too; skip with the DSL's reason if it refuses."""
    pytest.importorskip("cutlass")
    d = dk.make_design(4096, 4096, nt=1, mt=1, wk=2, ck=2, unroll=2, stages=3)
    obj = tmp_path / "k100.o"
    try:
        dk.compile_decode(d, "aotgemm_decode_test100", str(obj), "sm_100a")
    except Exception as e:  # the DSL's own error types
        pytest.skip(f"the DSL does not build this kernel for sm_100a: {str(e)[:200]}")
    assert _exports(obj, "aotgemm_decode_test100")


# --------------------------------------------------------------------------- fp8 (e4m3, W8A8)

FP8 = "float8_e4m3fn"
FP8_SHAPES = [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336), (8192, 1024), (1280, 8192)]


@pytest.mark.parametrize("scale", ["tensor", "row", "rowwise"])
@pytest.mark.parametrize("n,k", FP8_SHAPES)
def test_fp8_designs_for_covers_decode(n, k, scale):
    designs = dk.designs_for(n, k, "sm_90a", "scale_" + scale, FP8)
    # CUDA-core max_m 2 on the weights the H200 table lists (test_e4m3_m2_designs_only_where_measured)
    m2 = (n, k) in {(6144, 4096), (4096, 4096), (28672, 4096), (1280, 8192)}
    # max_m 128 on the one weight measured to win there (test_max_m_128_designs_only_for_the_weights_measured_to_win_there)
    m128 = (n, k) == (1280, 8192)
    assert {d["max_m"] for d in designs} == {1, 8, 16, 32, 64} | ({2} if m2 else set()) | ({128} if m128 else set())
    # max_m 8 TMA designs on the weights the H200 table lists (session 38), two each, beside the cp.async ones
    from aotgemm.compiler.sources.decode_design_tables import TMA_FP8_SM90

    tma8 = [d for d in designs if d["kind"] == "swapab_tma" and d["max_m"] == 8]
    assert len(tma8) == (2 if 8 in TMA_FP8_SM90.get((n, k), {}) else 0)
    assert len(designs) - len(tma8) <= 16
    names = [dk.design_name(d) for d in designs]
    assert len(set(names)) == len(names)
    for d in designs:
        assert (d["n"], d["k"], d["dtype"], d["epilogue"]) == (n, k, FP8, "scale_" + scale)
        assert dk.design_name(d).endswith("_e4m3_scale_" + scale)
        dk._validate(d)
        assert dk.smem_bytes(d) <= 227 * 1024
        if d["kind"] == "swapab_tma":
            assert d["bk"] in (128, 256)  # whole 128-byte swizzle atoms of e4m3
        elif d["kind"] != "simt":
            # a 16-byte piece carries 16 e4m3: 64 k per quad of lanes and unroll step
            assert k % (64 * d["unroll"] * d["wk"] * d["ck"]) == 0


def test_fp8_fields_leave_bf16_designs_alone():
    """bf16 design dicts (hence their spec keys) carry no dtype field; fp8 ones always carry it and a scale
    epilogue."""
    for d in dk.designs_for(4096, 4096, "sm_90a"):
        assert "dtype" not in d and "epilogue" not in d and "e4m3" not in dk.design_name(d)
    assert dk.designs_for(4096, 4096, "sm_90a") == dk.designs_for(4096, 4096, "sm_90a", "identity", "bfloat16")


def test_fp8_design_validation():
    d = dk.make_design(4096, 4096, nt=1, wk=2, ck=2, unroll=4, stages=3, dtype=FP8, epilogue="scale_row")
    assert dk.design_name(d) == "cp3_n4096k4096_m8_mt1wn1wk2ck2u4_e4m3_scale_row"
    with pytest.raises(ValueError, match="scale"):
        dk.make_design(4096, 4096, nt=1, dtype=FP8)                       # no scale epilogue
    with pytest.raises(ValueError, match="dtype"):
        dk.make_design(4096, 4096, nt=1, epilogue="scale_tensor")         # a scale on a bf16 design
    with pytest.raises(ValueError, match="scale"):
        dk.make_design(4096, 4096, nt=1, dtype=FP8, epilogue="bias")      # fp8 fuses only a scale epilogue
    with pytest.raises(ValueError, match="dtype"):
        dk.make_design(4096, 4096, nt=1, dtype="float16")
    with pytest.raises(ValueError, match="dtype"):
        dk._validate(dict(dk.make_design(4096, 4096, nt=1), dtype="bfloat16"))  # bf16 carries no dtype key
    with pytest.raises(ValueError, match="multiple of 64"):
        dk.make_design(4096, 4096, nt=1, wk=4, ck=8, unroll=4, dtype=FP8, epilogue="scale_tensor")  # valid for bf16
    dk.make_design(4096, 4096, nt=1, wk=4, ck=8, unroll=2, stages=2)      # ... this one is
    rf = dk.make_design(4096, 4096, nt=1, kind="swapab_rf", dtype=FP8, epilogue="scale_tensor")  # register-fed too
    assert dk.design_name(rf) == "rf_n4096k4096_m8_mt1wn1wk4ck1u2_e4m3_scale_tensor"
    s = dk.make_simt_design(4096, 4096, max_m=1, rows=4, warps=8, unroll=1, dtype=FP8, epilogue="scale_tensor")
    assert dk.design_name(s) == "simt_n4096k4096_m1_r4w8u1_e4m3_scale_tensor"
    with pytest.raises(ValueError, match="multiple of"):
        dk.make_simt_design(4096, 4096, max_m=1, rows=2, warps=8, unroll=2, dtype=FP8, epilogue="scale_tensor")


def test_decode_source_enumerates_fp8_scale_problems():
    from aotgemm import epilogues
    from aotgemm.compiler.sources.decode import DecodeSource
    from aotgemm.errors import UnsupportedProblem
    from aotgemm.gpus import gpu_model
    from aotgemm.problem import DTYPES, GemmProblem

    assert FP8 in DTYPES and {"scale_tensor", "scale_row", "scale_rowwise"} <= set(epilogues.names())
    src, h200 = DecodeSource(), gpu_model("H200_SXM")
    for ep in ("scale_tensor", "scale_row", "scale_rowwise"):
        p = GemmProblem(FP8, "linear", ep, 4096, 4096)
        specs = src.enumerate(p, h200)
        assert specs and {s.max_m for s in specs} == {1, 2, 8, 16, 32, 64}  # 2: SIMT_M2_FP8_SM90 has 4096x4096
        for s in specs:
            assert (s.dtype, s.epilogue, s.alignment, s.x_row_stride) == (FP8, ep, 16, 0)
            assert s.design_dict["epilogue"] == ep and s.design_dict["dtype"] == FP8
            assert src.supports(s, p, s.max_m) and not src.supports(s, p, s.max_m + 1)
    # fp8 without a scale epilogue, and bf16 with one, are not served (where such a problem can exist)
    for dtype, ep in ((FP8, "identity"), ("bfloat16", "scale_row")):
        try:
            p = GemmProblem(dtype, "linear", ep, 4096, 4096)
        except UnsupportedProblem:
            continue
        assert src.enumerate(p, h200) == []
    bf = src.enumerate(GemmProblem("bfloat16", "linear", "identity", 4096, 4096), h200)
    assert bf and all("dtype" not in s.design_dict for s in bf)


def _fp8_design(kind, scale):
    if kind == "swapab_rf":  # one of RF_FP8_SM90's: 5 chunks per warp, the second register buffer's tail
        return dk.make_design(6144, 2560, kind="swapab_rf", nt=1, mt=1, wn=1, wk=8, ck=1, unroll=1, pdl=True,
                              dtype=FP8, epilogue="scale_" + scale)
    if kind == "simt":  # max_m 2 (one of SIMT_M2_FP8_SM90's) with per-token scales, else max_m 1
        if scale == "rowwise":
            return dk.make_simt_design(4096, 4096, max_m=2, rows=4, warps=4, unroll=2, pdl=True, dtype=FP8,
                                       epilogue="scale_rowwise")
        return dk.make_simt_design(4096, 4096, max_m=1, rows=4, warps=8, unroll=1, pdl=True, dtype=FP8,
                                   epilogue="scale_" + scale)
    # cp.async pipeline, cluster split-K (DSMEM push), PDL
    return dk.make_design(4096, 4096, nt=2, mt=2, wk=2, ck=2, unroll=2, stages=3, pdl=True, dtype=FP8,
                                   epilogue="scale_" + scale)


# --- fused epilogues (bias, residual_add, swiglu, geglu) ------------------------------------------
FUSED = ("bias", "residual_add", "swiglu", "geglu")


def test_every_gated_epilogue_has_its_activation_in_both_kernel_sources():
    """A gated epilogue (aotgemm.epilogues.Gate) the sources have no formula for would fail only when a kernel
    compiles: each gate needs its exponent in the decode kernels' output stage and its name in quack's map."""
    from aotgemm.compiler.sources import decode_epilogue, quack_kernels
    from aotgemm.epilogues import epilogue, gated

    for name in gated():
        gate = epilogue(name).gate
        assert gate.name in decode_epilogue._GATE_EXPONENT and gate.name in quack_kernels.QUACK_GATES, name
        assert name in decode_epilogue.EPILOGUES["bfloat16"]
    assert {quack_kernels._quack_gate(n) for n in gated()} == {"swiglu", "geglu"}
    assert quack_kernels._quack_gate("identity") is None and quack_kernels._quack_gate("residual_add") is None
    # the output stage's z(g) is exact in floats: g * sigmoid(z(g)) is the gate's torch function
    g = torch.linspace(-12, 12, 2001, dtype=torch.float64)
    for name in gated():
        gate = epilogue(name).gate
        z = decode_epilogue._GATE_EXPONENT[gate.name](g, float)
        assert torch.allclose(g * torch.sigmoid(z), gate(g), rtol=1e-6, atol=1e-9), name


def test_identity_designs_carry_no_epilogue_key_and_bias_keeps_the_same_choice():
    plain = dk.designs_for(4096, 4096, "sm_90a")
    assert plain and all("epilogue" not in d for d in plain)  # identity dicts (and cache keys) unchanged
    assert dk.designs_for(4096, 4096, "sm_90a", "identity") == plain
    # bias and residual_add put no constraint on the design: the same designs, tagged
    for name in ("bias", "residual_add"):
        assert dk.designs_for(4096, 4096, "sm_90a", name) == [dict(d, epilogue=name) for d in plain]


@pytest.mark.parametrize("n,k", [(28672, 4096), (4096, 4096), (4096, 14336)])
@pytest.mark.parametrize("gated", ["swiglu", "geglu"])
def test_gated_designs_hold_whole_gate_and_up_tiles(n, k, gated):
    designs = dk.designs_for(n, k, "sm_90a", gated)
    assert {d["max_m"] for d in designs} == {1, 2, 8, 16, 32, 64}
    # the gated epilogues move the same data, so they get the same designs; only the activation differs
    assert [{**d, "epilogue": "swiglu"} for d in designs] == dk.designs_for(n, k, "sm_90a", "swiglu")
    for d in designs:
        assert d["epilogue"] == gated and (d["n"], d["k"]) == (n, k)
        if d["kind"] == "simt":
            assert d["rows"] % 2 == 0
        elif d["kind"] == "swapab_tma":
            assert d["wg"] == 2  # warpgroup 0 takes gate rows, warpgroup 1 their up rows
        else:
            assert (16 * d["mt"] * d["wn"]) % 32 == 0


def test_fused_design_validation_errors():
    with pytest.raises(ValueError, match="mt\\*wn must be even"):
        dk.make_design(4096, 4096, nt=1, mt=1, wn=1, wk=2, ck=1, epilogue="swiglu")  # 16 rows: no gate/up halves
    with pytest.raises(ValueError, match="N must be even"):
        dk.make_simt_design(4104 + 1, 4096, max_m=1, rows=1, warps=4, unroll=1, epilogue="swiglu")
    with pytest.raises(ValueError, match="rows must be even"):
        dk.make_simt_design(4096, 4096, max_m=1, rows=1, warps=4, unroll=1, epilogue="swiglu")
    with pytest.raises(ValueError, match="is not one the decode kernels fuse"):
        dk.make_design(4096, 4096, nt=1, epilogue="gelu")
    with pytest.raises(ValueError, match="identity designs carry no 'epilogue' key"):
        dk._validate(dict(dk.make_design(4096, 4096, nt=1), epilogue="identity"))
    with pytest.raises(ValueError, match="cluster reduction"):
        dk.make_design(4096, 4096, nt=1, mt=2, wk=2, ck=2, epi="sideways")
    # the same design, two names: a fused one is distinct from the plain one
    plain = dk.make_design(4096, 4096, nt=1, mt=2, wk=2, ck=2)
    fused = dk.make_design(4096, 4096, nt=1, mt=2, wk=2, ck=2, epilogue="swiglu")
    assert fused == dict(plain, epilogue="swiglu") and dk.design_name(fused) == dk.design_name(plain) + "_swiglu"


@pytest.mark.parametrize("rows,ck", [(32, 1), (32, 2), (64, 4), (32, 8), (128, 8)])
def test_swiglu_row_mapping_pairs_gate_and_up_rows(rows, ck):
    n = 4 * rows
    part, half = rows // ck, rows // 2
    # every weight row is some CTA's logical row exactly once; gate row j pairs with up row N/2 + j
    seen = sorted(de.weight_row(bn, r, rows, n, True) for bn in range(n // rows) for r in range(rows))
    assert seen == list(range(n))
    for bn in range(n // rows):
        for j in range(half):
            assert de.weight_row(bn, half + j, rows, n, True) == de.weight_row(bn, j, rows, n, True) + n // 2
    # cluster ownership: a bijection onto (CTA, slot); slot j < part/2 holds a gate row, j + part/2 its up row
    slots = {de.push_slot(r, rows, part, True): r for r in range(rows)}
    assert sorted(slots) == [(q, j) for q in range(ck) for j in range(part)]
    for q in range(ck):
        for j in range(part // 2):
            gate = slots[(q, j)]
            assert gate < half and slots[(q, part // 2 + j)] == gate + half
            # the final stage reads a non-push part at these logical rows (decode_kernels: reduce_row)
            assert gate == q * (part // 2) + j


def test_identity_row_mapping_is_the_plain_one():
    for r in range(64):
        assert de.weight_row(3, r, 64, 4096, False) == 3 * 64 + r
        assert de.push_slot(r, 64, 16, False) == (r // 16, r % 16)


def test_decode_source_enumerates_fused_problems():
    from aotgemm.compiler.sources.decode import DecodeSource
    from aotgemm.gpus import gpu_model
    from aotgemm.problem import GemmProblem

    src, h200 = DecodeSource(), gpu_model("H200_SXM")
    for name in FUSED:
        p = GemmProblem("bfloat16", "linear", name, 4096, 4096)
        specs = src.enumerate(p, h200)
        assert specs and {s.max_m for s in specs} == {1, 2, 8, 16, 32, 64}
        assert all(s.epilogue == name and s.design_dict["epilogue"] == name and s.serves(p) for s in specs)
        assert [s.design_dict for s in specs] == dk.designs_for(4096, 4096, "sm_90a", name)
        ranked = src.rank(p, h200, 8, specs)
        assert ranked and all(s.max_m >= 8 for s in ranked)
        # a kernel built for another epilogue does not serve this problem
        other = p.with_epilogue("identity")
        assert not src.supports(specs[0], other, 1)
    plain = src.enumerate(GemmProblem("bfloat16", "linear", "identity", 4096, 4096), h200)
    assert all("epilogue" not in s.design_dict for s in plain)
    assert src.enumerate(GemmProblem("float16", "linear", "swiglu", 4096, 4096), h200) == []


@pytest.mark.build
@pytest.mark.parametrize("arch", ["sm_90a", "sm_100a"])
@pytest.mark.parametrize("kind", ["swapab_cp", "simt", "swapab_rf"])
@pytest.mark.parametrize("scale", ["tensor", "row", "rowwise"])
def test_compile_fp8_exports_symbol(tmp_path, monkeypatch, arch, kind, scale):
    """fp8 kernels build for sm_90a and sm_100a; the PTX shows e4m3 mma.sync m16n8k32 fed by whole
    16-byte shared-memory loads (tensor core), or paired e4m3x2 conversions (SIMT: not scalarised);
    the exported function takes the scales as operands 4 and 5, whatever their form."""
    pytest.importorskip("cutlass")
    d = _fp8_design(kind, scale)
    (tmp_path / "dump").mkdir()
    monkeypatch.setenv("AOTGEMM_DECODE_DUMP", str(tmp_path / "dump"))
    obj = tmp_path / "k.o"
    dk.compile_decode(d, "aotgemm_decode_fp8_test", str(obj), arch)
    assert _exports(obj, "aotgemm_decode_fp8_test")
    ptx = "\n".join(p.read_text() for p in (tmp_path / "dump").rglob("*.ptx"))
    assert ptx and "ld.local" not in ptx and "st.local" not in ptx  # fragments stay in registers
    if kind == "simt":
        # per iteration 16 weights per row and 16 x values per token per lane, converted two at a time
        assert ptx.count("cvt.rn.f16x2.e4m3x2") == 8 * (d["rows"] + d["max_m"]) * d["unroll"]
        assert "fma.rn.f32" in ptx
    elif kind == "swapab_rf":
        # W and x straight into registers (W without L1 allocation), no shared-memory staging in the main loop
        assert "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32" in ptx
        assert "ld.global.L1::no_allocate.v4" in ptx and "cp.async" not in ptx and "ld.shared.v4.b32" not in ptx
    else:
        assert "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32" in ptx
        # the main loop (not unrolled) reads each 16-byte piece back with one 16-byte load
        assert ptx.count("ld.shared.v4.b32") == d["unroll"] * (2 * d["mt"] + d["nt"])
        assert ptx.count("mma.sync") == d["unroll"] * d["mt"] * d["nt"] * 2
        # every weight cp.async (.cg) asks L2 to evict it first; x's (.ca) do not
        assert "createpolicy.fractional.L2::evict_first" in ptx
        assert ptx.count("cp.async.cg.shared.global") == ptx.count("cp.async.cg.shared.global.L2::cache_hint") > 0


@pytest.mark.build
@pytest.mark.parametrize("arch", ["sm_90a", "sm_100a"])
@pytest.mark.parametrize("name", FUSED)
@pytest.mark.parametrize("kind", ["swapab_cp", "simt"])
def test_fused_epilogues_compile(tmp_path, arch, name, kind):
    """Compile-only: each epilogue for both architectures, one tensor-core design (a cluster of 2 with the
    DSMEM push reduction) and one CUDA-core design, exporting fn(x, wt, out, *operands, stream)."""
    pytest.importorskip("cutlass")
    if kind == "simt":
        d = dk.make_simt_design(4096, 4096, max_m=1, rows=2, warps=8, unroll=2, pdl=True, epilogue=name)
    else:
        d = dk.make_design(4096, 4096, nt=1, mt=2, wk=2, ck=2, unroll=2, stages=3, pdl=True, epilogue=name)
    obj = tmp_path / "k.o"
    dk.compile_decode(d, "aotgemm_fused_test", str(obj), arch)
    assert _exports(obj, "aotgemm_fused_test")


def test_plan_sends_buckets_past_the_fused_kernels_to_cublas_and_refuses_a_problem_nobody_serves():
    """A fused layer is served by the decode kernels up to their max_m; larger buckets get no candidate
    (cuBLAS + the epilogue, the heuristic dispatch's CUBLAS entry). A problem no source serves at any M
    is still an error naming the layer."""
    from aotgemm.compiler.memo import Memo
    from aotgemm.compiler.plan import plan_target
    from aotgemm.errors import NoCandidates
    from aotgemm.gpus import gpu_model
    from aotgemm.manifest import LayerSpec, Manifest

    m = Manifest(model="mlp", gpus=("H200_SXM",), dtypes=("bfloat16",), m_buckets=(1, 16, 2048),
                 layers=(LayerSpec("down", 4096, 14336, 32, "residual_add"),))
    plan = plan_target(m, gpu_model("H200_SXM"), ("aotgemm",), 5, Memo(None))
    ranked = {c.m_bucket: c.ranked for c in plan.choices}
    assert ranked[1] and ranked[16] and ranked[2048] == ()
    assert all(s.epilogue == "residual_add" for s in ranked[1] + ranked[16])
    odd = Manifest(model="odd", gpus=("H200_SXM",), dtypes=("bfloat16",), m_buckets=(1, 16),
                   layers=(LayerSpec("odd", 1000, 1000, 1, "swiglu"),))
    with pytest.raises(NoCandidates, match="supports layer 'odd' \\(bfloat16 linear N=1000 K=1000 \\+ swiglu, M=1\\)"):
        plan_target(odd, gpu_model("H200_SXM"), ("aotgemm",), 5, Memo(None))


# --- TMA + wgmma designs (decode_tma) ----------------------------------------------------------


def test_tma_designs_fill_the_grid_once_and_only_for_sm90a():
    """The rule's designs keep the grid within one CTA per SM (split-K over a cluster where N/64 tiles
    are fewer) and its clusters within what the GPU holds at once (30 of 4 CTAs, 15 of 8, with one CTA per
    SM), use whole 128-byte swizzle atoms and fit shared memory; sm_100a gets none (wgmma is a Hopper
    instruction)."""
    from aotgemm.compiler.sources import decode_designs as dd

    assert (dd._clusters_held(2), dd._clusters_held(4), dd._clusters_held(8), dd._clusters_held(4, 2)) == (66, 30, 15, 60)

    # the rule itself: 13824 x 5120 and 5120 x 1280 have measured designs now (session 35), which come first
    from aotgemm.compiler.sources.decode_tma import _tile_bytes

    for n, k in [(5120, 5120), (2048, 8192), (1024, 4096), (3072, 3072), (13824, 5120), (5120, 1280)]:
        for max_m in (16, 32, 64):
            designs = dd._tma_rule(n, k, max_m, "identity", "bfloat16")
            for d in designs:
                assert d["kind"] == "swapab_tma" and d["max_m"] == max_m and d["pdl"] is True
                assert dk.smem_bytes(d) <= 227 * 1024 and k % (d["bk"] * d["ck"]) == 0
                # never a two-stage design; at one CTA per SM, stages within 200 KB (one more fits and lost)
                assert d["stages"] >= dd.MIN_RULE_STAGES
                if dk.smem_bytes(d) > 113 * 1024:  # sized for one CTA per SM
                    more = dict(d, stages=d["stages"] + 1)
                    assert _tile_bytes(d) <= dd.ONE_WAVE_STAGE_BYTES, d
                    assert (_tile_bytes(more) > dd.ONE_WAVE_STAGE_BYTES or dk.smem_bytes(more) > 227 * 1024
                            or d["stages"] == min(16, k // (d["bk"] * d["ck"]))), d  # or as many as k tiles
            if len(designs) == 1:
                # 13824 x 5120 at max_m 64: 216 CTAs, two an SM, where 256-byte k tiles leave room for 2 stages:
                # the 128-byte ones alone
                assert (n, k, max_m) == (13824, 5120, 64) and designs[0]["bk"] == 64
                continue
            first, second = designs
            ctas = n // (64 * first["wg"]) * first["ck"]
            assert first["bk"] == 128 and (ctas <= 132 or first["ck"] == 1)
            for d, per_sm in ((first, 1), (second, 2)):  # no cluster at ck = 1
                assert d["ck"] == 1 or n // (64 * d["wg"]) <= dd._clusters_held(d["ck"], per_sm), (n, k, max_m, d)
            if ctas < 100 and second["ck"] > first["ck"]:  # idle SMs: a wider split, two CTAs per SM
                assert n // (64 * second["wg"]) * second["ck"] <= 264 and dk.smem_bytes(second) <= 113 * 1024
            else:
                assert (second["ck"], second["bk"]) == (first["ck"], 64)
    # max_m 16, one CTA per SM: 10 stages of 20 KB, where 11 still fit and ran 1.1-1.7% slower (session 35, call D)
    assert dd._tma_rule(5120, 5120, 16, "identity", "bfloat16")[0]["stages"] == 10
    # max_m 64 on 80 tiles: the wider split two an SM would hold 2 stages; the same grid with 128-byte tiles instead
    assert [(d["ck"], d["bk"], d["stages"]) for d in dd._tma_rule(5120, 1280, 64, "identity", "bfloat16")] == \
        [(1, 128, 6), (1, 64, 12)]
    # 5120 x 1280 (a TP-4 o_proj): 80 one-warpgroup tiles, K too short to split for one CTA per SM
    first, second = dd._tma_rule(5120, 1280, 16, "identity", "bfloat16")
    assert (first["ck"], second["ck"]) == (1, 2)
    # 2048 x 8192: 32 tiles; a 4-way split would be 32 clusters of 4, two more than fit: two waves
    first, second = dd.tma_designs_for(2048, 8192, "sm_90a", 16)
    assert (first["ck"], second["ck"]) == (2, 4) and dk.smem_bytes(second) <= 113 * 1024
    assert dd.tma_designs_for(4096, 4096, "sm_100a", 16) == []
    assert all(d["kind"] != "swapab_tma" for d in dk.designs_for(4096, 4096, "sm_100a"))


@pytest.mark.parametrize("dtype,epilogues", [("bfloat16", ("identity",)),
                                            (FP8, ("scale_tensor", "scale_row", "scale_rowwise"))])
def test_measured_tma_tables_are_valid_and_served_first(dtype, epilogues):
    """Every entry of the measured TMA tables (bf16 TMA_SM90, e4m3 TMA_FP8_SM90) makes a valid design
    for its dtype's epilogues, and tma_designs_for returns the table's designs before the rule's."""
    from aotgemm.compiler.sources import decode_designs as dd
    from aotgemm.compiler.sources import decode_design_tables as ddt

    table = ddt.TMA_FP8_SM90 if dtype == FP8 else ddt.TMA_SM90
    for (n, k), buckets in table.items():
        for max_m, specs in buckets.items():
            assert max_m in dd.TMA_MAX_M + dd.TMA_MEASURED_MAX_M and 1 <= len(specs) <= 3
            for epi in epilogues:
                got = dd.tma_designs_for(n, k, "sm_90a", max_m, epi, dtype)
                assert len(got) >= len(specs), (n, k, max_m, epi)  # every design of the entry is offered
                for spec, d in zip(specs, got):
                    st, wg, bk, ck = (int(v) for v in spec.split(","))
                    assert (d["stages"], d["wg"], d["bk"], d["ck"]) == (st, wg, bk, ck), (n, k, max_m, spec)
                    assert d.get("epilogue", "identity") == epi and dk.smem_bytes(d) <= 227 * 1024
                    assert (d.get("dtype") == FP8) == (dtype == FP8)


def test_measured_simt_tables_are_valid_and_served_first():
    """Every entry of the measured CUDA-core tables is a valid design for its weight, and simt_designs_for gives the
    table's designs on sm_90a, in its order (8-byte loads for SIMT_FP8_LB8_SM90's)."""
    from aotgemm.compiler.sources import decode_designs as dd
    from aotgemm.compiler.sources import decode_design_tables as ddt

    tables = [(ddt.SIMT_SM90, "bfloat16", 1, 16), (ddt.SIMT_M2_SM90, "bfloat16", 2, 16),
              (ddt.SIMT_FP8_SM90, FP8, 1, 16), (ddt.SIMT_M2_FP8_SM90, FP8, 2, 16),
              (ddt.SIMT_FP8_LB8_SM90, FP8, 1, 8)]
    for table, dtype, max_m, load_bytes in tables:
        epilogue = "scale_tensor" if dtype == FP8 else "identity"
        for (n, k), specs in table.items():
            got = dd.simt_designs_for(n, k, "sm_90a", epilogue, dtype, max_m=max_m)
            assert [f"{d['rows']},{d['warps']},{d['unroll']}" for d in got] == specs[:2], (n, k, max_m)
            assert all(d.get("lb", 16) == load_bytes and d["max_m"] == max_m for d in got)


@pytest.mark.parametrize("dtype,epilogue", [("bfloat16", "identity"), (FP8, "scale_tensor")])
def test_measured_cp_tables_are_valid_and_served_first(dtype, epilogue):
    """Every entry of the measured cp.async tables (bf16 CP_SM90, e4m3 CP_FP8_SM90) makes a valid design
    for its weight, and designs_for offers each bucket's (max_m 8: three, 16: two a bucket on sm_90a) from the
    table's entries first, in their order; bf16 ones in their whole-row form where CP_WHOLE_ROW_SM90 names them."""
    from aotgemm.compiler.sources import decode_designs as dd
    from aotgemm.compiler.sources import decode_design_tables as ddt

    table = ddt.CP_FP8_SM90 if dtype == FP8 else ddt.CP_SM90
    for (n, k), specs in table.items():
        got = [d for d in dk.designs_for(n, k, "sm_90a", epilogue, dtype) if d["kind"] == "swapab_cp"]
        for nt, per_bucket in ((1, 3), (2, 2)):
            want = [sp for sp in specs if sp.split(",")[1] == str(nt)][:per_bucket]
            served = [d for d in got if d["nt"] == nt][:len(want)]
            assert [dd._spec(d) for d in served] == want, (n, k, nt)
            coal = ddt.CP_WHOLE_ROW_SM90.get((n, k), set()) if dtype == "bfloat16" else set()
            assert all(bool(d.get("coal")) == (dd._spec(d) in coal) for d in served), (n, k, nt)


def test_build_memo_keys_follow_every_module_that_chooses_designs():
    """A build memoises the decode source's enumeration and ranking under a key of its code files' text; every module
    of the package that decode_designs imports (its kernels and its measured tables) is among them, so a changed table
    is never served from a stale memo (session 38: the tables moved into decode_design_tables, which the key missed
    until this test)."""
    import ast

    from aotgemm.compiler.sources import decode, decode_designs

    files = {Path(f).name for f in decode.DecodeSource().code_files()}
    tree = ast.parse(Path(decode_designs.__file__).read_text())
    siblings = {n.module + ".py" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1}
    assert "decode_design_tables.py" in siblings and siblings <= files, siblings - files


def test_max_m_8_tma_designs_only_in_e4m3_where_measured_and_shortlisted_at_m_3_to_8():
    """Builds offer max_m 8 TMA designs in e4m3 on sm_90a for the table's weights alone (session 38: 1.0-3.7% over
    every kernel offered before at M = 3-8; in bf16 none gained 1% in both runs), first among a weight's TMA designs,
    for every scale epilogue; and a build's shortlist at M = 4 keeps them beside the cp.async ones."""
    from aotgemm.compiler.sources.decode import DecodeSource
    from aotgemm.gpus import GPU_MODELS
    from aotgemm.problem import GemmProblem

    for epi in ("scale_tensor", "scale_row", "scale_rowwise"):
        designs = dk.designs_for(1792, 5120, "sm_90a", epi, FP8)
        tma = [d for d in designs if d["kind"] == "swapab_tma"]
        assert [dk.design_name(d) for d in tma[:2]] == [f"tma5_n1792k5120_m8_wg2bk128ck8_pdl_e4m3_{epi}",
                                                         f"tma5_n1792k5120_m8_wg1bk256ck4_pdl_e4m3_{epi}"]
        assert all(d["max_m"] > 8 for d in tma[2:])
    for n, k, arch, dtype, epi in [(6144, 2560, "sm_90a", FP8, "scale_tensor"), (8192, 1024, "sm_90a", FP8, "scale_row"),
                                   (1792, 5120, "sm_90a", "bfloat16", "identity"),
                                   (28672, 4096, "sm_90a", "bfloat16", "identity"),
                                   (1792, 5120, "sm_100a", FP8, "scale_tensor")]:
        assert not [d for d in dk.designs_for(n, k, arch, epi, dtype) if d["kind"] == "swapab_tma" and d["max_m"] == 8]
    src, h200 = DecodeSource(), GPU_MODELS["H200_SXM"]
    p = GemmProblem(FP8, "linear", "scale_tensor", 1792, 5120)
    specs = src.enumerate(p, h200)
    kept = src.shortlist(src.rank(p, h200, 4, specs), 5)
    assert sum(s.family == "decode_swapab_tma" and s.max_m == 8 for s in kept) == 2
    assert any(s.family == "decode_swapab_cp" for s in kept)


def test_max_m_128_designs_only_for_the_weights_measured_to_win_there():
    """Builds offer max_m 128 TMA designs for the table's weights alone (bf16: Llama-3.1-8B's down, Qwen2.5-32B TP4's
    qkv; e4m3: Llama-3.1-70B TP8's qkv): on the other weights timed, they lost to cuBLAS (to _scaled_mm) in a model
    (session 29, call A; session 30, calls A and D)."""
    from aotgemm.compiler.sources import decode_designs as dd

    def m128(n, k, epilogue="identity"):
        return [d for d in dk.designs_for(n, k, "sm_90a", epilogue) if d["max_m"] == 128]

    assert [dk.design_name(d) for d in m128(4096, 14336)] == ["tma7_n4096k14336_m128_wg1bk64ck2_pdl"]
    assert [dk.design_name(d) for d in m128(1792, 5120)] == ["tma7_n1792k5120_m128_wg1bk64ck4_pdl"]
    assert m128(4096, 14336, "residual_add")[0]["epilogue"] == "residual_add"
    for n, k in [(4096, 4096), (6144, 4096), (5120, 1280), (28672, 4096), (8192, 1024)]:
        assert m128(n, k) == [] and dd.tma_designs_for(n, k, "sm_90a", 128) == []
    # the rule still gives the other buckets of a weight the table names only at 128
    assert len(dd.tma_designs_for(1792, 5120, "sm_90a", 64)) == 2
    assert all(d["kind"] != "swapab_tma" for d in dk.designs_for(4096, 14336, "sm_100a"))
    # e4m3: Llama-3.1-70B TP8's qkv alone (session 30), for every scale epilogue, and not its bf16 twin's weight
    for epi in ("scale_tensor", "scale_row", "scale_rowwise"):
        got = [d for d in dk.designs_for(1280, 8192, "sm_90a", epi, FP8) if d["max_m"] == 128]
        assert [dk.design_name(d) for d in got] == [f"tma7_n1280k8192_m128_wg1bk128ck4_pdl_e4m3_{epi}"]
    assert m128(1280, 8192) == []
    for n, k in [(8192, 1024), (1792, 5120), (5120, 1280), (2560, 4096), (6144, 2560), (4096, 4096), (2560, 9728)]:
        assert [d for d in dk.designs_for(n, k, "sm_90a", "scale_tensor", FP8) if d["max_m"] == 128] == []


def test_tma_design_validation():
    d = dk.make_tma_design(4096, 4096, max_m=16, wg=1, bk=128, stages=10, ck=2)
    assert dk.design_name(d) == "tma10_n4096k4096_m16_wg1bk128ck2_pdl"
    assert dk.make_tma_design(4096, 4096, max_m=16, dtype=FP8, epilogue="scale_row")["bk"] == 128
    with pytest.raises(ValueError, match="max_m"):
        dk.make_tma_design(4096, 4096, max_m=24)
    with pytest.raises(ValueError, match="128, 256 or 512 bytes"):
        dk.make_tma_design(4096, 4096, max_m=16, bk=32)
    with pytest.raises(ValueError, match="128, 256 or 512 bytes"):
        dk.make_tma_design(4096, 4096, max_m=16, bk=512, stages=2)  # 1024 bytes
    assert dk.make_tma_design(4096, 4096, max_m=16, wg=1, bk=256, stages=4)["bk"] == 256  # 512 bytes: probes only
    with pytest.raises(ValueError, match="multiple of bk\\*ck"):
        dk.make_tma_design(4096, 3584, max_m=16, bk=128, ck=8)
    with pytest.raises(ValueError, match="shared memory"):
        dk.make_tma_design(4096, 4096, max_m=64, wg=2, stages=12)
    with pytest.raises(ValueError, match="wg must be 2"):
        dk.make_tma_design(4096, 4096, max_m=16, wg=1, epilogue="swiglu")
    # 128 and 256 tokens (bench/decode_probe.py --mid-sweep); e4m3 stops at 128 (its promotion's registers)
    assert dk.make_tma_design(1792, 5120, max_m=128, wg=1, bk=64, stages=7, ck=4)["max_m"] == 128
    assert dk.make_tma_design(1792, 5120, max_m=256, wg=1, bk=64, stages=3, ck=4)["max_m"] == 256
    with pytest.raises(ValueError, match="e4m3 swapab_tma designs serve max_m up to 128"):
        dk.make_tma_design(1792, 5120, max_m=256, wg=1, stages=3, ck=4, dtype=FP8, epilogue="scale_tensor")
    # x multicast over cn CTAs along the weight rows: named when set, absent (old names, old cache keys) when 1
    mc = dk.make_tma_design(1792, 5120, max_m=128, wg=1, bk=64, stages=7, ck=4, cn=2)
    assert mc["cn"] == 2 and dk.design_name(mc) == "tma7_n1792k5120_m128_wg1bk64ck4cn2_pdl"
    assert "cn" not in dk.make_tma_design(1792, 5120, max_m=128, wg=1, bk=64, stages=7, ck=4, cn=1)
    with pytest.raises(ValueError, match="cn\\*ck at most 8"):
        dk.make_tma_design(1792, 5120, max_m=128, wg=1, bk=64, stages=7, ck=4, cn=4)
    with pytest.raises(ValueError, match="do not split into clusters of cn=4"):
        dk.make_tma_design(1792, 5120, max_m=64, wg=2, bk=64, stages=4, ck=1, cn=4)  # 14 row tiles


def test_tma_designs_take_a_last_cta_past_n():
    """A vocabulary split over tensor-parallel ranks leaves N no multiple of a CTA's rows (Llama-3.1's 128256 over 8
    is 16032, 250.5 tiles of 64): the last CTA's rows run past N (ragged_n), the grid rounds up, and builds offer TMA
    designs there, with the measured table's first at max_m 64. Not for swiglu (gate and up rows pair up N/2 apart),
    x multicast (its groups need whole row tiles) or an N that is no multiple of 8 (4-column output steps)."""
    from aotgemm.compiler.sources import decode_designs as dd
    from aotgemm.compiler.sources.decode_tma import row_tiles

    for wg, tiles in ((1, 251), (2, 126)):
        d = dk.make_tma_design(16032, 8192, max_m=16, wg=wg, bk=128, stages=5, ck=1)
        assert ragged_n(d) and row_tiles(d) == tiles
        assert dk.make_tma_design(16032, 8192, max_m=16, wg=wg, bk=128, stages=5, ck=2, dtype=FP8,
                                  epilogue="scale_row")["ck"] == 2
    even = dk.make_tma_design(16000, 8192, max_m=16, wg=1, bk=128, stages=5, ck=1)
    assert not ragged_n(even) and row_tiles(even) == 250
    with pytest.raises(ValueError, match="not a multiple of the CTA's 128 rows$"):
        dk.make_tma_design(16032, 8192, max_m=16, wg=2, stages=4, epilogue="swiglu")
    with pytest.raises(ValueError, match="not a multiple of the CTA's 64 rows$"):
        dk.make_tma_design(16032, 8192, max_m=64, wg=1, stages=4, ck=2, cn=2)
    with pytest.raises(ValueError, match="nor of 8"):
        dk.make_tma_design(16036, 8192, max_m=16, wg=1, stages=4)
    got = {m: [dk.design_name(d) for d in dd.tma_designs_for(16032, 8192, "sm_90a", m)] for m in (16, 32, 64)}
    assert got[16] == ["tma5_n16032k8192_m16_wg1bk128ck1_pdl", "tma10_n16032k8192_m16_wg1bk64ck1_pdl"]
    assert got[32] == ["tma4_n16032k8192_m32_wg1bk128ck1_pdl", "tma8_n16032k8192_m32_wg1bk64ck1_pdl"]
    assert got[64] == ["tma7_n16032k8192_m64_wg2bk64ck1_pdl", "tma5_n16032k8192_m64_wg1bk64ck1_pdl"]
    # 251 CTAs of 64 rows: the rule sizes them for two an SM, all resident at once
    assert all(dk.smem_bytes(d) <= 113 * 1024 for d in dd.tma_designs_for(16032, 8192, "sm_90a", 16))


def test_overlaid_partials_free_their_region_and_need_stages_that_hold_them():
    """ov: the split-K partials overlay the stages, so a design takes the stages' shared memory and no more (a
    128-row CTA of 128 tokens, split 4 ways, then fits two to an SM with 3 stages), is named apart (absent, old
    names and cache keys), needs stages at least as large as the partials, and takes no x multicast."""
    own = dk.make_tma_design(4096, 4096, max_m=128, wg=2, bk=64, stages=3, ck=4)
    ov = dk.make_tma_design(4096, 4096, max_m=128, wg=2, bk=64, stages=3, ck=4, ov=True)
    assert "ov" not in own and ov["ov"] == 1
    assert dk.design_name(ov) == "tma3_n4096k4096_m128_wg2bk64ck4ov_pdl"
    part = 4 * 128 * (128 // 4 + 4) * 4
    assert dk.smem_bytes(own) - dk.smem_bytes(ov) == part
    assert 2 * (dk.smem_bytes(ov) + 1024) <= 228 * 1024 < 2 * (dk.smem_bytes(own) + 1024)
    with pytest.raises(ValueError, match="do not fit in the .* bytes of stages"):
        dk.make_tma_design(4096, 4096, max_m=128, wg=2, bk=64, stages=2, ck=4, ov=True)  # 64 KB of stages
    with pytest.raises(ValueError, match="use cn=1"):
        dk.make_tma_design(1792, 5120, max_m=128, wg=1, bk=64, stages=7, ck=4, cn=2, ov=True)


@pytest.mark.build
@pytest.mark.parametrize("ck", [4, 1])
def test_overlaid_partials_wait_for_every_stage_reader(tmp_path, monkeypatch, ck):
    """An ov kernel writes no partial before the readers of the stages it overlays are done: with a cluster one
    more cluster barrier (the producer warp arrives from its branch, so not .aligned), without one a named
    barrier of the consumer warps; each after a proxy fence (the wgmmas read the stages through the async proxy)."""
    pytest.importorskip("cutlass")
    kw = dict(max_m=128, wg=2, bk=64, stages=3 if ck == 4 else 4, ck=ck)
    own = _dump_ptx(tmp_path, monkeypatch, dk.make_tma_design(4096, 4096, **kw), "own")
    ov = _dump_ptx(tmp_path, monkeypatch, dk.make_tma_design(4096, 4096, ov=True, **kw), "ov")
    assert "fence.proxy.async.shared::cta" in ov and "fence.proxy.async.shared::cta" not in own
    if ck > 1:
        assert ov.count("barrier.cluster.arrive;") == own.count("barrier.cluster.arrive") + 2
    else:
        assert re.search(r"bar\.sync\s+1, 256;", ov) and not re.search(r"bar\.sync\s+1,", own)
    assert "ld.local" not in ov and "st.local" not in ov


def test_token_tiles_split_max_m_over_ctas():
    """tt: max_m tokens over tt CTAs (grid z), each a max_m/tt-token wgmma N side and its stages and partials sized
    for that; named apart (absent for 1); at least 64 tokens a tile; e4m3 up to 128 a tile."""
    one = dk.make_tma_design(4096, 4096, max_m=128, wg=1, bk=64, stages=7, ck=1)
    two = dk.make_tma_design(4096, 4096, max_m=256, wg=1, bk=64, stages=7, ck=1, tt=2)
    assert "tt" not in one and two["tt"] == 2 and dk.design_name(two) == "tma7_n4096k4096_m256_wg1bk64ck1tt2_pdl"
    assert dk.smem_bytes(one) == dk.smem_bytes(two)  # the same CTA, twice
    with pytest.raises(ValueError, match="at least 64 tokens"):
        dk.make_tma_design(4096, 4096, max_m=64, wg=1, bk=64, stages=7, ck=1, tt=2)
    with pytest.raises(ValueError, match="tt \\(token tiles\\) must be 1 or 2"):
        dk.make_tma_design(4096, 4096, max_m=256, wg=1, bk=64, stages=7, ck=1, tt=4)
    assert dk.make_tma_design(4096, 4096, max_m=256, wg=1, bk=128, stages=7, ck=1, tt=2, dtype=FP8,
                              epilogue="scale_tensor")["tt"] == 2


@pytest.mark.build
def test_token_tiles_compile_to_a_third_grid_axis_without_evict_first(tmp_path, monkeypatch):
    """A tt 2 kernel reads its tile from blockIdx.z, runs the 128-token wgmma, and loads the weights without the
    evict-first policy: the other token tile's CTA reads the same rows."""
    pytest.importorskip("cutlass")
    ptx = _dump_ptx(tmp_path, monkeypatch, dk.make_tma_design(4096, 4096, max_m=256, wg=1, bk=64, stages=7, ck=1,
                                                              tt=2), "tt")
    assert "%ctaid.z" in ptx and "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16" in ptx
    assert f", {_EVICT_FIRST};" not in ptx
    assert "ld.local" not in ptx and "st.local" not in ptx


def test_out_vec_reads_and_stores_four_columns_a_step():
    """The output stage reads 4 partial columns per load and stores 4 outputs per store wherever the CTA's output
    columns (64 * wg / ck) come in fours, which every cluster split leaves them (on the H200 faster than one a step
    since the store became one 8-byte store: session 30, call I); swiglu (half the columns, gate and up rows paired)
    where it owns 64 or more."""
    def owning(wg, ck, epilogue="identity"):
        n = 8192 if epilogue == "swiglu" else 4096
        return out_vec(dk.make_tma_design(n, 4096, max_m=16, wg=wg, bk=64, stages=4, ck=ck, epilogue=epilogue))

    assert (owning(1, 1), owning(2, 1), owning(2, 2)) == (4, 4, 4)
    assert (owning(1, 2), owning(1, 4), owning(2, 4), owning(2, 8), owning(1, 8)) == (4, 4, 4, 4, 4)
    # swiglu keeps 4 a step for 64 or more columns only (its fewer-column owners were not timed with 4)
    assert (owning(2, 1, "swiglu"), owning(2, 2, "swiglu"), owning(2, 8, "swiglu")) == (4, 1, 1)


@pytest.mark.parametrize("max_m", [8, 16, 32, 64, 128, 256])
def test_x_box_plan_loads_m_rounded_up_to_8_rows_in_aligned_boxes(max_m):
    """x's rows are loaded as distinct power-of-two boxes summing to M rounded up to 8 (never more than 7 rows
    past M: a box read past M is zero-filled by TMA, slowly), each at a row that is a multiple of its height,
    and one max_m box when M = max_m."""
    boxes = x_boxes(max_m)
    assert boxes[0] == max_m and boxes[-1] == 8 and all(a == 2 * b for a, b in zip(boxes, boxes[1:]))
    for m in range(1, max_m + 1):
        rows, use, offsets = x_box_plan(m, max_m)
        assert m <= rows < m + 8 and rows % 8 == 0
        loaded = [(box, off) for box, u, off in zip(boxes, use, offsets) if u]
        assert sum(box for box, _ in loaded) == rows
        covered = 0
        for box, off in loaded:  # adjacent, in order, each aligned to its height
            assert off == covered and off % box == 0
            covered += box
    assert x_box_plan(max_m, max_m)[1] == [True] + [False] * (len(boxes) - 1)


def _dump_ptx(tmp_path, monkeypatch, d, name, arch="sm_90a"):
    """Compile design d as symbol aotgemm_NAME (checked exported) and return its PTX."""
    dump = tmp_path / f"dump_{name}"
    dump.mkdir()
    monkeypatch.setenv("AOTGEMM_DECODE_DUMP", str(dump))
    obj = tmp_path / f"{name}.o"
    dk.compile_decode(d, f"aotgemm_{name}", str(obj), arch)
    assert _exports(obj, f"aotgemm_{name}")
    return "\n".join(p.read_text() for p in dump.rglob("*.ptx"))


def _tma_ptx(tmp_path, monkeypatch, d, arch="sm_90a"):
    return _dump_ptx(tmp_path, monkeypatch, d, "tma_test", arch)


def test_late_release_is_named_apart_and_needs_pdl():
    d = dk.make_tma_design(4096, 14336, max_m=16, wg=1, bk=128, stages=10, ck=2, epilogue="residual_add")
    late = dk.make_tma_design(4096, 14336, max_m=16, wg=1, bk=128, stages=10, ck=2, epilogue="residual_add",
                              late=True)
    assert "late" not in d and late["late"] == 1  # designs without it keep their names and cache keys
    assert dk.design_name(d).endswith("_pdl_residual_add")
    assert dk.design_name(late).endswith("_pdlx_residual_add")
    with pytest.raises(ValueError, match="late"):
        dk.make_design(4096, 4096, nt=1, mt=1, wk=2, ck=1, unroll=4, stages=4, pdl=False, late=True)


@pytest.mark.build
@pytest.mark.parametrize("make", [
    lambda late: dk.make_tma_design(4096, 14336, max_m=16, wg=1, bk=128, stages=10, ck=2, epilogue="residual_add",
                                    late=late),
    lambda late: dk.make_design(28672, 4096, nt=1, mt=2, wk=1, ck=1, unroll=4, stages=3, pdl=True,
                                epilogue="swiglu", late=late),
    lambda late: dk.make_simt_design(4096, 4096, max_m=2, rows=2, warps=4, unroll=2, pdl=True, late=late),
], ids=["tma", "cp", "simt"])
def test_late_release_leaves_out_only_the_early_release(tmp_path, monkeypatch, make):
    """A late design still requests its weights before griddepcontrol.wait, but never executes
    griddepcontrol.launch_dependents: the next kernel launches as its CTAs exit."""
    pytest.importorskip("cutlass")
    early = _dump_ptx(tmp_path, monkeypatch, make(False), "early")
    late = _dump_ptx(tmp_path, monkeypatch, make(True), "late")
    assert "griddepcontrol.launch_dependents" in early and "griddepcontrol.launch_dependents" not in late
    assert early.count("griddepcontrol.wait") == late.count("griddepcontrol.wait") > 0


@pytest.mark.build
@pytest.mark.parametrize("case", [
    # one CTA per SM, no cluster; bias from the epilogue operands
    dict(n=4096, k=4096, max_m=16, wg=1, bk=128, stages=10, ck=1, epilogue="bias"),
    # a cluster of 4 reducing through DSMEM; residual add
    dict(n=4096, k=4096, max_m=32, wg=1, bk=64, stages=6, ck=4, epilogue="residual_add"),
    # swiglu: two warpgroups, gate rows and up rows
    dict(n=8192, k=4096, max_m=64, wg=2, bk=64, stages=4, ck=2, epilogue="swiglu"),
    # geglu: the same layout, gelu's tanh form as g * sigmoid(z(g)) (its constants checked below)
    dict(n=8192, k=4096, max_m=32, wg=2, bk=64, stages=4, ck=1, epilogue="geglu"),
    # fp8 W8A8 with per-row weight scales
    dict(n=4096, k=4096, max_m=16, wg=1, bk=256, stages=8, ck=2, epilogue="scale_row", dtype=FP8),
    # fp8 with an odd number of k tiles per CTA (1280 / 256 = 5): the promotion's tail tile
    dict(n=5120, k=1280, max_m=32, wg=1, bk=256, stages=6, ck=1, epilogue="scale_tensor", dtype=FP8),
    # fp8 with per-token activation scales (scale_a [M]), one CTA per SM
    dict(n=4096, k=4096, max_m=64, wg=1, bk=128, stages=6, ck=1, epilogue="scale_rowwise", dtype=FP8),
    # 128 tokens: x in up to five boxes (128, 64, 32, 16, 8 rows)
    dict(n=1792, k=5120, max_m=128, wg=1, bk=64, stages=7, ck=4),
    # x multicast over 2 CTAs along the weight rows, in a 2 x 4 cluster that also splits K
    dict(n=1792, k=5120, max_m=128, wg=1, bk=64, stages=7, ck=4, cn=2),
    # a last CTA past N (16032 = 250.5 tiles of 64), split over a cluster of 2, per-row scales read per column
    dict(n=16032, k=8192, max_m=16, wg=1, bk=128, stages=5, ck=2, epilogue="scale_row", dtype=FP8),
])
def test_compile_tma_kernels(tmp_path, monkeypatch, case):
    """The TMA design compiles for sm_90a to a warp-specialised TMA + wgmma kernel: one k tile's wgmmas
    per main-loop iteration (bk / k per instruction; a group of k tiles for e4m3, which promotes), TMA tile loads with an mbarrier, PDL's wait and
    launch, the cluster's DSMEM stores where ck > 1, and nothing spilled to local memory."""
    pytest.importorskip("cutlass")
    d = dk.make_tma_design(case.pop("n"), case.pop("k"), **case)
    ptx = _tma_ptx(tmp_path, monkeypatch, d)
    fp8 = d.get("dtype") == FP8
    kind = "e4m3.e4m3" if fp8 else "bf16.bf16"
    wgmma = f"wgmma.mma_async.sync.aligned.m64n{d['max_m']}k{32 if fp8 else 16}.f32.{kind}"
    # e4m3 promotes each k tile into float32, in groups of promote_group(d) k tiles (the loop body) and one
    # group of the rest after it
    kt, group = d["k"] // (d["bk"] * d["ck"]), promote_group(d)
    tiles_in_code = ((group if kt >= group else 0) + kt % group) if fp8 else 1
    assert ptx.count(wgmma) == tiles_in_code * d["bk"] // (32 if fp8 else 16)
    assert "cp.async.bulk.tensor.2d.shared::cta.global" in ptx and "mbarrier.try_wait" in ptx
    # the weight tiles' loads carry the L2 evict-first policy (a 64-bit immediate)
    assert f", {_EVICT_FIRST};" in ptx
    # with cn > 1 x arrives by multicast, and consumers free a stage in every CTA of the multicast group
    multicast = ".multicast::cluster" in ptx
    assert multicast == ("cn" in d)
    assert ("mbarrier.arrive.shared::cluster" in ptx) == ("cn" in d)
    # the stage's x bytes follow M: expected apart from the weights' (x_box_plan)
    assert "mbarrier.expect_tx" in ptx
    assert "griddepcontrol.wait" in ptx and "griddepcontrol.launch_dependents" in ptx
    assert ("st.shared::cluster.f32" in ptx) == (d["ck"] > 1)
    # the output stage reads its partials 4 columns per 16-byte load and stores 4 outputs per 8-byte store
    assert ("ld.shared.v4.f32" in ptx) == (out_vec(d) == 4) == ("st.global.v2.b32" in ptx)
    assert ("barrier.cluster.wait" in ptx) == (d["ck"] * d.get("cn", 1) > 1)
    assert "ld.local" not in ptx and "st.local" not in ptx
    assert f".reqntid {128 * d['wg'] + 32}, 1, 1" in ptx
    # rows past N: the output stage skips a step whose first column is past the last one (nothing read or stored)
    assert bool(re.search(rf"setp\.gt\.s32\s+%p\d+, %r\d+, {d['n'] - 1};", ptx)) == ragged_n(d)
    # geglu's exponent z(g) = g (2 sqrt(2/pi) + 2 sqrt(2/pi) 0.044715 g^2), as fp32 immediates; not in swiglu's
    assert ("0f3FCC422A" in ptx and "0f3D922279" in ptx) == (d.get("epilogue") == "geglu")


def test_rank_puts_each_kinds_smallest_tile_first():
    """At M = 2..8 the build's top five hold the TMA kernels (max_m 16 at the least) beside the cp.async
    max_m 8 ones, not the cp.async max_m 16 designs, which only pad more than their max_m 8 siblings
    (on the H200 a TMA max_m 16 kernel beat every cp.async one at M = 16 on Qwen2.5-32B TP4's fp8 o,
    which cuBLAS then kept at M = 2..8 for want of it: session 8, E3)."""
    from aotgemm.compiler.sources.decode import DecodeSource
    from aotgemm.gpus import gpu_model
    from aotgemm.problem import GemmProblem

    src, h200 = DecodeSource(), gpu_model("H200_SXM")
    for dtype, epilogue in (("bfloat16", "identity"), ("float8_e4m3fn", "scale_tensor")):
        p = GemmProblem(dtype, "linear", epilogue, 5120, 1280)
        specs = src.enumerate(p, h200)
        for m in (2, 4, 8):
            top = [(s.family, s.max_m) for s in src.rank(p, h200, m, specs)[:5]]
            if m == 2 and dtype == "bfloat16":  # the CUDA-core max_m 2 designs first (bf16 only)
                assert top == [("decode_simt", 2)] * 2 + [("decode_swapab_cp", 8)] * 3, top
                continue
            # 5120x1280 also has a register-fed design (test_rf_designs_only_where_measured; bf16 max_m 16, e4m3
            # max_m 8): it takes the fourth place, and the shortlist keeps the second TMA one, which pads no more
            rf = [("decode_swapab_rf", 16 if dtype == "bfloat16" else 8)]
            assert top == [("decode_swapab_cp", 8)] * 3 + rf + [("decode_swapab_tma", 16)], (dtype, m, top)
            kept = [(s.family, s.max_m) for s in src.shortlist(src.rank(p, h200, m, specs), 5)]
            assert kept.count(("decode_swapab_tma", 16)) == 2
        top16 = [(s.family, s.max_m) for s in src.rank(p, h200, 16, specs)[:5]]
        rf16 = [("decode_swapab_rf", 16)] if dtype == "bfloat16" else []  # e4m3's serves M <= 8 only
        assert top16 == ([("decode_swapab_cp", 16)] * 2 + rf16 + [("decode_swapab_tma", 16)] * 2
                         + [("decode_swapab_tma", 32)])[:5]
        # every kind's designs for a larger M still come, after the smallest of each kind
        assert len(src.rank(p, h200, 2, specs)) == sum(s.max_m >= 2 for s in specs)


def test_shortlist_keeps_designs_that_pad_no_more_than_one_kept():
    """The top five at M = 2..8 hold TMA max_m 16 designs, so the cp.async max_m 16 ones stay too (Qwen3-4B's
    down at M = 4 and 8 ran one at 1.19-1.21x in session 8, and 1.02x without it in session 12); at most half
    again the top k, so `--top-k 1` keeps one; the plan keeps the shortlist."""
    from aotgemm.compiler.memo import Memo
    from aotgemm.compiler.plan import plan_target
    from aotgemm.compiler.sources.decode import DecodeSource
    from aotgemm.gpus import gpu_model
    from aotgemm.manifest import parse_manifest
    from aotgemm.problem import GemmProblem

    src, h200 = DecodeSource(), gpu_model("H200_SXM")
    p = GemmProblem("bfloat16", "linear", "identity", 2560, 9728)
    specs = src.enumerate(p, h200)
    for m in (4, 8):
        kept = [(s.family, s.max_m) for s in src.shortlist(src.rank(p, h200, m, specs), 5)]
        assert kept == ([("decode_swapab_cp", 8)] * 3 + [("decode_swapab_tma", 16)] * 2
                        + [("decode_swapab_cp", 16)] * 2), (m, kept)
    # at M = 2 the CUDA-core max_m 2 designs take the TMA ones' places in the top five, and the TMA kind's
    # first stays (session 17)
    kept = [(s.family, s.max_m) for s in src.shortlist(src.rank(p, h200, 2, specs), 5)]
    assert kept == [("decode_simt", 2)] * 2 + [("decode_swapab_cp", 8)] * 3 + [("decode_swapab_tma", 16)], kept
    kept16 = src.shortlist(src.rank(p, h200, 16, specs), 5)
    assert [s.max_m for s in kept16] == [16, 16, 16, 16, 32, 32]
    assert len(src.shortlist(src.rank(p, h200, 4, specs), 1)) == 1
    assert len(src.shortlist(src.rank(p, h200, 4, specs), 2)) == 3
    assert src.shortlist([], 5) == []
    # the plan keeps it, and the kernels are those the next bucket keeps anyway
    m = parse_manifest('[model]\nname = "q"\n[build]\ngpus = ["H200_SXM"]\ndtypes = ["bfloat16"]\n'
                       'm_buckets = [4, 16, 32]\n'
                       '[[layers]]\nname = "down"\nn = 2560\nk = 9728\n', "test")
    plan = plan_target(m, h200, ("aotgemm",), 5, Memo(None))
    at = {c.m_bucket: c.ranked for c in plan.choices}
    assert len(at[4]) == 7 and set(at[4]) - set(at[16]) == {s for s in at[4] if s.max_m == 8}


def test_designs_split_k_by_three_where_k_has_a_factor_of_three():
    """Qwen2.5-32B TP4's down (5120 x 6912): in e4m3 K is 54 chunks of 128, which splits over at most two
    warps by powers of two; the scored designs now take three (or six) warps per CTA."""
    picked = dk.designs_for(5120, 6912, "sm_90a", "scale_tensor", "float8_e4m3fn")
    cp = [d for d in picked if d["kind"] == "swapab_cp"]
    assert cp and all(d["wk"] in (3, 6) for d in cp), [dk.design_name(d) for d in cp]
    # a power-of-two K keeps its designs (the table's, or powers of two by score)
    assert all(d["wk"] in (1, 2, 4) for d in dk.designs_for(4096, 4096, "sm_90a") if d["kind"] == "swapab_cp")


def test_coal_designs_are_validated_and_named_apart():
    """The whole-row ("coal") form of a cp.async design: its own name and key, the same shared memory as its
    twin (the stage holds the same pieces, swizzled), and refused where the kernel does not build it."""
    plain = dk.make_design(6144, 4096, nt=1, mt=1, wk=2, ck=1, unroll=4, stages=4, pdl=True)
    coal = dk.make_design(6144, 4096, nt=1, mt=1, wk=2, ck=1, unroll=4, stages=4, pdl=True, coal=True)
    assert "coal" not in plain and coal == {**plain, "coal": 1}
    assert dk.design_name(plain) == "cp4_n6144k4096_m8_mt1wn1wk2ck1u4_pdl"
    assert dk.design_name(coal) == "cp4c_n6144k4096_m8_mt1wn1wk2ck1u4_pdl"
    assert dk.smem_bytes(coal) == dk.smem_bytes(plain)
    for bad in (dict(wn=2, unroll=2), dict(unroll=1), dict(kind="swapab_rf", unroll=2)):
        with pytest.raises(ValueError, match="coal"):
            dk.make_design(6144, 4096, nt=1, mt=1, wk=2, ck=1, stages=4, coal=True, **bad)


@pytest.mark.parametrize("unroll", [2, 4, 8])
@pytest.mark.parametrize("mt", [1, 2])
def test_coal_stage_layout_is_a_bijection_and_fragment_loads_are_conflict_free(unroll, mt):
    """Per chunk a warp copies 16*mt rows of 4*unroll 16-byte pieces: instruction q, lane l copies piece
    (32q + l) % (4*unroll) of row (32q + l) // (4*unroll), stored at coal_piece(row, piece) of its row. Every
    (row, piece) is copied once, to its own slot; and each phase of a fragment load (lanes 8j..8j+7: rows g and
    g+1 of a half tile, pieces u*4 + c) reads eight slots in distinct banks."""
    ppr = 4 * unroll
    copied = {}
    for q in range(2 * mt * unroll):
        for lane in range(32):
            row, piece = divmod(32 * q + lane, ppr)
            slot = row * ppr + dk.coal_piece(row, piece)
            assert slot not in copied
            copied[slot] = (row, piece)
    assert len(copied) == 16 * mt * ppr and sorted(copied) == list(range(16 * mt * ppr))
    for t in range(mt):
        for h in range(2):
            for u in range(unroll):
                for j in range(4):  # phase j: lanes 8j..8j+7, lane = 4g + c
                    banks = set()
                    for lane in range(8 * j, 8 * j + 8):
                        g, c = divmod(lane, 4)
                        row = t * 16 + h * 8 + g
                        slot = row * ppr + dk.coal_piece(g, u * 4 + c)  # the kernel's read: g's parity
                        assert copied[slot] == (row, u * 4 + c)
                        banks.add(slot % 8)  # 16-byte slots: 8 per 128-byte line of banks
                    assert len(banks) == 8


def test_designs_for_builds_the_measured_coal_designs_only():
    """The designs of decode_design_tables.CP_WHOLE_ROW_SM90 come in their whole-row form for bf16 on sm_90a, in place of
    the plain one (the same number of designs), and nowhere else: other weights, e4m3, sm_100a."""
    from aotgemm.compiler.sources.decode_design_tables import CP_WHOLE_ROW_SM90
    from aotgemm.compiler.sources.decode_designs import _spec

    for (n, k), specs in CP_WHOLE_ROW_SM90.items():
        designs = dk.designs_for(n, k, "sm_90a")
        coal = [d for d in designs if d.get("coal")]
        assert {_spec(d) for d in coal} == specs
        assert len(designs) <= 17
        for ep in ("residual_add", "swiglu") if (n, k) == (28672, 4096) else ():
            assert any(d.get("coal") for d in dk.designs_for(n, k, "sm_90a", ep))
    assert not any(d.get("coal") for d in dk.designs_for(4096, 4096, "sm_90a"))
    assert not any(d.get("coal") for d in dk.designs_for(6144, 4096, "sm_100a"))
    assert not any(d.get("coal") for d in dk.designs_for(6144, 4096, "sm_90a", "scale_tensor", "float8_e4m3fn"))


def test_simt_load_bytes_is_named_apart_and_checked():
    d = dk.make_simt_design(5120, 1280, max_m=1, rows=4, warps=5, unroll=1, pdl=True, dtype=FP8,
                            epilogue="scale_tensor", load_bytes=8)
    sixteen = dk.make_simt_design(4096, 4096, max_m=1, rows=4, warps=8, unroll=1, dtype=FP8, epilogue="scale_tensor")
    assert d["lb"] == 8 and "lb" not in sixteen  # designs of 16-byte loads keep their names and cache keys
    assert dk.design_name(d) == "simt_n5120k1280_m1_r4w5u1lb8_pdl_e4m3_scale_tensor"
    with pytest.raises(ValueError, match="k=1280 is not a multiple of warps\\*32\\*16\\*unroll = 2560"):
        dk.make_simt_design(5120, 1280, max_m=1, rows=4, warps=5, unroll=1, dtype=FP8, epilogue="scale_tensor")
    with pytest.raises(ValueError, match="lb .* must be 8 or 16, got 4"):
        dk.make_simt_design(5120, 1280, max_m=1, rows=4, warps=5, unroll=1, dtype=FP8, epilogue="scale_tensor",
                            load_bytes=4)


@pytest.mark.build
@pytest.mark.parametrize("arch", ["sm_90a", "sm_100a"])
def test_compile_simt_8_byte_loads(tmp_path, monkeypatch, arch):
    """An e4m3 CUDA-core design of 8-byte loads (K = 1280, no whole number of 16-byte warp loads) builds for both
    architectures; its PTX loads W (without L1 allocation) and x 8 bytes at a time, never 16, and converts them two
    e4m3 at a time, 4 conversions per 8-byte piece."""
    pytest.importorskip("cutlass")
    d = dk.make_simt_design(5120, 1280, max_m=1, rows=4, warps=5, unroll=1, pdl=True, dtype=FP8,
                            epilogue="scale_tensor", load_bytes=8)
    ptx = _dump_ptx(tmp_path, monkeypatch, d, "simt_lb8", arch)
    assert "ld.global.L1::no_allocate.v2" in ptx
    assert not [line for line in ptx.splitlines() if "ld.global" in line and ".v4" in line]
    assert ptx.count("cvt.rn.f16x2.e4m3x2") == 4 * (d["rows"] + d["max_m"]) * d["unroll"]
