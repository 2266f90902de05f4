"""Kernel source `quack` (aotgemm/compiler/sources/quack.py): enumeration, support and ranking on the CPU
with nothing imported; with quack-kernels installed (`pip install '.[quack]'`; CI does not), a real
cross-compile for sm_90a and sm_100a and a `--sources quack` build that links a library.
GPU correctness and speed: bench/source_kernels.py on the H200."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from aotgemm.compiler.cubin_usage import cuobjdump, device_functions, sass, stack_bytes
from aotgemm.compiler.sources import DEFAULT_SOURCES, SOURCES, get_source
from aotgemm.compiler.sources import quack as qs
from aotgemm.gpus import gpu_model
from aotgemm.problem import GemmProblem

ROOT = Path(__file__).resolve().parents[1]
SOURCE = get_source("quack")
HAVE_QUACK = SOURCE.available()
needs_quack = pytest.mark.skipif(not HAVE_QUACK, reason=f"quack source unavailable: {HAVE_QUACK.reason}")
BF16 = GemmProblem("bfloat16", "linear", "identity", 4096, 4096)
FP8 = GemmProblem("float8_e4m3fn", "linear", "scale_tensor", 4096, 4096)


def test_registered_but_not_a_default():
    assert "quack" in SOURCES and "quack" not in DEFAULT_SOURCES


def test_enumerates_bf16_fp16_and_fp8_on_hopper_and_blackwell_only():
    h200, b200 = gpu_model("H200_SXM"), gpu_model("B200")
    specs = SOURCE.enumerate(BF16, h200)
    assert len(specs) == len(qs.SM90_DESIGNS) and len(set(specs)) == len(specs)
    assert {s.family for s in specs} == {"QuackGemmSm90"} and {s.arch for s in specs} == {"sm_90a"}
    assert all(s.max_m == 0 and s.x_row_stride == 0 for s in specs)  # M, N, K and strides dynamic
    # baked from our GPU table, so part of the cache key: 2-CTA clusters on an H200 = 66 at once
    assert {s.design_dict["max_active_clusters"] for s in specs} == {h200.clusters_for(2)}
    assert len(SOURCE.enumerate(BF16, b200)) == len(qs.SM100_DESIGNS)
    assert len(SOURCE.enumerate(BF16.__class__("float16", "linear", "identity", 4096, 4096), h200)) == len(specs)
    # bias and residual_add: quack's default (linear) epilogue, in every tile
    for name in ("bias", "residual_add"):
        linear = SOURCE.enumerate(BF16.with_epilogue(name), h200)
        assert [s.design for s in linear] == [s.design for s in specs] and {s.epilogue for s in linear} == {name}
        assert len(SOURCE.enumerate(BF16.with_epilogue(name), b200)) == len(qs.SM100_DESIGNS)
    # swiglu and geglu: quack's gated epilogue, tiles whose N is a multiple of 32 (128x208 is not)
    for name in ("swiglu", "geglu"):
        gated = SOURCE.enumerate(BF16.with_epilogue(name), h200)
        assert {s.epilogue for s in gated} == {name}
        assert sorted(s.design_dict["tile"][1] for s in gated) == sorted(
            t[1] for t, _, _ in qs.SM90_DESIGNS if t[1] % qs.GATED_TILE_N == 0)
        assert [s.design for s in gated] == [s.design for s in specs if s.design_dict["tile"][1] % 32 == 0]
    # fp8 e4m3 with the dequantizing epilogue, for both scale forms (and no 16-bit epilogue): on sm_90a only the
    # tiles whose float32 promotion fits in registers, promoting every 2 k tiles (quack.SM90_FP8_DESIGNS)
    for scales in ("scale_tensor", "scale_row", "scale_rowwise"):
        problem = GemmProblem("float8_e4m3fn", "linear", scales, 4096, 4096)
        fp8 = SOURCE.enumerate(problem, h200)
        assert [(tuple(s.design_dict["tile"]), tuple(s.design_dict["cluster"]), s.design_dict["pingpong"])
                for s in fp8] == list(qs.SM90_FP8_DESIGNS)
        assert {s.design_dict["promote_every"] for s in fp8} == {qs.FP8_PROMOTE_EVERY} == {2}
        assert {(s.dtype, s.epilogue, s.family) for s in fp8} == {("float8_e4m3fn", scales, "QuackGemmSm90")}
        assert not {s.design for s in fp8} & {s.design for s in specs}
        on_b200 = SOURCE.enumerate(problem, b200)
        assert [s.design for s in on_b200] == [s.design for s in SOURCE.enumerate(BF16, b200)]
        assert {(s.dtype, s.epilogue, s.arch) for s in on_b200} == {("float8_e4m3fn", scales, "sm_100a")}
    assert qs.EPILOGUES["float8_e4m3fn"] == ("scale_tensor", "scale_row", "scale_rowwise")
    assert not set(qs.EPILOGUES["float8_e4m3fn"]) & set(qs.EPILOGUES["bfloat16"] + qs.EPILOGUES["float16"])
    # the same designs serve every N and K: one object per (dtype, design, GPU)
    assert SOURCE.enumerate(GemmProblem("bfloat16", "linear", "identity", 1280, 8192), h200) == specs


def test_versions_name_quack_and_our_entry_point_code():
    v = SOURCE.versions()
    assert v.startswith("quack-kernels ") and ", quack_kernels " in v and len(v.rsplit(" ", 1)[1]) == 16


def test_supports_says_why_not():
    spec = SOURCE.enumerate(BF16, gpu_model("H200_SXM"))[0]
    assert SOURCE.supports(spec, BF16, 1) and SOURCE.supports(spec, BF16, 100_000)
    other = GemmProblem("float16", "linear", "identity", 4096, 4096)
    st = SOURCE.supports(spec, other, 512)
    assert not st and "bfloat16" in st.reason
    # swiglu with N = 8 * odd: the N/2-wide output rows would not be 16-byte multiples
    odd = GemmProblem("bfloat16", "linear", "swiglu", 4104, 4096)
    st = SOURCE.supports(SOURCE.enumerate(odd, gpu_model("H200_SXM"))[0], odd, 512)
    assert not st and "2052" in st.reason


def test_rank_offers_nothing_below_min_m_and_orders_by_padded_work():
    h200 = gpu_model("H200_SXM")
    specs = SOURCE.enumerate(BF16, h200)
    assert SOURCE.rank(BF16, h200, qs.MIN_M - 1, specs) == []
    for m in (qs.MIN_M, 1024, 8192):
        ranked = SOURCE.rank(BF16, h200, m, specs)
        assert sorted(ranked, key=specs.index) == specs  # a permutation: never invents, prunes none that serve
        work = [qs.padded_macs_per_sm(s, m, BF16.n) for s in ranked]
        assert work == sorted(work)
    # M=1024, N=4096 on 132 SMs: 256x128 tiles are 4*32 = 128 tiles, one wave; 128x192 ones 8*22 = 176, two
    best = SOURCE.rank(BF16, h200, 1024, specs)[0].design_dict
    assert best["tile"] == [256, 128]
    assert qs.padded_macs_per_sm(SOURCE.rank(BF16, h200, 1024, specs)[-1], 1024, 4096) > 256 * 128
    # rank is deterministic and ignores specs that do not serve the problem
    fp16 = GemmProblem("float16", "linear", "identity", 4096, 4096)
    assert SOURCE.rank(fp16, h200, 1024, specs) == []


def test_blackwell_2cta_tiles_count_half_the_rows_per_cta():
    b200 = gpu_model("B200")
    by_tile = {(tuple(s.design_dict["tile"]), tuple(s.design_dict["cluster"])): s for s in SOURCE.enumerate(BF16, b200)}
    assert qs.cta_tile(by_tile[((256, 256), (2, 1))]) == (128, 256)
    assert qs.cta_tile(by_tile[((128, 256), (1, 1))]) == (128, 256)


def test_enumerate_and_rank_import_no_kernel_library():
    code = ("import sys\nfrom aotgemm.compiler.sources import get_source\nfrom aotgemm.gpus import gpu_model\n"
            "from aotgemm.problem import GemmProblem\ns = get_source('quack')\n"
            "p = GemmProblem('bfloat16', 'linear', 'identity', 4096, 4096)\n"
            "for g in ('H200_SXM', 'B200'):\n    s.rank(p, gpu_model(g), 2048, s.enumerate(p, gpu_model(g)))\n"
            "s.available()\n"
            "print(sorted(m for m in ('quack', 'triton', 'cutlass', 'torch') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_missing_quack_says_how_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "quack" else real(name, *a))
    st = SOURCE.available()
    assert not st and "quack-kernels==0.6.5" in st.reason and "pip install 'aotgemm[quack]'" in st.reason


def _exports(obj: Path, symbol: str) -> bool:
    out = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
    return f" T __tvm_ffi_{symbol}\n" in out


@needs_quack
@pytest.mark.build
@pytest.mark.parametrize("gpu,epilogue", [("H200_SXM", "identity"), ("B200", "identity"), ("H200_SXM", "swiglu"),
                                         ("H200_SXM", "geglu"), ("B200", "geglu"), ("H200_SXM", "bias"),
                                         ("B200", "bias"), ("H200_SXM", "residual_add"), ("B200", "residual_add"),
                                         ("H200_SXM", "scale_tensor"), ("H200_SXM", "scale_row"),
                                         ("H200_SXM", "scale_rowwise"), ("B200", "scale_row"),
                                         ("B200", "scale_rowwise")])
def test_cross_compiles_and_exports_the_symbol(tmp_path, gpu, epilogue):
    problem = FP8.with_epilogue(epilogue) if epilogue.startswith("scale_") else BF16.with_epilogue(epilogue)
    spec = qs.specs(problem, gpu_model(gpu))[0]
    obj = tmp_path / "k.o"
    SOURCE.compile(spec, "aotgemm_quack_test", str(obj))
    assert obj.read_bytes()[:4] == b"\x7fELF" and _exports(obj, "aotgemm_quack_test")


@needs_quack
@pytest.mark.build
@pytest.mark.skipif(cuobjdump() is None, reason="no cuobjdump (CUDA toolkit or triton) to read the cubin")
def test_bias_and_residual_are_loaded_and_added_in_the_kernel(tmp_path):
    """The linear epilogues' terms are in the sm_90a kernel, read from its SASS: bias [N] comes in by cp.async
    (LDGSTS) as quack loads a row vector, the residual by TMA as the GEMM's C (tile loads beyond the identity
    kernel's A and B), and each adds in float32 (FADD; the identity kernel has none), with nothing spilled."""
    h200 = gpu_model("H200_SXM")
    counts = {}
    for name in ("identity", "bias", "residual_add"):
        obj = tmp_path / f"{name}.o"
        SOURCE.compile(qs.specs(BF16.with_epilogue(name), h200)[0], f"aotgemm_quack_{name}", str(obj))
        ((usage,),) = [tuple(device_functions(obj, tmp_path).values())]
        assert stack_bytes(usage) == 0, (name, usage)
        code = sass(obj, tmp_path)
        counts[name] = {op: len(re.findall(rf"\b{op}\b", code)) for op in ("LDGSTS", "UTMALDG", "FADD")}
    identity, bias, residual = counts["identity"], counts["bias"], counts["residual_add"]
    assert identity["LDGSTS"] == 0 < bias["LDGSTS"] and identity["FADD"] == 0 < bias["FADD"], counts
    assert residual["UTMALDG"] > identity["UTMALDG"] == bias["UTMALDG"] and residual["FADD"] > 0, counts


@needs_quack
@pytest.mark.build
def test_a_design_quack_rejects_fails_with_its_reason_and_the_server_goes_on(tmp_path):
    import dataclasses
    import json

    from aotgemm.errors import CompileError

    spec = SOURCE.enumerate(BF16, gpu_model("H200_SXM"))[0]
    bad = dataclasses.replace(spec, design=json.dumps({**spec.design_dict, "tile": [96, 128]}))
    with pytest.raises(CompileError, match="tile shape M must be 64/128/192 if pingpong"):
        SOURCE.compile(bad, "aotgemm_quack_bad", str(tmp_path / "bad.o"))
    SOURCE.compile(spec, "aotgemm_quack_ok", str(tmp_path / "ok.o"))
    assert _exports(tmp_path / "ok.o", "aotgemm_quack_ok")


@needs_quack
@pytest.mark.build
def test_build_with_only_quack_links_a_library(tmp_path):
    from aotgemm.bundle import CUBLAS, open_bundle

    manifest = tmp_path / "tiny.toml"
    manifest.write_text('[model]\nname = "tiny"\n\n[build]\ngpus = ["H200_SXM"]\ndtypes = ["bfloat16"]\n'
                        'm_buckets = [128, 1024]\n\n[[layers]]\nname = "o"\nn = 4096\nk = 4096\ncount = 1\n')
    out = tmp_path / "tiny.agb"
    r = subprocess.run([sys.executable, "-m", "aotgemm.cli", "build", str(manifest), "--no-tune", "--top-k", "1",
                        "--sources", "quack", "--cache-dir", str(tmp_path / "cache"), "-o", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    (t,) = open_bundle(out, verify_blobs=True).index.targets
    assert [k.source for k in t.kernels] == ["quack"] and t.kernels[0].family == "QuackGemmSm90"
    lib = open_bundle(out).blob(t.library)
    assert lib[:4] == b"\x7fELF" and f"__tvm_ffi_{t.kernels[0].symbol}".encode() in lib
    chosen = {d.m_bucket: d.kernel for d in t.dispatch}
    assert chosen[128] == CUBLAS and chosen[1024] == t.kernels[0].symbol  # below MIN_M quack offers nothing


@needs_quack
@pytest.mark.build
@pytest.mark.skipif(cuobjdump() is None, reason="no cuobjdump (CUDA toolkit or triton) to read the cubin")
def test_sm90_fp8_designs_promote_every_two_k_tiles_without_spilling(tmp_path):
    # quack.SM90_FP8_DESIGNS: the tiles whose float32 sum fits in registers beside the MMA accumulator; the
    # source's 16-bit designs spill when they promote (what made quack's fp8 0.02-0.10x of _scaled_mm on the H200)
    import dataclasses
    import json

    h200 = gpu_model("H200_SXM")
    for i, spec in enumerate(SOURCE.enumerate(FP8, h200)):
        obj = tmp_path / f"fp8_{i}.o"
        SOURCE.compile(spec, f"aotgemm_quack_fp8_{i}", str(obj))
        ((name, usage),) = device_functions(obj, tmp_path).items()
        assert "Promoting" in name and stack_bytes(usage) == 0, (spec.design_dict, name[:120], usage)
    spilling = dataclasses.replace(spec, design=json.dumps({**spec.design_dict, "tile": [128, 192], "pingpong": True,
                                                            "promote_every": 1}))
    SOURCE.compile(spilling, "aotgemm_quack_fp8_spill", str(tmp_path / "spill.o"))
    ((name, usage),) = device_functions(tmp_path / "spill.o", tmp_path).items()
    assert "Promoting" not in name and stack_bytes(usage) > 0
